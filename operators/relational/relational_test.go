package relational

import (
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

var schema = types.Schema{Fields: []types.Field{
	{Name: "ROWTIME", Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "S", Type: types.VarcharOf(8)},
	{Name: "V", Type: types.TBigInt},
}}

// positive is V > 0, failing rows whose V is 13 (a stand-in for expr.Call).
type positive struct{}

func (positive) Type() types.Type { return types.TBoolean }
func (positive) String() string   { return "V > 0" }
func (positive) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	v := rec.Column(2).(*array.Int64)
	b := array.NewBooleanBuilder(ec.Mem)
	defer b.Release()
	for i := 0; i < v.Len(); i++ {
		switch {
		case v.IsNull(i):
			b.AppendNull()
		case v.Value(i) == 13:
			ec.Errors.Add(i, "DIVISION_BY_ZERO", "unlucky")
			b.AppendNull()
		default:
			b.Append(v.Value(i) > 0)
		}
	}
	return b.NewArray(), nil
}

// double is V * 2, failing on 13.
type double struct{}

func (double) Type() types.Type { return types.TBigInt }
func (double) String() string   { return "V * 2" }
func (double) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	v := rec.Column(2).(*array.Int64)
	b := array.NewInt64Builder(ec.Mem)
	defer b.Release()
	for i := 0; i < v.Len(); i++ {
		if v.IsNull(i) || v.Value(i) == 13 {
			if v.IsValid(i) {
				ec.Errors.Add(i, "OVERFLOW", "unlucky")
			}
			b.AppendNull()
			continue
		}
		b.Append(v.Value(i) * 2)
	}
	return b.NewArray(), nil
}

type colS struct{}

func (colS) Type() types.Type { return types.VarcharOf(8) }
func (colS) String() string   { return "S" }
func (colS) Eval(_ *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	a := rec.Column(1)
	a.Retain()
	return a, nil
}

type sink struct {
	rows []string
	errs []operators.RowError
}

func (s *sink) RowError(e operators.RowError) { s.errs = append(s.errs, e) }
func (s *sink) emit(rec arrow.Record) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		s.rows = append(s.rows, operators.RowJSON(rec, i))
	}
	return nil
}

func input() arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema.Arrow())
	defer b.Release()
	for i, v := range []any{int64(1), int64(-2), nil, int64(13), int64(5)} {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(1000 + i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("r%d", i))
		if v == nil {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Int64Builder).Append(v.(int64))
		}
	}
	return b.NewRecord()
}

func TestFilterKeepsTrueRowsAndReportsFailedOnes(t *testing.T) {
	s := &sink{}
	f, err := NewFilter(FilterSpec{Input: schema, Pred: positive{}})
	if err != nil {
		t.Fatal(err)
	}
	f.SetEmit(s.emit)
	rec := input()
	defer rec.Release()
	if err := f.Process(&operators.Context{Errors: s, Pump: "P1"}, rec); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"ROWTIME":"1970-01-01 00:00:01.000","S":"r0","V":1}`, `{"ROWTIME":"1970-01-01 00:00:01.004","S":"r4","V":5}`}
	if fmt.Sprint(s.rows) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", s.rows, want)
	}
	if len(s.errs) != 1 || s.errs[0].Name != "DIVISION_BY_ZERO" || s.errs[0].Pump != "P1" || s.errs[0].DataRow == "" {
		t.Fatalf("errors %+v", s.errs)
	}
}

func TestProjectKeepsRowtimeFirstAndDropsFailedRows(t *testing.T) {
	s := &sink{}
	p, err := NewProject(ProjectSpec{Input: schema, Exprs: []expr.Expr{double{}, colS{}}, Names: []string{"V2", "NAME"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Schema().Fields; len(got) != 3 || got[0].Name != "ROWTIME" || got[1].Name != "V2" {
		t.Fatalf("schema %v", got)
	}
	p.SetEmit(s.emit)
	rec := input()
	defer rec.Release()
	if err := p.Process(&operators.Context{Errors: s}, rec); err != nil {
		t.Fatal(err)
	}
	if len(s.rows) != 4 || len(s.errs) != 1 || s.errs[0].Name != "OVERFLOW" {
		t.Fatalf("rows %v errors %+v", s.rows, s.errs)
	}
}

func TestSpecsAreValidated(t *testing.T) {
	if _, err := NewFilter(FilterSpec{Input: schema, Pred: double{}}); err == nil {
		t.Error("a BIGINT predicate was accepted")
	}
	if _, err := NewProject(ProjectSpec{Input: schema, Exprs: []expr.Expr{double{}}, Names: []string{"ROWTIME"}}); err == nil {
		t.Error("a second ROWTIME column was accepted")
	}
	if _, err := NewProject(ProjectSpec{Input: types.Schema{}, Exprs: nil}); err == nil {
		t.Error("an input without ROWTIME was accepted")
	}
}
