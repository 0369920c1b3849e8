// Package dialect reads the SQL of Kinesis Data Analytics applications
// (docs KDA-SQL.md) and hands the planner statements whose queries are
// github.com/xwb1989/sqlparser ASTs, with every node traceable to the
// user's text.
//
// # Flow
//
//  1. lex (lexer.go) splits the source into tokens with byte offsets: KDA
//     rules, not MySQL's — "quoted identifiers", ” doubling in strings (no
//     backslash escapes), u&'\0041' [UESCAPE '!'] literals, X'0F', $$...$$
//     bodies, and --, // and /* */ comments. Unquoted words are folded to
//     upper case here.
//  2. Parse splits the tokens at ";" and parses CREATE STREAM, CREATE PUMP,
//     CREATE FUNCTION (parser.go) and kda's CREATE AGGREGATE FUNCTION
//     (aggfunc.go) itself; type names become types.Type.
//  3. Each query is rewritten token by token into MySQL text that sqlparser
//     accepts (rewrite.go, calls.go, window.go). The emitter remembers, for
//     every token it writes, the source token it came from.
//  4. sqlparser.Parse reads that text. Its errors ("syntax error at position
//     N") are mapped through the emitter back to the user's token. Then a
//     locator walks the AST in source order and records the position of
//     every pointer node (Query.Locate), and the /*KDA:Sn*/ marker written
//     after each SELECT links every block of the AST to its streaming
//     clauses (Query.Blocks).
//
// Every error is a *SyntaxError with line, column and a caret.
//
// # Rewrite scheme
//
// Identifiers and literals:
//   - unquoted identifier x       -> `X` (always backticked, so MySQL keywords
//     such as STATUS, VALUE or KEY are plain names)
//   - "quoted Identifier"         -> `quoted Identifier` (case kept)
//   - 'it”s'                     -> 'it\'s' (the AST holds the KDA value)
//   - u&'\0041' [UESCAPE '!']     -> 'A'
//   - DATE/TIME/TIMESTAMP 'x'     -> KDA_CAST('x', 'TIMESTAMP')
//   - INTERVAL '1:30' HOUR TO MINUTE -> INTERVAL '1:30' HOUR_MINUTE (YEAR and
//     MONTH are rejected: day-time intervals only)
//   - IS UNKNOWN                  -> IS NULL
//
// Operators (the AST node the planner sees):
//   - a || b                      -> a | b: BinaryExpr{Operator: "|"} is
//     string concatenation (KDA has no bitwise OR). sqlparser gives | a
//     precedence below + and above comparisons, so a || b = 'x' is
//     (a || b) = 'x' and a || b || c is left-associative.
//   - a [NOT] SIMILAR TO p        -> a [NOT] REGEXP p: ComparisonExpr with
//     RegexpStr / NotRegexpStr means SIMILAR TO (the pattern is still SQL's).
//     With ESCAPE 'c' (and a literal pattern): a [NOT] LIKE KDA_SIMILAR('p')
//     ESCAPE 'c', since MySQL allows ESCAPE only after LIKE.
//   - a IS NOT DISTINCT FROM b    -> a <=> b (NullSafeEqualStr)
//   - a IS DISTINCT FROM b        -> a <=> b IS FALSE (IsExpr over <=>)
//
// Special-syntax calls become ordinary FuncExprs:
//   - STEP(x BY INTERVAL '1' MINUTE)       -> STEP(x, INTERVAL '1' MINUTE)
//   - FLOOR(x TO MINUTE), CEIL/CEILING     -> KDA_FLOOR_TO(x, 'MINUTE'), KDA_CEIL_TO(x, 'MINUTE')
//   - EXTRACT(HOUR FROM x)                 -> KDA_EXTRACT('HOUR', x)
//   - POSITION(a IN b)                     -> KDA_POSITION(a, b)
//   - TRIM([BOTH|LEADING|TRAILING] [c] FROM s) -> KDA_TRIM('BOTH', c or ' ', s)
//   - OVERLAY(s PLACING r FROM n [FOR m])  -> KDA_OVERLAY(s, r, n[, m])
//   - SUBSTRING(s FROM n [FOR m]), SUBSTRING(s, n[, m]) -> KDA_SUBSTRING(s, n[, m])
//   - CAST(x AS VARCHAR(10))               -> KDA_CAST(x, 'VARCHAR(10)') (the type
//     string is types.Type.String(): parse it back with the same names)
//   - CURRENT_ROW_TIMESTAMP                -> CURRENT_ROW_TIMESTAMP()
//   - MONOTONIC(x), AVG(ALL x)...          -> MONOTONIC(x), AVG(x): ordinary calls;
//     function names are upper case unless quoted.
//
// Streaming clauses, which sqlparser has no room for, are taken out of the
// text and kept beside the AST:
//   - agg(args) OVER w / OVER (spec)  -> KDA_OVER(agg(args), 'key'), the spec in
//     Query.Windows[key]: key is the WINDOW name, or "$n" for an inline spec.
//     Analytic modifiers between the call and OVER (FROM FIRST|LAST,
//     IGNORE|RESPECT NULLS) follow as more string arguments:
//     KDA_OVER(NTH_VALUE(x, 2), 'W', 'FROM LAST', 'IGNORE NULLS') (analytic.go).
//   - FROM (VALUES (r1), (r2)) AS t   -> FROM (SELECT r1 UNION ALL SELECT r2) AS t,
//     each SELECT's Block marked Values (values.go).
//   - SYSTEM_USER, CURRENT_PATH       -> SYSTEM_USER(), CURRENT_PATH()
//   - WINDOW w AS (...), ...          -> removed; Query.Windows, Block.Windows
//   - WINDOWED BY STAGGER (...)       -> removed; Block.Stagger (Query.Stagger)
//   - ORDER BY t WITHIN INTERVAL ...  -> ORDER BY t; Block.OrderWithin, whose
//     Expr is the AST's first ORDER BY expression
//   - SELECT STREAM                   -> SELECT; Block.Stream
//   - FROM s OVER (spec) AS t         -> FROM s AS t; Block.JoinWindows["T"]
//   - a FULL [OUTER] JOIN b ON c      -> a STRAIGHT_JOIN b ON c (MySQL has no
//     FULL JOIN; the planner reads StraightJoinStr as FULL)
//   - FROM (q) AS t(a, b)             -> FROM (q) AS t; Query.ColumnAliases["T"]
//   - FROM TABLE(fn(CURSOR(q), args)) AS t -> FROM (q) AS t;
//     Query.TableFunctions["T"] holds fn, the parsed args and the Subquery.
//
// Window rules of KDA are enforced here, with positions: a window ends at
// CURRENT ROW, has no ORDER BY, is not UNBOUNDED and not 0 PRECEDING;
// FOLLOWING and the absence of PARTITION BY are for join windows only.
package dialect
