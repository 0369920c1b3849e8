package dialect

import (
	"strings"
	"testing"
	"time"

	"github.com/xwb1989/sqlparser"
)

// query parses src, which must be one SELECT statement.
func query(t *testing.T, src string) *Query {
	t.Helper()
	prog, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	if len(prog.Statements) != 1 {
		t.Fatalf("Parse(%q): %d statements, want 1", src, len(prog.Statements))
	}
	sel, ok := prog.Statements[0].(*SelectStatement)
	if !ok {
		t.Fatalf("Parse(%q): %T, want *SelectStatement", src, prog.Statements[0])
	}
	return sel.Query
}

func TestRewriteRoundTrips(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want string // sqlparser.String of the AST
	}{
		{"unquoted identifiers fold to upper case",
			`select stream ticker, Price from src_stream`,
			"select TICKER, PRICE from SRC_STREAM"},
		{"quoted identifiers keep their case",
			`SELECT STREAM "ticker", "Price" FROM "SrcStream"`,
			"select ticker, Price from SrcStream"},
		{"names that are MySQL keywords stay names",
			`SELECT STREAM status, value, key, "order" FROM s`,
			"select `STATUS`, VALUE, `KEY`, `order` from S"},
		{"quoted identifiers may hold any character",
			`SELECT STREAM "a-b c" FROM "200-Stream"`,
			"select `a-b c` from `200-Stream`"},
		{"single-quoted strings double their quotes and keep backslashes",
			`SELECT STREAM 'it''s a \ here' FROM s`,
			`select 'it\'s a \\ here' from S`},
		{"unicode literals become plain strings",
			`SELECT STREAM u&'\0041\00e9\+01F600' FROM s`,
			"select 'Aé😀' from S"},
		{"UESCAPE changes the unicode escape character",
			`SELECT STREAM U&'!0042\x!!' UESCAPE '!' FROM s`,
			`select 'B\\x!' from S`},
		{"binary literals pass through",
			`SELECT STREAM X'0aFF' FROM s`,
			"select X'0aFF' from S"},
		{"STEP BY becomes a two-argument call",
			`SELECT STREAM COUNT(*) FROM s GROUP BY STEP(s.ROWTIME BY INTERVAL '10' SECOND)`,
			"select COUNT(*) from S group by STEP(S.ROWTIME, interval '10' SECOND)"},
		{"FLOOR and CEIL TO a unit become KDA_FLOOR_TO and KDA_CEIL_TO",
			`SELECT STREAM FLOOR(s.rowtime TO MINUTE), CEIL(ts TO HOUR), CEILING(ts TO DAY), FLOOR(x) FROM s`,
			"select KDA_FLOOR_TO(S.ROWTIME, 'MINUTE'), KDA_CEIL_TO(TS, 'HOUR'), KDA_CEIL_TO(TS, 'DAY'), FLOOR(X) from S"},
		{"EXTRACT takes its unit as a string",
			`SELECT STREAM EXTRACT(hour FROM ROWTIME) FROM s`,
			"select KDA_EXTRACT('HOUR', ROWTIME) from S"},
		{"POSITION IN becomes two arguments",
			`SELECT STREAM POSITION('x' IN name) FROM s`,
			"select KDA_POSITION('x', NAME) from S"},
		{"TRIM spells out its side and character",
			`SELECT STREAM TRIM(a), TRIM(LEADING '0' FROM b), TRIM(TRAILING FROM c), TRIM('x' FROM d) FROM s`,
			"select KDA_TRIM('BOTH', ' ', A), KDA_TRIM('LEADING', '0', B), KDA_TRIM('TRAILING', ' ', C), KDA_TRIM('BOTH', 'x', D) from S"},
		{"OVERLAY PLACING FROM FOR becomes four arguments",
			`SELECT STREAM OVERLAY(a PLACING 'xy' FROM 2 FOR 3), OVERLAY(a PLACING 'z' FROM 1) FROM s`,
			"select KDA_OVERLAY(A, 'xy', 2, 3), KDA_OVERLAY(A, 'z', 1) from S"},
		{"SUBSTRING with FROM FOR or commas becomes KDA_SUBSTRING",
			`SELECT STREAM SUBSTRING(a || 'x' FROM 2 FOR 3), SUBSTRING(a FROM 2), SUBSTRING(a, 1, 2) FROM s`,
			"select KDA_SUBSTRING(A | 'x', 2, 3), KDA_SUBSTRING(A, 2), KDA_SUBSTRING(A, 1, 2) from S"},
		{"CAST names its KDA type as a string",
			`SELECT STREAM CAST(a AS VARCHAR(10)), CAST(b AS DOUBLE PRECISION), CAST(c AS DEC(5,2)), CAST(d AS TIMESTAMP) FROM s`,
			"select KDA_CAST(A, 'VARCHAR(10)'), KDA_CAST(B, 'DOUBLE'), KDA_CAST(C, 'DECIMAL(5,2)'), KDA_CAST(D, 'TIMESTAMP') from S"},
		{"typed literals become casts of strings",
			`SELECT STREAM TIMESTAMP '2026-01-02 03:04:05', DATE '2026-01-02' FROM s`,
			"select KDA_CAST('2026-01-02 03:04:05', 'TIMESTAMP'), KDA_CAST('2026-01-02', 'DATE') from S"},
		{"SIMILAR TO becomes REGEXP",
			`SELECT STREAM * FROM s WHERE sector SIMILAR TO '%TECH%' AND name NOT SIMILAR TO 'A_'`,
			"select * from S where SECTOR regexp '%TECH%' and NAME not regexp 'A_'"},
		{"SIMILAR TO with ESCAPE becomes LIKE over a KDA_SIMILAR pattern",
			`SELECT STREAM * FROM s WHERE a SIMILAR TO 'x!_%' ESCAPE '!' AND b NOT SIMILAR TO '!%' ESCAPE '!'`,
			"select * from S where A like KDA_SIMILAR('x!_%') escape '!' and B not like KDA_SIMILAR('!%') escape '!'"},
		{"IS NOT DISTINCT FROM becomes the null-safe equality",
			`SELECT STREAM * FROM s WHERE a IS NOT DISTINCT FROM b`,
			"select * from S where A <=> B"},
		{"IS DISTINCT FROM becomes null-safe equality IS FALSE over its whole right operand",
			`SELECT STREAM * FROM s WHERE a IS DISTINCT FROM b + 1 AND c IS NULL`,
			"select * from S where A <=> B + 1 is false and C is null"},
		{"string concatenation binds tighter than comparison",
			`SELECT STREAM * FROM s WHERE a || b = 'x'`,
			"select * from S where A | B = 'x'"},
		{"MONOTONIC and CURRENT_ROW_TIMESTAMP are calls",
			`SELECT STREAM CURRENT_ROW_TIMESTAMP, COUNT(*) FROM s GROUP BY MONOTONIC(ts)`,
			"select CURRENT_ROW_TIMESTAMP(), COUNT(*) from S group by MONOTONIC(TS)"},
		{"ROWTIME may be bare, qualified or quoted",
			`SELECT STREAM ROWTIME, s.ROWTIME, "s".rowtime, "ROWTIME" FROM s`,
			"select ROWTIME, S.ROWTIME, s.ROWTIME, ROWTIME from S"},
		{"composite columns keep all three parts",
			`SELECT STREAM t.r."COL_1" FROM s AS t`,
			"select T.R.COL_1 from S as T"},
		{"interval units pair up MySQL style",
			`SELECT STREAM ts - INTERVAL '1:30' HOUR TO MINUTE, ts + INTERVAL '2' DAY FROM s`,
			"select TS - interval '1:30' hour_minute, TS + interval '2' DAY from S"},
		{"all three comment styles are skipped",
			"SELECT STREAM a -- dashes\n , b // slashes\n , /* block\n comment */ c FROM s",
			"select A, B, C from S"},
		{"a union keeps both blocks",
			`SELECT STREAM a FROM s1 UNION ALL SELECT STREAM a FROM s2`,
			"select A from S1 union all select A from S2"},
		{"aggregates with ALL drop the default ALL and keep DISTINCT",
			`SELECT STREAM AVG(ALL x), COUNT(DISTINCT y) FROM s GROUP BY FLOOR(ROWTIME TO SECOND)`,
			"select AVG(X), COUNT(distinct Y) from S group by KDA_FLOOR_TO(ROWTIME, 'SECOND')"},
		{"IS UNKNOWN is IS NULL",
			`SELECT STREAM * FROM s WHERE (a > 1) IS UNKNOWN`,
			"select * from S where (A > 1) is null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := query(t, c.src)
			if got := sqlparser.String(q.AST); got != c.want {
				t.Errorf("rewritten AST\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
}

func TestConcatenationKeepsSQLPrecedence(t *testing.T) {
	q := query(t, `SELECT STREAM a || b || c FROM s WHERE a || b = 'x'`)
	sel := q.AST.(*sqlparser.Select)
	outer, ok := sel.SelectExprs[0].(*sqlparser.AliasedExpr).Expr.(*sqlparser.BinaryExpr)
	if !ok || outer.Operator != sqlparser.BitOrStr {
		t.Fatalf("a || b || c is %T, want a | BinaryExpr", sel.SelectExprs[0].(*sqlparser.AliasedExpr).Expr)
	}
	if inner, ok := outer.Left.(*sqlparser.BinaryExpr); !ok || sqlparser.String(inner) != "A | B" || sqlparser.String(outer.Right) != "C" {
		t.Errorf("a || b || c groups as %s | %s, want (A | B) | C", sqlparser.String(outer.Left), sqlparser.String(outer.Right))
	}
	cmp, ok := sel.Where.Expr.(*sqlparser.ComparisonExpr)
	if !ok || cmp.Operator != sqlparser.EqualStr {
		t.Fatalf("WHERE is %T, want a comparison", sel.Where.Expr)
	}
	if _, ok := cmp.Left.(*sqlparser.BinaryExpr); !ok {
		t.Errorf("a || b = 'x' compares %s, want the concatenation", sqlparser.String(cmp.Left))
	}
}

func TestStringLiteralsHoldTheKDAValue(t *testing.T) {
	q := query(t, `SELECT STREAM 'a''b\c' FROM s`)
	v := q.AST.(*sqlparser.Select).SelectExprs[0].(*sqlparser.AliasedExpr).Expr.(*sqlparser.SQLVal)
	if string(v.Val) != `a'b\c` {
		t.Errorf("literal value %q, want %q", v.Val, `a'b\c`)
	}
}

func TestNamedAndInlineWindowsBecomeKDAOver(t *testing.T) {
	q := query(t, `SELECT STREAM ticker,
    AVG(price) OVER w1 AS avg_price,
    MAX(price) OVER (PARTITION BY ticker ROWS 5 PRECEDING) AS max5,
    SUM(qty) OVER (RANGE BETWEEN INTERVAL '30' SECOND PRECEDING AND CURRENT ROW) AS recent
FROM trades
WINDOW w1 AS (PARTITION BY ticker, venue RANGE INTERVAL '1' MINUTE PRECEDING)`)
	want := "select TICKER, KDA_OVER(AVG(PRICE), 'W1') as AVG_PRICE, KDA_OVER(MAX(PRICE), '$1') as MAX5, KDA_OVER(SUM(QTY), '$2') as RECENT from TRADES"
	if got := sqlparser.String(q.AST); got != want {
		t.Errorf("AST\n got: %s\nwant: %s", got, want)
	}
	w1 := q.Windows["W1"]
	if w1 == nil || w1.IsRows || w1.Range != time.Minute || sqlparser.String(sqlparser.Exprs(w1.PartitionBy)) != "TICKER, VENUE" {
		t.Errorf("W1 = %+v", w1)
	}
	if w1 != nil && (w1.Pos.Line != 6 || w1.Pos.Col != 14) {
		t.Errorf("W1 at %v, want line 6, column 14", w1.Pos)
	}
	if r := q.Windows["$1"]; r == nil || !r.IsRows || r.Rows != 5 || len(r.PartitionBy) != 1 {
		t.Errorf("$1 = %+v", r)
	}
	if r := q.Windows["$2"]; r == nil || r.IsRows || r.Range != 30*time.Second || len(r.PartitionBy) != 0 {
		t.Errorf("$2 = %+v", r)
	}
	blk := q.Blocks[q.AST.(*sqlparser.Select)]
	if blk == nil || !blk.Stream || len(blk.Windows) != 1 || blk.Windows[0] != "W1" {
		t.Errorf("block = %+v", blk)
	}
}

func TestStaggerWindowIsTakenOutOfTheText(t *testing.T) {
	q := query(t, `SELECT STREAM ticker, FLOOR(event_time TO MINUTE) AS et, COUNT(*) AS n
FROM s WHERE price > 0
WINDOWED BY STAGGER (PARTITION BY FLOOR(event_time TO MINUTE), ticker RANGE INTERVAL '2' MINUTE)
HAVING COUNT(*) > 1`)
	want := "select TICKER, KDA_FLOOR_TO(EVENT_TIME, 'MINUTE') as ET, COUNT(*) as N from S where PRICE > 0 having COUNT(*) > 1"
	if got := sqlparser.String(q.AST); got != want {
		t.Errorf("AST\n got: %s\nwant: %s", got, want)
	}
	if q.Stagger == nil || q.Stagger.Range != 2*time.Minute ||
		sqlparser.String(sqlparser.Exprs(q.Stagger.PartitionBy)) != "KDA_FLOOR_TO(EVENT_TIME, 'MINUTE'), TICKER" {
		t.Fatalf("stagger = %+v", q.Stagger)
	}
	if q.Stagger.Pos.Line != 3 || q.Stagger.Pos.Col != 1 {
		t.Errorf("stagger at %v, want line 3, column 1", q.Stagger.Pos)
	}
}

func TestOrderByWithinIsATSort(t *testing.T) {
	q := query(t, `SELECT STREAM FLOOR(s.ROWTIME TO SECOND) AS ROWTIME, id FROM s
ORDER BY FLOOR(s.ROWTIME TO SECOND) WITHIN INTERVAL '3' SECOND`)
	sel := q.AST.(*sqlparser.Select)
	if got := sqlparser.String(sel.OrderBy); got != " order by KDA_FLOOR_TO(S.ROWTIME, 'SECOND') asc" {
		t.Errorf("ORDER BY = %q", got)
	}
	if q.OrderWithin == nil || q.OrderWithin.Within != 3*time.Second {
		t.Fatalf("OrderWithin = %+v", q.OrderWithin)
	}
	if q.OrderWithin.Expr != sel.OrderBy[0].Expr {
		t.Errorf("OrderWithin.Expr is not the AST's ORDER BY expression")
	}
}

func TestSubqueriesHaveTheirOwnWindows(t *testing.T) {
	q := query(t, `SELECT STREAM t.ticker, t.a FROM (
    SELECT STREAM ticker, AVG(price) OVER w AS a FROM s
    WINDOW w AS (PARTITION BY ticker RANGE INTERVAL '1' HOUR PRECEDING)
) AS t WHERE t.a > 10`)
	want := "select T.TICKER, T.A from (select TICKER, KDA_OVER(AVG(PRICE), 'W') as A from S) as T where T.A > 10"
	if got := sqlparser.String(q.AST); got != want {
		t.Errorf("AST\n got: %s\nwant: %s", got, want)
	}
	outer := q.AST.(*sqlparser.Select)
	inner := outer.From[0].(*sqlparser.AliasedTableExpr).Expr.(*sqlparser.Subquery).Select.(*sqlparser.Select)
	if b := q.Blocks[outer]; b == nil || len(b.Windows) != 0 {
		t.Errorf("outer block = %+v", b)
	}
	if b := q.Blocks[inner]; b == nil || !b.Stream || len(b.Windows) != 1 || q.Windows[b.Windows[0]].Range != time.Hour {
		t.Errorf("inner block = %+v", b)
	}
	if len(inner.Comments) != 0 {
		t.Errorf("block marker left in the AST: %q", inner.Comments)
	}
}

func TestTwoBlocksMayReuseAWindowName(t *testing.T) {
	q := query(t, `SELECT STREAM SUM(a) OVER w FROM (SELECT STREAM MIN(b) OVER w AS a FROM s WINDOW w AS (ROWS 2 PRECEDING)) AS x
WINDOW w AS (ROWS 3 PRECEDING)`)
	if got := sqlparser.String(q.AST); !strings.Contains(got, "'W#2'") {
		t.Errorf("AST %s does not use a second key for the inner W", got)
	}
	if q.Windows["W"].Rows != 3 || q.Windows["W#2"].Rows != 2 {
		t.Errorf("windows W=%+v W#2=%+v", q.Windows["W"], q.Windows["W#2"])
	}
}

func TestDerivedTableColumnAliases(t *testing.T) {
	q := query(t, `SELECT STREAM l.r.COLUMN1 FROM (SELECT STREAM W3C_LOG_PARSE(line, 'COMMON') FROM s) AS l(r)`)
	want := "select L.R.COLUMN1 from (select W3C_LOG_PARSE(LINE, 'COMMON') from S) as L"
	if got := sqlparser.String(q.AST); got != want {
		t.Errorf("AST\n got: %s\nwant: %s", got, want)
	}
	if cols := q.ColumnAliases["L"]; len(cols) != 1 || cols[0] != "R" {
		t.Errorf("ColumnAliases = %v", q.ColumnAliases)
	}
}

func TestTableFunctionsBecomeDerivedTables(t *testing.T) {
	q := query(t, `SELECT STREAM "heart", ANOMALY_SCORE
FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM "heart" FROM "IN_001"), 50, 128, 1000, 1)) AS rcf
WHERE ANOMALY_SCORE > 2`)
	want := "select heart, ANOMALY_SCORE from (select heart from IN_001) as RCF where ANOMALY_SCORE > 2"
	if got := sqlparser.String(q.AST); got != want {
		t.Errorf("AST\n got: %s\nwant: %s", got, want)
	}
	tf := q.TableFunctions["RCF"]
	if tf == nil || tf.Name != "RANDOM_CUT_FOREST" || sqlparser.String(sqlparser.Exprs(tf.Args)) != "50, 128, 1000, 1" {
		t.Fatalf("TableFunctions = %+v", q.TableFunctions)
	}
	if tf.Cursor == nil || tf.Cursor != q.AST.(*sqlparser.Select).From[0].(*sqlparser.AliasedTableExpr).Expr {
		t.Errorf("Cursor is not the derived table of the AST")
	}
	if tf.Pos.Line != 2 || tf.Pos.Col != 6 {
		t.Errorf("table function at %v, want line 2, column 6", tf.Pos)
	}
}

func TestTableFunctionWithoutAliasIsNamedAfterTheFunction(t *testing.T) {
	q := query(t, `SELECT STREAM * FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM x, y FROM s), 100, 0.2, 5))`)
	if got := sqlparser.String(q.AST); got != "select * from (select X, Y from S) as HOTSPOTS" {
		t.Errorf("AST %s", got)
	}
	if q.TableFunctions["HOTSPOTS"] == nil || len(q.TableFunctions["HOTSPOTS"].Args) != 3 {
		t.Errorf("TableFunctions = %+v", q.TableFunctions)
	}
}

func TestJoinWindowsAreRecordedByAlias(t *testing.T) {
	q := query(t, `SELECT STREAM ROWTIME, o.id, t.amount
FROM orders AS o
JOIN trades OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON o.id = t.id
LEFT JOIN refs OVER w ON o.id = refs.id
WINDOW w AS (RANGE INTERVAL '10' SECOND FOLLOWING)`)
	want := "select ROWTIME, O.ID, T.AMOUNT from ORDERS as O join TRADES as T on O.ID = T.ID left join REFS on O.ID = REFS.ID"
	if got := sqlparser.String(q.AST); got != want {
		t.Errorf("AST\n got: %s\nwant: %s", got, want)
	}
	b := q.Blocks[q.AST.(*sqlparser.Select)]
	if b == nil || b.JoinWindows["T"] != "$1" || b.JoinWindows["REFS"] != "W" {
		t.Fatalf("JoinWindows = %+v", b)
	}
	if !q.Windows["W"].Following || q.Windows["$1"].Range != time.Minute {
		t.Errorf("windows = %+v %+v", q.Windows["W"], q.Windows["$1"])
	}
}

func TestLocateMapsNodesToTheSource(t *testing.T) {
	src := "SELECT STREAM ticker,\n  FLOOR(s.ROWTIME TO MINUTE) AS m,\n  \"Price\" * 2\nFROM s\nWHERE status = 'open'"
	q := query(t, src)
	sel := q.AST.(*sqlparser.Select)
	want := map[string][2]int{
		"TICKER":                                 {1, 15},
		"KDA_FLOOR_TO(S.ROWTIME, 'MINUTE')":      {2, 3},
		"S.ROWTIME":                              {2, 9},
		"Price * 2":                              {3, 3},
		"2":                                      {3, 13},
		"`STATUS` = 'open'":                      {5, 7},
		"'open'":                                 {5, 16},
		"KDA_FLOOR_TO(S.ROWTIME, 'MINUTE') as M": {2, 3},
	}
	seen := map[string]bool{}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if h, ok := n.(*sqlparser.IndexHints); ok && h == nil {
			return false, nil
		}
		s := sqlparser.String(n)
		if w, ok := want[s]; ok {
			if p, found := q.Locate(n); found {
				seen[s] = true
				if p.Line != w[0] || p.Col != w[1] {
					t.Errorf("%s at %v, want line %d, column %d", s, p, w[0], w[1])
				}
			}
		}
		return true, nil
	}, sel)
	for s := range want {
		if !seen[s] {
			t.Errorf("%s was not located", s)
		}
	}
}
