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

// takeInput is a batch of 6 rows with a NULL in every column but the
// first, over the column kinds Gather copies itself and a struct (ROW)
// column, which it concatenates.
func takeInput(t *testing.T, mem memory.Allocator) arrow.Record {
	t.Helper()
	rowType := arrow.StructOf(arrow.Field{Name: "A", Type: arrow.BinaryTypes.String, Nullable: true})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "I", Type: arrow.PrimitiveTypes.Int64},
		{Name: "S", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "B", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "F", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "R", Type: rowType, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	strs := []string{"zero", "", "a value longer than sixteen bytes", "three", "4", "five"}
	for i := range 6 {
		b.Field(0).(*array.Int64Builder).Append(int64(i * 10))
		if i == 3 {
			b.Field(1).AppendNull()
			b.Field(2).AppendNull()
			b.Field(3).AppendNull()
			b.Field(4).AppendNull()
			continue
		}
		b.Field(1).(*array.StringBuilder).Append(strs[i])
		b.Field(2).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(3).(*array.Float64Builder).Append(float64(i) / 4)
		sb := b.Field(4).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.StringBuilder).Append(fmt.Sprintf("r%d", i))
	}
	return b.NewRecord()
}

func rowStrings(rec arrow.Record) []string {
	var out []string
	for r := range int(rec.NumRows()) {
		s := ""
		for c := range int(rec.NumCols()) {
			s += rec.Column(c).ValueStr(r) + "|"
		}
		out = append(out, s)
	}
	return out
}

func TestTakeGathersRowsInTheOrderGiven(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := takeInput(t, mem)
	defer in.Release()
	all := rowStrings(in)
	for _, rows := range [][]int{
		{0, 2, 3, 5}, // scattered, with the NULL row
		{1, 2, 3},    // one run: a slice
		{5, 3, 0, 4}, // out of order (a union's merge)
		{0, 3, 1, 2}, // a permutation of a run is not a run
		{4, 4, 2},    // repeats
		{},           // nothing
	} {
		out, err := Take(mem, in, rows)
		if err != nil {
			t.Fatalf("Take(%v): %v", rows, err)
		}
		got := rowStrings(out)
		if len(got) != len(rows) {
			t.Fatalf("Take(%v): %d rows", rows, len(got))
		}
		for k, r := range rows {
			if got[k] != all[r] {
				t.Errorf("Take(%v) row %d = %q, want row %d %q", rows, k, got[k], r, all[r])
			}
		}
		for c, col := range out.Columns() {
			nulls := 0
			for r := range col.Len() {
				if col.IsNull(r) {
					nulls++
				}
			}
			if nulls != col.NullN() {
				t.Errorf("Take(%v) column %d: %d NULL values but a null count of %d", rows, c, nulls, col.NullN())
			}
		}
		out.Release()
	}
	if _, err := Take(mem, in, []int{1, 6}); err == nil {
		t.Error("Take of a row past the end: no error")
	}
}

// TestTakeOfASliceReadsTheSlicesRows: a batch that is itself a slice (an
// offset into its buffers) gives its own rows, not its parent's.
func TestTakeOfASliceReadsTheSlicesRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := takeInput(t, mem)
	defer in.Release()
	sl := in.NewSlice(2, 6)
	defer sl.Release()
	all := rowStrings(sl)
	out, err := Take(mem, sl, []int{0, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	got := rowStrings(out)
	for k, r := range []int{0, 1, 3} {
		if got[k] != all[r] {
			t.Errorf("row %d = %q, want %q", k, got[k], all[r])
		}
	}
}

// nonNegative is V >= 0 (NULL for NULL).
type nonNegative struct{}

func (nonNegative) Type() types.Type { return types.TBoolean }
func (nonNegative) String() string   { return "V >= 0" }
func (nonNegative) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	v := rec.Column(2).(*array.Int64)
	b := array.NewBooleanBuilder(ec.Mem)
	defer b.Release()
	for i := 0; i < v.Len(); i++ {
		if v.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(v.Value(i) >= 0)
		}
	}
	return b.NewArray(), nil
}

// TestFilterFeedsItsProjectionTheKeptRows: with FeedProject, the
// projection sees only the kept rows, and a row it fails on reaches
// error_stream with every column, the ones it did not read included.
func TestFilterFeedsItsProjectionTheKeptRows(t *testing.T) {
	s := &sink{}
	f, err := NewFilter(FilterSpec{Input: schema, Pred: nonNegative{}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProject(ProjectSpec{Input: schema, Exprs: []expr.Expr{double{}}, Names: []string{"V2"}})
	if err != nil {
		t.Fatal(err)
	}
	f.SetEmit(func(arrow.Record) error { t.Fatal("the filter emitted instead of feeding its projection"); return nil })
	f.FeedProject(p)
	p.SetEmit(s.emit)
	rec := input()
	defer rec.Release()
	if err := f.Process(&operators.Context{Errors: s, Pump: "P1"}, rec); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"ROWTIME":"1970-01-01 00:00:01.000","V2":2}`, `{"ROWTIME":"1970-01-01 00:00:01.004","V2":10}`}
	if fmt.Sprint(s.rows) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", s.rows, want)
	}
	wantErr := `{"ROWTIME":"1970-01-01 00:00:01.003","S":"r3","V":13}`
	if len(s.errs) != 1 || s.errs[0].Name != "OVERFLOW" || s.errs[0].DataRow != wantErr {
		t.Fatalf("errors %+v, want one OVERFLOW with data %s", s.errs, wantErr)
	}
}

// TestTakenRecordGathersOnlyTheColumnsRead: a column nobody reads is never
// copied.
func TestTakenRecordGathersOnlyTheColumnsRead(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := takeInput(t, mem)
	defer in.Release()
	tr := newTakenRecord(mem, in, []int32{4, 1})
	if got := tr.Column(1).ValueStr(0); got != "4" {
		t.Errorf("column S row 0 = %q, want 4", got)
	}
	for i, c := range tr.cols {
		if (c != nil) != (i == 1) {
			t.Errorf("column %d gathered: %v", i, c != nil)
		}
	}
	tr.Retain()
	tr.Release()
	if tr.cols[1] == nil {
		t.Error("Release with a reference left dropped the columns")
	}
	tr.Release()
	if tr.cols[1] != nil {
		t.Error("the last Release kept the columns")
	}
}
