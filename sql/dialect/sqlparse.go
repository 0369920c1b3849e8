package dialect

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"
)

var parserErrPos = regexp.MustCompile(`at position (\d+)`)

// exprList rewrites the expressions of [lo, hi) (comma-separated) and parses
// them on their own, as the select list of "SELECT e1, e2".
func (r *rewriter) exprList(lo, hi int, what string) ([]sqlparser.Expr, error) {
	if lo >= hi {
		return nil, r.errAt(lo, "expected an expression for %s, found %s", what, describe(r.toks[lo]))
	}
	if err := r.checkParens(lo, hi); err != nil {
		return nil, err
	}
	e := &emitter{}
	e.word("SELECT", r.toks[lo])
	if err := r.exprs(e, lo, hi, span{}); err != nil {
		return nil, err
	}
	stmt, err := r.parse(e, lo, hi)
	if err != nil {
		return nil, err
	}
	sel, ok := stmt.(*sqlparser.Select)
	if !ok || len(sel.From) != 1 {
		return nil, r.errAt(lo, "expected an expression for %s", what)
	}
	if err := r.resolve(sel); err != nil {
		return nil, err
	}
	var out []sqlparser.Expr
	for _, se := range sel.SelectExprs {
		ae, ok := se.(*sqlparser.AliasedExpr)
		if !ok || !ae.As.IsEmpty() {
			p, _ := r.q.Locate(se)
			return nil, &SyntaxError{Pos: p, Msg: "expected an expression for " + what, Source: r.li.src}
		}
		out = append(out, ae.Expr)
	}
	return out, nil
}

// parse hands the rewritten text to sqlparser, maps its errors back to the
// source tokens [lo, hi), and records where each AST node came from.
func (r *rewriter) parse(e *emitter, lo, hi int) (sqlparser.Statement, error) {
	text := e.text()
	stmt, err := sqlparser.Parse(text)
	if err != nil {
		return nil, r.mapError(e, err, lo, hi)
	}
	l := &locator{e: e, li: r.li, m: r.q.Locations.m}
	l.visit(stmt)
	return stmt, nil
}

// mapError turns sqlparser's "syntax error at position N near 'x'" into a
// SyntaxError at the user's token. N counts the characters sqlparser has
// read, one past the end of the token it choked on.
func (r *rewriter) mapError(e *emitter, err error, lo, hi int) error {
	msg := err.Error()
	m := parserErrPos.FindStringSubmatch(msg)
	if m == nil {
		return r.errAt(lo, "%s", msg)
	}
	n, _ := strconv.Atoi(m[1])
	text := e.text()
	if n-1 >= len(text) {
		last := r.toks[hi-1]
		if hi <= lo {
			last = r.toks[lo]
		}
		return r.li.errAt(last.end, "syntax error: the query ends too early after %q", snippet(r.li.src[last.start:last.end]))
	}
	off := n - 2
	if off < 0 {
		off = 0
	}
	t, ok := e.at(off)
	if !ok {
		return r.errAt(lo, "syntax error")
	}
	return r.li.errAt(t.src.start, "syntax error at %q", snippet(r.li.src[t.src.start:t.src.end]))
}

func snippet(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// resolve links the parsed SELECT blocks to their streaming clauses through
// their /*KDA:Sn*/ markers (then drops the markers), fills OrderWithin.Expr
// and TableFunction.Cursor.
func (r *rewriter) resolve(root sqlparser.SQLNode) error {
	var orders []sqlparser.OrderBy
	_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		switch n := node.(type) {
		case *sqlparser.Select:
			for _, c := range n.Comments {
				if m := blockMarker.FindSubmatch(c); m != nil {
					idx, _ := strconv.Atoi(string(m[1]))
					if idx < len(r.blocks) && r.q.Blocks != nil {
						r.q.Blocks[n] = r.blocks[idx].Block
					}
				}
			}
			n.Comments = nil
			orders = append(orders, n.OrderBy)
		case *sqlparser.Union:
			orders = append(orders, n.OrderBy)
		case *sqlparser.AliasedTableExpr:
			if tf := r.q.TableFunctions[n.As.String()]; tf != nil {
				if sub, ok := n.Expr.(*sqlparser.Subquery); ok && tf.Cursor == nil {
					tf.Cursor = sub
				}
			}
		}
		return true, nil
	}, root)
	for _, b := range r.blocks {
		if b.OrderWithin == nil || b.OrderWithin.Expr != nil {
			continue
		}
		want := r.toks[b.orderStart].start
		for _, ob := range orders {
			if len(ob) == 0 {
				continue
			}
			if p, ok := r.q.Locate(ob[0].Expr); ok && p.Offset == want {
				b.OrderWithin.Expr = ob[0].Expr
			}
		}
	}
	return nil
}

// locator assigns source positions to AST nodes. sqlparser.Walk visits
// children in the order they were written, so the leaves (names, literals)
// meet the output tokens in order: each leaf takes the next output token
// with its value, and an inner node starts where its first leaf does.
type locator struct {
	e   *emitter
	li  *lineIndex
	m   map[sqlparser.SQLNode]Pos
	cur int
}

func (l *locator) find(key string, class tokClass, any bool) (int, bool) {
	for pass := 0; pass < 2; pass++ {
		from, to := l.cur, len(l.e.toks)
		if pass == 1 {
			from, to = 0, l.cur
		}
		for k := from; k < to; k++ {
			t := l.e.toks[k]
			if t.key == key && (any || t.class == class) {
				if pass == 0 {
					l.cur = k + 1
				}
				return k, true
			}
		}
	}
	return 0, false
}

// leaf matches a node that is located by one or two tokens; ok is false for
// inner nodes.
func (l *locator) leaf(node sqlparser.SQLNode) (pos Pos, found, isLeaf bool) {
	var keys []string
	class, any := clsIdent, false
	switch n := node.(type) {
	case *sqlparser.ColName:
		keys = tableNameKeys(n.Qualifier)
		keys = append(keys, n.Name.String())
	case sqlparser.TableName:
		keys = tableNameKeys(n)
	case *sqlparser.StarExpr:
		keys = append(tableNameKeys(n.TableName), "*")
		class, any = clsOther, true
	case *sqlparser.SQLVal:
		keys, class = []string{string(n.Val)}, clsLit
	case *sqlparser.NullVal:
		keys, class = []string{"NULL"}, clsOther
	case sqlparser.BoolVal:
		keys, class = []string{strings.ToUpper(sqlparser.String(n))}, clsOther
	case sqlparser.ColIdent:
		if n.IsEmpty() {
			return Pos{}, false, true
		}
		keys, any = []string{n.String()}, true
	case sqlparser.TableIdent:
		if n.IsEmpty() {
			return Pos{}, false, true
		}
		keys, any = []string{n.String()}, true
	case sqlparser.Comments, sqlparser.Columns, sqlparser.Partitions, *sqlparser.IndexHints:
		return Pos{}, false, true
	default:
		return Pos{}, false, false
	}
	first := true
	for _, k := range keys {
		if k == "" {
			continue
		}
		idx, ok := l.find(k, class, any)
		if !ok {
			break
		}
		if first {
			pos, found, first = l.li.pos(l.e.toks[idx].src.start), true, false
		}
	}
	return pos, found, true
}

func tableNameKeys(t sqlparser.TableName) []string {
	var keys []string
	if !t.Qualifier.IsEmpty() {
		keys = append(keys, t.Qualifier.String())
	}
	if !t.Name.IsEmpty() {
		keys = append(keys, t.Name.String())
	}
	return keys
}

// visit returns where node starts and records it when node is a pointer.
func (l *locator) visit(node sqlparser.SQLNode) (Pos, bool) {
	pos, found, isLeaf := l.leaf(node)
	if !isLeaf {
		self := true
		_ = sqlparser.Walk(func(child sqlparser.SQLNode) (bool, error) {
			if self {
				self = false
				return true, nil
			}
			if p, ok := l.visit(child); ok && (!found || p.Offset < pos.Offset) {
				pos, found = p, true
			}
			return false, nil
		}, node)
	}
	if found {
		if v := reflect.ValueOf(node); v.Kind() == reflect.Pointer && !v.IsNil() {
			l.m[node] = pos
		}
	}
	return pos, found
}
