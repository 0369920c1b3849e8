package dialect

import "fmt"

// VALUES as a FROM item (KDA-SQL.md §1.4; SQLstream's VALUES is a query
// that yields a relation):
//
//	FROM s JOIN (VALUES (1, 'a'), (2, 'b')) AS t(x, y) ON ...
//
// becomes the derived table
//
//	(SELECT 1, 'a' UNION ALL SELECT 2, 'b') AS t
//
// whose SELECT blocks are marked Block.Values, so the planner can tell the
// constant rows from a query. A VALUES query anywhere else is refused.

// valuesFrom rewrites "( VALUES (row), (row)... )" whose "(" is at open.
func (r *rewriter) valuesFrom(e *emitter, open int) (int, error) {
	m := r.match[open]
	e.word("(", r.toks[open])
	i := open + 2 // past VALUES
	if i >= m {
		return 0, r.errAt(open+1, "VALUES needs at least one row: VALUES (1, 'a'), (2, 'b')")
	}
	for first := true; i < m; first = false {
		t := r.toks[i]
		if t.is("ROW") && r.toks[i+1].isOp("(") {
			i++
			t = r.toks[i]
		}
		if !t.isOp("(") {
			return 0, r.errAt(i, "expected a row in parentheses after VALUES, found %s", describe(t))
		}
		cl := r.match[i]
		if cl == i+1 {
			return 0, r.errAt(i, "a VALUES row needs at least one value")
		}
		if !first {
			e.word("UNION", t)
			e.word("ALL", t)
		}
		b := &blockState{Block: &Block{Pos: r.li.pos(t.start), Values: true}, names: map[string]string{}}
		n := len(r.blocks)
		r.blocks = append(r.blocks, b)
		r.stack = append(r.stack, b)
		e.word("SELECT", t)
		e.word(fmt.Sprintf("/*KDA:S%d*/", n), t)
		err := r.exprs(e, i+1, cl, span{-1, -1})
		r.stack = r.stack[:len(r.stack)-1]
		if err != nil {
			return 0, err
		}
		i = cl + 1
		if i < m {
			if !r.toks[i].isOp(",") {
				return 0, r.errAt(i, "expected , or ) after a VALUES row, found %s", describe(r.toks[i]))
			}
			i++
		}
	}
	e.word(")", r.toks[m])
	return m + 1, nil
}
