package plan

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/join"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// Joins (KDA-SQL.md §3). A FROM clause "a [INNER|LEFT|RIGHT|FULL|CROSS]
// JOIN b [OVER window] [AS t] ON cond" (or "FROM a, b WHERE cond") plans
// into one join operator at the head of the pump's chain (a chain "a JOIN
// b ... JOIN c ..." into one more reference join per further table,
// multijoin.go):
//
//   - two streams: a join.StreamJoin, whose inputs are the two streams
//     (JoinPump says which); the pump reads both. At least one side needs
//     a window, or the condition a ROWTIME interval (Flink's interval
//     join: a.ROWTIME BETWEEN b.ROWTIME - INTERVAL '1' MINUTE AND
//     b.ROWTIME).
//   - a stream and a reference table (Options.Tables): a join.RefJoin
//     probing the table's current snapshot, INNER or LEFT only.
//
// The condition's conjuncts "x = y", x over one side and y over the
// other, become hash keys; the rest is evaluated on the candidates. The
// joined rows have ROWTIME, the left columns, the right columns and two
// hidden columns with each side's own ROWTIME; joinScope resolves names
// against them (a.K, b.K, unique unqualified names, a.ROWTIME).

// JoinPump says which streams feed a join pump's first operator, a
// *join.StreamJoin: Sources[0] its Input(0), Sources[1] its Input(1).
type JoinPump struct {
	Sources [2]string
}

// Join returns how a pump's two inputs reach its join, or nil for a pump
// that reads one stream.
func (p *Pump) Join() *JoinPump {
	if len(p.ops) > 0 {
		return p.ops[0].join
	}
	return nil
}

// Sources lists the streams the pump reads.
func (p *Pump) Sources() []string {
	if j := p.Join(); j != nil {
		return j.Sources[:]
	}
	return []string{p.Source}
}

// joinScope resolves column names over a join's output: the sides
// joined so far, in FROM order (two for one join, one more for each
// further step of a chain, multijoin.go).
type joinScope struct {
	sides []joinSide
}

type joinSide struct {
	quals   []string
	label   string       // for messages
	schema  types.Schema // the side's own columns
	cols    []int        // joined position of each of schema's fields (-1: none)
	rowtime int          // joined position of the side's ROWTIME, -1 for a table
}

func (s *joinSide) qualifies(q string) bool {
	for _, x := range s.quals {
		if x == q {
			return true
		}
	}
	return false
}

// resolveJoined is resolve over a join's output.
func (b *binder) resolveJoined(c *sqlparser.ColName) (expr.Expr, error) {
	j := b.sc.join
	name := c.Name.String()
	if q := c.Qualifier.Name.String(); q != "" {
		var hit []int
		for i := range j.sides {
			if j.sides[i].qualifies(q) {
				hit = append(hit, i)
			}
		}
		switch {
		case len(hit) == 0:
			return nil, b.errAt(c, "unknown stream or alias %s in %s (the join reads %s)", quoteName(q), sqlparser.String(c), j.labels())
		case len(hit) > 1 && len(j.sides) == 2:
			return nil, b.errAt(c, "%s names both sides of the join: give them aliases (FROM s AS a JOIN s OVER (...) AS b)", quoteName(q))
		case len(hit) > 1:
			return nil, b.errAt(c, "%s names %d inputs of the join: give them aliases (FROM s AS a JOIN t AS b ...)", quoteName(q), len(hit))
		}
		s := &j.sides[hit[0]]
		if name == types.RowtimeName {
			if s.rowtime < 0 {
				return nil, b.errAt(c, "reference table %s has no ROWTIME", s.label)
			}
			return expr.Col(s.rowtime, s.schema.Fields[0].Type.Nullable(), q+"."+name), nil
		}
		i := s.schema.Index(name)
		if i < 0 || s.cols[i] < 0 {
			return nil, b.errAt(c, "unknown column %s in %s (it has %s)", quoteName(name), s.label, columnList(visible(s.schema)))
		}
		f := b.sc.schema.Fields[s.cols[i]]
		return expr.Col(s.cols[i], f.Type, f.Name), nil
	}
	if name == types.RowtimeName {
		f := b.sc.schema.Fields[0]
		return expr.Col(0, f.Type, f.Name), nil
	}
	found, first := -1, -1
	for k := range j.sides {
		s := &j.sides[k]
		if i := s.schema.Index(name); i >= 0 && s.cols[i] >= 0 {
			if found >= 0 {
				f := &j.sides[first]
				return nil, b.errAt(c, "column %s is ambiguous: both %s and %s have it; qualify it, e.g. %s.%s",
					quoteName(name), f.label, s.label, firstQual(f), quoteName(name))
			}
			found, first = s.cols[i], k
		}
	}
	if found < 0 {
		var cols []string
		for k := range j.sides {
			cols = append(cols, columnList(visible(j.sides[k].schema)))
		}
		return nil, b.errAt(c, "unknown column %s (the join has %s)", quoteName(name), andList(cols))
	}
	f := b.sc.schema.Fields[found]
	return expr.Col(found, f.Type, f.Name), nil
}

// labels names the sides for messages: "a and b", "a, b and c".
func (j *joinScope) labels() string {
	var l []string
	for k := range j.sides {
		l = append(l, j.sides[k].label)
	}
	return andList(l)
}

// andList joins items as "x and y" or "x, y and z".
func andList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func firstQual(s *joinSide) string {
	if len(s.quals) > 0 {
		return quoteName(s.quals[0])
	}
	return s.label
}

func visible(s types.Schema) types.Schema {
	if len(s.Fields) > 0 && s.Fields[0].Name == types.RowtimeName {
		return types.Schema{Fields: s.Fields[1:]}
	}
	return s
}

// star expands "*" or "q.*" over a join: the sides' columns, without
// ROWTIMEs.
func (j *joinScope) star(b *binder, it *sqlparser.StarExpr, input types.Schema) ([]int, error) {
	q := it.TableName.Name.String()
	var out []int
	for k := range j.sides {
		s := &j.sides[k]
		if q != "" && !s.qualifies(q) {
			continue
		}
		for i, c := range s.cols {
			if c > 0 && !(s.rowtime >= 0 && i == 0) {
				out = append(out, c)
			}
		}
	}
	if q != "" && len(out) == 0 {
		return nil, b.errAt(it, "unknown stream or alias %s in %s", quoteName(q), sqlparser.String(it))
	}
	return out, nil
}

// joinInput is one FROM item of a join.
type joinInput struct {
	node   *sqlparser.AliasedTableExpr
	name   string
	alias  string
	stream *Stream
	table  *reftable.Table
	window *dialect.WindowSpec
}

func (p *planner) joinInput(q *dialect.Query, block *dialect.Block, te sqlparser.TableExpr) (*joinInput, error) {
	pos := func(n sqlparser.SQLNode) dialect.Pos {
		if ps, ok := q.Locate(n); ok {
			return ps
		}
		return q.Pos
	}
	switch t := te.(type) {
	case *sqlparser.JoinTableExpr:
		return nil, p.errAt(pos(t), "joins chain from left to right: write FROM a JOIN b ON ... JOIN c ON ..., without parentheses")
	case *sqlparser.ParenTableExpr:
		return nil, p.errAt(pos(t), "parenthesized joins are not supported")
	case *sqlparser.AliasedTableExpr:
		tn, ok := t.Expr.(sqlparser.TableName)
		if sub, isSub := t.Expr.(*sqlparser.Subquery); isSub && valuesRows(q, sub.Select) != nil {
			tb, err := p.valuesTable(q, valuesRows(q, sub.Select), t.As.String(), pos(t)) // values.go
			if err != nil {
				return nil, err
			}
			return &joinInput{node: t, name: t.As.String(), alias: t.As.String(), table: tb}, nil
		}
		if sub, isSub := t.Expr.(*sqlparser.Subquery); isSub {
			st, err := p.derivedStream(q, t, sub) // derived.go
			if err != nil {
				return nil, err
			}
			return &joinInput{node: t, name: st.Name, alias: t.As.String(), stream: st}, nil
		}
		if !ok {
			return nil, p.errAt(pos(t), "a join reads streams or reference tables by name; derive other inputs in a pump of their own")
		}
		in := &joinInput{node: t, name: tn.Name.String(), alias: t.As.String()}
		key := in.alias
		if key == "" {
			key = in.name
		}
		if w, ok := block.JoinWindows[key]; ok {
			in.window = q.Windows[w]
		}
		if st, ok := p.streams[in.name]; ok {
			in.stream = st
		} else if tb, ok := p.opts.Tables[in.name]; ok {
			in.table = tb
		} else {
			names := p.streamNames()
			for n := range p.opts.Tables {
				names += ", " + quoteName(n) + " (table)"
			}
			return nil, p.errAt(pos(t), "unknown stream or table %s (streams: %s)", quoteName(in.name), names)
		}
		return in, nil
	}
	return nil, p.errAt(pos(te), "unsupported FROM item %s", sqlparser.String(te))
}

// joinKind reads from's join type; at locates errors.
func (p *planner) joinKind(from *sqlparser.JoinTableExpr, at dialect.Pos) (join.Kind, error) {
	kind := join.Inner
	switch from.Join {
	case sqlparser.JoinStr, ",":
	case sqlparser.LeftJoinStr:
		kind = join.LeftOuter
	case sqlparser.RightJoinStr:
		kind = join.RightOuter
	case sqlparser.StraightJoinStr: // the dialect writes FULL [OUTER] JOIN so
		kind = join.FullOuter
	default:
		return kind, p.errAt(at, "%s is not supported: use [INNER], LEFT, RIGHT, FULL or CROSS JOIN ... ON", strings.ToUpper(from.Join))
	}
	if len(from.Condition.Using) > 0 {
		return kind, p.errAt(at, "JOIN ... USING is not supported: write ON a.x = b.x")
	}
	return kind, nil
}

func (in *joinInput) label() string {
	if in.alias != "" {
		return quoteName(in.name) + " AS " + quoteName(in.alias)
	}
	return quoteName(in.name)
}

// planJoinPair plans the join of from's two inputs at the head of s (the
// first step of a chain, multijoin.go). cond is the join's condition
// (ON, or WHERE for "FROM a, b").
func (p *planner) planJoinPair(q *dialect.Query, sel *sqlparser.Select, from *sqlparser.JoinTableExpr, cond sqlparser.Expr, s *selected, sc *scope) error {
	pos := func(n sqlparser.SQLNode) dialect.Pos {
		if ps, ok := q.Locate(n); ok {
			return ps
		}
		return q.Pos
	}
	block := q.Blocks[sel]
	if block == nil {
		block = &dialect.Block{}
	}
	kind, err := p.joinKind(from, pos(from))
	if err != nil {
		return err
	}
	if from.Condition.On != nil {
		cond = from.Condition.On
	}
	left, err := p.joinInput(q, block, from.LeftExpr)
	if err != nil {
		return err
	}
	right, err := p.joinInput(q, block, from.RightExpr)
	if err != nil {
		return err
	}
	if left.table != nil {
		return p.errAt(pos(left.node), "reference table %s cannot drive a join: put the stream first, FROM stream [LEFT] JOIN %s ON ...", quoteName(left.name), quoteName(left.name))
	}
	for _, in := range []*joinInput{left, right} {
		if in.window != nil && in.window.IsRows && in.window.Following {
			return p.errAt(in.window.Pos, "a ROWS window looks back only: use ROWS n PRECEDING, or RANGE INTERVAL ... FOLLOWING")
		}
	}
	// The scope over the joined rows.
	js := &joinScope{sides: make([]joinSide, 2)}
	var schema types.Schema
	ls := left.stream.Schema
	if right.table != nil {
		if kind == join.RightOuter || kind == join.FullOuter {
			return p.errAt(pos(from), "a reference table cannot drive a join: use [INNER] or LEFT JOIN with the table on the right")
		}
		if right.window != nil {
			return p.errAt(right.window.Pos, "reference table %s has no window: remove OVER", quoteName(right.name))
		}
		if left.window != nil {
			return p.errAt(left.window.Pos, "a join with a reference table needs no window: remove OVER")
		}
		schema = join.RefOutputSchema(ls, right.table.Schema())
	} else {
		schema = join.OutputSchema(ls, right.stream.Schema)
	}
	nl := len(ls.Fields)
	for k, in := range []*joinInput{left, right} {
		side := &js.sides[k]
		side.label = in.label()
		if in.alias != "" {
			side.quals = []string{in.alias}
		} else {
			side.quals = []string{in.name}
		}
		if in.stream != nil {
			side.schema = in.stream.Schema
			side.cols = make([]int, len(side.schema.Fields))
			base := 0
			if k == 1 {
				base = nl - 1
			}
			for i := range side.cols {
				side.cols[i] = base + i
			}
			side.cols[0] = -1
			side.rowtime = len(schema.Fields) - 2 + k // the hidden column
			if right.table != nil {
				side.rowtime = 0 // a reference join keeps the stream row's ROWTIME
			}
		} else {
			side.schema = in.table.Schema()
			side.cols = make([]int, len(side.schema.Fields))
			for i := range side.cols {
				side.cols[i] = nl + i
			}
			side.rowtime = -1
		}
	}
	if left.stream != nil && right.stream != nil && left.alias == "" && right.alias == "" && left.name == right.name {
		return p.errAt(pos(from), "a stream joined with itself needs aliases: FROM %s AS a JOIN %s OVER (...) AS b", quoteName(left.name), quoteName(left.name))
	}
	sc.schema = schema
	sc.qualifiers = append(append([]string{}, js.sides[0].quals...), js.sides[1].quals...)
	sc.join = js
	s.source = left.name
	in := &binder{p: p, q: q, sc: sc}
	wj, err := p.windowJoinSides(q, left, right, js) // Flink's window join, windowjoin.go
	if err != nil {
		return err
	}

	// The condition: hash keys, ROWTIME bounds, and the rest.
	if cond != nil && right.stream != nil {
		if f := eventTimeWindowCall(cond); f != nil {
			return in.errAt(f, "%s in a join condition: kda joins streams by ROWTIME, and TUMBLE and HOP are GROUP BY windows, not columns; "+
				"to join rows of the same event-time window, make its STEP a key and bound the ROWTIMEs by the window plus the rows' delay, "+
				"e.g. STEP(a.evt BY INTERVAL '1' MINUTE) = STEP(b.evt BY INTERVAL '1' MINUTE) AND b.ROWTIME BETWEEN a.ROWTIME - INTERVAL '2' MINUTE AND a.ROWTIME + INTERVAL '2' MINUTE (docs/sql.md, Window joins)",
				strings.ToUpper(f.Name.String()))
		}
	}
	conj, err := joinConjuncts(in, cond)
	if err != nil {
		return err
	}
	var lkeys, rkeys []expr.Expr
	var keyText []string
	var rest []sqlparser.Expr
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	var bounded []sqlparser.Expr
	for _, c := range conj {
		if lk, rk, ok, err := p.equiKey(q, js, c); err != nil {
			return err
		} else if ok {
			lkeys, rkeys = append(lkeys, lk), append(rkeys, rk)
			keyText = append(keyText, lk.String()+" = "+rk.String())
			if d, ok := sameWindow(in, js, c); ok && right.stream != nil {
				// A tumbling-window join: rows of the same window are less
				// than its width apart.
				lo, hi = max(lo, -(d-1)), min(hi, d-1)
			}
			continue
		}
		if right.stream != nil {
			if l2, h2, ok := p.timeBound(in, js, c); ok {
				lo, hi = max(lo, l2), min(hi, h2)
				bounded = append(bounded, c)
				continue
			}
		}
		rest = append(rest, c)
	}
	if wj != nil {
		l, h, err := wj.bound(p, in, js, conj, cond, pos(from))
		if err != nil {
			return err
		}
		lo, hi = max(lo, l), min(hi, h)
	}
	hasWindow := left.window != nil || right.window != nil
	if kind == join.Inner && from.Join != "," && sel.Where != nil && right.stream != nil && !hasWindow {
		// An inner join's WHERE may bound the ROWTIMEs too; it still
		// filters the joined rows afterwards.
		for _, c := range conjuncts(sel.Where.Expr, nil) {
			if l2, h2, ok := p.timeBound(in, js, c); ok {
				lo, hi = max(lo, l2), min(hi, h2)
			}
		}
	}
	if right.stream != nil && hasWindow {
		rest = append(rest, bounded...) // the windows bound time; the interval filters
	}
	residual, err := bindConjunction(in, rest)
	if err != nil {
		return err
	}
	if right.table != nil {
		var tkeys []expr.Expr
		tkeys = rkeys
		spec := join.RefSpec{Input: ls, Table: right.table, Outer: kind == join.LeftOuter, StreamKeys: lkeys, TableKeys: tkeys, Residual: residual}
		desc := fmt.Sprintf("Reference join %s %s with table %s on %s", kind, left.label(), right.label(), condText(keyText, residual))
		s.add(desc, func() (operators.Operator, error) { return join.NewRef(spec) })
		return nil
	}
	spec := join.StreamSpec{Left: ls, Right: right.stream.Schema, Kind: kind, LeftKeys: lkeys, RightKeys: rkeys, Residual: residual,
		LeftRows: -1, RightRows: -1}
	var wdesc []string
	if hasWindow {
		var l, h time.Duration
		for k, in := range []*joinInput{left, right} {
			w := in.window
			if w == nil {
				continue
			}
			wdesc = append(wdesc, in.label()+" OVER "+windowText(w))
			if w.IsRows {
				if k == 0 {
					spec.LeftRows = w.Rows
				} else {
					spec.RightRows = w.Rows
				}
				continue
			}
			if w.Range <= 0 {
				continue
			}
			ext := w.Range - time.Millisecond
			// left PRECEDING and right FOLLOWING let the left row be the
			// earlier one; the others the right row.
			if (k == 0) != w.Following {
				l = min(l, -ext)
			} else {
				h = max(h, ext)
			}
		}
		spec.Lo, spec.Hi = l, h
	} else {
		if lo == math.MinInt64 || hi == math.MaxInt64 {
			return p.errAt(pos(from.RightExpr), "a join of two streams needs a window on at least one side, e.g. JOIN %s OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS %s, or a condition bounding the ROWTIMEs from both sides, e.g. a.ROWTIME BETWEEN b.ROWTIME - INTERVAL '1' MINUTE AND b.ROWTIME",
				quoteName(right.name), firstQual(&js.sides[1]))
		}
		if lo > hi {
			return p.errAt(pos(from.RightExpr), "the join's ROWTIME conditions leave no time range for matches")
		}
		if hi-lo > int64(24*time.Hour/time.Millisecond) {
			return p.errAt(pos(from.RightExpr), "the join's ROWTIME range is longer than a day: the join would hold too many rows")
		}
		spec.Lo, spec.Hi = time.Duration(lo)*time.Millisecond, time.Duration(hi)*time.Millisecond
		wdesc = append(wdesc, fmt.Sprintf("ROWTIME interval [%s, %s]", spec.Lo, spec.Hi))
	}
	desc := fmt.Sprintf("Stream join %s %s with %s, %s, on %s", kind, left.label(), right.label(), strings.Join(wdesc, ", "), condText(keyText, residual))
	s.ops = append(s.ops, opFactory{describe: desc, build: func() (operators.Operator, error) { return join.NewStream(spec) },
		join: &JoinPump{Sources: [2]string{left.name, right.name}}})
	return nil
}

func condText(keys []string, residual expr.Expr) string {
	var parts []string
	if len(keys) > 0 {
		parts = append(parts, "keys "+strings.Join(keys, ", "))
	}
	if residual != nil {
		parts = append(parts, "condition "+residual.String())
	}
	if len(parts) == 0 {
		return "TRUE"
	}
	return strings.Join(parts, " and ")
}

func windowText(w *dialect.WindowSpec) string {
	dir := "PRECEDING"
	if w.Following {
		dir = "FOLLOWING"
	}
	if w.IsRows {
		return fmt.Sprintf("ROWS %d %s", w.Rows, dir)
	}
	return fmt.Sprintf("RANGE %s %s", w.Range, dir)
}

// conjuncts splits e at its top-level ANDs.
func conjuncts(e sqlparser.Expr, out []sqlparser.Expr) []sqlparser.Expr {
	switch n := e.(type) {
	case *sqlparser.AndExpr:
		return conjuncts(n.Right, conjuncts(n.Left, out))
	case *sqlparser.ParenExpr:
		if _, ok := n.Expr.(*sqlparser.AndExpr); ok {
			return conjuncts(n.Expr, out)
		}
	}
	return append(out, e)
}

// sideOf reports which side of the join every column of e belongs to: 0,
// 1, -1 for none, -2 for both (or a name it cannot place).
func (j *joinScope) sideOf(e sqlparser.Expr) int {
	side := -1
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		c, ok := n.(*sqlparser.ColName)
		if !ok {
			if _, sub := n.(*sqlparser.Subquery); sub {
				side = -2
				return false, nil
			}
			return true, nil
		}
		k := j.sideOfColumn(c)
		switch {
		case k < 0 || (side >= 0 && side != k):
			side = -2
		case side == -1:
			side = k
		}
		return false, nil
	}, e)
	return side
}

func (j *joinScope) sideOfColumn(c *sqlparser.ColName) int {
	if !c.Qualifier.Qualifier.IsEmpty() {
		return -2
	}
	name := c.Name.String()
	if q := c.Qualifier.Name.String(); q != "" {
		hit := -2
		for k := range j.sides {
			if j.sides[k].qualifies(q) {
				if hit != -2 {
					return -2
				}
				hit = k
			}
		}
		return hit
	}
	if name == types.RowtimeName {
		return -2
	}
	hit := -2
	for k := range j.sides {
		if i := j.sides[k].schema.Index(name); i >= 0 && j.sides[k].cols[i] >= 0 {
			if hit != -2 {
				return -2
			}
			hit = k
		}
	}
	return hit
}

// equiKey recognises "x = y" with x over one side and y over the other,
// of types that hash alike, and binds each over its own side.
func (p *planner) equiKey(q *dialect.Query, js *joinScope, c sqlparser.Expr) (expr.Expr, expr.Expr, bool, error) {
	cmp, ok := c.(*sqlparser.ComparisonExpr)
	if !ok || cmp.Operator != sqlparser.EqualStr {
		return nil, nil, false, nil
	}
	a, b := js.sideOf(cmp.Left), js.sideOf(cmp.Right)
	if a < 0 || b < 0 || a == b {
		return nil, nil, false, nil
	}
	l, r := cmp.Left, cmp.Right
	if a == 1 {
		l, r = r, l
	}
	bind := func(k int, e sqlparser.Expr) (expr.Expr, error) {
		s := &js.sides[k]
		sb := &binder{p: p, q: q, sc: &scope{schema: s.schema, qualifiers: s.quals}}
		return sb.bind(e)
	}
	lk, err := bind(0, l)
	if err != nil {
		return nil, nil, false, err
	}
	rk, err := bind(1, r)
	if err != nil {
		return nil, nil, false, err
	}
	if !hashCompatible(lk.Type(), rk.Type()) {
		return nil, nil, false, nil
	}
	return lk, rk, true, nil
}

// hashCompatible reports whether equal values of types a and b have the
// same join key encoding.
func hashCompatible(a, b types.Type) bool {
	switch {
	case a.IsInteger() && b.IsInteger():
		return true
	case a.IsString() && b.IsString(), a.IsBinary() && b.IsBinary():
		return true
	case (a.Kind == types.Real || a.Kind == types.Double) && (b.Kind == types.Real || b.Kind == types.Double):
		return true
	case a.Kind == types.Decimal && b.Kind == types.Decimal:
		return a.Scale == b.Scale
	case a.Kind == types.Boolean && b.Kind == types.Boolean:
		return true
	case a.IsDatetime() && a.Kind == b.Kind:
		return true
	}
	return false
}

// timeBound recognises a conjunct that bounds left.ROWTIME − right.ROWTIME:
// a.ROWTIME {<, <=, >, >=} b.ROWTIME ± INTERVAL ..., or a.ROWTIME BETWEEN
// b.ROWTIME ± ... AND b.ROWTIME ± .... It returns the bounds in ms.
func (p *planner) timeBound(in *binder, js *joinScope, c sqlparser.Expr) (int64, int64, bool) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	apply := func(x sqlparser.Expr, op string, y sqlparser.Expr) bool {
		sx, ox, ok1 := p.rowtimeTerm(in, js, x)
		sy, oy, ok2 := p.rowtimeTerm(in, js, y)
		if !ok1 || !ok2 || sx == sy {
			return false
		}
		// x.t + ox op y.t + oy  →  l.t − r.t op' c
		var cst int64
		if sx == 0 {
			cst = oy - ox
		} else {
			cst = ox - oy
			op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
		}
		switch op {
		case "<":
			hi = min(hi, cst-1)
		case "<=":
			hi = min(hi, cst)
		case ">":
			lo = max(lo, cst+1)
		case ">=":
			lo = max(lo, cst)
		default:
			return false
		}
		return true
	}
	switch n := c.(type) {
	case *sqlparser.ComparisonExpr:
		switch n.Operator {
		case sqlparser.LessThanStr, sqlparser.LessEqualStr, sqlparser.GreaterThanStr, sqlparser.GreaterEqualStr:
			if apply(n.Left, n.Operator, n.Right) {
				return lo, hi, true
			}
		}
	case *sqlparser.RangeCond:
		if n.Operator == sqlparser.BetweenStr && apply(n.Left, ">=", n.From) && apply(n.Left, "<=", n.To) {
			return lo, hi, true
		}
	}
	return 0, 0, false
}

// rowtimeTerm reads "s.ROWTIME [± INTERVAL ...]...": the side and the
// offset in ms.
func (p *planner) rowtimeTerm(in *binder, js *joinScope, e sqlparser.Expr) (int, int64, bool) {
	switch n := e.(type) {
	case *sqlparser.ParenExpr:
		return p.rowtimeTerm(in, js, n.Expr)
	case *sqlparser.ColName:
		if n.Name.String() != types.RowtimeName || n.Qualifier.Name.IsEmpty() {
			return 0, 0, false
		}
		k := js.sideOfColumn(n)
		if k < 0 || js.sides[k].rowtime < 0 {
			return 0, 0, false
		}
		return k, 0, true
	case *sqlparser.BinaryExpr:
		if n.Operator != sqlparser.PlusStr && n.Operator != sqlparser.MinusStr {
			return 0, 0, false
		}
		iv, ok := n.Right.(*sqlparser.IntervalExpr)
		if !ok {
			return 0, 0, false
		}
		d, err := in.intervalOf(iv)
		if err != nil {
			return 0, 0, false
		}
		k, off, ok := p.rowtimeTerm(in, js, n.Left)
		if !ok {
			return 0, 0, false
		}
		if n.Operator == sqlparser.MinusStr {
			return k, off - d.Milliseconds(), true
		}
		return k, off + d.Milliseconds(), true
	}
	return 0, 0, false
}

// eventTimeWindowCall finds a TUMBLE/HOP/SESSION call, or one of their
// _START/_END functions, in a join condition (Flink's window join, which
// kda writes with STEP keys), or returns nil.
func eventTimeWindowCall(cond sqlparser.Expr) *sqlparser.FuncExpr {
	var found *sqlparser.FuncExpr
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		f, ok := n.(*sqlparser.FuncExpr)
		if !ok || found != nil || !f.Qualifier.IsEmpty() {
			return found == nil, nil
		}
		name := strings.ToUpper(f.Name.String())
		for _, suffix := range []string{"", "_START", "_END"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				if _, ok := groupWindowNames[base]; ok {
					found = f
					return false, nil
				}
			}
		}
		return true, nil
	}, cond)
	return found
}

// sameWindow recognises "STEP(a.ROWTIME BY w) = STEP(b.ROWTIME BY w)" or
// "FLOOR(a.ROWTIME TO unit) = FLOOR(b.ROWTIME TO unit)" over the two sides
// (a join on ROWTIME tumbling windows) and returns the width in ms.
func sameWindow(in *binder, js *joinScope, c sqlparser.Expr) (int64, bool) {
	cmp, ok := c.(*sqlparser.ComparisonExpr)
	if !ok || cmp.Operator != sqlparser.EqualStr {
		return 0, false
	}
	width := func(e sqlparser.Expr) (int, int64, bool) {
		f, ok := e.(*sqlparser.FuncExpr)
		if !ok || len(f.Exprs) != 2 {
			return 0, 0, false
		}
		col, ok := unaliased(f.Exprs[0]).(*sqlparser.ColName)
		if !ok || col.Name.String() != types.RowtimeName || col.Qualifier.Name.IsEmpty() {
			return 0, 0, false
		}
		side := js.sideOfColumn(col)
		if side < 0 || js.sides[side].rowtime < 0 {
			return 0, 0, false
		}
		d, ok, err := monotonicWidth(in, f, nil)
		if err != nil || !ok || d <= 0 {
			return 0, 0, false
		}
		return side, d.Milliseconds(), true
	}
	a, da, ok1 := width(cmp.Left)
	b, db, ok2 := width(cmp.Right)
	if !ok1 || !ok2 || a == b || da != db {
		return 0, false
	}
	return da, true
}

// joinConjuncts checks a join condition (nil: none) over the joined scope
// of in and splits it into its AND-ed parts.
func joinConjuncts(in *binder, cond sqlparser.Expr) ([]sqlparser.Expr, error) {
	if cond == nil {
		return nil, nil
	}
	if containsAggregate(cond) {
		return nil, in.errAt(cond, "aggregates are not allowed in a join condition")
	}
	x, err := in.bind(cond)
	if err != nil {
		return nil, err
	}
	if k := x.Type().Kind; k != types.Boolean && k != types.Null {
		return nil, in.errAt(cond, "the join condition must be BOOLEAN, not %s", x.Type())
	}
	return conjuncts(cond, nil), nil
}

// bindConjunction binds the AND of conds (nil when there are none).
func bindConjunction(in *binder, conds []sqlparser.Expr) (expr.Expr, error) {
	var all expr.Expr
	for _, c := range conds {
		x, err := in.bind(c)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = x
		} else if all, err = in.wrapCall(c, "AND", all, x); err != nil {
			return nil, err
		}
	}
	return all, nil
}
