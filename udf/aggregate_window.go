package udf

import (
	"context"
	"fmt"
	"math"

	"github.com/kdaproject/kda/operators/window"
	"github.com/kdaproject/kda/sql/types"
)

// WindowAggregate is a JavaScript aggregate as the window operators see
// it (window.UserAggregate): a name, a SQL signature and the compiled
// aggregate whose pool its operator instances pin runtimes of.
type WindowAggregate struct {
	name   string
	params []types.Type
	result types.Type
	agg    *Aggregate
}

// AggValueOf is how a SQL type crosses into JavaScript as a parameter or
// out of it as a result.
func AggValueOf(t types.Type, result bool) (AggValue, error) {
	switch {
	case t.IsInteger():
		if result {
			return AggInteger, nil
		}
		return AggNumber, nil
	case t.Kind == types.Real || t.Kind == types.Double:
		return AggNumber, nil
	case t.Kind == types.Decimal && !result:
		return AggNumber, nil
	case t.Kind == types.Boolean:
		return AggBoolean, nil
	case t.Kind == types.Char || t.Kind == types.Varchar:
		return AggString, nil
	case t.Kind == types.Timestamp && !result:
		return AggNumber, nil // epoch milliseconds
	}
	if result {
		return 0, fmt.Errorf("a JavaScript aggregate cannot return %s: use DOUBLE, REAL, an integer type, BOOLEAN or VARCHAR", t)
	}
	return 0, fmt.Errorf("a JavaScript aggregate cannot take %s: use DOUBLE, REAL, DECIMAL, an integer type, BOOLEAN, VARCHAR or TIMESTAMP", t)
}

// NewWindowAggregate compiles and loads a JavaScript aggregate (see
// CompileAggregate and NewAggregate) with the SQL signature params ->
// result. opts.Name defaults to name.
func NewWindowAggregate(name, src string, params []types.Type, result types.Type, opts Options) (*WindowAggregate, error) {
	spec := AggregateSpec{}
	for _, p := range params {
		v, err := AggValueOf(p, false)
		if err != nil {
			return nil, err
		}
		spec.Params = append(spec.Params, v)
	}
	v, err := AggValueOf(result, true)
	if err != nil {
		return nil, err
	}
	spec.Result = v
	if v == AggInteger {
		spec.ResultMin, spec.ResultMax = intBounds(result.Kind)
	}
	if opts.Name == "" {
		opts.Name = name
	}
	script, err := CompileAggregate(name, src)
	if err != nil {
		return nil, err
	}
	agg, err := NewAggregate(script, spec, opts)
	if err != nil {
		return nil, err
	}
	return &WindowAggregate{name: name, params: params, result: result.Nullable(), agg: agg}, nil
}

func intBounds(k types.Kind) (float64, float64) {
	switch k {
	case types.TinyInt:
		return math.MinInt8, math.MaxInt8
	case types.SmallInt:
		return math.MinInt16, math.MaxInt16
	case types.Integer:
		return math.MinInt32, math.MaxInt32
	}
	return -(1 << 53), 1 << 53 // BIGINT: the integers a number holds exactly
}

// Aggregate is the compiled aggregate.
func (w *WindowAggregate) Aggregate() *Aggregate { return w.agg }

// Name implements window.UserAggregate.
func (w *WindowAggregate) Name() string { return w.name }

// Params implements window.UserAggregate.
func (w *WindowAggregate) Params() []types.Type { return w.params }

// Result implements window.UserAggregate.
func (w *WindowAggregate) Result() types.Type { return w.result }

// CanRetract implements window.UserAggregate.
func (w *WindowAggregate) CanRetract() bool { return w.agg.CanRetract() }

// Open implements window.UserAggregate: a pinned runtime per operator
// instance.
func (w *WindowAggregate) Open() (window.UserStates, error) {
	return &windowStates{s: w.agg.Open()}, nil
}

type windowStates struct {
	s *AggregateStates
	b AggBatch
}

func (ws *windowStates) Run(wb *window.UserBatch) error {
	b := &ws.b
	b.Ops = b.Ops[:0]
	for _, op := range wb.Ops {
		b.Ops = append(b.Ops, AggOp(op))
	}
	b.Groups, b.Tags = wb.Groups, wb.Tags
	if len(b.Args) != len(wb.Args) {
		b.Args = make([]AggColumn, len(wb.Args))
	}
	for i, c := range wb.Args {
		b.Args[i] = AggColumn{Nums: c.Nums, Strs: c.Strs}
	}
	b.Nums, b.Strs, b.OK = wb.Nums, wb.Strs, wb.OK
	err := ws.s.Run(context.Background(), b)
	wb.Nums, wb.Strs, wb.OK = b.Nums, b.Strs, b.OK
	wb.Errors = wb.Errors[:0]
	for _, e := range b.Errors {
		wb.Errors = append(wb.Errors, window.UserError{Op: e.Op, Message: e.Message, Stack: e.Stack})
	}
	return err
}

func (ws *windowStates) Save() ([]window.UserState, error) {
	states, err := ws.s.Save(context.Background())
	if err != nil {
		return nil, err
	}
	out := make([]window.UserState, len(states))
	for i, s := range states {
		out[i] = window.UserState{Group: s.Group, Count: s.Count, Data: s.JSON}
	}
	return out, nil
}

func (ws *windowStates) Load(states []window.UserState) error {
	in := make([]AggState, len(states))
	for i, s := range states {
		in[i] = AggState{Group: s.Group, Count: s.Count, JSON: s.Data}
	}
	return ws.s.Load(context.Background(), in)
}

var _ window.UserAggregate = (*WindowAggregate)(nil)
