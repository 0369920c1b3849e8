package window

import (
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

func TestDecimalAggregatesAreExact(t *testing.T) {
	dec := types.Type{Kind: types.Decimal, Precision: 10, Scale: 2}
	schema := types.Schema{Fields: []types.Field{
		{Name: "ROWTIME", Type: types.Type{Kind: types.Timestamp, NotNull: true}},
		{Name: "PRICE", Type: dec},
	}}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema.Arrow())
	defer b.Release()
	for i, cents := range []int64{10, 20, -5, 1_000_000_001} {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
		b.Field(1).(*array.Decimal128Builder).Append(decimal128.FromI64(cents))
	}
	b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(4))
	b.Field(1).AppendNull()
	rec := b.NewRecord()
	defer rec.Release()
	price := col{1, dec}
	aggs := []Aggregate{{Func: "SUM", Arg: price}, {Func: "MIN", Arg: price}, {Func: "MAX", Arg: price}, {Func: "AVG", Arg: price}}

	s := &sink{}
	op, err := NewSliding(SlidingSpec{Input: schema, Range: time.Hour, Aggs: aggs})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	if err := op.Process(s.ctx(), rec); err != nil {
		t.Fatal(err)
	}
	if got := op.Schema().Fields[2].Type; got.Kind != types.Decimal || got.Scale != 2 {
		t.Fatalf("SUM type %s", got)
	}
	last := s.rows[len(s.rows)-1]
	want := []any{"10000000.26", "-0.05", "10000000.01", 10000000.26 / 4}
	for k, w := range want {
		if !sameValue(last[2+k], w) {
			t.Fatalf("aggregate %d = %v, want %v (row %v)", k, last[2+k], w, last)
		}
	}

	s2 := &sink{}
	tu, err := NewTumbling(TumblingSpec{Input: schema, WindowKey: floorTo{0, time.Second}, Width: time.Second,
		Keys: []expr.Expr{price}, Aggs: aggs[:1]})
	if err != nil {
		t.Fatal(err)
	}
	tu.SetEmit(s2.emit)
	if err := tu.Process(s2.ctx(), rec); err != nil {
		t.Fatal(err)
	}
	if err := tu.Advance(s2.ctx(), time.UnixMilli(1000)); err != nil {
		t.Fatal(err)
	}
	exactRows(t, "grouped by a DECIMAL", s2.rows, [][]any{
		{int64(1000), int64(0), nil, nil}, {int64(1000), int64(0), "-0.05", "-0.05"}, {int64(1000), int64(0), "0.1", "0.1"},
		{int64(1000), int64(0), "0.2", "0.2"}, {int64(1000), int64(0), "10000000.01", "10000000.01"},
	})
}
