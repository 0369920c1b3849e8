package expr

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/compute"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// benchBatch is 4,096 rows of (ROWTIME, id INTEGER, price DOUBLE, ticker
// VARCHAR(8)) with prices spread over 0..100.
func benchBatch(mem memory.Allocator) (types.Schema, arrow.Record) {
	schema := types.Schema{Fields: []types.Field{
		{Name: "ROWTIME", Type: types.Type{Kind: types.Timestamp, NotNull: true}},
		{Name: "ID", Type: types.TInteger},
		{Name: "PRICE", Type: types.TDouble},
		{Name: "TICKER", Type: types.VarcharOf(8)},
	}}
	b := array.NewRecordBuilder(mem, schema.Arrow())
	defer b.Release()
	tickers := []string{"AMZN", "MSFT", "GOOG", "AAPL", "NFLX"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 4096 {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(start + int64(i)))
		b.Field(1).(*array.Int32Builder).Append(int32(i))
		b.Field(2).(*array.Float64Builder).Append(float64((i*7919)%10000) / 100)
		b.Field(3).(*array.StringBuilder).Append(tickers[i%len(tickers)])
	}
	return schema, b.NewRecord()
}

func must(e Expr, err error) Expr {
	if err != nil {
		panic(err)
	}
	return e
}

func lit(v any, t types.Type) Expr { return must(Lit(v, t)) }

func call(name string, args ...Expr) Expr { return must(Call(name, args...)) }

// BenchmarkFilterProject is WHERE price > 50 AND id % 3 = 0 then SELECT
// price * 2 + 1, id + 10 over the kept rows, per 4,096-row batch.
func BenchmarkFilterProject(b *testing.B) {
	mem := memory.NewGoAllocator()
	_, rec := benchBatch(mem)
	defer rec.Release()
	id, price := Col(1, types.TInteger, "ID"), Col(2, types.TDouble, "PRICE")
	pred := call("AND",
		call(">", price, lit(int64(50), types.TInteger)),
		call("=", call("%", id, lit(int64(3), types.TInteger)), lit(int64(0), types.TInteger)))
	proj := []Expr{
		call("+", call("*", price, lit(int64(2), types.TInteger)), lit(int64(1), types.TInteger)),
		call("+", id, lit(int64(10), types.TInteger)),
	}
	ec := &EvalContext{Mem: mem, Errors: &RowErrors{}}
	kept := 0
	b.ResetTimer()
	for range b.N {
		ec.Errors.Reset()
		m, err := pred.Eval(ec, rec)
		if err != nil {
			b.Fatal(err)
		}
		f := Filter(mem, rec, m.(*array.Boolean))
		m.Release()
		kept = int(f.NumRows())
		for _, p := range proj {
			a, err := p.Eval(ec, f)
			if err != nil {
				b.Fatal(err)
			}
			a.Release()
		}
		f.Release()
	}
	b.ReportMetric(float64(b.N)*float64(rec.NumRows())/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(kept), "kept/batch")
}

// BenchmarkFilter compares Filter with Arrow's compute.FilterRecordBatch on
// the same mask (the decision recorded in Filter's comment).
func BenchmarkFilter(b *testing.B) {
	mem := memory.NewGoAllocator()
	_, rec := benchBatch(mem)
	defer rec.Release()
	pred := call(">", Col(2, types.TDouble, "PRICE"), lit(50.0, types.TDouble))
	ec := &EvalContext{Mem: mem, Errors: &RowErrors{}}
	m, err := pred.Eval(ec, rec)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Release()
	b.Run("expr.Filter", func(b *testing.B) {
		for range b.N {
			Filter(mem, rec, m.(*array.Boolean)).Release()
		}
		b.ReportMetric(float64(b.N)*4096/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("compute.FilterRecordBatch", func(b *testing.B) {
		ctx := compute.WithAllocator(context.Background(), mem)
		for range b.N {
			out, err := compute.FilterRecordBatch(ctx, rec, m, compute.DefaultFilterOptions())
			if err != nil {
				b.Fatal(err)
			}
			out.Release()
		}
		b.ReportMetric(float64(b.N)*4096/b.Elapsed().Seconds(), "rows/s")
	})
}

var _ = fmt.Sprint
