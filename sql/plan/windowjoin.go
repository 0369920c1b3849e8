package plan

import (
	"strconv"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// Window joins, Flink's form (docs/sql.md, "Window joins on event time"):
//
//	FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS l
//	JOIN TABLE(TUMBLE(TABLE b, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS r
//	ON l.id = r.id AND l.window_start = r.window_start
//
// The dialect (sql/dialect/windowtvf.go) has already made each side the
// plain stream "a AS l" and l.window_start the expression
// STEP(l.evt, INTERVAL '1' MINUTE), so the join is kda's tumbling-window
// join on a STEP key. What is left is here: both sides must use the same
// window, the condition must pair the window starts (the key), and the
// join needs a ROWTIME bound, since a kda join keeps rows by ROWTIME.
//
// Two rows of one window of size w whose ROWTIMEs are at most d after
// their event times (and not before them) arrive less than w + d apart, so
// the bound is |l.ROWTIME − r.ROWTIME| ≤ w + d − 1 ms, with d the
// application's eventTime.allowedLateness; a row that arrives later than
// that can miss pairs. With DESCRIPTOR(ROWTIME) on both sides the bound is
// exact: w − 1 ms.
//
// A HOP window join of n slides reaches here as n pumps, each a
// tumbling-window join whose windows are shifted by a multiple of the
// slide (sql/dialect/hopjoin.go): same key shape plus the shift, same
// bound as a TUMBLE of the HOP's size.

// windowJoin is a join whose sides are window table functions.
type windowJoin struct {
	q     *dialect.Query
	sides [2]*dialect.WindowTVF
	// delay is how long after its event time a row may arrive and still
	// find all its pairs: 0 with DESCRIPTOR(ROWTIME) on both sides.
	delay time.Duration
}

// windowJoinSides returns the window join of left and right, nil when
// neither side is a window table function, or an error when only one is,
// when they differ, or when a DESCRIPTOR column is not a TIMESTAMP.
func (p *planner) windowJoinSides(q *dialect.Query, left, right *joinInput, js *joinScope) (*windowJoin, error) {
	pos := func(n sqlparser.SQLNode) dialect.Pos {
		if ps, ok := q.Locate(n); ok {
			return ps
		}
		return q.Pos
	}
	var wj windowJoin
	n := 0
	for k, in := range []*joinInput{left, right} {
		key := in.alias
		if key == "" {
			key = in.name
		}
		if tvf := q.WindowTVFs[key]; tvf != nil && tvf.Table == in.name {
			wj.sides[k] = tvf
			n++
		}
	}
	if n == 0 || (n == 1 && wj.sides[0] != nil && right.table != nil) {
		// A window table function's stream may look its rows up in a
		// reference table: a plain reference join, window columns and all.
		return nil, nil
	}
	for k, in := range []*joinInput{left, right} {
		tvf := wj.sides[k]
		if tvf == nil {
			return nil, p.errAt(pos(in.node), "a window join needs a window table function on both sides: write TABLE(%s(TABLE %s, DESCRIPTOR(...), %s)) AS %s",
				wj.sides[1-k].Kind, quoteName(in.name), durationSQL(wj.sides[1-k].Size), firstQual(&js.sides[k]))
		}
		if in.stream == nil {
			return nil, p.errAt(tvf.Pos, "%s is a reference table: window table functions apply to streams", quoteName(in.name))
		}
		schema := in.stream.Schema
		i := schema.Index(tvf.Column)
		if i < 0 {
			return nil, p.errAt(tvf.ColumnPos, "unknown column %s in the DESCRIPTOR of %s (it has %s)", quoteName(tvf.Column), quoteName(in.name), columnList(visible(schema)))
		}
		if t := schema.Fields[i].Type; t.Kind != types.Timestamp {
			return nil, p.errAt(tvf.ColumnPos, "the DESCRIPTOR column of a window must be a TIMESTAMP: %s is %s", quoteName(tvf.Column), t)
		}
		if tvf.Column != types.RowtimeName {
			wj.delay = p.opts.EventTime.AllowedLateness
		}
	}
	l, r := wj.sides[0], wj.sides[1]
	if l.Size != r.Size || l.Slide != r.Slide {
		return nil, p.errAt(r.Pos, "the two sides of a window join must use the same window: %s is %s but %s is %s",
			quoteName(l.Alias), l.Text, quoteName(r.Alias), r.Text)
	}
	wj.q = q
	return &wj, nil
}

// bound checks that conj (the condition's conjuncts) pairs the sides'
// window starts and returns the ROWTIME bound of the pairs, in ms, as
// join.go's lo and hi: lo ≤ left.ROWTIME − right.ROWTIME ≤ hi.
func (wj *windowJoin) bound(p *planner, in *binder, js *joinScope, conj []sqlparser.Expr, cond sqlparser.Expr, at dialect.Pos) (int64, int64, error) {
	found := false
	for _, c := range conj {
		cmp, ok := c.(*sqlparser.ComparisonExpr)
		if !ok || cmp.Operator != sqlparser.EqualStr {
			continue
		}
		a, b := wj.windowStart(in, js, cmp.Left), wj.windowStart(in, js, cmp.Right)
		if a >= 0 && b >= 0 && a != b {
			found = true
			break
		}
	}
	if !found {
		if ps, ok := wj.q.Locate(cond); ok && cond != nil {
			at = ps
		}
		l, r := firstQual(&js.sides[0]), firstQual(&js.sides[1])
		return 0, 0, p.errAt(at, "a window join pairs the rows of the same window: its condition needs %s.window_start = %s.window_start", l, r)
	}
	d := (wj.sides[0].Size + wj.delay - time.Millisecond).Milliseconds()
	return -d, d, nil
}

// windowStart reports which side's window start e is — the expression
// the dialect wrote for x.window_start, STEP(x.c, size), or in a shifted
// copy of a HOP window join (STEP(x.c - shift, size) + shift) — or -1.
func (wj *windowJoin) windowStart(in *binder, js *joinScope, e sqlparser.Expr) int {
	var shift time.Duration
	if p, ok := e.(*sqlparser.ParenExpr); ok {
		b, ok := p.Expr.(*sqlparser.BinaryExpr)
		if !ok || b.Operator != sqlparser.PlusStr {
			return -1
		}
		if shift = wj.interval(in, b.Right); shift <= 0 {
			return -1
		}
		e = b.Left
	}
	f, ok := e.(*sqlparser.FuncExpr)
	if !ok || !strings.EqualFold(f.Name.String(), "STEP") || len(f.Exprs) != 2 {
		return -1
	}
	c := unaliased(f.Exprs[0])
	if shift > 0 {
		b, ok := c.(*sqlparser.BinaryExpr)
		if !ok || b.Operator != sqlparser.MinusStr || wj.interval(in, b.Right) != shift {
			return -1
		}
		c = b.Left
	}
	col, ok := c.(*sqlparser.ColName)
	if !ok || col.Qualifier.Name.IsEmpty() {
		return -1
	}
	d := wj.interval(in, unaliased(f.Exprs[1]))
	k := js.sideOfColumn(col)
	if k < 0 || k > 1 || col.Name.String() != wj.sides[k].Column || d != wj.sides[k].Size || shift != wj.sides[k].Shift {
		return -1
	}
	return k
}

// interval returns the length of e when it is an INTERVAL literal, or 0.
func (wj *windowJoin) interval(in *binder, e sqlparser.Expr) time.Duration {
	iv, ok := e.(*sqlparser.IntervalExpr)
	if !ok {
		return 0
	}
	d, err := in.intervalOf(iv)
	if err != nil {
		return 0
	}
	return d
}

// durationSQL writes d as an INTERVAL literal of its largest whole unit.
func durationSQL(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "DAY"}, {time.Hour, "HOUR"}, {time.Minute, "MINUTE"}, {time.Second, "SECOND"}} {
		if d%u.d == 0 {
			return "INTERVAL '" + strconv.FormatInt(int64(d/u.d), 10) + "' " + u.name
		}
	}
	return "INTERVAL '" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "' SECOND"
}
