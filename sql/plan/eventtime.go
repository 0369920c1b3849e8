package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/window"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// EventTimeOptions configure the Flink-style group windows
// GROUP BY TUMBLE(ts, ...) / HOP(ts, ...) / SESSION(ts, ...), a kda
// extension for people coming from Flink SQL. KDA SQL has no watermarks,
// so these are application settings rather than SQL.
//
// The watermark is the greatest event time seen minus MaxOutOfOrderness. A
// window fires once, when the watermark reaches its end plus
// AllowedLateness, with ROWTIME = window end; a row none of whose windows
// can still take it goes to error_stream as LATE_ROW.
type EventTimeOptions struct {
	// MaxOutOfOrderness is how far event time may go backwards without
	// rows being late. Default 0: rows must arrive in event-time order.
	MaxOutOfOrderness time.Duration
	// AllowedLateness keeps windows open this much longer after the
	// watermark passes their end. Default 0. Since a window fires only
	// once, it delays results as MaxOutOfOrderness does.
	AllowedLateness time.Duration
	// IdleTimeout: when no row has arrived for this long in stream time
	// (ROWTIME and heartbeats), event time is taken to move on with stream
	// time, so the last windows of an idle or finished input fire. 0 means
	// the default, DefaultIdleTimeout; a negative value disables it (the
	// watermark then moves only with event times, as in Flink).
	IdleTimeout time.Duration
}

// DefaultIdleTimeout is EventTimeOptions.IdleTimeout's default.
const DefaultIdleTimeout = time.Minute

// groupWindowNames maps a group window function to the window kind and its
// argument count.
var groupWindowNames = map[string]struct {
	kind window.EventTimeKind
	args int
}{
	"TUMBLE":  {window.TumbleWindows, 2},
	"HOP":     {window.HopWindows, 3},
	"SESSION": {window.SessionWindows, 2},
}

// groupWindowCall finds the TUMBLE/HOP/SESSION call among sel's GROUP BY
// keys.
func groupWindowCall(sel *sqlparser.Select) *sqlparser.FuncExpr {
	for _, g := range sel.GroupBy {
		if f, ok := g.(*sqlparser.FuncExpr); ok && f.Qualifier.IsEmpty() {
			if _, ok := groupWindowNames[strings.ToUpper(f.Name.String())]; ok {
				return f
			}
		}
	}
	return nil
}

// planEventTime plans GROUP BY with a TUMBLE, HOP or SESSION key (call)
// as a window.EventTime operator, then HAVING and the SELECT list, where
// <KIND>_START(ts, ...) and <KIND>_END(ts, ...) with the same arguments as
// the GROUP BY call are the window bounds.
func (p *planner) planEventTime(q *dialect.Query, sel *sqlparser.Select, s *selected, in *binder, call *sqlparser.FuncExpr) (*selected, error) {
	fname := strings.ToUpper(call.Name.String())
	shape := groupWindowNames[fname]
	var args []sqlparser.Expr
	for _, se := range call.Exprs {
		a := unaliased(se)
		if a == nil {
			return nil, in.errAt(call, "%s(*) is not valid", fname)
		}
		args = append(args, a)
	}
	usage := map[string]string{
		"TUMBLE":  "TUMBLE(ts, INTERVAL '1' MINUTE)",
		"HOP":     "HOP(ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE) (the slide, then the size)",
		"SESSION": "SESSION(ts, INTERVAL '30' SECOND)",
	}[fname]
	if len(args) != shape.args {
		return nil, in.errAt(call, "%s takes %d arguments: %s", fname, shape.args, usage)
	}
	if g := sel.GroupBy; len(g) > 0 {
		for _, other := range g {
			if f, ok := other.(*sqlparser.FuncExpr); ok && f != call && groupWindowCall(&sqlparser.Select{GroupBy: sqlparser.GroupBy{f}}) != nil {
				return nil, in.errAt(f, "a GROUP BY can have only one of TUMBLE, HOP and SESSION")
			}
		}
	}
	ts, err := in.bind(args[0])
	if err != nil {
		return nil, err
	}
	if ts.Type().Kind != types.Timestamp {
		return nil, in.errAt(args[0], "%s windows an event time: its first argument must be a TIMESTAMP, not %s", fname, ts.Type())
	}
	durs := make([]time.Duration, 0, 2)
	for _, a := range args[1:] {
		iv, ok := a.(*sqlparser.IntervalExpr)
		if !ok {
			return nil, in.errAt(a, "%s needs interval literals: %s", fname, usage)
		}
		d, err := in.intervalOf(iv)
		if err != nil {
			return nil, err
		}
		if d <= 0 || d%time.Millisecond != 0 {
			return nil, in.errAt(a, "a %s interval must be a positive whole number of milliseconds", fname)
		}
		durs = append(durs, d)
	}
	opts := p.opts.EventTime
	idle := opts.IdleTimeout
	switch {
	case idle == 0:
		idle = DefaultIdleTimeout
	case idle < 0:
		idle = 0
	}
	if opts.MaxOutOfOrderness < 0 || opts.AllowedLateness < 0 {
		return nil, fmt.Errorf("event-time options: MaxOutOfOrderness and AllowedLateness cannot be negative")
	}
	spec := window.EventTimeSpec{Kind: shape.kind, Time: ts, MaxOutOfOrderness: opts.MaxOutOfOrderness, AllowedLateness: opts.AllowedLateness, IdleTimeout: idle}
	switch shape.kind {
	case window.TumbleWindows:
		spec.Size = durs[0]
	case window.HopWindows:
		spec.Slide, spec.Size = durs[0], durs[1]
		if spec.Size/spec.Slide > 1000 {
			return nil, in.errAt(call, "HOP(ts, slide, size) with size %s and slide %s puts each row in more than 1000 windows", spec.Size, spec.Slide)
		}
	case window.SessionWindows:
		spec.Gap = durs[0]
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
	var keys []expr.Expr
	for _, g := range sel.GroupBy {
		if g == sqlparser.Expr(call) {
			continue
		}
		if containsAggregate(g) {
			return nil, in.errAt(g, "aggregates cannot be grouping keys")
		}
		if f, ok := g.(*sqlparser.FuncExpr); ok {
			if _, _, ok := monotonicCall(f); ok {
				return nil, in.errAt(g, "%s already windows this GROUP BY: drop the ROWTIME key, or use it without %s", fname, fname)
			}
		}
		x, err := in.bind(g)
		if err != nil {
			return nil, err
		}
		keys = append(keys, x)
	}
	input := in.sc.schema
	aggs := make([]window.Aggregate, len(calls))
	for i, c := range calls {
		aggs[i] = c.agg
	}
	ts0 := types.Type{Kind: types.Timestamp, NotNull: true}
	out := types.Schema{Fields: []types.Field{input.Fields[0], {Name: "WINDOW_START", Type: ts0}, {Name: "WINDOW_END", Type: ts0}}}
	names := []string{"WINDOW_START", "WINDOW_END"}
	var keyCols []int
	for i, k := range keys {
		n := fmt.Sprintf("KEY_%d", i+1)
		names = append(names, n)
		keyCols = append(keyCols, len(out.Fields))
		out.Fields = append(out.Fields, types.Field{Name: n, Type: k.Type().Nullable()})
	}
	aggBase := len(out.Fields)
	for i, c := range calls {
		n := fmt.Sprintf("AGG_%d", i+1)
		names = append(names, n)
		out.Fields = append(out.Fields, types.Field{Name: n, Type: c.typ})
	}
	spec.Input, spec.Keys, spec.Aggs, spec.Names = input, keys, aggs, names
	desc := fmt.Sprintf("%s window on %s", fname, ts)
	switch shape.kind {
	case window.TumbleWindows:
		desc += fmt.Sprintf(" size %s", spec.Size)
	case window.HopWindows:
		desc += fmt.Sprintf(" slide %s size %s", spec.Slide, spec.Size)
	case window.SessionWindows:
		desc += fmt.Sprintf(" gap %s", spec.Gap)
	}
	desc += fmt.Sprintf(" (out-of-orderness %s, lateness %s) keys %s aggregates %s", spec.MaxOutOfOrderness, spec.AllowedLateness, exprList(keys), aggList(aggs))
	s.add(desc, func() (operators.Operator, error) { return window.NewEventTime(spec) })

	post := p.postBinder(in, out, calls, aggBase, keys, keyCols, false)
	inner := post.hook
	argText := make([]string, len(args))
	for i, a := range args {
		argText[i] = sqlparser.String(a)
	}
	post.hook = func(b *binder, e sqlparser.Expr) (expr.Expr, bool, error) {
		if f, ok := e.(*sqlparser.FuncExpr); ok && f.Qualifier.IsEmpty() {
			n := strings.ToUpper(f.Name.String())
			if base, bound, ok := strings.Cut(n, "_"); ok && (bound == "START" || bound == "END") {
				if _, known := groupWindowNames[base]; known {
					if base != fname {
						return nil, false, b.errAt(f, "%s needs GROUP BY %s(...); this query groups by %s", n, base, fname)
					}
					same := len(f.Exprs) == len(args)
					for i := 0; same && i < len(args); i++ {
						same = sqlparser.String(unaliased(f.Exprs[i])) == argText[i]
					}
					if !same {
						return nil, false, b.errAt(f, "%s must have the same arguments as the GROUP BY's %s(...)", n, fname)
					}
					c := 1
					if bound == "END" {
						c = 2
					}
					return expr.Col(c, ts0, out.Fields[c].Name), true, nil
				}
			}
		}
		if inner != nil {
			return inner(b, e)
		}
		return nil, false, nil
	}
	return p.havingAndProject(q, sel, s, post, out, "GROUP BY")
}

// monotonicCall recognises STEP/FLOOR of ROWTIME, which cannot be combined
// with an event-time group window.
func monotonicCall(f *sqlparser.FuncExpr) (string, bool, bool) {
	n := strings.ToUpper(f.Name.String())
	if n != "STEP" && n != "KDA_FLOOR_TO" {
		return "", false, false
	}
	if len(f.Exprs) > 0 {
		if c, ok := unaliased(f.Exprs[0]).(*sqlparser.ColName); ok && c.Name.String() == types.RowtimeName {
			return n, true, true
		}
	}
	return "", false, false
}
