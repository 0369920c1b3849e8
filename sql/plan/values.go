package plan

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// VALUES (KDA-SQL.md §1.4; SQLstream: "VALUES is a SQL operator, on a par
// with SELECT and UNION" that yields a relation, with columns EXPR$0,
// EXPR$1... unless named AS t(x, y)). A relation of constant rows is not a
// stream, so kda takes VALUES where a relation can go: as the table side
// of a join,
//
//	FROM s JOIN (VALUES ('AMZN', 'Retail'), ('MSFT', 'Tech')) AS c(ticker, sector) ON s.ticker = c.ticker
//
// where it behaves as a reference table whose rows never change. The
// values are constant expressions evaluated once, when the application is
// planned; a column takes the type of its first non-NULL value, and the
// other rows' values are converted to it. SELECT STREAM from VALUES alone,
// and a VALUES query, are refused.
//
// VALUES may come first in FROM: (VALUES ...) AS v [INNER|CROSS] JOIN s,
// FROM (VALUES ...) AS v, s WHERE ..., and (VALUES ...) AS v RIGHT JOIN s
// are planned as s [LEFT] JOIN v, the stream driving the join
// (valuesFirst), with the columns of * still in FROM order. A LEFT or
// FULL join that would keep VALUES rows no stream row matches is refused:
// a stream never says that none will.

// valuesRows returns the SELECT blocks of a VALUES derived table, one per
// row, or nil when s is not one (dialect/values.go).
func valuesRows(q *dialect.Query, s sqlparser.SelectStatement) []*sqlparser.Select {
	switch n := s.(type) {
	case *sqlparser.Select:
		if b := q.Blocks[n]; b != nil && b.Values {
			return []*sqlparser.Select{n}
		}
	case *sqlparser.Union:
		if l, r := valuesRows(q, n.Left), valuesRows(q, n.Right); l != nil && r != nil {
			return append(l, r...)
		}
	case *sqlparser.ParenSelect:
		return valuesRows(q, n.Select)
	}
	return nil
}

// valuesFirst turns the first step of the join chain from, when it joins
// a VALUES FROM item with the stream after it, into the stream joined with
// the VALUES: the inputs swap, RIGHT JOIN becomes LEFT JOIN, and a bare *
// in sel becomes the qualified stars of the FROM items in their order
// (t.*, s.*, ...), so the output columns stay as written. It changes
// sel's nodes in place, which keep their positions; planning sel again
// finds the stream first and changes nothing.
func (p *planner) valuesFirst(q *dialect.Query, sel *sqlparser.Select, from *sqlparser.JoinTableExpr) error {
	first := from
	for {
		l, ok := first.LeftExpr.(*sqlparser.JoinTableExpr)
		if !ok {
			break
		}
		first = l
	}
	left, ok := first.LeftExpr.(*sqlparser.AliasedTableExpr)
	if !ok {
		return nil
	}
	if sub, ok := left.Expr.(*sqlparser.Subquery); !ok || valuesRows(q, sub.Select) == nil {
		return nil
	}
	right, ok := first.RightExpr.(*sqlparser.AliasedTableExpr)
	if !ok {
		return nil
	}
	if tn, ok := right.Expr.(sqlparser.TableName); !ok || p.streams[tn.Name.String()] == nil {
		return nil // another relation, or a subquery: joinInput says what it cannot join
	}
	switch first.Join {
	case sqlparser.JoinStr, ",":
	case sqlparser.RightJoinStr:
		first.Join = sqlparser.LeftJoinStr
	case sqlparser.LeftJoinStr, sqlparser.StraightJoinStr: // FULL JOIN is written so
		at := q.Pos
		if pos, ok := q.Locate(first); ok {
			at = pos
		}
		kind := "LEFT"
		if first.Join == sqlparser.StraightJoinStr {
			kind = "FULL"
		}
		return p.errAt(at, "VALUES %s JOIN a stream would emit the VALUES rows that no stream row matches, and a stream never says none will: put the stream first, FROM s LEFT JOIN (VALUES ...) AS t ON ..., or use [INNER] or RIGHT JOIN", kind)
	default:
		return nil // joinKind says what is not supported
	}
	var quals []sqlparser.SelectExpr
	for _, te := range fromOrder(from) {
		if at, ok := te.(*sqlparser.AliasedTableExpr); ok {
			name := at.As
			if name.IsEmpty() {
				if tn, ok := at.Expr.(sqlparser.TableName); ok {
					name = tn.Name
				}
			}
			quals = append(quals, &sqlparser.StarExpr{TableName: sqlparser.TableName{Name: name}})
		}
	}
	var items sqlparser.SelectExprs
	for _, it := range sel.SelectExprs {
		if star, ok := it.(*sqlparser.StarExpr); ok && star.TableName.IsEmpty() {
			items = append(items, quals...)
			continue
		}
		items = append(items, it)
	}
	sel.SelectExprs = items
	first.LeftExpr, first.RightExpr = right, left
	return nil
}

// fromOrder lists the FROM items of a join chain in the order written.
func fromOrder(te sqlparser.TableExpr) []sqlparser.TableExpr {
	if j, ok := te.(*sqlparser.JoinTableExpr); ok {
		return append(fromOrder(j.LeftExpr), j.RightExpr)
	}
	return []sqlparser.TableExpr{te}
}

// valuesTable evaluates the rows of a VALUES FROM item into a constant
// reference table called alias.
func (p *planner) valuesTable(q *dialect.Query, rows []*sqlparser.Select, alias string, at dialect.Pos) (*reftable.Table, error) {
	if alias == "" {
		return nil, p.errAt(at, "VALUES in FROM needs a name: (VALUES (1, 'a'), (2, 'b')) AS t(x, y)")
	}
	rt := types.Schema{Fields: []types.Field{{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}}}}
	in := &binder{p: p, q: q, sc: &scope{schema: rt}}
	var cells [][]expr.Expr
	var nodes [][]sqlparser.Expr
	for r, sel := range rows {
		var row []expr.Expr
		var ns []sqlparser.Expr
		for _, se := range sel.SelectExprs {
			ae, ok := se.(*sqlparser.AliasedExpr)
			if !ok {
				return nil, in.errAt(sel, "a VALUES row holds values, not %s", sqlparser.String(se))
			}
			if containsAggregate(ae.Expr) {
				return nil, in.errAt(ae.Expr, "a VALUES row cannot hold an aggregate")
			}
			x, err := in.bind(ae.Expr)
			if err != nil {
				return nil, err
			}
			row, ns = append(row, x), append(ns, ae.Expr)
		}
		if r > 0 && len(row) != len(cells[0]) {
			return nil, in.errAt(sel, "every VALUES row needs %d values, like the first; row %d has %d", len(cells[0]), r+1, len(row))
		}
		cells, nodes = append(cells, row), append(nodes, ns)
	}
	names := q.ColumnAliases[alias]
	if names != nil && len(names) != len(cells[0]) {
		return nil, p.errAt(at, "%d column names for VALUES rows of %d values", len(names), len(cells[0]))
	}
	schema := types.Schema{}
	for c := range cells[0] {
		t := types.TNull
		for _, row := range cells {
			if k := row[c].Type(); k.Kind != types.Null {
				t = k.Nullable()
				break
			}
		}
		if t.Kind == types.Null {
			return nil, in.errAt(nodes[0][c], "column %d of the VALUES is NULL in every row: give it a type with CAST(NULL AS ...)", c+1)
		}
		name := fmt.Sprintf("EXPR$%d", c)
		if names != nil {
			name = names[c]
		}
		schema.Fields = append(schema.Fields, types.Field{Name: name, Type: t})
		for r, row := range cells {
			from := row[c].Type()
			if sameType(from, t) {
				continue
			}
			if !assignable(from, t) {
				return nil, in.errAt(nodes[r][c], "column %s of the VALUES is %s, but row %d holds %s", quoteName(name), t, r+1, from.Nullable())
			}
			x, err := expr.Cast(row[c], t)
			if err != nil {
				return nil, in.wrap(nodes[r][c], err)
			}
			row[c] = x
		}
	}
	rec, err := evalValues(schema, cells)
	if err != nil {
		return nil, p.errAt(at, "VALUES: %v", err)
	}
	tb, err := reftable.New(alias, schema)
	if err != nil {
		return nil, p.errAt(at, "%v", err)
	}
	if _, err := tb.Replace(rec, "VALUES", time.Time{}); err != nil {
		return nil, p.errAt(at, "%v", err)
	}
	return tb, nil
}

// evalValues evaluates the cells, row by row, into one record of schema.
func evalValues(schema types.Schema, cells [][]expr.Expr) (arrow.Record, error) {
	mem := memory.DefaultAllocator
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"})
	tb.Append(0)
	rt := tb.NewArray()
	tb.Release()
	defer rt.Release()
	one := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: types.RowtimeName, Type: rt.DataType()}}, nil), []arrow.Array{rt}, 1)
	defer one.Release()
	var errs expr.RowErrors
	ec := &expr.EvalContext{Mem: mem, Errors: &errs, Now: func() time.Time { return time.Time{} }}
	cols := make([]arrow.Array, len(schema.Fields))
	for c := range cols {
		parts := make([]arrow.Array, len(cells))
		for r, row := range cells {
			a, err := row[c].Eval(ec, one)
			if err != nil {
				return nil, err
			}
			if errs.Len() > 0 {
				var msg string
				errs.Each(func(_ int, e expr.RowError) { msg = e.Message })
				return nil, fmt.Errorf("row %d, column %d: %s", r+1, c+1, msg)
			}
			parts[r] = a
		}
		col, err := array.Concatenate(parts, mem)
		for _, a := range parts {
			a.Release()
		}
		if err != nil {
			return nil, err
		}
		cols[c] = col
	}
	rec := array.NewRecord(schema.Arrow(), cols, int64(len(cells)))
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}
