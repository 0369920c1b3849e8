package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/operators/window"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// selected is a planned SELECT block: its source stream, its operators and
// the schema of the rows it emits (ROWTIME, then the SELECT list).
type selected struct {
	source string
	ops    []opFactory
	schema types.Schema
	// pos[i] locates output column i+1 (for INSERT errors).
	pos []sqlparser.SQLNode
}

func (s *selected) add(describe string, build func() (operators.Operator, error)) {
	s.ops = append(s.ops, opFactory{describe: describe, build: build})
}

// planPump plans a query, and with a target the INSERT into it.
func (p *planner) planPump(name string, q *dialect.Query, target *Stream, cols []string) (*Pump, error) {
	sel, ok := q.AST.(*sqlparser.Select)
	if u, isUnion := q.AST.(*sqlparser.Union); isUnion {
		return p.planUnion(name, q, u, target, cols) // union.go
	}
	if !ok {
		return nil, p.errAt(q.Pos, "UNION and other set operations are not supported yet")
	}
	p.markUserAggregates(q) // aggfunc.go
	s, err := p.planSelect(q, sel)
	if err != nil {
		return nil, err
	}
	pump := &Pump{Name: name, Source: s.source, Schema: s.schema}
	if target != nil {
		if err := p.insert(q, sel, s, target, cols); err != nil {
			return nil, err
		}
		pump.Schema = target.Schema
	}
	pump.ops = s.ops
	for _, o := range s.ops {
		pump.Explain = append(pump.Explain, o.describe)
	}
	return pump, nil
}

// planSelect plans one SELECT block.
func (p *planner) planSelect(q *dialect.Query, sel *sqlparser.Select) (*selected, error) {
	qpos := func(node sqlparser.SQLNode) dialect.Pos {
		if pos, ok := q.Locate(node); ok {
			return pos
		}
		return q.Pos
	}
	s := &selected{}
	sc := &scope{}
	where := sel.Where
	fromItem := sel.From[0]
	var cond sqlparser.Expr // a join's last condition, when its step has no ON
	switch {
	case len(sel.From) > 2: // FROM a, b, c WHERE ...: a chain, the WHERE split among its steps (streamchain.go)
		chain, err := p.commaChain(q, sel)
		if err != nil {
			return nil, err
		}
		fromItem, where = chain, nil
	case len(sel.From) == 2: // FROM a, b WHERE cond: an inner join on cond (join.go)
		fromItem, where = &sqlparser.JoinTableExpr{LeftExpr: sel.From[0], Join: ",", RightExpr: sel.From[1]}, nil
		if sel.Where != nil {
			cond = sel.Where.Expr
		}
	}
	switch from := fromItem.(type) {
	case *sqlparser.AliasedTableExpr:
		switch t := from.Expr.(type) {
		case sqlparser.TableName:
			name := t.Name.String()
			st, ok := p.streams[name]
			if !ok {
				return nil, p.errAt(qpos(from), "unknown stream %s (streams: %s)", quoteName(name), p.streamNames())
			}
			s.source = st.Name
			sc.schema = st.Schema
			sc.qualifiers = []string{name}
		case *sqlparser.Subquery:
			var sub *selected
			var err error
			if valuesRows(q, t.Select) != nil { // values.go
				return nil, p.errAt(qpos(from), "VALUES gives constant rows, not a stream: join them with a stream, as in FROM s JOIN (VALUES (1, 'a')) AS t(x, y) ON s.x = t.x")
			}
			if tf, ok := q.TableFunctions[from.As.String()]; ok {
				sub, err = p.planTableFunction(q, tf, t) // tablefunc.go
			} else if u := unionOf(t.Select); u != nil {
				sub, err = p.unionSubquery(q, t, u) // union.go
			} else {
				inner, ok := t.Select.(*sqlparser.Select)
				if !ok {
					return nil, p.errAt(qpos(t), "UNION and other set operations are not supported yet")
				}
				sub, err = p.planSelect(q, inner)
			}
			if err != nil {
				return nil, err
			}
			s.source, s.ops, sc.schema = sub.source, sub.ops, sub.schema
			if aliases, ok := q.ColumnAliases[from.As.String()]; ok {
				if len(aliases) != len(sc.schema.Fields)-1 {
					return nil, p.errAt(qpos(from), "%d column aliases for a subquery of %d columns", len(aliases), len(sc.schema.Fields)-1)
				}
				sc.schema = renamed(sc.schema, aliases)
			}
		default:
			return nil, p.errAt(qpos(from), "unsupported FROM item %s", sqlparser.String(from))
		}
		if a := from.As.String(); a != "" {
			sc.qualifiers = []string{a}
		}
	case *sqlparser.JoinTableExpr:
		if err := p.valuesFirst(q, sel, from); err != nil { // values.go
			return nil, err
		}
		if err := p.planJoin(q, sel, from, cond, s, sc); err != nil { // join.go
			return nil, err
		}
	default:
		return nil, p.errAt(qpos(sel), "unsupported FROM clause %s", sqlparser.String(sel.From))
	}
	block := q.Blocks[sel]
	if block == nil {
		block = &dialect.Block{}
	}
	if sel.Limit != nil {
		return nil, p.errAt(qpos(sel), "LIMIT is not supported on a stream")
	}
	if sel.Distinct != "" {
		return nil, p.errAt(qpos(sel), "SELECT DISTINCT is not supported on a stream")
	}
	in := &binder{p: p, q: q, sc: sc}

	if where != nil {
		if containsAggregate(where.Expr) {
			return nil, in.errAt(where.Expr, "aggregates are not allowed in WHERE; use HAVING")
		}
		pred, err := in.bind(where.Expr)
		if err != nil {
			return nil, err
		}
		if k := pred.Type().Kind; k != types.Boolean && k != types.Null {
			return nil, in.errAt(where.Expr, "WHERE needs a BOOLEAN condition, not %s", pred.Type())
		}
		schema := sc.schema
		s.add("Filter "+pred.String(), func() (operators.Operator, error) {
			return relational.NewFilter(relational.FilterSpec{Input: schema, Pred: pred})
		})
	}

	var items []sqlparser.Expr
	for _, se := range sel.SelectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok {
			items = append(items, ae.Expr)
		}
	}
	if sel.Having != nil {
		items = append(items, sel.Having.Expr)
	}
	hasAgg := false
	for _, it := range items {
		if containsAggregate(it) {
			hasAgg = true
		}
	}
	switch {
	case len(sel.GroupBy) > 0 && block.Stagger != nil:
		return nil, p.errAt(block.Stagger.Pos, "use either GROUP BY or WINDOWED BY STAGGER, not both")
	case len(sel.GroupBy) > 0:
		return p.planGrouped(q, sel, s, in, groupTumbling, nil)
	case block.Stagger != nil:
		return p.planGrouped(q, sel, s, in, groupStagger, block.Stagger)
	case sel.Having != nil:
		return nil, in.errAt(sel.Having.Expr, "HAVING needs GROUP BY or WINDOWED BY STAGGER")
	case hasAgg:
		return p.planSliding(q, sel, s, in)
	}
	return p.project(q, sel, s, in, sc.schema, nil)
}

func (p *planner) streamNames() string {
	var names []string
	for _, s := range p.app.Streams {
		names = append(names, quoteName(s.Name))
	}
	return strings.Join(names, ", ")
}

func renamed(s types.Schema, names []string) types.Schema {
	out := types.Schema{Fields: []types.Field{s.Fields[0]}}
	for i, f := range s.Fields[1:] {
		out.Fields = append(out.Fields, types.Field{Name: names[i], Type: f.Type})
	}
	return out
}

// project plans the SELECT list over the current schema with binder b.
func (p *planner) project(q *dialect.Query, sel *sqlparser.Select, s *selected, b *binder, input types.Schema, allowStar func() error) (*selected, error) {
	var exprs []expr.Expr
	var names []string
	var nodes []sqlparser.SQLNode
	seen := map[string]int{}
	addName := func(n string) string {
		seen[n]++
		if seen[n] > 1 {
			n = fmt.Sprintf("%s_%d", n, seen[n])
		}
		return n
	}
	if err := p.planOrder(q, sel, s, b, input); err != nil {
		return nil, err
	}
	for i, se := range sel.SelectExprs {
		switch it := se.(type) {
		case *sqlparser.StarExpr:
			if allowStar != nil {
				if err := allowStar(); err != nil {
					return nil, err
				}
			}
			if b.sc.join != nil { // join.go: the sides' columns
				cols, err := b.sc.join.star(b, it, input)
				if err != nil {
					return nil, err
				}
				for _, c := range cols {
					f := input.Fields[c]
					exprs = append(exprs, expr.Col(c, f.Type, f.Name))
					names = append(names, addName(f.Name))
					nodes = append(nodes, it)
				}
				continue
			}
			if q := it.TableName.Name.String(); q != "" && !b.sc.qualifies(q) {
				return nil, b.errAt(it, "unknown stream or alias %s in %s", quoteName(q), sqlparser.String(it))
			}
			for c, f := range input.Fields {
				if c == 0 {
					continue
				}
				exprs = append(exprs, expr.Col(c, f.Type, f.Name))
				names = append(names, addName(f.Name))
				nodes = append(nodes, it)
			}
		case *sqlparser.AliasedExpr:
			alias := it.As.String()
			if c, ok := it.Expr.(*sqlparser.ColName); ok && c.Name.String() == types.RowtimeName && (alias == "" || alias == types.RowtimeName) {
				continue // the row's time, not a column
			}
			if alias == types.RowtimeName {
				if timeSortsRowtime(q, sel) {
					continue // ORDER BY ... WITHIN has set the row's time
				}
				return nil, b.errAt(it, "setting ROWTIME with AS ROWTIME needs ORDER BY <the same expression> WITHIN INTERVAL ...")
			}
			x, err := b.bind(it.Expr)
			if err != nil {
				return nil, err
			}
			if x.Type().Kind == types.Interval {
				return nil, b.errAt(it.Expr, "an INTERVAL cannot be a column; convert it, e.g. with CAST(... AS BIGINT)")
			}
			name := alias
			if name == "" {
				if c, ok := it.Expr.(*sqlparser.ColName); ok {
					name = c.Name.String()
				} else {
					name = fmt.Sprintf("EXPR$%d", i)
				}
			}
			exprs = append(exprs, x)
			names = append(names, addName(name))
			nodes = append(nodes, it)
		default:
			return nil, b.errAt(sel, "unsupported SELECT item %s", sqlparser.String(se))
		}
	}
	out := types.Schema{Fields: []types.Field{input.Fields[0]}}
	for i, x := range exprs {
		out.Fields = append(out.Fields, types.Field{Name: names[i], Type: x.Type().Nullable()})
	}
	desc := make([]string, len(exprs))
	for i, x := range exprs {
		desc[i] = x.String() + " AS " + quoteName(names[i])
	}
	s.add("Project "+strings.Join(desc, ", "), func() (operators.Operator, error) {
		return relational.NewProject(relational.ProjectSpec{Input: input, Exprs: exprs, Names: names})
	})
	s.schema = out
	s.pos = nodes
	return s, nil
}

// insert maps the query's columns onto the target stream's, by position,
// with assignment casts, and adds the final Project.
func (p *planner) insert(q *dialect.Query, sel *sqlparser.Select, s *selected, target *Stream, cols []string) error {
	var dest []int // target column index for each query column
	if cols == nil {
		for i := 1; i < len(target.Schema.Fields); i++ {
			dest = append(dest, i)
		}
	} else {
		seen := map[string]bool{}
		for _, c := range cols {
			i := target.Schema.Index(c)
			if i <= 0 {
				return p.errAt(q.Pos, "stream %s has no column %s (it has %s)", quoteName(target.Name), quoteName(c), columnList(target.Schema))
			}
			if seen[c] {
				return p.errAt(q.Pos, "column %s is listed twice in the INSERT", quoteName(c))
			}
			seen[c] = true
			dest = append(dest, i)
		}
	}
	got := len(s.schema.Fields) - 1
	if got != len(dest) {
		return p.errAt(q.Pos, "the query produces %s but the INSERT into %s expects %d (%s)",
			plural(got, "column"), quoteName(target.Name), len(dest), columnList(types.Schema{Fields: pick(target.Schema, dest)}))
	}
	from := s.schema
	exprs := make([]expr.Expr, len(target.Schema.Fields)-1)
	for qi, ti := range dest {
		src := from.Fields[qi+1]
		to := target.Schema.Fields[ti].Type
		x := expr.Col(qi+1, src.Type, src.Name)
		if !sameType(src.Type, to) {
			if !assignable(src.Type, to) {
				node := sqlparser.SQLNode(sel)
				if qi < len(s.pos) {
					node = s.pos[qi]
				}
				pos, ok := q.Locate(node)
				if !ok {
					pos = q.Pos
				}
				return p.errAt(pos, "cannot insert %s into column %s %s of stream %s", src.Type.Nullable(), quoteName(target.Schema.Fields[ti].Name), to, quoteName(target.Name))
			}
			c, err := expr.Cast(x, to.Nullable())
			if err != nil {
				return p.errAt(q.Pos, "column %s: %v", quoteName(target.Schema.Fields[ti].Name), err)
			}
			x = c
		}
		exprs[ti-1] = x
	}
	names := make([]string, len(exprs))
	for i := range exprs {
		f := target.Schema.Fields[i+1]
		names[i] = f.Name
		if exprs[i] == nil {
			n, err := expr.Lit(nil, f.Type.Nullable())
			if err != nil {
				return fmt.Errorf("null of %s: %w", f.Type, err)
			}
			exprs[i] = n
		}
	}
	desc := make([]string, len(exprs))
	for i, x := range exprs {
		desc[i] = x.String() + " AS " + quoteName(names[i])
	}
	s.add("Insert into "+quoteName(target.Name)+": "+strings.Join(desc, ", "), func() (operators.Operator, error) {
		return relational.NewProject(relational.ProjectSpec{Input: from, Exprs: exprs, Names: names})
	})
	return nil
}

func pick(s types.Schema, idx []int) []types.Field {
	out := make([]types.Field, len(idx))
	for i, j := range idx {
		out[i] = s.Fields[j]
	}
	return out
}

func sameType(a, b types.Type) bool {
	return a.Kind == b.Kind && a.Length == b.Length && a.Precision == b.Precision && a.Scale == b.Scale
}

// assignable reports whether a value of type from may be inserted into a
// column of type to, with a cast: within numbers, within strings, within
// binaries, between datetimes, and NULL into anything.
func assignable(from, to types.Type) bool {
	switch {
	case from.Kind == types.Null:
		return true
	case from.IsNumeric() && to.IsNumeric(), from.IsString() && to.IsString(), from.IsBinary() && to.IsBinary():
		return true
	case from.IsDatetime() && to.IsDatetime():
		return true
	}
	return from.Kind == to.Kind
}

// ---- aggregation

type groupKind int

const (
	groupTumbling groupKind = iota
	groupStagger
)

// aggCall is one aggregate call found in the SELECT list or HAVING.
type aggCall struct {
	node   *sqlparser.FuncExpr
	agg    window.Aggregate
	window string // KDA_OVER window key, "" for GROUP BY aggregates
	typ    types.Type
}

// collectAggs finds the aggregate calls of exprs, binds their arguments
// with in, and returns them in order of appearance. over says whether
// KDA_OVER calls are expected (sliding) or refused (grouped).
func (p *planner) collectAggs(in *binder, exprs []sqlparser.Expr, over bool) ([]*aggCall, error) {
	var calls []*aggCall
	var err error
	visit := func(f *sqlparser.FuncExpr, win string, over *sqlparser.FuncExpr) {
		if err != nil {
			return
		}
		var c *aggCall
		c, err = p.bindAggregate(in, f, win, over)
		if err == nil {
			calls = append(calls, c)
		}
	}
	for _, e := range exprs {
		_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
			f, ok := n.(*sqlparser.FuncExpr)
			if !ok {
				_, sub := n.(*sqlparser.Subquery)
				return !sub, nil
			}
			name := aggDisplayName(f)
			if name == "KDA_OVER" {
				if !over {
					err = in.errAt(f, "an aggregate OVER a window cannot be mixed with GROUP BY or STAGGER aggregates")
					return false, nil
				}
				inner, win, e2 := overParts(in, f)
				if e2 != nil {
					err = e2
					return false, nil
				}
				visit(inner, win, f)
				return false, nil
			}
			if isAggregate(f) {
				if over && (name == "LAG" || name == "NTH_VALUE") {
					err = in.errAt(f, "%s is an analytic function: it needs OVER a sliding window, e.g. %s(x) OVER (PARTITION BY k ROWS 5 PRECEDING)", name, name)
					return false, nil
				}
				if over {
					err = in.errAt(f, "aggregate %s needs GROUP BY on a monotonic expression such as STEP(ROWTIME BY INTERVAL '1' MINUTE), WINDOWED BY STAGGER, or an OVER window", name)
					return false, nil
				}
				visit(f, "", nil)
				return false, nil
			}
			return true, nil
		}, e)
		if err != nil {
			return nil, err
		}
	}
	return calls, nil
}

func overParts(in *binder, f *sqlparser.FuncExpr) (*sqlparser.FuncExpr, string, error) {
	if len(f.Exprs) < 2 {
		return nil, "", in.errAt(f, "malformed OVER")
	}
	inner, ok := unaliased(f.Exprs[0]).(*sqlparser.FuncExpr)
	if ok && !isAggregate(inner) {
		if msg := in.p.scalarNotAggregate(inner); msg != "" {
			return nil, "", in.errAt(inner, "%s", msg)
		}
	}
	if !ok || !isAggregate(inner) {
		return nil, "", in.errAt(f, "OVER applies to an aggregate function such as AVG(x); %s is not one", sqlparser.String(unaliased(f.Exprs[0])))
	}
	key, ok := unaliased(f.Exprs[1]).(*sqlparser.SQLVal)
	if !ok {
		return nil, "", in.errAt(f, "malformed OVER")
	}
	return inner, string(key.Val), nil
}

// bindAggregate binds one aggregate call's arguments against the input.
func (p *planner) bindAggregate(in *binder, f *sqlparser.FuncExpr, win string, over *sqlparser.FuncExpr) (*aggCall, error) {
	mods, err := overModifiers(in, over)
	if err != nil {
		return nil, err
	}
	if c, ok, err := p.bindAnalytic(in, f, win, mods); ok || err != nil { // analytic.go
		return c, err
	}
	if _, ok := p.userAggregateOf(f); ok {
		return p.bindUserAggregate(in, f, win) // aggfunc.go
	}
	name := strings.ToUpper(f.Name.String())
	c := &aggCall{node: f, window: win, agg: window.Aggregate{Func: name, Distinct: f.Distinct}}
	var args []sqlparser.Expr
	for _, se := range f.Exprs {
		switch a := se.(type) {
		case *sqlparser.StarExpr:
			if name != "COUNT" {
				return nil, in.errAt(f, "%s(*) is not valid; only COUNT(*)", name)
			}
		case *sqlparser.AliasedExpr:
			if containsAggregate(a.Expr) {
				return nil, in.errAt(a.Expr, "aggregates cannot be nested")
			}
			args = append(args, a.Expr)
		}
	}
	switch {
	case name == "EXP_AVG":
		if len(args) != 2 {
			return nil, in.errAt(f, "EXP_AVG needs a value and a half-life interval: EXP_AVG(x, INTERVAL '10' SECOND)")
		}
		iv, ok := args[1].(*sqlparser.IntervalExpr)
		if !ok {
			return nil, in.errAt(args[1], "EXP_AVG's half-life must be an interval literal")
		}
		d, err := in.intervalOf(iv)
		if err != nil {
			return nil, err
		}
		c.agg.HalfLife = d
		args = args[:1]
	case len(args) > 1:
		return nil, in.errAt(f, "%s takes one argument", name)
	case len(args) == 0 && name != "COUNT":
		return nil, in.errAt(f, "%s needs an argument", name)
	}
	argType := types.TNull
	if len(args) == 1 {
		x, err := in.bind(args[0])
		if err != nil {
			return nil, err
		}
		c.agg.Arg = x
		argType = x.Type()
	}
	t, err := window.ResultType(name, argType)
	if err != nil {
		return nil, in.wrap(f, err)
	}
	c.typ = t
	return c, nil
}

// postBinder binds expressions over an aggregating operator's output:
// aggregate calls become its aggregate columns, expressions equal to a
// grouping key become the key's column, and other column references are
// refused (grouped) or read from the passed-through input (sliding).
func (p *planner) postBinder(in *binder, out types.Schema, calls []*aggCall, aggBase int, keys []expr.Expr, keyCols []int, passThrough bool) *binder {
	index := map[*sqlparser.FuncExpr]int{}
	for i, c := range calls {
		index[c.node] = aggBase + i
	}
	keyText := make([]string, len(keys))
	for i, k := range keys {
		keyText[i] = k.String()
	}
	post := &binder{p: p, q: in.q, sc: &scope{schema: out, qualifiers: in.sc.qualifiers}}
	post.hook = func(b *binder, e sqlparser.Expr) (expr.Expr, bool, error) {
		if f, ok := e.(*sqlparser.FuncExpr); ok {
			target := f
			if strings.EqualFold(f.Name.String(), "KDA_OVER") {
				if inner, _, err := overParts(in, f); err == nil {
					target = inner
				}
			}
			if i, ok := index[target]; ok {
				fl := out.Fields[i]
				return expr.Col(i, fl.Type, fl.Name), true, nil
			}
		}
		if _, lit := e.(*sqlparser.SQLVal); lit || containsAggregate(e) || len(keys) == 0 {
			return nil, false, nil
		}
		if x, err := in.bind(e); err == nil {
			s := x.String()
			for i, t := range keyText {
				if t == s {
					fl := out.Fields[keyCols[i]]
					return expr.Col(keyCols[i], fl.Type, fl.Name), true, nil
				}
			}
		}
		return nil, false, nil
	}
	post.column = func(b *binder, c *sqlparser.ColName) (expr.Expr, error) {
		if c.Name.String() == types.RowtimeName {
			return expr.Col(0, out.Fields[0].Type, types.RowtimeName), nil
		}
		if passThrough {
			return in.resolve(c)
		}
		if _, err := in.resolve(c); err != nil {
			return nil, err
		}
		return nil, b.errAt(c, "column %s must appear in GROUP BY (or STAGGER's PARTITION BY) or inside an aggregate", quoteName(c.Name.String()))
	}
	return post
}

// planGrouped plans a tumbling GROUP BY or a stagger window.
func (p *planner) planGrouped(q *dialect.Query, sel *sqlparser.Select, s *selected, in *binder, kind groupKind, stagger *dialect.StaggerSpec) (*selected, error) {
	if call := groupWindowCall(sel); kind == groupTumbling && call != nil {
		return p.planEventTime(q, sel, s, in, call) // eventtime.go
	}
	var items []sqlparser.Expr
	for _, se := range sel.SelectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok {
			items = append(items, ae.Expr)
		}
	}
	if sel.Having != nil {
		items = append(items, sel.Having.Expr)
	}
	calls, err := p.collectAggs(in, items, false)
	if err != nil {
		return nil, err
	}
	input := in.sc.schema
	var (
		keyNodes  []sqlparser.Expr
		windowKey expr.Expr
		width     time.Duration
		keys      []expr.Expr
	)
	if kind == groupTumbling {
		for _, g := range sel.GroupBy {
			keyNodes = append(keyNodes, g)
		}
	} else {
		keyNodes = stagger.PartitionBy
	}
	for _, g := range keyNodes {
		if containsAggregate(g) {
			return nil, in.errAt(g, "aggregates cannot be grouping keys")
		}
		x, err := in.bind(g)
		if err != nil {
			return nil, err
		}
		if kind == groupTumbling && windowKey == nil {
			if w, ok, err := monotonicWidth(in, g, x); err != nil {
				return nil, err
			} else if ok {
				windowKey, width = x, w
				continue
			}
		}
		keys = append(keys, x)
	}
	if kind == groupTumbling && windowKey == nil {
		pos, ok := q.Locate(sel.GroupBy[0])
		if !ok {
			pos = q.Pos
		}
		return nil, p.errAt(pos, "a streaming GROUP BY needs a monotonic key such as STEP(ROWTIME BY INTERVAL '1' MINUTE), FLOOR(ROWTIME TO MINUTE) or MONOTONIC(expr): without one the groups would never close")
	}
	aggs := make([]window.Aggregate, len(calls))
	for i, c := range calls {
		aggs[i] = c.agg
	}
	// The operator's output: ROWTIME, [window key], keys..., aggregates...
	out := types.Schema{Fields: []types.Field{input.Fields[0]}}
	var names []string
	var keyCols []int
	var allKeys []expr.Expr
	if windowKey != nil {
		names = append(names, "WINDOW_KEY")
		keyCols = append(keyCols, len(out.Fields))
		allKeys = append(allKeys, windowKey)
		out.Fields = append(out.Fields, types.Field{Name: "WINDOW_KEY", Type: windowKey.Type().Nullable()})
	}
	for i, k := range keys {
		n := fmt.Sprintf("KEY_%d", i+1)
		names = append(names, n)
		keyCols = append(keyCols, len(out.Fields))
		allKeys = append(allKeys, k)
		out.Fields = append(out.Fields, types.Field{Name: n, Type: k.Type().Nullable()})
	}
	aggBase := len(out.Fields)
	for i, c := range calls {
		n := fmt.Sprintf("AGG_%d", i+1)
		names = append(names, n)
		out.Fields = append(out.Fields, types.Field{Name: n, Type: c.typ})
	}
	if kind == groupTumbling {
		spec := window.TumblingSpec{Input: input, WindowKey: windowKey, Width: width, Keys: keys, Aggs: aggs, Names: names}
		s.add(fmt.Sprintf("Tumbling window %s width %s keys %s aggregates %s", windowKey, width, exprList(keys), aggList(aggs)), func() (operators.Operator, error) {
			return window.NewTumbling(spec)
		})
	} else {
		spec := window.StaggerSpec{Input: input, PartitionBy: keys, Range: stagger.Range, Aggs: aggs, Names: names}
		s.add(fmt.Sprintf("Stagger window range %s partition %s aggregates %s", stagger.Range, exprList(keys), aggList(aggs)), func() (operators.Operator, error) {
			return window.NewStagger(spec)
		})
	}
	post := p.postBinder(in, out, calls, aggBase, allKeys, keyCols, false)
	return p.havingAndProject(q, sel, s, post, out, "GROUP BY or STAGGER")
}

// havingAndProject finishes a grouped query: HAVING as a Filter over the
// grouping operator's output, then the SELECT list. what names the grouping
// for the error about SELECT *.
func (p *planner) havingAndProject(q *dialect.Query, sel *sqlparser.Select, s *selected, post *binder, out types.Schema, what string) (*selected, error) {
	if sel.Having != nil {
		pred, err := post.bind(sel.Having.Expr)
		if err != nil {
			return nil, err
		}
		if k := pred.Type().Kind; k != types.Boolean && k != types.Null {
			return nil, post.errAt(sel.Having.Expr, "HAVING needs a BOOLEAN condition, not %s", pred.Type())
		}
		s.add("Filter (HAVING) "+pred.String(), func() (operators.Operator, error) {
			return relational.NewFilter(relational.FilterSpec{Input: out, Pred: pred})
		})
	}
	return p.project(q, sel, s, post, out, func() error {
		return p.errAt(q.Pos, "SELECT * cannot be used with %s: name the keys and aggregates", what)
	})
}

// monotonicWidth recognises the monotonic GROUP BY key of a tumbling
// window and its width: STEP(ROWTIME, INTERVAL), FLOOR(ROWTIME TO unit),
// ROWTIME itself (1 ms windows) or MONOTONIC(x) (width 0: windows close
// when the key changes).
func monotonicWidth(in *binder, node sqlparser.Expr, x expr.Expr) (time.Duration, bool, error) {
	for {
		p, ok := node.(*sqlparser.ParenExpr)
		if !ok {
			break
		}
		node = p.Expr
	}
	isRowtime := func(e sqlparser.Expr) bool {
		c, ok := e.(*sqlparser.ColName)
		return ok && c.Name.String() == types.RowtimeName
	}
	switch n := node.(type) {
	case *sqlparser.ColName:
		if isRowtime(n) {
			return time.Millisecond, true, nil
		}
	case *sqlparser.FuncExpr:
		args := make([]sqlparser.Expr, 0, len(n.Exprs))
		for _, se := range n.Exprs {
			args = append(args, unaliased(se))
		}
		switch strings.ToUpper(n.Name.String()) {
		case "MONOTONIC":
			return 0, true, nil
		case "STEP":
			if len(args) == 2 && isRowtime(args[0]) {
				if iv, ok := args[1].(*sqlparser.IntervalExpr); ok {
					d, err := in.intervalOf(iv)
					if err != nil {
						return 0, false, err
					}
					if d <= 0 {
						return 0, false, in.errAt(iv, "a STEP window must be longer than zero")
					}
					return d, true, nil
				}
			}
		case "KDA_FLOOR_TO":
			if len(args) == 2 && isRowtime(args[0]) {
				if u, ok := args[1].(*sqlparser.SQLVal); ok {
					d := map[string]time.Duration{"SECOND": time.Second, "MINUTE": time.Minute, "HOUR": time.Hour, "DAY": 24 * time.Hour}[strings.ToUpper(string(u.Val))]
					if d == 0 {
						return 0, false, in.errAt(n, "FLOOR(ROWTIME TO %s) cannot key a tumbling window; use SECOND, MINUTE, HOUR or DAY, or STEP", string(u.Val))
					}
					return d, true, nil
				}
			}
		}
	}
	_ = x
	return 0, false, nil
}

// planSliding plans aggregates OVER windows: one Sliding operator per
// window, each appending its aggregates to the input columns.
func (p *planner) planSliding(q *dialect.Query, sel *sqlparser.Select, s *selected, in *binder) (*selected, error) {
	var items []sqlparser.Expr
	for _, se := range sel.SelectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok {
			items = append(items, ae.Expr)
		}
	}
	calls, err := p.collectAggs(in, items, true)
	if err != nil {
		return nil, err
	}
	// Group the calls by window, in order of first use; output columns are
	// the input's, then each window's aggregates in that order.
	var order []string
	byWin := map[string][]*aggCall{}
	for _, c := range calls {
		if _, ok := byWin[c.window]; !ok {
			order = append(order, c.window)
		}
		byWin[c.window] = append(byWin[c.window], c)
	}
	cur := in.sc.schema
	var sorted []*aggCall
	for _, w := range order {
		spec, ok := q.Windows[w]
		if !ok {
			return nil, p.errAt(q.Pos, "unknown window %s", quoteName(w))
		}
		if spec.Following {
			return nil, p.errAt(spec.Pos, "FOLLOWING windows are only allowed on a join side")
		}
		var parts []expr.Expr
		for _, e := range spec.PartitionBy {
			x, err := in.bind(e)
			if err != nil {
				return nil, err
			}
			parts = append(parts, x)
		}
		ws := byWin[w]
		aggs := make([]window.Aggregate, len(ws))
		names := make([]string, len(ws))
		next := types.Schema{Fields: append([]types.Field{}, cur.Fields...)}
		for i, c := range ws {
			aggs[i] = c.agg
			names[i] = fmt.Sprintf("AGG_%d", len(sorted)+i+1)
			next.Fields = append(next.Fields, types.Field{Name: names[i], Type: c.typ})
		}
		sorted = append(sorted, ws...)
		spec2 := window.SlidingSpec{Input: cur, PartitionBy: parts, Range: spec.Range, Rows: spec.Rows, IsRows: spec.IsRows, Aggs: aggs, Names: names}
		desc := fmt.Sprintf("Sliding window RANGE %s", spec.Range)
		if spec.IsRows {
			desc = fmt.Sprintf("Sliding window ROWS %d PRECEDING", spec.Rows)
		}
		s.add(fmt.Sprintf("%s partition %s aggregates %s", desc, exprList(parts), aggList(aggs)), func() (operators.Operator, error) {
			return window.NewSliding(spec2)
		})
		cur = next
	}
	post := p.postBinder(in, cur, sorted, len(in.sc.schema.Fields), nil, nil, true)
	return p.project(q, sel, s, post, cur, nil)
}

func exprList(xs []expr.Expr) string {
	if len(xs) == 0 {
		return "()"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = x.String()
	}
	return "(" + strings.Join(s, ", ") + ")"
}

func aggList(as []window.Aggregate) string {
	s := make([]string, len(as))
	for i, a := range as {
		if a.Analytic != nil {
			s[i] = analyticString(a)
			continue
		}
		arg := "*"
		if a.Arg != nil {
			arg = a.Arg.String()
		}
		if a.User != nil {
			arg = strings.TrimSuffix(strings.TrimPrefix(exprList(a.Args), "("), ")")
		}
		if a.Distinct {
			arg = "DISTINCT " + arg
		}
		s[i] = a.Func + "(" + arg + ")"
	}
	return strings.Join(s, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
