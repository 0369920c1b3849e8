package order

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

var schema = types.Schema{Fields: []types.Field{
	{Name: "ROWTIME", Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "G", Type: types.TBigInt},
	{Name: "V", Type: types.TBigInt},
	{Name: "S", Type: types.VarcharOf(8)},
	{Name: "TS", Type: types.TTimestamp},
}}

var (
	cG  = expr.Col(1, types.TBigInt, "G")
	cV  = expr.Col(2, types.TBigInt, "V")
	cS  = expr.Col(3, types.VarcharOf(8), "S")
	cTS = expr.Col(4, types.TTimestamp, "TS")
)

type row struct {
	rt, g int64
	v     *int64
	s     string
	ts    *int64
	id    int
}

func batch(rows []row) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema.Arrow())
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(r.rt))
		b.Field(1).(*array.Int64Builder).Append(r.g)
		if r.v != nil {
			b.Field(2).(*array.Int64Builder).Append(*r.v)
		} else {
			b.Field(2).AppendNull()
		}
		b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("%s%05d", r.s, r.id))
		if r.ts != nil {
			b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(*r.ts))
		} else {
			b.Field(4).AppendNull()
		}
	}
	return b.NewRecord()
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
func (s *sink) ctx() *operators.Context {
	return &operators.Context{Mem: memory.DefaultAllocator, Errors: s, Pump: "P"}
}

// stateful is what both operators offer the test driver.
type stateful interface {
	operators.Stateful
	SetEmit(operators.Emit)
}

// run feeds rows in batches of bs with a heartbeat at each batch's last
// ROWTIME, then one at end; with cut >= 0 the operator is snapshotted
// after cut batches and a new one restored from it continues.
func run(t testing.TB, build func() stateful, rows []row, bs, cut int, end int64) *sink {
	t.Helper()
	s := &sink{}
	op := build()
	op.SetEmit(s.emit)
	for b := 0; b*bs < len(rows); b++ {
		if b == cut {
			var buf bytes.Buffer
			if err := op.Snapshot(&buf); err != nil {
				t.Fatal(err)
			}
			op = build()
			op.SetEmit(s.emit)
			if err := op.Restore(&buf); err != nil {
				t.Fatal(err)
			}
		}
		part := rows[b*bs : min((b+1)*bs, len(rows))]
		rec := batch(part)
		if err := op.Process(s.ctx(), rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		if err := op.Advance(s.ctx(), time.UnixMilli(part[len(part)-1].rt)); err != nil {
			t.Fatal(err)
		}
	}
	if err := op.Advance(s.ctx(), time.UnixMilli(end)); err != nil {
		t.Fatal(err)
	}
	return s
}

func i64(v int64) *int64 { return &v }

// ---- Sort

// sortRows makes rows whose leading key G = ROWTIME / width.
func sortRows(rnd *rand.Rand, n int, width int64) []row {
	rows := make([]row, n)
	rt := int64(0)
	for i := range rows {
		rt += rnd.Int63n(width / 2)
		r := row{rt: rt, g: rt / width * width, s: string(rune('a' + rnd.Intn(3))), id: i}
		if rnd.Intn(8) > 0 {
			r.v = i64(rnd.Int63n(5))
		}
		rows[i] = r
	}
	return rows
}

// referenceSort groups consecutive rows by G, sorts each group by V DESC
// (NULL last) then S, and gives every row the group's last ROWTIME.
func referenceSort(rows []row) []string {
	var out []string
	for lo := 0; lo < len(rows); {
		hi := lo
		for hi < len(rows) && rows[hi].g == rows[lo].g {
			hi++
		}
		grp := slices.Clone(rows[lo:hi])
		slices.SortStableFunc(grp, func(a, b row) int {
			switch {
			case a.v == nil && b.v == nil:
			case a.v == nil:
				return 1
			case b.v == nil:
				return -1
			case *a.v != *b.v:
				return int(*b.v - *a.v)
			}
			return bytes.Compare([]byte(a.s), []byte(b.s))
		})
		last := rows[hi-1].rt
		for _, r := range grp {
			r.rt = last
			rec := batch([]row{r})
			out = append(out, operators.RowJSON(rec, 0))
			rec.Release()
		}
		lo = hi
	}
	return out
}

func newSort(width time.Duration) func() stateful {
	return func() stateful {
		lead, err := expr.NewRegistry().Call("STEP", expr.Col(0, types.TTimestamp, "ROWTIME"), mustLit(width))
		if err != nil {
			panic(err)
		}
		op, err := NewSort(SortSpec{Input: schema, Leading: lead, Width: width,
			Keys: []Key{{Expr: cV, Desc: true}, {Expr: cS}}})
		if err != nil {
			panic(err)
		}
		return op
	}
}

func mustLit(d time.Duration) expr.Expr {
	l, err := expr.Lit(d, types.TInterval)
	if err != nil {
		panic(err)
	}
	return l
}

func TestSortMatchesReference(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		rows := sortRows(rnd, 200+rnd.Intn(300), 1000)
		want := referenceSort(rows)
		for _, bs := range []int{1, 5, 64, 1000} {
			got := run(t, newSort(time.Second), rows, bs, -1, 1<<40)
			if !slices.Equal(got.rows, want) {
				t.Fatalf("seed %d batch %d: got %d rows, want %d\nfirst got:  %v\nfirst want: %v", seed, bs, len(got.rows), len(want), head(got.rows), head(want))
			}
		}
	}
}

func TestSortRestoreContinuesIdentically(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		rows := sortRows(rnd, 300, 1000)
		want := run(t, newSort(time.Second), rows, 7, -1, 1<<40)
		got := run(t, newSort(time.Second), rows, 7, 1+rnd.Intn(40), 1<<40)
		if !slices.Equal(got.rows, want.rows) {
			t.Fatalf("seed %d: restored run differs", seed)
		}
	}
}

func TestSortReportsAKeyGoingBackwards(t *testing.T) {
	s := &sink{}
	op, err := NewSort(SortSpec{Input: schema, Leading: cG, Keys: []Key{{Expr: cV}}})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	rec := batch([]row{{rt: 1, g: 1, v: i64(2)}, {rt: 2, g: 1, v: i64(1)}, {rt: 3, g: 2, v: i64(0)}, {rt: 4, g: 1, v: i64(0)}, {rt: 5, g: 3}})
	defer rec.Release()
	if err := op.Process(s.ctx(), rec); err != nil {
		t.Fatal(err)
	}
	if len(s.rows) != 3 || len(s.errs) != 1 || s.errs[0].Name != "LATE_ROW" {
		t.Fatalf("rows %v errors %v", s.rows, s.errs)
	}
}

// ---- TSort

func tsortRows(rnd *rand.Rand, n int, within int64) []row {
	rows := make([]row, n)
	rt := int64(1_000_000)
	for i := range rows {
		rt += rnd.Int63n(50)
		r := row{rt: rt, g: 0, v: i64(int64(i)), s: "r", id: i}
		if rnd.Intn(20) > 0 {
			r.ts = i64(rt - rnd.Int63n(within*3/2+1))
		}
		rows[i] = r
	}
	return rows
}

// referenceTSort replays the rule directly: before each row, every
// buffered row with ts <= now - within leaves in (ts, arrival) order; a
// row with ts below the greatest ts emitted is late.
func referenceTSort(rows []row, within int64) (out []string, late int) {
	var buf []row
	emitted := int64(-1 << 62)
	emit := func(now int64) {
		slices.SortStableFunc(buf, func(a, b row) int { return int(*a.ts - *b.ts) })
		k := 0
		for k < len(buf) && *buf[k].ts <= now-within {
			r := buf[k]
			r.rt = *r.ts
			rec := batch([]row{r})
			out = append(out, operators.RowJSON(rec, 0))
			rec.Release()
			emitted = max(emitted, *r.ts)
			k++
		}
		buf = buf[k:]
	}
	for _, r := range rows {
		emit(r.rt)
		if r.ts == nil {
			continue
		}
		if *r.ts < emitted {
			late++
			continue
		}
		buf = append(buf, r)
	}
	emit(1 << 40)
	return out, late
}

func newTSort(within time.Duration) func() stateful {
	return func() stateful {
		op, err := NewTSort(TSortSpec{Input: schema, TS: cTS, Within: within})
		if err != nil {
			panic(err)
		}
		return op
	}
}

func TestTSortMatchesReference(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		within := int64(100 + rnd.Intn(500))
		rows := tsortRows(rnd, 300+rnd.Intn(300), within)
		want, late := referenceTSort(rows, within)
		for _, bs := range []int{1, 9, 1000} {
			got := run(t, newTSort(time.Duration(within)*time.Millisecond), rows, bs, -1, 1<<40)
			if !slices.Equal(got.rows, want) || len(got.errs) != late {
				t.Fatalf("seed %d batch %d: %d rows %d late, want %d rows %d late\nfirst got:  %v\nfirst want: %v", seed, bs, len(got.rows), len(got.errs), len(want), late, head(got.rows), head(want))
			}
		}
	}
}

func TestTSortRestoreContinuesIdentically(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		rows := tsortRows(rnd, 300, 300)
		build := newTSort(300 * time.Millisecond)
		want := run(t, build, rows, 11, -1, 1<<40)
		got := run(t, build, rows, 11, 1+rnd.Intn(25), 1<<40)
		if !slices.Equal(got.rows, want.rows) || len(got.errs) != len(want.errs) {
			t.Fatalf("seed %d: restored run differs", seed)
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// ---- benchmarks: go test -run XXX -bench . -cpu 1 ./operators/order
//
// On the shared 2-core development machine: Sort (1 s groups of 1,000 rows,
// by V DESC) about 1.6 M rows/s; TSort (500 ms window, rows up to 500 ms
// out of order) about 2.5 M rows/s. Emission gathers rows value by value
// through Arrow builders, which dominates.

func benchRows(n int, rnd *rand.Rand) []arrow.Record {
	var recs []arrow.Record
	rt := int64(0)
	for b := 0; b < 16; b++ {
		rows := make([]row, 4096)
		for i := range rows {
			rt++
			rows[i] = row{rt: rt, g: rt / 1000 * 1000, v: i64(rnd.Int63n(1000)), s: "x", ts: i64(rt - rnd.Int63n(500)), id: i}
		}
		recs = append(recs, batch(rows))
	}
	return recs
}

func benchOp(b *testing.B, op stateful) {
	recs := benchRows(4096, rand.New(rand.NewSource(1)))
	ctx := &operators.Context{Mem: memory.DefaultAllocator}
	op.SetEmit(func(arrow.Record) error { return nil })
	shift := int64(0)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rec := recs[i%len(recs)]
		if i%len(recs) == 0 && i > 0 {
			shift += 16 * 4096
			b.StopTimer()
			for k, r := range recs {
				recs[k] = shifted(r, 16*4096)
				r.Release()
			}
			rec = recs[0]
			b.StartTimer()
		}
		if err := op.Process(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*4096/time.Since(start).Seconds(), "rows/s")
}

// shifted moves a batch's ROWTIME and TS on by d ms (and its G with them).
func shifted(rec arrow.Record, d int64) arrow.Record {
	n := int(rec.NumRows())
	rows := make([]row, n)
	rt := rec.Column(0).(*array.Timestamp)
	v := rec.Column(2).(*array.Int64)
	ts := rec.Column(4).(*array.Timestamp)
	for i := range rows {
		r := int64(rt.Value(i)) + d
		rows[i] = row{rt: r, g: r / 1000 * 1000, v: i64(v.Value(i)), s: "x", ts: i64(int64(ts.Value(i)) + d), id: i}
	}
	return batch(rows)
}

func BenchmarkSortPerSecondByValue(b *testing.B) { benchOp(b, newSort(time.Second)()) }
func BenchmarkTSortWithin500ms(b *testing.B)     { benchOp(b, newTSort(500*time.Millisecond)()) }
