package plan

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/join"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// Joins of three streams or more, and of a stream after a reference table
// (docs/sql.md, "Joins"). A join.StreamJoin reads two named streams
// (JoinPump), so a chain that joins a stream at a step after the first
// is lowered into one pump per such stream, the way a HOP window join of
// several slides is lowered into one pump per shift
// (sql/dialect/hopjoin.go). The pump
//
//	CREATE PUMP P AS INSERT INTO T SELECT STREAM ...
//	FROM a JOIN b OVER (...) ON c1 JOIN t ON c2 JOIN s3 OVER (...) ON c3 ...
//
// becomes the pump P$J1, which joins the steps before s3 (a ⋈ b ⋈ t, the
// first step and the reference tables after it) into a generated stream
// P$J1, and P, which joins P$J1 with s3 and goes on with the rest of the
// chain and the rest of the query; a fourth stream makes P$J2 of P$J1 ⋈
// s3, and so on. P$J1's ROWTIME is the joined rows' own — the driving
// row's of its last stream join — and its columns are the columns of
// the inputs joined so far that the rest of the query names, under the
// names "alias.column" (a.ROWTIME too when the query names it). No
// reference is rewritten: the scope over P$J1 maps each input's columns
// to the stream's (joinScope's cols), so a.x, an unqualified x and a.*
// resolve as they would over a single join, and every node keeps its
// position for errors.
//
// The lowering is here rather than in sql/dialect, which rewrites tokens
// (hopjoin.go): a generated stream needs the columns and types of the
// inputs, and only the planner knows them — an input stream's schema
// comes from the application's input configuration, a reference
// table's from its definition, and which names are columns of which
// input takes the joinScope's resolution.
//
// A step's window is relative to the rows it joins: a stream after the
// first step is joined with the previous step's output rows, so its
// window (OVER) counts from their ROWTIME. Such a stream needs a window;
// outer joins emit their NULL-extended rows by the rule of a two-stream
// join, step by step.

// chainState is what the planner knows of the streams and pumps it
// generates: those of the query being planned, and those of every pump
// so far, to drop when the pump is replaced.
type chainState struct {
	// pump is the pump whose query is being planned, or the stream of
	// the bare SELECT being planned (PREVIEW, PREVIEW_2, ...).
	pump string
	// preview, while a bare SELECT is planned, collects what it is
	// lowered into, which goes with the preview rather than into the
	// application's streams and pumps.
	preview *Lowering
	// made are the names (a stream and its pump each) generated for it.
	made []string
	// derived are the streams made of subqueries joined as inputs
	// (derived.go), so that a subquery planned twice (a FROM list's
	// WHERE is split first) is lowered once.
	derived map[*sqlparser.Subquery]*Stream
	// lowered[P] are the names generated for pump P: the steps of its
	// join chains (P$Jk) and the dialect's pumps of a HOP window join
	// (P$HOPk, pending[P] until P itself is planned).
	lowered, pending map[string][]string
}

// streamSteps returns the indices of the steps after the first whose new
// input is a stream: where lowerChain cuts the chain.
func (p *planner) streamSteps(q *dialect.Query, steps []*sqlparser.JoinTableExpr) []int {
	var cuts []int
	for i := 1; i < len(steps); i++ {
		if p.namesStream(q, steps[i].RightExpr) {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

// namesStream reports whether te is a stream (as joinInput finds it,
// streams before tables): one named directly, or a subquery other than
// VALUES, which joins as a stream of its own (derived.go).
func (p *planner) namesStream(q *dialect.Query, te sqlparser.TableExpr) bool {
	if at, ok := te.(*sqlparser.AliasedTableExpr); ok {
		switch t := at.Expr.(type) {
		case sqlparser.TableName:
			return p.streams[t.Name.String()] != nil
		case *sqlparser.Subquery:
			return valuesRows(q, t.Select) == nil
		}
	}
	return false
}

// lowerChain plans steps, cut before each stream step (cuts): each part
// but the last a generated stream and the pump that fills it, the last
// part at the head of s.
func (p *planner) lowerChain(q *dialect.Query, sel *sqlparser.Select, block *dialect.Block, steps []*sqlparser.JoinTableExpr, cuts []int, cond sqlparser.Expr, s *selected, sc *scope) error {
	cur, cs := &selected{}, &scope{}
	if err := p.planChain(q, sel, block, steps[:cuts[0]], nil, cur, cs); err != nil {
		return err
	}
	for n, c := range cuts {
		end := len(steps)
		if n+1 < len(cuts) {
			end = cuts[n+1]
		}
		st, ssc, err := p.chainStream(q, sel, steps, c, cond, cur, cs)
		if err != nil {
			return err
		}
		next, nsc := &selected{}, &scope{}
		var c0 sqlparser.Expr
		if c == len(steps)-1 {
			c0 = cond
		}
		if err := p.planStreamStep(q, block, steps[c], c0, st, ssc, next, nsc); err != nil {
			return err
		}
		for i := c + 1; i < end; i++ {
			var ci sqlparser.Expr
			if i == len(steps)-1 {
				ci = cond
			}
			if err := p.planTableStep(q, block, steps[i], ci, next, nsc); err != nil {
				return err
			}
		}
		cur, cs = next, nsc
	}
	s.source, s.ops = cur.source, append(s.ops, cur.ops...)
	*sc = *cs
	return nil
}

// chainStream makes the stream the rows joined so far (s, over sc) go
// into, with the pump that fills it, and returns it with the scope over
// its rows. steps[from:] are the steps still to plan: their conditions
// and cond, with the rest of sel, say which columns it must carry.
func (p *planner) chainStream(q *dialect.Query, sel *sqlparser.Select, steps []*sqlparser.JoinTableExpr, from int, cond sqlparser.Expr, s *selected, sc *scope) (*Stream, *scope, error) {
	name, err := p.generatedName(q.Pos, "$J") // derived.go
	if err != nil {
		return nil, nil, err
	}
	uses := chainUsesOf(q, sel, steps, from, cond)
	schema := types.Schema{Fields: []types.Field{sc.schema.Fields[0]}}
	var exprs []expr.Expr
	var names, desc []string
	taken := map[string]bool{types.RowtimeName: true}
	carry := func(at int, qual, col string) int {
		n := qual + "." + col
		for k := 2; taken[n]; k++ {
			n = qual + "." + col + "$" + strconv.Itoa(k)
		}
		taken[n] = true
		f := sc.schema.Fields[at]
		exprs = append(exprs, expr.Col(at, f.Type, f.Name))
		names = append(names, n)
		desc = append(desc, quoteName(n))
		schema.Fields = append(schema.Fields, types.Field{Name: n, Type: f.Type})
		return len(schema.Fields) - 1
	}
	js := &joinScope{sides: make([]joinSide, len(sc.join.sides))}
	for k := range sc.join.sides {
		old := &sc.join.sides[k]
		side := *old
		side.cols = make([]int, len(old.cols))
		side.rowtime = -1
		qual := old.quals[0]
		if old.rowtime >= 0 && uses.has(old, types.RowtimeName) {
			side.rowtime = carry(old.rowtime, qual, types.RowtimeName)
		}
		for i, c := range old.cols {
			side.cols[i] = -1
			if c >= 0 && uses.has(old, old.schema.Fields[i].Name) {
				side.cols[i] = carry(c, qual, old.schema.Fields[i].Name)
			}
		}
		js.sides[k] = side
	}
	st := &Stream{Name: name, Schema: schema}
	input := sc.schema
	s.add("Project (the rows joined so far, into "+quoteName(name)+") "+strings.Join(desc, ", "), func() (operators.Operator, error) {
		return relational.NewProject(relational.ProjectSpec{Input: input, Exprs: exprs, Names: names})
	})
	pump := &Pump{Name: name, Source: s.source, Target: name, Schema: schema, ops: s.ops}
	for _, o := range s.ops {
		pump.Explain = append(pump.Explain, o.describe)
	}
	p.addGenerated(st, pump)
	return st, &scope{schema: schema, qualifiers: sc.qualifiers, join: js}, nil
}

// addGenerated adds a generated stream and its pump to the application,
// in place of an earlier version of them (a pump replaced), both made for
// the pump being planned.
func (p *planner) addGenerated(st *Stream, pump *Pump) {
	st.Lowered = p.chains.pump
	if lw := p.chains.preview; lw != nil {
		lw.Streams, lw.Pumps = append(lw.Streams, st), append(lw.Pumps, pump)
		p.streams[st.Name] = st
		p.chains.made = append(p.chains.made, st.Name)
		return
	}
	if _, ok := p.streams[st.Name]; ok {
		for i, o := range p.app.Streams {
			if o.Name == st.Name {
				p.app.Streams[i] = st
			}
		}
	} else {
		p.app.Streams = append(p.app.Streams, st)
	}
	p.streams[st.Name] = st
	p.putPump(pump)
	p.chains.made = append(p.chains.made, st.Name)
}

// generated reports whether name was generated for the pump being
// planned, by an earlier version of it.
func (c *chainState) generated(name string) bool {
	for _, n := range c.lowered[c.pump] {
		if n == name {
			return true
		}
	}
	return false
}

// planStreamStep plans a stream step of a chain after the first: the
// rows of st (the generated stream of the steps before, over ssc)
// joined with the stream of step. It adds the join.StreamJoin to s and
// sets sc to the joined rows' scope. cond is the step's condition when
// it has no ON.
func (p *planner) planStreamStep(q *dialect.Query, block *dialect.Block, step *sqlparser.JoinTableExpr, cond sqlparser.Expr, st *Stream, ssc *scope, s *selected, sc *scope) error {
	pos := func(n sqlparser.SQLNode) dialect.Pos {
		if ps, ok := q.Locate(n); ok {
			return ps
		}
		return q.Pos
	}
	right, err := p.joinInput(q, block, step.RightExpr)
	if err != nil {
		return err
	}
	key := right.alias
	if key == "" {
		key = right.name
	}
	if tvf := q.WindowTVFs[key]; tvf != nil && tvf.Table == right.name {
		return p.errAt(pos(right.node), "a window table function joins as one of the first two inputs of a chain only: join %s with a window (OVER) here",
			quoteName(right.name))
	}
	kind, err := p.joinKind(step, pos(right.node))
	if err != nil {
		return err
	}
	if step.Condition.On != nil {
		cond = step.Condition.On
	}
	w := right.window
	if w == nil {
		if _, isSub := right.node.Expr.(*sqlparser.Subquery); isSub {
			return p.errAt(pos(right.node), "a subquery joins as one of the first two inputs only, since it takes no window: write it as a stream filled by a pump of its own and join that stream with OVER (RANGE ...) here")
		}
	}
	if w == nil {
		return p.errAt(pos(right.node), "stream %s joins the rows of the steps before it, so it needs a window relative to their ROWTIME, e.g. JOIN %s OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS %s (docs/sql.md, Joins)",
			quoteName(right.name), quoteName(right.name), firstQualOf(right))
	}
	if w.IsRows && w.Following {
		return p.errAt(w.Pos, "a ROWS window looks back only: use ROWS n PRECEDING, or RANGE INTERVAL ... FOLLOWING")
	}

	// The scope over the joined rows: st's columns (where ssc maps the
	// inputs joined so far), the stream's, and the two hidden ROWTIMEs.
	schema := join.OutputSchema(st.Schema, right.stream.Schema)
	nl := len(st.Schema.Fields)
	side := joinSide{label: right.label(), schema: right.stream.Schema, cols: make([]int, len(right.stream.Schema.Fields)), rowtime: len(schema.Fields) - 1}
	side.quals = []string{right.name}
	if right.alias != "" {
		side.quals = []string{right.alias}
	}
	for i := range side.cols {
		side.cols[i] = nl - 1 + i
	}
	side.cols[0] = -1
	for k := range ssc.join.sides {
		if ssc.join.sides[k].qualifies(side.quals[0]) {
			return p.errAt(pos(right.node), "%s names two inputs of the join: give them aliases (JOIN %s OVER (...) AS b ...)", quoteName(side.quals[0]), quoteName(right.name))
		}
	}
	js := &joinScope{sides: append(append([]joinSide{}, ssc.join.sides...), side)}
	next := &scope{schema: schema, qualifiers: append(append([]string{}, ssc.qualifiers...), side.quals...), join: js}
	in := &binder{p: p, q: q, sc: next}
	left := &binder{p: p, q: q, sc: ssc}

	// The condition: hash keys between the rows so far and the stream,
	// and the rest. ROWTIME conditions only filter: the window bounds
	// the step.
	keys, err := p.stepKeys(q, left, in, js, cond) // multijoin.go
	if err != nil {
		return err
	}
	spec := join.StreamSpec{Left: st.Schema, Right: right.stream.Schema, Kind: kind, LeftKeys: keys.left, RightKeys: keys.right, Residual: keys.residual,
		LeftRows: -1, RightRows: -1}
	switch {
	case w.IsRows:
		spec.RightRows = w.Rows
	case w.Range > 0 && w.Following:
		spec.Lo = -(w.Range - time.Millisecond)
	case w.Range > 0:
		spec.Hi = w.Range - time.Millisecond
	}
	var labels []string
	for k := range ssc.join.sides {
		labels = append(labels, ssc.join.sides[k].label)
	}
	desc := fmt.Sprintf("Stream join %s %s (%s) with %s, %s OVER %s, on %s", kind, quoteName(st.Name), strings.Join(labels, " JOIN "),
		right.label(), right.label(), windowText(w), condText(keys.text, keys.residual))
	s.source = st.Name
	s.ops = append(s.ops, opFactory{describe: desc, build: func() (operators.Operator, error) { return join.NewStream(spec) },
		join: &JoinPump{Sources: [2]string{st.Name, right.name}}})
	*sc = *next
	return nil
}

func firstQualOf(in *joinInput) string {
	if in.alias != "" {
		return quoteName(in.alias)
	}
	return quoteName(in.name)
}

// chainUses is what the rest of a query names, to choose the columns a
// generated stream carries: every column a name or a * could mean.
type chainUses struct {
	all   bool                       // a bare *
	stars map[string]bool            // q.*
	quals map[string]map[string]bool // q.c
	bare  map[string]bool            // c
}

// chainUsesOf collects the names of sel outside its FROM clause, of the
// conditions of steps[from:] (the steps still to plan) and cond, and of
// the query's windows and STAGGER. The WHERE of a FROM list (a chain
// whose last step is ",") is no filter: it is in cond or the steps'
// conditions (commaChain).
func chainUsesOf(q *dialect.Query, sel *sqlparser.Select, steps []*sqlparser.JoinTableExpr, from int, cond sqlparser.Expr) *chainUses {
	u := &chainUses{stars: map[string]bool{}, quals: map[string]map[string]bool{}, bare: map[string]bool{}}
	var visit sqlparser.Visit
	visit = func(n sqlparser.SQLNode) (bool, error) {
		switch c := n.(type) {
		case *sqlparser.FuncExpr: // COUNT(*) names no column
			for _, a := range c.Exprs {
				if _, star := a.(*sqlparser.StarExpr); !star {
					_ = sqlparser.Walk(visit, a)
				}
			}
			return false, nil
		case *sqlparser.StarExpr:
			if c.TableName.Name.IsEmpty() {
				u.all = true
			} else {
				u.stars[c.TableName.Name.String()] = true
			}
		case *sqlparser.ColName:
			name := c.Name.String()
			if ql := c.Qualifier.Name.String(); ql != "" {
				if u.quals[ql] == nil {
					u.quals[ql] = map[string]bool{}
				}
				u.quals[ql][name] = true
			} else {
				u.bare[name] = true
			}
		}
		return true, nil
	}
	nodes := []sqlparser.SQLNode{sel.SelectExprs, sel.GroupBy, sel.OrderBy}
	if sel.Where != nil && steps[len(steps)-1].Join != "," {
		nodes = append(nodes, sel.Where.Expr)
	}
	if cond != nil {
		nodes = append(nodes, cond)
	}
	if sel.Having != nil {
		nodes = append(nodes, sel.Having.Expr)
	}
	for _, st := range steps[from:] {
		if st.Condition.On != nil {
			nodes = append(nodes, st.Condition.On)
		}
	}
	for _, w := range q.Windows {
		for _, e := range w.PartitionBy {
			nodes = append(nodes, e)
		}
	}
	if b := q.Blocks[sel]; b != nil && b.Stagger != nil {
		for _, e := range b.Stagger.PartitionBy {
			nodes = append(nodes, e)
		}
	}
	_ = sqlparser.Walk(visit, nodes...)
	return u
}

// has reports whether the query may name column col of side s.
func (u *chainUses) has(s *joinSide, col string) bool {
	if col != types.RowtimeName && (u.all || u.bare[col]) {
		return true
	}
	for _, q := range s.quals {
		if (col != types.RowtimeName && u.stars[q]) || u.quals[q][col] {
			return true
		}
	}
	return false
}

// commaChain makes the chain of "FROM a, b, c ... WHERE w": the inputs
// joined INNER in FROM order, each conjunct of w the condition of the
// step that joins the last input it names (a conjunct of a and b only
// the first step's), so that each step keeps as few rows as it can. A
// conjunct that names no input, or that cannot be placed (a name no
// input or several have, a subquery), goes to the last step, where it
// filters the joined rows or gets the binder's error at its position.
func (p *planner) commaChain(q *dialect.Query, sel *sqlparser.Select) (*sqlparser.JoinTableExpr, error) {
	block := q.Blocks[sel]
	if block == nil {
		block = &dialect.Block{}
	}
	js := &joinScope{}
	for _, item := range sel.From {
		at, ok := item.(*sqlparser.AliasedTableExpr)
		if !ok {
			pos := q.Pos
			if ps, ok := q.Locate(item); ok {
				pos = ps
			}
			return nil, p.errAt(pos, "a FROM list of more than two inputs names each input directly (FROM a, b, c WHERE ...); chain joins with JOIN ... ON instead (docs/sql.md, Joins)")
		}
		in, err := p.joinInput(q, block, at)
		if err != nil {
			return nil, err
		}
		side := joinSide{quals: []string{in.name}}
		if in.alias != "" {
			side.quals = []string{in.alias}
		}
		if in.stream != nil {
			side.schema = in.stream.Schema
		} else {
			side.schema = in.table.Schema()
		}
		side.cols = make([]int, len(side.schema.Fields))
		js.sides = append(js.sides, side)
	}
	on := make([][]sqlparser.Expr, len(sel.From)-1)
	if sel.Where != nil {
		for _, c := range conjuncts(sel.Where.Expr, nil) {
			step := len(on) - 1
			if set, ok := js.sidesOf(c); ok && set != 0 && len(js.sides) <= 64 {
				step = max(0, bits.Len64(set)-2)
			}
			on[step] = append(on[step], c)
		}
	}
	var chain sqlparser.TableExpr = sel.From[0]
	for i, item := range sel.From[1:] {
		j := &sqlparser.JoinTableExpr{LeftExpr: chain, Join: ",", RightExpr: item}
		for _, c := range on[i] {
			if j.Condition.On == nil {
				j.Condition.On = c
			} else {
				j.Condition.On = &sqlparser.AndExpr{Left: j.Condition.On, Right: c}
			}
		}
		chain = j
	}
	return chain.(*sqlparser.JoinTableExpr), nil
}

// note records that the dialect generated stream or pump name for pump
// owner (a HOP window join's P$HOPk), which comes later in the program.
func (c *chainState) note(owner, name string) {
	if owner != "" {
		c.pending[owner] = append(c.pending[owner], name)
	}
}

// replaceLowered records what was generated for the pump st just
// planned, and drops what was generated for an earlier version of it
// and is not any more: CREATE OR REPLACE PUMP P without the joins that
// made P$J1 or P$HOP1 leaves neither behind. A generated stream that
// another pump still reads is an error at st.
func (p *planner) replaceLowered(st *dialect.CreatePump) error {
	now := append(p.chains.pending[st.Name], p.chains.made...)
	delete(p.chains.pending, st.Name)
	keep := map[string]bool{}
	for _, n := range now {
		keep[n] = true
	}
	var drop []string
	var collect func(owner string)
	collect = func(owner string) {
		for _, n := range p.chains.lowered[owner] {
			if !keep[n] {
				drop = append(drop, n)
				collect(n)
				delete(p.chains.lowered, n)
			}
		}
	}
	collect(st.Name)
	p.chains.lowered[st.Name] = now
	if len(drop) == 0 {
		return nil
	}
	gone := map[string]bool{}
	for _, n := range drop {
		gone[n] = true
		delete(p.streams, n)
		delete(p.pumps, n)
	}
	var streams []*Stream
	for _, s := range p.app.Streams {
		if !gone[s.Name] {
			streams = append(streams, s)
		}
	}
	var pumps []*Pump
	for _, pu := range p.app.Pumps {
		if !gone[pu.Name] {
			pumps = append(pumps, pu)
		}
	}
	p.app.Streams, p.app.Pumps = streams, pumps
	for _, pu := range pumps {
		srcs := pu.Sources()
		for _, b := range pu.Branches {
			srcs = append(srcs, b.Source)
		}
		for _, src := range srcs {
			if gone[src] {
				return p.errAt(st.Pos, "pump %s reads stream %s, which kda made for the joins of the pump %s replaces: read %s's target instead",
					quoteName(pu.Name), quoteName(src), quoteName(st.Name), quoteName(st.Name))
			}
		}
	}
	return nil
}
