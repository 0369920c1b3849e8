package plan

import (
	"fmt"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// UNION ALL of streams (KDA-SQL.md §1.4):
//
//	INSERT INTO o SELECT STREAM ... FROM a UNION ALL SELECT STREAM ... FROM b
//
// Each SELECT block is a branch planned like a pump of its own — its own
// source stream, operators and, with a target, the INSERT's column mapping
// and casts — so the branches' rows all have the pump's row schema. The
// runtime subscribes every branch to its source and joins their rows in a
// relational.Merge, which emits them in ROWTIME order (see Merge for how
// and when). Pump.Branches holds the branches; a pump with branches has no
// operators of its own.
//
// UNION without ALL (it would have to remember every row), EXCEPT,
// INTERSECT, and ORDER BY or LIMIT after a UNION are refused.
//
// A UNION ALL in FROM,
//
//	CREATE PUMP P AS INSERT INTO o SELECT STREAM ... FROM
//	  (SELECT STREAM ... FROM a UNION ALL SELECT STREAM ... FROM b) AS u WHERE ...
//
// is lowered, like a join chain (streamchain.go), into a generated
// stream P$U1 (P$U2, ... for further ones) of the union's columns and the
// UNION ALL pump P$U1 that fills it, and P reads P$U1 as it would any
// stream. So the union has the semantics of a top-level one — its rows
// reach the rest of the query merged in ROWTIME order — and whatever
// follows it (WHERE, GROUP BY, windows, joins) is planned as over a
// stream. A bare SELECT has no pump to lower into; it is refused with a
// positioned error saying to write a pump.

// NewMerge builds the operator that joins the pump's branches (nil for a
// pump without branches).
func (p *Pump) NewMerge() (*relational.Merge, error) {
	if len(p.Branches) == 0 {
		return nil, nil
	}
	return relational.NewMerge(p.Schema, len(p.Branches))
}

// unionBlocks flattens a tree of UNION ALL into its SELECT blocks, in order.
func (p *planner) unionBlocks(q *dialect.Query, s sqlparser.SelectStatement, out []*sqlparser.Select) ([]*sqlparser.Select, error) {
	at := func(node sqlparser.SQLNode) dialect.Pos {
		if pos, ok := q.Locate(node); ok {
			return pos
		}
		return q.Pos
	}
	switch n := s.(type) {
	case *sqlparser.Select:
		return append(out, n), nil
	case *sqlparser.ParenSelect:
		return p.unionBlocks(q, n.Select, out)
	case *sqlparser.Union:
		if n.Type != sqlparser.UnionAllStr {
			return nil, p.errAt(at(n.Right), "UNION without ALL would have to remember every row of the streams to drop duplicates: use UNION ALL")
		}
		if len(n.OrderBy) > 0 {
			return nil, p.errAt(at(n.OrderBy[0].Expr), "ORDER BY cannot follow a UNION ALL of streams: the merged rows are in ROWTIME order; order each SELECT instead")
		}
		if n.Limit != nil {
			return nil, p.errAt(at(n), "LIMIT is not supported on a stream")
		}
		var err error
		if out, err = p.unionBlocks(q, n.Left, out); err != nil {
			return nil, err
		}
		return p.unionBlocks(q, n.Right, out)
	}
	return nil, p.errAt(at(s), "unsupported query %s", sqlparser.String(s))
}

// planUnion plans a pump (or preview) whose query is a UNION ALL.
func (p *planner) planUnion(name string, q *dialect.Query, u *sqlparser.Union, target *Stream, cols []string) (*Pump, error) {
	blocks, err := p.unionBlocks(q, u, nil)
	if err != nil {
		return nil, err
	}
	p.markUserAggregates(q) // aggfunc.go
	at := func(node sqlparser.SQLNode) dialect.Pos {
		if pos, ok := q.Locate(node); ok {
			return pos
		}
		return q.Pos
	}
	pump := &Pump{Name: name}
	for i, sel := range blocks {
		s, err := p.planSelect(q, sel)
		if err != nil {
			return nil, err
		}
		if len(s.ops) > 0 && s.ops[0].join != nil {
			return nil, p.errAt(at(sel), "a SELECT of a UNION ALL cannot join two streams yet: join them in a pump of its own and select from its stream here")
		}
		if target != nil {
			want := len(cols)
			if cols == nil {
				want = len(target.Schema.Fields) - 1
			}
			if got := len(s.schema.Fields) - 1; got != want {
				return nil, p.errAt(at(sel), "SELECT %d of the UNION ALL produces %s but the INSERT into %s expects %d", i+1, plural(got, "column"), quoteName(target.Name), want)
			}
			if err := p.insert(q, sel, s, target, cols); err != nil {
				return nil, err
			}
			s.schema = target.Schema
		} else if i == 0 {
			pump.Schema = s.schema
		} else if err := p.conform(q, sel, s, pump.Schema, i+1); err != nil {
			return nil, err
		}
		b := &Pump{Name: name, Source: s.source, Schema: s.schema, ops: s.ops}
		for _, o := range s.ops {
			b.Explain = append(b.Explain, o.describe)
			pump.Explain = append(pump.Explain, fmt.Sprintf("UNION ALL branch %d: %s", i+1, o.describe))
		}
		pump.Branches = append(pump.Branches, b)
	}
	if target != nil {
		pump.Schema = target.Schema
	}
	pump.Source = pump.Branches[0].Source
	pump.Explain = append(pump.Explain, fmt.Sprintf("Merge the %d branches in ROWTIME order", len(blocks)))
	return pump, nil
}

// conform makes branch n of a preview (no INSERT) emit rows of the first
// branch's schema: the same number of columns, cast to its types.
func (p *planner) conform(q *dialect.Query, sel *sqlparser.Select, s *selected, want types.Schema, n int) error {
	got := s.schema
	if len(got.Fields) != len(want.Fields) {
		pos, ok := q.Locate(sel)
		if !ok {
			pos = q.Pos
		}
		return p.errAt(pos, "the SELECTs of a UNION ALL must have as many columns: the first has %d, SELECT %d has %d", len(want.Fields)-1, n, len(got.Fields)-1)
	}
	var exprs []expr.Expr
	var names []string
	var desc []string
	for c := 1; c < len(want.Fields); c++ {
		from, to := got.Fields[c].Type, want.Fields[c].Type
		x := expr.Col(c, from, got.Fields[c].Name)
		if !sameType(from, to) {
			if !assignable(from, to) {
				node := sqlparser.SQLNode(sel)
				if c-1 < len(s.pos) {
					node = s.pos[c-1]
				}
				pos, ok := q.Locate(node)
				if !ok {
					pos = q.Pos
				}
				return p.errAt(pos, "column %d of the UNION ALL is %s in the first SELECT but %s in SELECT %d", c, to, from.Nullable(), n)
			}
			cx, err := expr.Cast(x, to)
			if err != nil {
				return p.errAt(q.Pos, "column %d of the UNION ALL: %v", c, err)
			}
			x = cx
		}
		exprs = append(exprs, x)
		names = append(names, want.Fields[c].Name)
		desc = append(desc, x.String()+" AS "+quoteName(want.Fields[c].Name))
	}
	input := got
	s.add("Project (UNION ALL columns) "+strings.Join(desc, ", "), func() (operators.Operator, error) {
		return relational.NewProject(relational.ProjectSpec{Input: input, Exprs: exprs, Names: names})
	})
	s.schema = want
	return nil
}

// unionOf returns the UNION a FROM subquery's statement is, through any
// parentheses, or nil.
func unionOf(s sqlparser.SelectStatement) *sqlparser.Union {
	switch n := s.(type) {
	case *sqlparser.Union:
		return n
	case *sqlparser.ParenSelect:
		return unionOf(n.Select)
	}
	return nil
}

// unionSubquery plans the FROM item sub, the UNION ALL u: a generated
// stream filled by u's pump, and the rows of that stream.
func (p *planner) unionSubquery(q *dialect.Query, sub *sqlparser.Subquery, u *sqlparser.Union) (*selected, error) {
	at := q.Pos
	if pos, ok := q.Locate(sub); ok {
		at = pos
	}
	pump, err := p.planUnion(p.chains.pump, q, u, nil, nil)
	if err != nil {
		return nil, err
	}
	// Named once planned: a union in FROM of one of u's SELECTs is made
	// first and takes the lower number.
	name, err := p.generatedName(at, "$U") // derived.go
	if err != nil {
		return nil, err
	}
	pump.Name, pump.Target = name, name
	for _, b := range pump.Branches {
		b.Name = name
	}
	st := &Stream{Name: name, Schema: pump.Schema}
	p.addGenerated(st, pump) // streamchain.go
	return &selected{source: name, schema: st.Schema}, nil
}
