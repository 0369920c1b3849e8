package plan

import (
	"fmt"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/join"
	"github.com/kdaproject/kda/sql/dialect"
)

// Join chains. "FROM a JOIN b ON c1 JOIN t1 ON c2 LEFT JOIN t2 ON c3"
// parses left-deep, ((a ⋈ b) ⋈ t1) ⋈ t2, and plans into one operator per
// step, chained in the pump: the first step is planned as a join of two
// inputs (planJoinPair: a stream join or a reference join), and each
// further step is a join.RefJoin of the rows joined so far with a
// reference table. The rows between the steps carry every column of the
// sides joined so far, and each stream side's ROWTIME (the stream join's
// hidden columns, or the stream row's own ROWTIME after a reference
// join), so the joinScope of each step resolves a.K, unique unqualified
// names and a.ROWTIME over all of them; a step's condition may use any
// side joined so far and the new one.
//
// Within one pump, a step after the first joins a reference table only:
// a stream there would make the rows joined so far one input of a
// join.StreamJoin, whose inputs are named streams (JoinPump). A chain
// with such a step is lowered into several pumps instead, each stream
// after the first step joining the stream the pump before it fills
// (streamchain.go).

// joinChain lists the steps of from, a left-deep chain of joins: the
// innermost (the join of the first two inputs) first.
func joinChain(from *sqlparser.JoinTableExpr) []*sqlparser.JoinTableExpr {
	var steps []*sqlparser.JoinTableExpr
	for j := from; j != nil; {
		steps = append(steps, j)
		j, _ = j.LeftExpr.(*sqlparser.JoinTableExpr)
	}
	for i, k := 0, len(steps)-1; i < k; i, k = i+1, k-1 {
		steps[i], steps[k] = steps[k], steps[i]
	}
	return steps
}

// planJoin plans the join of from at the head of s, and sets sc to the
// joined rows' scope. cond is the condition of from's last step when it
// has no ON (the WHERE of "FROM a, b"). A chain that joins a stream after
// its first step is lowered into a join pump per such stream
// (streamchain.go).
func (p *planner) planJoin(q *dialect.Query, sel *sqlparser.Select, from *sqlparser.JoinTableExpr, cond sqlparser.Expr, s *selected, sc *scope) error {
	steps := joinChain(from)
	block := q.Blocks[sel]
	if block == nil {
		block = &dialect.Block{}
	}
	if cuts := p.streamSteps(q, steps); len(cuts) > 0 {
		return p.lowerChain(q, sel, block, steps, cuts, cond, s, sc) // streamchain.go
	}
	return p.planChain(q, sel, block, steps, cond, s, sc)
}

// planChain plans steps, a chain whose inputs after the first two are
// reference tables: the first step a join of two inputs, each further
// one a join.RefJoin. cond is the last step's condition when it has no
// ON.
func (p *planner) planChain(q *dialect.Query, sel *sqlparser.Select, block *dialect.Block, steps []*sqlparser.JoinTableExpr, cond sqlparser.Expr, s *selected, sc *scope) error {
	if len(steps) == 1 {
		return p.planJoinPair(q, sel, steps[0], cond, s, sc) // join.go
	}
	if err := p.planJoinPair(q, sel, steps[0], nil, s, sc); err != nil {
		return err
	}
	for i, st := range steps[1:] {
		var c sqlparser.Expr
		if i == len(steps)-2 {
			c = cond
		}
		if err := p.planTableStep(q, block, st, c, s, sc); err != nil {
			return err
		}
	}
	return nil
}

// planTableStep plans one step of a chain after the first: the rows
// joined so far (sc) joined with a reference table. It adds the
// join.RefJoin to s and extends sc.
func (p *planner) planTableStep(q *dialect.Query, block *dialect.Block, st *sqlparser.JoinTableExpr, cond sqlparser.Expr, s *selected, sc *scope) error {
	pos := func(n sqlparser.SQLNode) dialect.Pos {
		if ps, ok := q.Locate(n); ok {
			return ps
		}
		return q.Pos
	}
	prev := *sc
	right, err := p.joinInput(q, block, st.RightExpr)
	if err != nil {
		return err
	}
	if right.stream != nil { // streamSteps cuts the chain before every stream
		return p.errAt(pos(right.node), "stream %s cannot be joined at this step of the chain", quoteName(right.name))
	}
	kind, err := p.joinKind(st, pos(right.node))
	if err != nil {
		return err
	}
	if kind == join.RightOuter || kind == join.FullOuter {
		return p.errAt(pos(right.node), "a reference table cannot drive a join: use [INNER] or LEFT JOIN with the table on the right")
	}
	if right.window != nil {
		return p.errAt(right.window.Pos, "reference table %s has no window: remove OVER", quoteName(right.name))
	}
	if st.Condition.On != nil {
		cond = st.Condition.On
	}

	// The scope over the rows joined so far and the table's columns,
	// appended to them.
	tschema := right.table.Schema()
	schema := join.RefOutputSchema(prev.schema, tschema)
	side := joinSide{label: right.label(), schema: tschema, cols: make([]int, len(tschema.Fields)), rowtime: -1}
	side.quals = []string{right.name}
	if right.alias != "" {
		side.quals = []string{right.alias}
	}
	for i := range side.cols {
		side.cols[i] = len(prev.schema.Fields) + i
	}
	for k := range prev.join.sides {
		if prev.join.sides[k].qualifies(side.quals[0]) {
			return p.errAt(pos(right.node), "%s names two inputs of the join: give them aliases (JOIN %s AS b ...)", quoteName(side.quals[0]), quoteName(right.name))
		}
	}
	js := &joinScope{sides: append(append([]joinSide{}, prev.join.sides...), side)}
	next := &scope{schema: schema, qualifiers: append(append([]string{}, prev.qualifiers...), side.quals...), join: js}
	in := &binder{p: p, q: q, sc: next}
	left := &binder{p: p, q: q, sc: &prev}

	// The condition: hash keys between the rows so far and the table,
	// and the rest.
	keys, err := p.stepKeys(q, left, in, js, cond)
	if err != nil {
		return err
	}
	spec := join.RefSpec{Input: prev.schema, Table: right.table, Outer: kind == join.LeftOuter, StreamKeys: keys.left, TableKeys: keys.right, Residual: keys.residual}
	var labels []string
	for k := range prev.join.sides {
		labels = append(labels, prev.join.sides[k].label)
	}
	desc := fmt.Sprintf("Reference join %s %s with table %s on %s", kind, strings.Join(labels, " JOIN "), right.label(), condText(keys.text, keys.residual))
	s.add(desc, func() (operators.Operator, error) { return join.NewRef(spec) })
	*sc = *next
	return nil
}

// sidesOf returns the set of js's sides the columns of e belong to, one
// bit a side; ok is false for a name it cannot place on one side (an
// ambiguous or unknown name, an unqualified ROWTIME) or a subquery.
func (js *joinScope) sidesOf(e sqlparser.Expr) (set uint64, ok bool) {
	ok = true
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch c := n.(type) {
		case *sqlparser.Subquery:
			ok = false
			return false, nil
		case *sqlparser.ColName:
			k := js.sideOfColumn(c) // join.go
			if k < 0 || k >= 64 {
				ok = false
			} else {
				set |= 1 << k
			}
			return false, nil
		}
		return true, nil
	}, e)
	return set, ok
}

// stepCondition is a chain step's condition taken apart: hash keys over
// the rows joined so far (left) and over the new input (right), their
// text for EXPLAIN, and the rest bound over the joined rows.
type stepCondition struct {
	left, right []expr.Expr
	text        []string
	residual    expr.Expr
}

// stepKeys takes cond apart for the step that joins the last side of js:
// each conjunct x = y that tableKey recognises is a key, the rest
// residual, bound with in (over the joined rows).
func (p *planner) stepKeys(q *dialect.Query, left, in *binder, js *joinScope, cond sqlparser.Expr) (stepCondition, error) {
	var k stepCondition
	conj, err := joinConjuncts(in, cond)
	if err != nil {
		return k, err
	}
	var rest []sqlparser.Expr
	for _, c := range conj {
		lk, rk, ok, err := p.tableKey(q, left, js, len(js.sides)-1, c)
		if err != nil {
			return k, err
		}
		if !ok {
			rest = append(rest, c)
			continue
		}
		k.left, k.right = append(k.left, lk), append(k.right, rk)
		k.text = append(k.text, lk.String()+" = "+rk.String())
	}
	k.residual, err = bindConjunction(in, rest)
	return k, err
}

// tableKey recognises "x = y" with x over the sides joined before side
// t, a reference table, and y over the table, of types that hash alike;
// it binds x with left (over the rows joined so far) and y over the
// table's own columns.
func (p *planner) tableKey(q *dialect.Query, left *binder, js *joinScope, t int, c sqlparser.Expr) (expr.Expr, expr.Expr, bool, error) {
	cmp, ok := c.(*sqlparser.ComparisonExpr)
	if !ok || cmp.Operator != sqlparser.EqualStr {
		return nil, nil, false, nil
	}
	a, okA := js.sidesOf(cmp.Left)
	b, okB := js.sidesOf(cmp.Right)
	table := uint64(1) << t
	if !okA || !okB || a == 0 || b == 0 {
		return nil, nil, false, nil
	}
	l, r := cmp.Left, cmp.Right
	switch {
	case a&table == 0 && b == table:
	case b&table == 0 && a == table:
		l, r = r, l
	default:
		return nil, nil, false, nil
	}
	lk, err := left.bind(l)
	if err != nil {
		return nil, nil, false, err
	}
	s := &js.sides[t]
	tb := &binder{p: p, q: q, sc: &scope{schema: s.schema, qualifiers: s.quals}}
	rk, err := tb.bind(r)
	if err != nil {
		return nil, nil, false, err
	}
	if !hashCompatible(lk.Type(), rk.Type()) {
		return nil, nil, false, nil
	}
	return lk, rk, true, nil
}
