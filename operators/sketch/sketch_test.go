package sketch

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/sql/types"
)

func schemaOf(cols ...types.Field) types.Schema {
	return types.Schema{Fields: append([]types.Field{{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}}}, cols...)}
}

// batch builds a record: each row is ROWTIME in ms, then the columns' values
// (nil for NULL).
func batch(t testing.TB, s types.Schema, rows ...[]any) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, s.Arrow())
	defer b.Release()
	for _, r := range rows {
		for c, v := range r {
			f := b.Field(c)
			if v == nil {
				f.AppendNull()
				continue
			}
			switch fb := f.(type) {
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(v.(int)))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.Int32Builder:
				fb.Append(int32(v.(int)))
			case *array.Int64Builder:
				fb.Append(int64(v.(int)))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			default:
				t.Fatalf("batch: builder %T", f)
			}
		}
	}
	return b.NewRecord()
}

type sink struct{ rows []string }

func (s *sink) emit(rec arrow.Record) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		s.rows = append(s.rows, operators.RowJSON(rec, i))
	}
	return nil
}

type emitter interface {
	operators.Stateful
	SetEmit(operators.Emit)
}

func connect(op emitter) *sink {
	s := &sink{}
	op.SetEmit(s.emit)
	return s
}

func process(t testing.TB, op operators.Operator, rec arrow.Record) {
	t.Helper()
	defer rec.Release()
	if err := op.Process(&operators.Context{}, rec); err != nil {
		t.Fatal(err)
	}
}

func advance(t testing.TB, op operators.Operator, ms int64) {
	t.Helper()
	if err := op.Advance(&operators.Context{}, time.UnixMilli(ms)); err != nil {
		t.Fatal(err)
	}
}

func same(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

var tickSchema = schemaOf(types.Field{Name: "TICKER", Type: types.VarcharOf(8)}, types.Field{Name: "V", Type: types.TInteger})

func TestTopKExactCountsAndOrder(t *testing.T) {
	op, err := NewTopK(TopKSpec{Input: tickSchema, Column: "TICKER", K: 2, Window: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out := connect(op)
	process(t, op, batch(t, tickSchema,
		[]any{1000, "c", 1}, []any{2000, "a", 1}, []any{3000, "b", 1}, []any{4000, "a", 1},
		[]any{5000, "c", 1}, []any{6000, "b", 1}, []any{7000, nil, 1}, []any{8000, "a", 1}, []any{9000, "d", 1},
		[]any{12000, "x", 1}))
	advance(t, op, 19999)
	same(t, out.rows, []string{
		`{"ROWTIME":"1970-01-01 00:00:10.000","TICKER":"a","ITEM_COUNT":3}`,
		`{"ROWTIME":"1970-01-01 00:00:10.000","TICKER":"b","ITEM_COUNT":2}`,
	})
	advance(t, op, 20000)
	if len(out.rows) != 3 || out.rows[2] != `{"ROWTIME":"1970-01-01 00:00:20.000","TICKER":"x","ITEM_COUNT":1}` {
		t.Errorf("second window: %v", out.rows)
	}
	// integer items order numerically, negatives first
	op2, _ := NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 3, Window: time.Second})
	out2 := connect(op2)
	process(t, op2, batch(t, tickSchema, []any{0, "a", 10}, []any{1, "a", -5}, []any{2, "a", 2}, []any{3, "a", 10}))
	advance(t, op2, 1000)
	same(t, out2.rows, []string{
		`{"ROWTIME":"1970-01-01 00:00:01.000","V":10,"ITEM_COUNT":2}`,
		`{"ROWTIME":"1970-01-01 00:00:01.000","V":-5,"ITEM_COUNT":1}`,
		`{"ROWTIME":"1970-01-01 00:00:01.000","V":2,"ITEM_COUNT":1}`,
	})
}

func TestTopKHeavyHittersBeyondCapacity(t *testing.T) {
	op, err := NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 10, Window: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out := connect(op)
	rng := rand.New(rand.NewPCG(1, 2))
	var rows [][]any
	// 10 heavy items (ids 1..10) with 200+10*i occurrences, 20000 singletons
	for i := 1; i <= 10; i++ {
		for range 200 + 10*i {
			rows = append(rows, []any{0, "", i})
		}
	}
	for j := range 20000 {
		rows = append(rows, []any{0, "", 1000 + j})
	}
	rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
	for i := range rows {
		rows[i][0] = i
	}
	process(t, op, batch(t, tickSchema, rows...))
	advance(t, op, 60000)
	if len(out.rows) != 10 {
		t.Fatalf("%d rows", len(out.rows))
	}
	for r, row := range out.rows {
		if want := fmt.Sprintf(`"V":%d,`, 10-r); !strings.Contains(row, want) {
			t.Errorf("row %d = %s, want item %d", r, row, 10-r)
		}
	}
}

func TestDistinctExact(t *testing.T) {
	for _, n := range []int{1, 5000, ExactDistinct} {
		op, err := NewDistinct(DistinctSpec{Input: tickSchema, Column: "V", Window: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		out := connect(op)
		var rows [][]any
		for i := range 2 * n {
			rows = append(rows, []any{i % 1000, "", i % n})
		}
		rows = append(rows, []any{999, "", nil})
		process(t, op, batch(t, tickSchema, rows...))
		advance(t, op, 1000)
		same(t, out.rows, []string{fmt.Sprintf(`{"ROWTIME":"1970-01-01 00:00:01.000","NUMBER_OF_DISTINCT_ITEMS":%d}`, n)})
	}
}

func TestDistinctApproximate(t *testing.T) {
	s := schemaOf(types.Field{Name: "K", Type: types.TBigInt})
	for _, n := range []int{ExactDistinct + 1, 15000, 50000, 200000, 1000000} {
		op, _ := NewDistinct(DistinctSpec{Input: s, Column: "K", Window: time.Second})
		for i := 0; i < n; i += 10000 {
			var rows [][]any
			for j := i; j < min(i+10000, n); j++ {
				rows = append(rows, []any{0, j * 7919})
			}
			if err := op.Process(&operators.Context{}, batch(t, s, rows...)); err != nil {
				t.Fatal(err)
			}
		}
		got := op.st.count()
		if e := math.Abs(float64(got)-float64(n)) / float64(n); e > 0.02 {
			t.Errorf("n=%d: estimate %d, error %.2f%%", n, got, 100*e)
		} else {
			t.Logf("n=%d: estimate %d, error %.3f%%", n, got, 100*e)
		}
	}
}

func TestHLLEstimatorAcrossRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	h := newHLL()
	n := 0
	for _, target := range []int{100, 1000, 20000, 40000, 80000, 160000, 3000000} {
		for ; n < target; n++ {
			h.add(rng.Uint64())
		}
		if e := math.Abs(h.estimate()-float64(n)) / float64(n); e > 0.03 {
			t.Errorf("n=%d: estimate %.0f", n, h.estimate())
		}
	}
}

var xySchema = schemaOf(types.Field{Name: "X", Type: types.TDouble}, types.Field{Name: "Y", Type: types.TDouble}, types.Field{Name: "TAG", Type: types.VarcharOf(4)})

func TestHotspotsHandExample(t *testing.T) {
	op, err := NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 100, ScanRadius: 1, MinPoints: 3})
	if err != nil {
		t.Fatal(err)
	}
	out := connect(op)
	process(t, op, batch(t, xySchema,
		[]any{0, 0.5, 0.5, "a"}, []any{1, 0.6, 0.4, "b"}, []any{2, 50.0, 50.0, "c"}, []any{3, 1.2, 0.9, "d"}, []any{4, nil, 1.0, "e"}))
	same(t, out.rows, []string{
		`{"ROWTIME":"1970-01-01 00:00:00.000","X":0.5,"Y":0.5,"TAG":"a","HOTSPOTS_RESULT":"{\"hotspots\":[]}"}`,
		`{"ROWTIME":"1970-01-01 00:00:00.001","X":0.6,"Y":0.4,"TAG":"b","HOTSPOTS_RESULT":"{\"hotspots\":[]}"}`,
		`{"ROWTIME":"1970-01-01 00:00:00.002","X":50,"Y":50,"TAG":"c","HOTSPOTS_RESULT":"{\"hotspots\":[]}"}`,
		`{"ROWTIME":"1970-01-01 00:00:00.003","X":1.2,"Y":0.9,"TAG":"d","HOTSPOTS_RESULT":"{\"hotspots\":[{\"density\":3,\"minValues\":[0.5,0.4],\"maxValues\":[1.2,0.9]}]}"}`,
		`{"ROWTIME":"1970-01-01 00:00:00.004","X":null,"Y":1,"TAG":"e","HOTSPOTS_RESULT":"{\"hotspots\":[{\"density\":3,\"minValues\":[0.5,0.4],\"maxValues\":[1.2,0.9]}]}"}`,
	})
}

// clusterRows makes n rows: uniform noise over [0,10)^2, and every third
// row inside the square [6, 6.3)^2.
func clusterRows(seed uint64, from, n int) [][]any {
	rng := rand.New(rand.NewPCG(seed, 1))
	rows := make([][]any, n)
	for i := range rows {
		x, y := rng.Float64()*10, rng.Float64()*10
		if (from+i)%3 == 0 {
			x, y = 6+rng.Float64()*0.3, 6+rng.Float64()*0.3
		}
		rows[i] = []any{from + i, x, y, "t"}
	}
	return rows
}

func TestHotspotsFindsDenseCluster(t *testing.T) {
	op, err := NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 1000, ScanRadius: 0.2, MinPoints: 17})
	if err != nil {
		t.Fatal(err)
	}
	out := connect(op)
	process(t, op, batch(t, xySchema, clusterRows(3, 0, 3000)...))
	last := out.rows[len(out.rows)-1]
	var spots []string
	if i := strings.Index(last, `"HOTSPOTS_RESULT":`); i >= 0 {
		spots = strings.Split(last[i:], `{\"density\":`)[1:]
	}
	if len(spots) != 1 {
		t.Fatalf("want one hotspot, got %s", last)
	}
	var d int
	var x0, y0, x1, y1 float64
	if _, err := fmt.Sscanf(spots[0], `%d,\"minValues\":[%g,%g],\"maxValues\":[%g,%g]`, &d, &x0, &y0, &x1, &y1); err != nil {
		t.Fatalf("%v: %s", err, spots[0])
	}
	if d < 333 || d > 400 || x0 < 5.6 || y0 < 5.6 || x0 > 6.01 || y0 > 6.01 || x1 < 6.29 || y1 < 6.29 || x1 > 6.7 || y1 > 6.7 {
		t.Errorf("hotspot %s", spots[0])
	}
}

func TestHotspotsWindowSlides(t *testing.T) {
	op, _ := NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 100, ScanRadius: 1, MinPoints: 5})
	out := connect(op)
	var rows [][]any
	for i := range 10 {
		rows = append(rows, []any{i, 0.5, 0.5, "c"})
	}
	for i := range 100 {
		rows = append(rows, []any{10 + i, float64(10 * i), 1000.0, "far"})
	}
	process(t, op, batch(t, xySchema, rows...))
	if !strings.Contains(out.rows[98], `density\":10`) || !strings.HasSuffix(out.rows[109], `{\"hotspots\":[]}"}`) {
		t.Errorf("row 98 %s\nrow 109 %s", out.rows[98], out.rows[109])
	}
}

func TestSnapshotRestoreContinuesIdentically(t *testing.T) {
	type mk func() emitter
	cases := map[string]struct {
		mk    mk
		s     types.Schema
		rows  func(from, n int) [][]any
		width int64
	}{
		"topk": {func() emitter {
			o, _ := NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 5, Window: 3 * time.Second})
			return o
		}, tickSchema, func(from, n int) [][]any {
			var r [][]any
			for i := from; i < from+n; i++ {
				r = append(r, []any{i * 7, "", (i * i) % 1500})
			}
			return r
		}, 3000},
		"distinct": {func() emitter {
			o, _ := NewDistinct(DistinctSpec{Input: tickSchema, Column: "V", Window: 20 * time.Second})
			return o
		}, tickSchema, func(from, n int) [][]any {
			var r [][]any
			for i := from; i < from+n; i++ {
				r = append(r, []any{i, "", i * 31 % 25000})
			}
			return r
		}, 20000},
		"hotspots": {func() emitter {
			o, _ := NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 500, ScanRadius: 0.3, MinPoints: 10})
			return o
		}, xySchema, func(from, n int) [][]any { return clusterRows(uint64(from), from, n) }, 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			a := c.mk()
			outA := connect(a)
			for k := 0; k < 3; k++ {
				process(t, a, batch(t, c.s, c.rows(k*5000, 5000)...))
			}
			var snap bytes.Buffer
			if err := a.Snapshot(&snap); err != nil {
				t.Fatal(err)
			}
			mark := len(outA.rows)
			b := c.mk()
			outB := connect(b)
			if err := b.Restore(bytes.NewReader(snap.Bytes())); err != nil {
				t.Fatal(err)
			}
			for _, op := range []emitter{a, b} {
				for k := 3; k < 6; k++ {
					process(t, op, batch(t, c.s, c.rows(k*5000, 5000)...))
				}
				advance(t, op, 10_000_000)
			}
			if len(outA.rows) == mark {
				t.Fatal("no output after the snapshot")
			}
			same(t, outB.rows, outA.rows[mark:])
			if err := b.Restore(bytes.NewReader([]byte("KDAK\x01Z"))); err == nil {
				t.Error("a snapshot of another operator was accepted")
			}
		})
	}
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{second(NewTopK(TopKSpec{Input: tickSchema, Column: "NOPE", K: 1, Window: time.Second})), `no column "NOPE"`},
		{second(NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 0, Window: time.Second})), "K must be from 1 to 100000, got 0"},
		{second(NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 100001, Window: time.Second})), "K must be from 1 to 100000"},
		{second(NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 1, Window: 3601 * time.Second})), "from 1 to 3600"},
		{second(NewDistinct(DistinctSpec{Input: tickSchema, Column: "V", Window: 0})), "from 1 to 3600"},
		{second(NewDistinct(DistinctSpec{Input: tickSchema, Column: "ROWTIME", Window: time.Second})), `no column "ROWTIME"`},
		{second(NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 99, ScanRadius: 1, MinPoints: 2})), "windowSize must be from 100 to 1000, got 99"},
		{second(NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 100, ScanRadius: 0, MinPoints: 2})), "scanRadius must be a positive number"},
		{second(NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 100, ScanRadius: 1, MinPoints: 1})), "at least 2"},
		{second(NewHotspots(HotspotsSpec{Input: schemaOf(types.Field{Name: "S", Type: types.VarcharOf(3)}), WindowSize: 100, ScanRadius: 1, MinPoints: 2})), "no numeric column"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestLateRowsGoToErrorStream(t *testing.T) {
	op, _ := NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 1, Window: time.Second})
	connect(op)
	var errs rowErrors
	ctx := &operators.Context{Errors: &errs}
	for _, ms := range []int{1500, 2500, 1700} {
		rec := batch(t, tickSchema, []any{ms, "", 1})
		if err := op.Process(ctx, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if len(errs) != 1 || errs[0].Name != "LATE_ROW" {
		t.Errorf("errors %+v", errs)
	}
}

type rowErrors []operators.RowError

func (r *rowErrors) RowError(e operators.RowError) { *r = append(*r, e) }

func BenchmarkHotspots(b *testing.B) {
	op, _ := NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 1000, ScanRadius: 0.2, MinPoints: 17})
	connect(op)
	recs := make([]arrow.Record, 10)
	for i := range recs {
		recs[i] = batch(b, xySchema, clusterRows(uint64(i), i*1000, 1000)...)
	}
	ctx := &operators.Context{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Process(ctx, recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkTopK(b *testing.B) {
	op, _ := NewTopK(TopKSpec{Input: tickSchema, Column: "V", K: 100, Window: time.Hour})
	connect(op)
	rng := rand.New(rand.NewPCG(1, 1))
	var rows [][]any
	for i := range 1000 {
		rows = append(rows, []any{i, "", int(rng.ExpFloat64() * 500)})
	}
	rec := batch(b, tickSchema, rows...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Process(&operators.Context{}, rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDistinct(b *testing.B) {
	op, _ := NewDistinct(DistinctSpec{Input: tickSchema, Column: "V", Window: time.Hour})
	connect(op)
	var rows [][]any
	for i := range 1000 {
		rows = append(rows, []any{i, "", i * 7})
	}
	rec := batch(b, tickSchema, rows...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Process(&operators.Context{}, rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkHotspotsAllDense is a harder case: uniform points where nearly
// every cube is dense, so most rows change one large hotspot.
func BenchmarkHotspotsAllDense(b *testing.B) {
	op, _ := NewHotspots(HotspotsSpec{Input: xySchema, WindowSize: 1000, ScanRadius: 0.05, MinPoints: 10})
	connect(op)
	rng := rand.New(rand.NewPCG(5, 5))
	recs := make([]arrow.Record, 10)
	for i := range recs {
		rows := make([][]any, 1000)
		for j := range rows {
			rows[j] = []any{i*1000 + j, rng.Float64(), rng.Float64(), "u"}
		}
		recs[i] = batch(b, xySchema, rows...)
	}
	ctx := &operators.Context{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Process(ctx, recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}
