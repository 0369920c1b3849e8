// Package relational holds the row-at-a-time relational operators of a pump:
// Filter (WHERE, HAVING over an aggregate's output) and Project (the SELECT
// list). Both evaluate operators/expr expressions over whole batches; a row
// whose evaluation fails goes to the application's error_stream with its
// data and is dropped, the rest of the batch flows on.
//
// operators.Operator has no output channel of its own: every operator here
// and in operators/window embeds Out, and the planner connects it to the next
// operator with SetEmit before the first batch.
//
// The helpers ReportFailed, Take and Gather are exported for the other
// operator packages (operators/window, operators/join, operators/pipeline)
// that evaluate expressions or assemble batches the same way.
package relational

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// FilterSpec describes a WHERE clause: rows of Input for which Pred is TRUE
// pass (FALSE and NULL are dropped).
type FilterSpec struct {
	Input types.Schema
	Pred  expr.Expr // BOOLEAN
}

// FilterOp is the operator NewFilter builds. Its output schema is its input's.
type FilterOp struct {
	Out
	spec    FilterSpec
	errs    expr.RowErrors
	keep    []int
	project *ProjectOp // see FeedProject
}

// FeedProject makes p, the operator after the filter, receive the kept
// rows directly, gathered only for the columns p reads, instead of through
// the filter's output (which is then unused). The planner calls it when a
// projection follows the filter.
func (f *FilterOp) FeedProject(p *ProjectOp) { f.project = p }

// NewFilter validates spec and builds the operator.
func NewFilter(spec FilterSpec) (*FilterOp, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	if spec.Pred == nil {
		return nil, fmt.Errorf("filter: no predicate")
	}
	if k := spec.Pred.Type().Kind; k != types.Boolean && k != types.Null {
		return nil, fmt.Errorf("filter: predicate %s is %s, not BOOLEAN", spec.Pred, spec.Pred.Type())
	}
	return &FilterOp{spec: spec}, nil
}

// Schema implements operators.Operator.
func (f *FilterOp) Schema() types.Schema { return f.spec.Input }

// Advance implements operators.Operator: a filter holds no rows.
func (f *FilterOp) Advance(*operators.Context, time.Time) error { return nil }

// Process implements operators.Operator.
func (f *FilterOp) Process(ctx *operators.Context, rec arrow.Record) error {
	if rec.NumRows() == 0 {
		return nil
	}
	f.errs.Reset()
	ec := ctx.Eval(&f.errs)
	arr, err := f.spec.Pred.Eval(ec, rec)
	if err != nil {
		return fmt.Errorf("filter: evaluate %s: %w", f.spec.Pred, err)
	}
	defer arr.Release()
	ReportFailed(ctx, rec, &f.errs)
	f.keep = f.keep[:0]
	switch b := arr.(type) {
	case *array.Boolean:
		for i := 0; i < b.Len(); i++ {
			if b.IsValid(i) && b.Value(i) && !f.errs.Failed(i) {
				f.keep = append(f.keep, i)
			}
		}
	case *array.Null:
	default:
		return fmt.Errorf("filter: predicate %s returned %s, not boolean", f.spec.Pred, arr.DataType())
	}
	if len(f.keep) == 0 {
		return nil
	}
	if len(f.keep) == int(rec.NumRows()) {
		return f.Send(rec)
	}
	if f.project != nil {
		rows := make([]int32, len(f.keep))
		for k, r := range f.keep {
			rows[k] = int32(r)
		}
		taken := newTakenRecord(ctx.Alloc(), rec, rows)
		defer taken.Release()
		return f.project.Process(ctx, taken)
	}
	out, err := Take(ctx.Alloc(), rec, f.keep)
	if err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	defer out.Release()
	return f.Send(out)
}

// ProjectSpec describes a SELECT list over Input. Column 0 of the output is
// always the input's ROWTIME, carried over unchanged; Exprs are the other
// output columns, named Names (ROWTIME must not be among them: to override a
// row's time, a planner inserts a re-timing operator instead).
type ProjectSpec struct {
	Input types.Schema
	Exprs []expr.Expr
	Names []string
}

// ProjectOp is the operator NewProject builds.
type ProjectOp struct {
	Out
	spec   ProjectSpec
	schema types.Schema
	arrow  *arrow.Schema
	errs   expr.RowErrors
	keep   []int
}

// NewProject validates spec and builds the operator.
func NewProject(spec ProjectSpec) (*ProjectOp, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	if len(spec.Exprs) != len(spec.Names) {
		return nil, fmt.Errorf("project: %d expressions but %d names", len(spec.Exprs), len(spec.Names))
	}
	p := &ProjectOp{spec: spec}
	p.schema.Fields = append(p.schema.Fields, spec.Input.Fields[0])
	seen := map[string]bool{types.RowtimeName: true}
	for i, e := range spec.Exprs {
		if e == nil {
			return nil, fmt.Errorf("project: expression %d is nil", i+1)
		}
		n := spec.Names[i]
		if n == "" {
			return nil, fmt.Errorf("project: expression %d (%s) has no name", i+1, e)
		}
		if seen[n] {
			return nil, fmt.Errorf("project: column %s appears twice", n)
		}
		seen[n] = true
		p.schema.Fields = append(p.schema.Fields, types.Field{Name: n, Type: e.Type()})
	}
	p.arrow = p.schema.Arrow()
	return p, nil
}

// Schema implements operators.Operator.
func (p *ProjectOp) Schema() types.Schema { return p.schema }

// Advance implements operators.Operator: a projection holds no rows.
func (p *ProjectOp) Advance(*operators.Context, time.Time) error { return nil }

// Process implements operators.Operator.
func (p *ProjectOp) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	p.errs.Reset()
	ec := ctx.Eval(&p.errs)
	cols := make([]arrow.Array, 0, len(p.schema.Fields))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	rt := rec.Column(0)
	rt.Retain()
	cols = append(cols, rt)
	for _, e := range p.spec.Exprs {
		arr, err := e.Eval(ec, rec)
		if err != nil {
			return fmt.Errorf("project: evaluate %s: %w", e, err)
		}
		cols = append(cols, arr)
	}
	out := array.NewRecord(p.arrow, cols, int64(n))
	defer out.Release()
	if p.errs.Len() == 0 {
		return p.Send(out)
	}
	ReportFailed(ctx, rec, &p.errs)
	p.keep = p.keep[:0]
	for i := 0; i < n; i++ {
		if !p.errs.Failed(i) {
			p.keep = append(p.keep, i)
		}
	}
	if len(p.keep) == 0 {
		return nil
	}
	kept, err := Take(ctx.Alloc(), out, p.keep)
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	defer kept.Release()
	return p.Send(kept)
}

// Out is the output connection every operator of this package and of
// operators/window embeds.
type Out struct{ emit operators.Emit }

// SetEmit connects the operator's output.
func (o *Out) SetEmit(e operators.Emit) { o.emit = e }

// Send passes rec to the connected Emit; the caller keeps ownership.
func (o *Out) Send(rec arrow.Record) error {
	if o.emit == nil {
		return fmt.Errorf("operator output is not connected (SetEmit was not called)")
	}
	if rec.NumRows() == 0 {
		return nil
	}
	return o.emit(rec)
}

// ReportFailed sends every row of rec recorded in errs to ctx.Errors, with
// the row's columns as JSON.
func ReportFailed(ctx *operators.Context, rec arrow.Record, errs *expr.RowErrors) {
	if errs.Len() == 0 || ctx == nil || ctx.Errors == nil {
		return
	}
	rt, _ := rec.Column(0).(*array.Timestamp)
	errs.Each(func(i int, e expr.RowError) {
		var t time.Time
		if rt != nil && rt.IsValid(i) {
			t = time.UnixMilli(int64(rt.Value(i))).UTC()
		}
		ctx.Errors.RowError(operators.RowError{
			Time: t, Level: "ERROR", Name: e.Name, Message: e.Message,
			DataRowtime: t, DataRow: operators.RowJSON(rec, i), Pump: ctx.Pump,
		})
	})
}

// Take returns the rows of rec at positions rows, in that order, as a new
// record the caller releases. One run of consecutive rows is a zero-copy
// slice; otherwise each column's values are gathered into new buffers.
func Take(mem memory.Allocator, rec arrow.Record, rows []int) (arrow.Record, error) {
	n := len(rows)
	idx := make([]int32, n)
	consecutive := true
	for k, r := range rows {
		if r < 0 || int64(r) >= rec.NumRows() {
			return nil, fmt.Errorf("take row %d of a batch of %d rows", r, rec.NumRows())
		}
		idx[k] = int32(r)
		consecutive = consecutive && (k == 0 || r == rows[k-1]+1)
	}
	if n > 0 && consecutive {
		return rec.NewSlice(int64(rows[0]), int64(rows[n-1]+1)), nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		col := rec.Column(c)
		cols[c] = Gather(mem, col.DataType(), []arrow.Array{col}, nil, idx)
	}
	out := array.NewRecord(rec.Schema(), cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}
