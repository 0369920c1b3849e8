package window

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// col is a column reference, standing in for expr.Col.
type col struct {
	i int
	t types.Type
}

func (c col) Type() types.Type { return c.t }
func (c col) String() string   { return fmt.Sprintf("$%d", c.i) }
func (c col) Eval(_ *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	a := rec.Column(c.i)
	a.Retain()
	return a, nil
}

// floorTo is STEP(column BY width) over a TIMESTAMP column.
type floorTo struct {
	i     int
	width time.Duration
}

func (f floorTo) Type() types.Type { return types.TTimestamp }
func (f floorTo) String() string   { return fmt.Sprintf("STEP($%d BY %s)", f.i, f.width) }
func (f floorTo) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	in := rec.Column(f.i).(*array.Timestamp)
	b := array.NewTimestampBuilder(ec.Mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	defer b.Release()
	w := f.width.Milliseconds()
	out := make([]arrow.Timestamp, in.Len())
	valid := make([]bool, in.Len())
	for i, v := range in.TimestampValues() {
		out[i] = arrow.Timestamp(floorDiv(int64(v), w) * w)
		valid[i] = in.IsValid(i)
	}
	b.AppendValues(out, valid)
	return b.NewArray(), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// failOn evaluates like col but fails the rows whose value is bad.
type failOn struct {
	col
	bad int64
}

func (f failOn) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	a := rec.Column(f.i).(*array.Int64)
	for i := 0; i < a.Len(); i++ {
		if a.IsValid(i) && a.Value(i) == f.bad {
			ec.Errors.Add(i, "DIVISION_BY_ZERO", "value %d is bad", f.bad)
		}
	}
	a.Retain()
	return a, nil
}

// row is an input row of the test schema.
type row struct {
	t int64  // ROWTIME ms
	k *int64 // K BIGINT
	s *string
	v *int64
	f *float64
	b *bool
	e int64 // EVENT_TIME ms
}

var testSchema = types.Schema{Fields: []types.Field{
	{Name: "ROWTIME", Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "K", Type: types.TBigInt},
	{Name: "S", Type: types.VarcharOf(8)},
	{Name: "V", Type: types.TBigInt},
	{Name: "F", Type: types.TDouble},
	{Name: "B", Type: types.TBoolean},
	{Name: "EVENT_TIME", Type: types.TTimestamp},
}}

var (
	cK  = col{1, types.TBigInt}
	cS  = col{2, types.VarcharOf(8)}
	cV  = col{3, types.TBigInt}
	cF  = col{4, types.TDouble}
	cB  = col{5, types.TBoolean}
	cRT = col{0, types.TTimestamp}
)

func batch(rows []row) arrow.Record {
	mem := memory.DefaultAllocator
	b := array.NewRecordBuilder(mem, testSchema.Arrow())
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(r.t))
		if r.k != nil {
			b.Field(1).(*array.Int64Builder).Append(*r.k)
		} else {
			b.Field(1).AppendNull()
		}
		if r.s != nil {
			b.Field(2).(*array.StringBuilder).Append(*r.s)
		} else {
			b.Field(2).AppendNull()
		}
		if r.v != nil {
			b.Field(3).(*array.Int64Builder).Append(*r.v)
		} else {
			b.Field(3).AppendNull()
		}
		if r.f != nil {
			b.Field(4).(*array.Float64Builder).Append(*r.f)
		} else {
			b.Field(4).AppendNull()
		}
		if r.b != nil {
			b.Field(5).(*array.BooleanBuilder).Append(*r.b)
		} else {
			b.Field(5).AppendNull()
		}
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(r.e))
	}
	return b.NewRecord()
}

func ip(v int64) *int64     { return &v }
func sp(v string) *string   { return &v }
func fp(v float64) *float64 { return &v }
func bp(v bool) *bool       { return &v }

// sink collects output rows as Go values and error rows.
type sink struct {
	rows [][]any
	errs []operators.RowError
}

func (s *sink) RowError(e operators.RowError) { s.errs = append(s.errs, e) }

func (s *sink) emit(rec arrow.Record) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		var r []any
		for c := 0; c < int(rec.NumCols()); c++ {
			r = append(r, value(rec.Column(c), i))
		}
		s.rows = append(s.rows, r)
	}
	return nil
}

func value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	}
	return a.ValueStr(i)
}

func (s *sink) ctx() *operators.Context {
	return &operators.Context{Mem: memory.DefaultAllocator, Errors: s, Pump: "P"}
}

// sameRows compares row sets exactly, floats within a relative tolerance.
func sameRows(t *testing.T, what string, got, want [][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d\n got: %v\nwant: %v", what, len(got), len(want), head(got), head(want))
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s: row %d has %d columns, want %d", what, i, len(got[i]), len(want[i]))
		}
		for c := range got[i] {
			if !sameValue(got[i][c], want[i][c]) {
				t.Fatalf("%s: row %d column %d = %v (%T), want %v (%T)\n got row: %v\nwant row: %v",
					what, i, c, got[i][c], got[i][c], want[i][c], want[i][c], got[i], want[i])
			}
		}
	}
}

func head(r [][]any) [][]any {
	if len(r) > 8 {
		return r[:8]
	}
	return r
}

func sameValue(a, b any) bool {
	fa, oka := a.(float64)
	fb, okb := b.(float64)
	if oka && okb {
		if fa == fb {
			return true
		}
		d := math.Abs(fa - fb)
		return d <= 1e-9*math.Max(1, math.Max(math.Abs(fa), math.Abs(fb)))
	}
	return a == b
}

func exactRows(t *testing.T, what string, got, want [][]any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: outputs differ\n got: %v\nwant: %v", what, got, want)
	}
}
