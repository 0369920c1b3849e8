package dialect

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/xwb1989/sqlparser"
)

// passKeywords are KDA keywords that mean the same in sqlparser's grammar
// and are emitted unchanged. Every other unquoted word is an identifier.
var passKeywords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "GROUP": true, "BY": true, "HAVING": true, "ORDER": true,
	"ASC": true, "DESC": true, "AS": true, "AND": true, "OR": true, "NOT": true, "IN": true, "IS": true,
	"NULL": true, "TRUE": true, "FALSE": true, "LIKE": true, "ESCAPE": true, "BETWEEN": true, "CASE": true,
	"WHEN": true, "THEN": true, "ELSE": true, "END": true, "JOIN": true, "INNER": true, "LEFT": true,
	"RIGHT": true, "OUTER": true, "CROSS": true, "NATURAL": true, "ON": true, "USING": true, "UNION": true,
	"ALL": true, "DISTINCT": true, "EXISTS": true, "LIMIT": true, "OFFSET": true,
	"CURRENT_DATE": true, "CURRENT_TIME": true, "CURRENT_TIMESTAMP": true, "LOCALTIME": true, "LOCALTIMESTAMP": true,
}

// clauseStarts end an expression or a FROM list at nesting depth 0.
var clauseStarts = map[string]bool{
	"FROM": true, "WHERE": true, "GROUP": true, "HAVING": true, "WINDOW": true, "WINDOWED": true,
	"ORDER": true, "LIMIT": true, "UNION": true, "EXCEPT": true, "INTERSECT": true,
}

// operandStops end the right operand of IS [NOT] DISTINCT FROM.
var operandStops = map[string]bool{
	"AND": true, "OR": true, "THEN": true, "WHEN": true, "ELSE": true, "END": true, "AS": true, "IS": true,
	"NOT": true, "LIKE": true, "BETWEEN": true, "IN": true, "SIMILAR": true, "ESCAPE": true, "ON": true,
	"JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "CROSS": true, "FULL": true, "ASC": true,
	"DESC": true, "WITHIN": true,
}

// notAlias are words that cannot be a bare table alias after a FROM item.
var notAlias = map[string]bool{
	"ON": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "CROSS": true, "FULL": true,
	"NATURAL": true, "USING": true, "OUTER": true, "OVER": true, "AS": true,
}

// timeUnits are the units FLOOR/CEIL ... TO and EXTRACT accept.
var timeUnits = map[string]bool{
	"MILLISECOND": true, "SECOND": true, "MINUTE": true, "HOUR": true, "DAY": true, "WEEK": true,
	"MONTH": true, "QUARTER": true, "YEAR": true, "DOW": true, "DOY": true, "EPOCH": true,
}

var blockMarker = regexp.MustCompile(`^/\*KDA:S(\d+)\*/$`)

// rewriter turns the tokens of one statement into MySQL text for sqlparser.
type rewriter struct {
	li      *lineIndex
	toks    []token
	match   []int // partner of each parenthesis; -1 elsewhere
	q       *Query
	blocks  []*blockState
	stack   []*blockState // the SELECT blocks being rewritten, innermost last
	nesting int           // depth of query() calls
	inline  int           // counter for "$n" inline window keys
	hop     hopCopy       // how HOP window joins of several slides are lowered (hopjoin.go)
}

// blockState is a SELECT block while it is rewritten.
type blockState struct {
	*Block
	names      map[string]string // WINDOW name -> key in Query.Windows
	orderStart int               // token index of the first ORDER BY expression when WITHIN is used
	top        bool              // a block of the outermost query, not of a subquery
	// The block's window table functions by token index and by alias, and
	// its SELECT items (start -> end) when it has some (windowtvf.go).
	tvfAt map[int]*WindowTVF
	tvfs  map[string]*WindowTVF
	items map[int]int
}

func newRewriter(li *lineIndex, toks []token, q *Query) *rewriter {
	r := &rewriter{li: li, toks: toks, q: q, match: make([]int, len(toks))}
	var stack []int
	for i, t := range toks {
		r.match[i] = -1
		if t.isOp("(") {
			stack = append(stack, i)
		} else if t.isOp(")") && len(stack) > 0 {
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			r.match[o], r.match[i] = i, o
		}
	}
	if q.Windows == nil {
		q.Windows = map[string]*WindowSpec{}
	}
	if q.Locations.m == nil {
		q.Locations.m = map[sqlparser.SQLNode]Pos{}
	}
	return r
}

func (r *rewriter) errAt(i int, format string, args ...any) *SyntaxError {
	return r.li.errAt(r.toks[i].start, format, args...)
}

// checkParens reports the first unbalanced parenthesis in [lo, hi).
func (r *rewriter) checkParens(lo, hi int) error {
	for i := lo; i < hi; i++ {
		if r.toks[i].kind == tkOp && (r.toks[i].val == "(" || r.toks[i].val == ")") {
			if m := r.match[i]; m < lo || m >= hi {
				if r.toks[i].val == "(" {
					return r.errAt(i, "this ( is never closed")
				}
				return r.errAt(i, "this ) closes nothing")
			}
		}
	}
	return nil
}

// skip returns the index after the token at i, jumping over a parenthesized
// group as a whole.
func (r *rewriter) skip(i int) int {
	if r.toks[i].isOp("(") && r.match[i] > i {
		return r.match[i] + 1
	}
	return i + 1
}

// findTop returns the first index in [lo, hi) at depth 0 whose token is one
// of the keywords kws, or -1.
func (r *rewriter) findTop(lo, hi int, kws ...string) int {
	for i := lo; i < hi; i = r.skip(i) {
		for _, kw := range kws {
			if r.toks[i].is(kw) && !(kw == "FROM" && r.analyticFrom(i)) {
				return i
			}
		}
	}
	return -1
}

// parseQuery rewrites the query in toks[lo:hi] and parses it with sqlparser.
func parseQuery(li *lineIndex, toks []token, lo, hi int) (*Query, error) {
	return parseQueryWith(li, toks, lo, hi, hopCopy{})
}

// parseQueryWith is parseQuery for a pump's query, or for one of the
// copies of a HOP window join (hopjoin.go).
func parseQueryWith(li *lineIndex, toks []token, lo, hi int, hop hopCopy) (*Query, error) {
	q := &Query{Pos: li.pos(toks[lo].start), Blocks: map[*sqlparser.Select]*Block{}}
	r := newRewriter(li, toks, q)
	r.hop = hop
	if err := r.checkParens(lo, hi); err != nil {
		return nil, err
	}
	e := &emitter{}
	if err := r.query(e, lo, hi); err != nil {
		return nil, err
	}
	stmt, err := r.parse(e, lo, hi)
	if err != nil {
		return nil, err
	}
	sel, ok := stmt.(sqlparser.SelectStatement)
	if !ok {
		return nil, r.errAt(lo, "expected a query")
	}
	q.AST = sel
	if err := r.resolve(sel); err != nil {
		return nil, err
	}
	if len(r.blocks) > 0 {
		top := r.blocks[0]
		q.Stream, q.Stagger = top.Stream, top.Stagger
	}
	for _, b := range r.blocks {
		if b.OrderWithin != nil && q.OrderWithin == nil && b.top {
			q.OrderWithin = b.OrderWithin
		}
	}
	return q, nil
}

// span is a half-open range of token indexes.
type span struct{ lo, hi int }

func (r *rewriter) cur() *blockState {
	if len(r.stack) == 0 {
		return nil
	}
	return r.stack[len(r.stack)-1]
}

// startsQuery reports whether the parenthesis at i opens a query: its first
// token past any further "(" is SELECT.
func (r *rewriter) startsQuery(i int) bool {
	for r.toks[i].isOp("(") {
		i++
	}
	return r.toks[i].is("SELECT")
}

// query rewrites a query expression: SELECT blocks, parenthesized queries,
// UNION [ALL].
func (r *rewriter) query(e *emitter, lo, hi int) error {
	r.nesting++
	defer func() { r.nesting-- }()
	if lo >= hi {
		return r.errAt(lo, "expected a query, found %s", describe(r.toks[lo]))
	}
	for i := lo; i < hi; {
		t := r.toks[i]
		switch {
		case t.is("SELECT"):
			end := r.findTop(i+1, hi, "UNION", "EXCEPT", "INTERSECT")
			if end < 0 {
				end = hi
			}
			if err := r.block(e, i, end); err != nil {
				return err
			}
			i = end
		case t.isOp("("):
			m := r.match[i]
			e.word("(", t)
			if err := r.query(e, i+1, m); err != nil {
				return err
			}
			e.word(")", r.toks[m])
			i = m + 1
		case t.is("UNION"):
			e.word("UNION", t)
			i++
			if r.toks[i].is("ALL") || r.toks[i].is("DISTINCT") {
				e.word(r.toks[i].val, r.toks[i])
				i++
			}
			if i >= hi {
				return r.errAt(i, "UNION needs a query after it")
			}
		case t.is("EXCEPT") || t.is("INTERSECT"):
			return r.errAt(i, "%s is not supported yet: only UNION [ALL] combines queries", t.val)
		case t.is("VALUES"):
			return r.errAt(i, "a VALUES query gives constant rows, not a stream: use them as the table side of a join, FROM s JOIN (VALUES (1, 'a')) AS t(x, y) ON ...")
		case t.is("ORDER") || t.is("LIMIT"):
			end := r.findTop(i, hi, "UNION")
			if end < 0 {
				end = hi
			}
			if err := r.exprs(e, i, end, span{}); err != nil {
				return err
			}
			i = end
		default:
			return r.errAt(i, "expected SELECT, found %s", describe(t))
		}
	}
	return nil
}

// block rewrites one SELECT block in [lo, hi): it takes out WINDOW,
// WINDOWED BY STAGGER and WITHIN, and marks the SELECT with /*KDA:Sn*/ so the
// block can be found in the AST.
func (r *rewriter) block(e *emitter, lo, hi int) error {
	b := &blockState{Block: &Block{Pos: r.li.pos(r.toks[lo].start)}, names: map[string]string{}, top: r.nesting == 1}
	n := len(r.blocks)
	r.blocks = append(r.blocks, b)
	r.stack = append(r.stack, b)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()

	e.word("SELECT", r.toks[lo])
	e.word(fmt.Sprintf("/*KDA:S%d*/", n), r.toks[lo])
	i := lo + 1
	if r.toks[i].is("STREAM") {
		b.Stream = true
		i++
	}
	var cut []span
	if w := r.findTop(i, hi, "WINDOW"); w >= 0 {
		end := r.findTop(w+1, hi, "ORDER", "LIMIT")
		if end < 0 {
			end = hi
		}
		if err := r.windowClause(b, w+1, end); err != nil {
			return err
		}
		cut = append(cut, span{w, end})
	}
	if w := r.findTop(i, hi, "WINDOWED"); w >= 0 {
		if !r.toks[w+1].is("BY") || !r.toks[w+2].is("STAGGER") || !r.toks[w+3].isOp("(") {
			return r.errAt(w, "expected WINDOWED BY STAGGER (PARTITION BY ... RANGE INTERVAL ...)")
		}
		if g := r.findTop(i, hi, "GROUP"); g >= 0 {
			return r.errAt(g, "WINDOWED BY STAGGER replaces GROUP BY: use one or the other")
		}
		m := r.match[w+3]
		st, err := r.stagger(w+3, m)
		if err != nil {
			return err
		}
		b.Stagger = st
		cut = append(cut, span{w, m + 1})
	}
	if o := r.findTop(i, hi, "ORDER"); o >= 0 {
		if w := r.findTop(o, hi, "WITHIN"); w >= 0 {
			end := r.findTop(w+1, hi, "LIMIT")
			if end < 0 {
				end = hi
			}
			if err := r.orderWithin(b, o, w, end); err != nil {
				return err
			}
			cut = append(cut, span{w, end})
		}
	}
	from := span{-1, -1}
	if f := r.findTop(i, hi, "FROM"); f >= 0 {
		end := r.findTop(f+1, hi, "WHERE", "GROUP", "WINDOWED", "HAVING", "WINDOW", "ORDER", "LIMIT")
		if end < 0 {
			end = hi
		}
		from = span{f + 1, end}
		if err := r.scanWindowTVFs(b, from, span{i, f}); err != nil {
			return err
		}
	}
	// Emit what is left, in source order.
	for i < hi {
		next := hi
		skipTo := -1
		for _, c := range cut {
			if c.lo >= i && c.lo < next {
				next, skipTo = c.lo, c.hi
			}
		}
		if err := r.exprs(e, i, next, from); err != nil {
			return err
		}
		if skipTo < 0 {
			break
		}
		i = skipTo
	}
	return nil
}

// exprs rewrites the tokens of [lo, hi); from is the block's FROM list.
func (r *rewriter) exprs(e *emitter, lo, hi int, from span) error {
	for i := lo; i < hi; {
		next, err := r.one(e, i, hi, from)
		if err != nil {
			return err
		}
		i = next
	}
	return nil
}

// peek returns the token at i if it is before hi, else an end marker.
func (r *rewriter) peek(i, hi int) token {
	if i < hi {
		return r.toks[i]
	}
	return token{kind: tkEOF, start: r.toks[hi].start, end: r.toks[hi].start}
}

// one rewrites the construct that starts at token i and returns the index
// after it.
func (r *rewriter) one(e *emitter, i, hi int, from span) (int, error) {
	t := r.toks[i]
	inFrom := i >= from.lo && i < from.hi
	switch t.kind {
	case tkOp:
		switch t.val {
		case "(":
			if inFrom && r.toks[i+1].is("VALUES") {
				return r.valuesFrom(e, i) // values.go
			}
			m := r.match[i]
			e.word("(", t)
			var err error
			if r.startsQuery(i + 1) {
				err = r.query(e, i+1, m)
			} else {
				err = r.exprs(e, i+1, m, from)
			}
			if err != nil {
				return 0, err
			}
			e.word(")", r.toks[m])
			return m + 1, nil
		case "||":
			e.word("|", t)
		case "[", "]", "?", ";":
			return 0, r.errAt(i, "unexpected %q", t.val)
		default:
			e.word(t.val, t)
		}
		return i + 1, nil
	case tkString:
		e.str(t.val, t)
		return i + 1, nil
	case tkHex:
		e.lit("X'"+t.val+"'", t.val, t)
		return i + 1, nil
	case tkNumber:
		e.lit(t.val, t.val, t)
		return i + 1, nil
	case tkDollar:
		return 0, r.errAt(i, "a $$ body is allowed only after AS in CREATE [AGGREGATE] FUNCTION ... LANGUAGE JAVASCRIPT")
	case tkQuoted:
		if r.peek(i+1, hi).isOp("(") {
			return r.call(e, i, hi, from)
		}
		return r.identifier(e, i, hi, inFrom)
	}
	next := r.peek(i+1, hi)
	switch {
	case inFrom && t.is("TABLE") && next.isOp("("):
		if end, ok, err := r.windowFromItem(e, i, hi); ok || err != nil {
			return end, err
		}
		return r.tableFunction(e, i, hi)
	case inFrom && t.is("AS") && r.peek(i+2, hi).isOp("(") && next.isIdent():
		return r.columnAliases(e, i)
	case t.is("FULL"):
		k := i + 1
		if r.peek(k, hi).is("OUTER") {
			k++
		}
		if !r.peek(k, hi).is("JOIN") {
			return 0, r.errAt(k, "expected JOIN after FULL [OUTER]")
		}
		e.word("STRAIGHT_JOIN", t) // MySQL has no FULL JOIN: the planner reads STRAIGHT_JOIN as FULL
		return k + 1, nil
	case t.is("EXCEPT") || t.is("INTERSECT"):
		return 0, r.errAt(i, "%s is not supported yet: only UNION [ALL] combines queries", t.val)
	case t.is("IS"):
		return r.isDistinct(e, i, hi, from)
	case t.is("NOT") && next.is("SIMILAR"):
		if !r.peek(i+2, hi).is("TO") {
			return 0, r.errAt(i+1, "expected SIMILAR TO")
		}
		e.word("NOT", t)
		return r.similarTo(e, i+1, hi)
	case t.is("SIMILAR"):
		if !next.is("TO") {
			return 0, r.errAt(i, "expected SIMILAR TO")
		}
		return r.similarTo(e, i, hi)
	case t.is("INTERVAL"):
		return r.intervalLit(e, i, hi)
	case (t.is("DATE") || t.is("TIME") || t.is("TIMESTAMP")) && next.kind == tkString:
		e.word("KDA_CAST", t)
		e.word("(", t)
		e.str(next.val, next)
		e.word(",", t)
		e.str(t.val, t)
		e.word(")", t)
		return i + 2, nil
	case (t.is("SYSTEM_USER") || t.is("CURRENT_PATH")) && !next.isOp("("):
		e.word(t.val, t)
		e.word("(", t)
		e.word(")", t)
		return i + 1, nil
	case t.is("CURRENT_ROW_TIMESTAMP"):
		e.word("CURRENT_ROW_TIMESTAMP", t)
		e.word("(", t)
		e.word(")", t)
		return i + 1, nil
	case t.is("UNKNOWN"):
		e.word("NULL", t)
		return i + 1, nil
	case t.is("CURSOR"):
		return 0, r.errAt(i, "CURSOR(...) may only be the first argument of a table function: TABLE(fn(CURSOR(SELECT STREAM ...), ...))")
	case t.is("OVER"):
		return 0, r.errAt(i, "OVER must follow an aggregate call such as AVG(x), or a stream in a JOIN")
	case t.is("STREAM"):
		return 0, r.errAt(i, "STREAM must directly follow SELECT")
	case t.is("WITHIN"):
		return 0, r.errAt(i, "WITHIN belongs after ORDER BY <timestamp expression>")
	case passKeywords[t.val]:
		e.word(t.val, t)
		return i + 1, nil
	case next.isOp("("):
		return r.call(e, i, hi, from)
	}
	return r.identifier(e, i, hi, inFrom)
}

// identifier emits a name; in a FROM list it also takes "name OVER window"
// apart into the plain name and a join window of the block.
func (r *rewriter) identifier(e *emitter, i, hi int, inFrom bool) (int, error) {
	t := r.toks[i]
	if next, ok, err := r.windowColumn(e, i, hi); ok || err != nil {
		return next, err
	}
	e.ident(t.val, t)
	if !inFrom || !r.peek(i+1, hi).is("OVER") {
		return i + 1, nil
	}
	b := r.cur()
	key, next, err := r.overSpec(i+1, hi, true)
	if err != nil {
		return 0, err
	}
	alias := t.val
	if a := r.peek(next, hi); a.is("AS") && r.peek(next+1, hi).isIdent() {
		alias = r.toks[next+1].val
	} else if a.kind == tkQuoted || (a.kind == tkWord && !notAlias[a.val] && !clauseStarts[a.val] && !passKeywords[a.val]) {
		alias = a.val
	}
	if b.JoinWindows == nil {
		b.JoinWindows = map[string]string{}
	}
	b.JoinWindows[alias] = key
	return next, nil
}

// isDistinct rewrites IS [NOT] DISTINCT FROM: "a IS NOT DISTINCT FROM b"
// becomes "a <=> b" and "a IS DISTINCT FROM b" becomes "a <=> b IS FALSE".
// Any other IS passes through.
func (r *rewriter) isDistinct(e *emitter, i, hi int, from span) (int, error) {
	t := r.toks[i]
	var k int
	negated := false
	switch {
	case r.peek(i+1, hi).is("DISTINCT") && r.peek(i+2, hi).is("FROM"):
		k, negated = i+3, true
	case r.peek(i+1, hi).is("NOT") && r.peek(i+2, hi).is("DISTINCT") && r.peek(i+3, hi).is("FROM"):
		k = i + 4
	default:
		e.word("IS", t)
		return i + 1, nil
	}
	e.word("<=>", t)
	if !negated {
		return k, nil
	}
	end := r.operandEnd(k, hi)
	if end == k {
		return 0, r.errAt(k, "IS DISTINCT FROM needs an operand after it")
	}
	if err := r.exprs(e, k, end, from); err != nil {
		return 0, err
	}
	e.word("IS", t)
	e.word("FALSE", t)
	return end, nil
}

// operandEnd returns the end of the arithmetic operand that starts at k.
func (r *rewriter) operandEnd(k, hi int) int {
	j := k
	for j < hi {
		t := r.toks[j]
		if t.kind == tkWord && (operandStops[t.val] || clauseStarts[t.val]) {
			break
		}
		if t.kind == tkOp && strings.Contains(" = < > <= >= <> != , ", " "+t.val+" ") {
			break
		}
		if t.is("CASE") {
			depth := 0
			for ; j < hi; j = r.skip(j) {
				if r.toks[j].is("CASE") {
					depth++
				} else if r.toks[j].is("END") {
					depth--
					if depth == 0 {
						break
					}
				}
			}
		}
		j = r.skip(j)
	}
	if j > hi {
		j = hi
	}
	return j
}

// columnAliases rewrites "AS t(a, b)" to "AS t" and records the names.
func (r *rewriter) columnAliases(e *emitter, i int) (int, error) {
	e.word("AS", r.toks[i])
	at := r.toks[i+1]
	e.ident(at.val, at)
	open := i + 2
	m := r.match[open]
	var cols []string
	for k := open + 1; k < m; k++ {
		if !r.toks[k].isIdent() {
			return 0, r.errAt(k, "expected a column name in the alias list of %s, found %s", at.val, describe(r.toks[k]))
		}
		cols = append(cols, r.toks[k].val)
		k++
		if k < m && !r.toks[k].isOp(",") {
			return 0, r.errAt(k, "expected \",\" or \")\" in the alias list of %s", at.val)
		}
	}
	if len(cols) == 0 {
		return 0, r.errAt(open, "the column alias list of %s is empty", at.val)
	}
	if r.q.ColumnAliases == nil {
		r.q.ColumnAliases = map[string][]string{}
	}
	r.q.ColumnAliases[at.val] = cols
	return m + 1, nil
}

// intervalLit rewrites INTERVAL ['-'] 'n' unit [TO unit] into sqlparser's
// INTERVAL 'n' UNIT (MySQL's HOUR_MINUTE style for two units), rejecting
// YEAR and MONTH.
func (r *rewriter) intervalLit(e *emitter, i, hi int) (int, error) {
	k := i + 1
	neg := false
	if v := r.peek(k, hi); v.isOp("-") || v.isOp("+") {
		neg = v.val == "-"
		k++
	}
	v := r.peek(k, hi)
	if v.kind != tkString && v.kind != tkNumber {
		return 0, r.errAt(k, "expected the interval's value, as in INTERVAL '5' MINUTE, found %s", describe(v))
	}
	k++
	unit, err := r.intervalUnit(k, hi)
	if err != nil {
		return 0, err
	}
	k++
	if r.peek(k, hi).isOp("(") {
		k = r.match[k] + 1
	}
	if r.peek(k, hi).is("TO") {
		unit2, err := r.intervalUnit(k+1, hi)
		if err != nil {
			return 0, err
		}
		unit += "_" + unit2
		k += 2
		if r.peek(k, hi).isOp("(") {
			k = r.match[k] + 1
		}
	}
	if neg {
		e.word("-", r.toks[i])
	}
	e.word("INTERVAL", r.toks[i])
	if v.kind == tkString {
		e.str(v.val, v)
	} else {
		e.lit(v.val, v.val, v)
	}
	e.word(unit, r.toks[i])
	return k, nil
}

// intervalUnit checks the unit word at k.
func (r *rewriter) intervalUnit(k, hi int) (string, error) {
	u := r.peek(k, hi)
	switch {
	case u.is("SECOND") || u.is("MINUTE") || u.is("HOUR") || u.is("DAY"):
		return u.val, nil
	case u.is("YEAR") || u.is("MONTH"):
		return "", r.li.errAt(u.start, "%s intervals are not supported: kda supports day-time intervals only (DAY, HOUR, MINUTE, SECOND)", u.val)
	}
	return "", r.li.errAt(u.start, "expected an interval unit (DAY, HOUR, MINUTE or SECOND), found %s", describe(u))
}

// similarTo rewrites SIMILAR TO at token i (the word SIMILAR). Without an
// ESCAPE clause it becomes REGEXP. With one — which MySQL's grammar allows
// only after LIKE — a literal pattern is wrapped as LIKE KDA_SIMILAR('p')
// ESCAPE 'c', so the planner still sees SIMILAR TO and its escape.
func (r *rewriter) similarTo(e *emitter, i, hi int) (int, error) {
	t := r.toks[i]
	pat := r.peek(i+2, hi)
	if pat.kind == tkString && r.peek(i+3, hi).is("ESCAPE") {
		e.word("LIKE", t)
		e.word("KDA_SIMILAR", t)
		e.word("(", pat)
		e.str(pat.val, pat)
		e.word(")", pat)
		return i + 3, nil
	}
	e.word("REGEXP", t)
	return i + 2, nil
}
