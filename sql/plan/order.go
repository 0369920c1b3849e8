package plan

import (
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/order"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// planOrder plans the ORDER BY of a SELECT block (KDA-SQL.md §1.4): an
// operator over input — the rows the SELECT list is computed from — placed
// just before the block's Project, with b binding expressions over input.
//
//   - ORDER BY ts WITHIN INTERVAL ... → order.TSort; ts must be a TIMESTAMP
//     that the SELECT list names AS ROWTIME, must not be DESC and must not
//     use an unqualified ROWTIME.
//   - ORDER BY lead, k2 [DESC], ... → order.Sort; lead must be monotonic
//     (ROWTIME, FLOOR/STEP of ROWTIME, MONOTONIC(x)) and ascending.
//
// An ORDER BY expression that is a SELECT alias, a column ordinal or the
// text of a SELECT item stands for that item's expression.
func (p *planner) planOrder(q *dialect.Query, sel *sqlparser.Select, s *selected, b *binder, input types.Schema) error {
	if len(sel.OrderBy) == 0 {
		return nil
	}
	block := q.Blocks[sel]
	if block != nil && block.OrderWithin != nil {
		return p.planTSort(sel, s, b, input, block.OrderWithin)
	}
	lead := sel.OrderBy[0]
	node := orderTarget(sel, lead.Expr)
	if containsAggregate(node) && !isSelectItem(sel, node) {
		return b.errAt(lead.Expr, "an aggregate in ORDER BY must also be in the SELECT list; order by its alias")
	}
	x, err := b.bind(node)
	if err != nil {
		return err
	}
	width, ok, err := monotonicWidth(b, node, x)
	if err != nil {
		return err
	}
	if !ok {
		return b.errAt(lead.Expr, "the leading ORDER BY expression of a streaming query must be monotonic, such as FLOOR(s.ROWTIME TO MINUTE), STEP(s.ROWTIME BY INTERVAL '10' SECOND), ROWTIME or MONOTONIC(expr); %s is not (to reorder rows by another time, use ORDER BY ... WITHIN INTERVAL)", sqlparser.String(lead.Expr))
	}
	if lead.Direction == sqlparser.DescScr {
		return b.errAt(lead.Expr, "the leading ORDER BY expression of a streaming query must be ascending: it is the monotonic key that decides when rows are emitted")
	}
	if t := x.Type(); !t.IsInteger() && !t.IsDatetime() {
		return b.errAt(lead.Expr, "the monotonic leading ORDER BY key must be an integer or a datetime, not %s", t)
	}
	var keys []order.Key
	var desc []string
	for _, o := range sel.OrderBy[1:] {
		n := orderTarget(sel, o.Expr)
		if containsAggregate(n) && !isSelectItem(sel, n) {
			return b.errAt(o.Expr, "an aggregate in ORDER BY must also be in the SELECT list; order by its alias")
		}
		k, err := b.bind(n)
		if err != nil {
			return err
		}
		if k.Type().Kind == types.Interval {
			return b.errAt(o.Expr, "cannot order by an INTERVAL")
		}
		keys = append(keys, order.Key{Expr: k, Desc: o.Direction == sqlparser.DescScr})
		d := k.String()
		if o.Direction == sqlparser.DescScr {
			d += " DESC"
		}
		desc = append(desc, d)
	}
	spec := order.SortSpec{Input: input, Leading: x, Width: width, Keys: keys}
	what := "Order by " + x.String()
	if width > 0 {
		what += " (period " + width.String() + ")"
	}
	if len(desc) > 0 {
		what += ", then " + strings.Join(desc, ", ")
	}
	s.add(what, func() (operators.Operator, error) { return order.NewSort(spec) })
	return nil
}

// planTSort plans ORDER BY ts WITHIN INTERVAL ....
func (p *planner) planTSort(sel *sqlparser.Select, s *selected, b *binder, input types.Schema, ow *dialect.OrderWithin) error {
	if len(sel.OrderBy) > 1 {
		return b.errAt(sel.OrderBy[1].Expr, "ORDER BY ... WITHIN takes exactly one expression")
	}
	o := sel.OrderBy[0]
	if o.Direction == sqlparser.DescScr {
		return b.errAt(o.Expr, "ORDER BY ... WITHIN cannot be DESC: it sorts rows into ascending time")
	}
	if bare := bareRowtime(o.Expr); bare != nil {
		return b.errAt(bare, "ORDER BY ... WITHIN cannot use the ROWTIME operator: qualify the column (s.ROWTIME) or order by an event-time column")
	}
	x, err := b.bind(o.Expr)
	if err != nil {
		return err
	}
	if x.Type().Kind != types.Timestamp {
		return b.errAt(o.Expr, "ORDER BY ... WITHIN needs a TIMESTAMP, not %s", x.Type())
	}
	found := false
	for _, se := range sel.SelectExprs {
		ae, ok := se.(*sqlparser.AliasedExpr)
		if !ok || ae.As.String() != types.RowtimeName {
			continue
		}
		y, err := b.bind(ae.Expr)
		if err != nil {
			return err
		}
		if y.String() != x.String() {
			return b.errAt(ae, "the item named AS ROWTIME must be the ORDER BY ... WITHIN expression %s", sqlparser.String(o.Expr))
		}
		found = true
	}
	if !found {
		return b.errAt(o.Expr, "ORDER BY ... WITHIN needs its expression in the SELECT list as the row's time: add %s AS ROWTIME", sqlparser.String(o.Expr))
	}
	if ow.Within <= 0 {
		return p.errAt(ow.Pos, "ORDER BY ... WITHIN needs an interval longer than zero")
	}
	spec := order.TSortSpec{Input: input, TS: x, Within: ow.Within}
	s.add("Order by "+x.String()+" within "+ow.Within.String()+" (T-sort; it becomes ROWTIME)", func() (operators.Operator, error) {
		return order.NewTSort(spec)
	})
	return nil
}

// orderTarget resolves an ORDER BY expression that names a SELECT item —
// by alias, by ordinal or by the same text — to that item's expression.
func orderTarget(sel *sqlparser.Select, e sqlparser.Expr) sqlparser.Expr {
	var items []*sqlparser.AliasedExpr
	for _, se := range sel.SelectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok {
			items = append(items, ae)
		}
	}
	switch n := e.(type) {
	case *sqlparser.ColName:
		if n.Qualifier.IsEmpty() && n.Name.String() != types.RowtimeName {
			for _, it := range items {
				if it.As.String() == n.Name.String() {
					return it.Expr
				}
			}
		}
	case *sqlparser.SQLVal:
		if n.Type == sqlparser.IntVal {
			if k, err := strconv.Atoi(string(n.Val)); err == nil && k >= 1 && k <= len(sel.SelectExprs) {
				if ae, ok := sel.SelectExprs[k-1].(*sqlparser.AliasedExpr); ok {
					return ae.Expr
				}
			}
		}
	}
	text := sqlparser.String(e)
	for _, it := range items {
		if sqlparser.String(it.Expr) == text {
			return it.Expr
		}
	}
	return e
}

func isSelectItem(sel *sqlparser.Select, e sqlparser.Expr) bool {
	for _, se := range sel.SelectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok && ae.Expr == e {
			return true
		}
	}
	return false
}

// bareRowtime finds an unqualified ROWTIME in e.
func bareRowtime(e sqlparser.Expr) *sqlparser.ColName {
	var found *sqlparser.ColName
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if c, ok := n.(*sqlparser.ColName); ok && found == nil && c.Qualifier.IsEmpty() && c.Name.String() == types.RowtimeName {
			found = c
		}
		return found == nil, nil
	}, e)
	return found
}

// timeSortsRowtime reports whether the AS ROWTIME item of sel is the
// T-sort's time (the TSort operator has already set it).
func timeSortsRowtime(q *dialect.Query, sel *sqlparser.Select) bool {
	b := q.Blocks[sel]
	return b != nil && b.OrderWithin != nil
}

var _ = expr.Col
