package window_test

// Benchmarks of JavaScript aggregates (udf.WindowAggregate) against the
// built-in SUM, on the input of bench_test.go: batches of 4,096 rows, 1,000
// keys, 4 rows per millisecond. This is an external test package because
// udf imports this one.
//
//	go test -run '^$' -bench JSAggregate -cpu 1 -count 5 ./operators/window/

import (
	"math/rand"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/window"
	"github.com/kdaproject/kda/sql/types"
	"github.com/kdaproject/kda/udf"
)

const jsBatch = 4096

var jsSchema = types.Schema{Fields: []types.Field{
	{Name: "ROWTIME", Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "K", Type: types.TBigInt},
	{Name: "F", Type: types.TDouble},
}}

// minuteOf is STEP(ROWTIME BY INTERVAL '1' MINUTE) for ROWTIMEs after 1970.
type minuteOf struct{}

func (minuteOf) Type() types.Type { return types.TTimestamp }
func (minuteOf) String() string   { return "STEP(ROWTIME BY INTERVAL '1' MINUTE)" }
func (minuteOf) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	in := rec.Column(0).(*array.Timestamp)
	b := array.NewTimestampBuilder(ec.Mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	defer b.Release()
	for _, v := range in.TimestampValues() {
		b.Append(v - v%60_000)
	}
	return b.NewArray(), nil
}

type jsInput struct {
	keys, vals []arrow.Array
	row        int64
	ts         []arrow.Timestamp
}

func newJSInput() *jsInput {
	rnd := rand.New(rand.NewSource(1))
	in := &jsInput{ts: make([]arrow.Timestamp, jsBatch)}
	for b := 0; b < 16; b++ {
		kb := array.NewInt64Builder(memory.DefaultAllocator)
		fb := array.NewFloat64Builder(memory.DefaultAllocator)
		for i := 0; i < jsBatch; i++ {
			kb.Append(int64(rnd.Intn(1000)))
			fb.Append(rnd.Float64() * 100)
		}
		in.keys, in.vals = append(in.keys, kb.NewArray()), append(in.vals, fb.NewArray())
	}
	return in
}

func (in *jsInput) next() arrow.Record {
	k := int(in.row/jsBatch) % len(in.keys)
	for i := range in.ts {
		in.ts[i] = arrow.Timestamp(1_700_000_000_000 + (in.row+int64(i))/4)
	}
	in.row += jsBatch
	tb := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Millisecond})
	tb.AppendValues(in.ts, nil)
	ts := tb.NewArray()
	tb.Release()
	defer ts.Release()
	return array.NewRecord(jsSchema.Arrow(), []arrow.Array{ts, in.keys[k], in.vals[k]}, jsBatch)
}

func runJS(b *testing.B, op operators.Operator) {
	op.(interface{ SetEmit(operators.Emit) }).SetEmit(func(arrow.Record) error { return nil })
	ctx := &operators.Context{Mem: memory.DefaultAllocator}
	in := newJSInput()
	for i := 0; i < 20; i++ { // warm up: every key seen
		rec := in.next()
		if err := op.Process(ctx, rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rec := in.next()
		if err := op.Process(ctx, rec); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	b.ReportMetric(float64(b.N)*jsBatch/time.Since(start).Seconds(), "rows/s")
}

const jsSum = `{
  init() { return 0; },
  accumulate(s, x) { return s + x; },
  retract(s, x) { return s - x; },
  merge(a, b) { return a + b; },
  result(s) { return s; },
}`

func jsSumAgg(b *testing.B, retract bool) window.Aggregate {
	src := jsSum
	if !retract {
		src = `{ init() { return 0; }, accumulate(s, x) { return s + x; }, merge(a, b) { return a + b; }, result(s) { return s; } }`
	}
	wa, err := udf.NewWindowAggregate("JSSUM", src, []types.Type{types.TDouble}, types.TDouble, udf.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return window.Aggregate{Func: "JSSUM", User: wa, Args: []expr.Expr{expr.Col(2, types.TDouble, "F")}}
}

func tumbling(b *testing.B, agg window.Aggregate) operators.Operator {
	op, err := window.NewTumbling(window.TumblingSpec{Input: jsSchema, WindowKey: minuteOf{}, Width: time.Minute,
		Keys: []expr.Expr{expr.Col(1, types.TBigInt, "K")}, Aggs: []window.Aggregate{agg}})
	if err != nil {
		b.Fatal(err)
	}
	return op
}

func sliding(b *testing.B, agg window.Aggregate, rows int) operators.Operator {
	spec := window.SlidingSpec{Input: jsSchema, PartitionBy: []expr.Expr{expr.Col(1, types.TBigInt, "K")}, Range: time.Minute, Aggs: []window.Aggregate{agg}}
	if rows > 0 {
		spec.IsRows, spec.Rows = true, rows
	}
	op, err := window.NewSliding(spec)
	if err != nil {
		b.Fatal(err)
	}
	return op
}

// The built-in SUM on the same input, for the ratio.
func BenchmarkJSAggregateBuiltinSumTumbling1000Keys(b *testing.B) {
	runJS(b, tumbling(b, window.Aggregate{Func: "SUM", Arg: expr.Col(2, types.TDouble, "F")}))
}

func BenchmarkJSAggregateSumTumbling1000Keys(b *testing.B) {
	runJS(b, tumbling(b, jsSumAgg(b, true)))
}

func BenchmarkJSAggregateBuiltinSumSlidingRange1Minute1000Keys(b *testing.B) {
	runJS(b, sliding(b, window.Aggregate{Func: "SUM", Arg: expr.Col(2, types.TDouble, "F")}, 0))
}

// With retract: one accumulate, about one retract and one result per row.
func BenchmarkJSAggregateSumSlidingRange1MinuteRetract1000Keys(b *testing.B) {
	runJS(b, sliding(b, jsSumAgg(b, true), 0))
}

// Without retract every row re-aggregates its window: ROWS 9 PRECEDING is
// 10 accumulates per row; RANGE 1 MINUTE here holds about 240 rows.
func BenchmarkJSAggregateSumSlidingRows10Recompute1000Keys(b *testing.B) {
	runJS(b, sliding(b, jsSumAgg(b, false), 9))
}

func BenchmarkJSAggregateSumSlidingRange1MinuteRecompute1000Keys(b *testing.B) {
	runJS(b, sliding(b, jsSumAgg(b, false), 0))
}
