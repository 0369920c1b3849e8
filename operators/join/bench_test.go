package join

import (
	"math/rand"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/types"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const benchBatch = 1024

// benchSide makes n batches of one side: keys uniform over keys, ROWTIMEs
// step ms apart, starting at start.
func benchSide(rng *rand.Rand, n, keys int, start, step int64) []arrow.Record {
	out := make([]arrow.Record, n)
	t := start
	for b := range out {
		rows := make([]trow, benchBatch)
		for i := range rows {
			k := int64(rng.Intn(keys))
			rows[i] = trow{t: t, k: &k, v: int64(i)}
			t += step
		}
		out[b] = sideBatch(rows)
	}
	return out
}

// BenchmarkStreamJoin: orders JOIN trades OVER (RANGE INTERVAL '1' MINUTE
// PRECEDING) ON key, 10,000 keys, each side a row every 6 ms, so a minute
// holds 10,000 rows of each side and a row finds about one match. Rows
// counts the input rows of both sides.
func BenchmarkStreamJoin(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const nb = 256
	left := benchSide(rng, nb, 10000, 0, 6)
	right := benchSide(rng, nb, 10000, 3, 6)
	spec := StreamSpec{Left: sideSchema, Right: sideSchema, Kind: Inner, LeftRows: -1, RightRows: -1,
		LeftKeys: []expr.Expr{expr.Col(1, types.TInteger, "K")}, RightKeys: []expr.Expr{expr.Col(1, types.TInteger, "K")},
		Hi: time.Minute - time.Millisecond}
	ctx := &operators.Context{Mem: memory.DefaultAllocator}
	out := 0
	newJoin := func() *StreamJoin {
		j, err := NewStream(spec)
		if err != nil {
			b.Fatal(err)
		}
		j.SetEmit(func(rec arrow.Record) error { out += int(rec.NumRows()); return nil })
		return j
	}
	j := newJoin()
	span := int64(nb * benchBatch * 6)
	var shift int64
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	for i := 0; rows < b.N; i++ {
		k := i % nb
		if k == 0 && i > 0 {
			shift += span
		}
		for s, recs := range [][]arrow.Record{left, right} {
			rec := recs[k]
			if shift > 0 {
				rec = shifted(rec, shift)
			}
			if err := j.Input(s).Process(ctx, rec); err != nil {
				b.Fatal(err)
			}
			if shift > 0 {
				rec.Release()
			}
			rows += benchBatch
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(out)/float64(rows), "out/row")
}

// shifted returns rec with its ROWTIMEs moved by d ms (a copy).
func shifted(rec arrow.Record, d int64) arrow.Record {
	ts := rec.Column(0).(*array.Timestamp).TimestampValues()
	v := make([]int64, len(ts))
	for i, t := range ts {
		v[i] = int64(t) + d
	}
	tcol := timestamps(v)
	defer tcol.Release()
	cols := []arrow.Array{tcol, rec.Column(1), rec.Column(2)}
	return array.NewRecord(rec.Schema(), cols, rec.NumRows())
}

// BenchmarkReferenceJoin: a stream of 1,024-row batches LEFT JOIN a table
// of 1,000,000 rows on an integer key; every row finds one match. Dense
// keys (0..999,999) use the direct index, sparse ones (spread over int64)
// the hash table.
func BenchmarkReferenceJoin(b *testing.B) {
	b.Run("dense", func(b *testing.B) { benchReferenceJoin(b, 1) })
	b.Run("sparse", func(b *testing.B) { benchReferenceJoin(b, 0x5DEECE66D1) })
}

func benchReferenceJoin(b *testing.B, spread int64) {
	const tableRows = 1000000
	schema := types.Schema{Fields: []types.Field{{Name: "ID", Type: types.TBigInt}, {Name: "NAME", Type: types.VarcharOf(16)}}}
	tab, err := reftable.New("T", schema)
	if err != nil {
		b.Fatal(err)
	}
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	nb := array.NewStringBuilder(memory.DefaultAllocator)
	for i := 0; i < tableRows; i++ {
		ib.Append(int64(i) * spread)
		nb.Append("name")
	}
	ic, nc := ib.NewArray(), nb.NewArray()
	if _, err := tab.Replace(array.NewRecord(schema.Arrow(), []arrow.Array{ic, nc}, tableRows), "bench", time.Now()); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var batches []arrow.Record
	for k := 0; k < 64; k++ {
		rows := make([]trow, benchBatch)
		for i := range rows {
			key := int64(rng.Intn(tableRows)) * spread
			rows[i] = trow{t: int64(k*benchBatch + i), k: &key, v: int64(i)}
		}
		batches = append(batches, bigKeyBatch(rows))
	}
	j, err := NewRef(RefSpec{Input: bigKeySchema, Table: tab, Outer: true,
		StreamKeys: []expr.Expr{expr.Col(1, types.TBigInt, "K")},
		TableKeys:  []expr.Expr{expr.Col(0, types.TBigInt, "ID")}})
	if err != nil {
		b.Fatal(err)
	}
	out := 0
	j.SetEmit(func(rec arrow.Record) error { out += int(rec.NumRows()); return nil })
	ctx := &operators.Context{Mem: memory.DefaultAllocator}
	if err := j.Process(ctx, batches[0]); err != nil { // builds the index
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	for i := 0; rows < b.N; i++ {
		if err := j.Process(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
		rows += benchBatch
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
}

var bigKeySchema = types.Schema{Fields: []types.Field{sideSchema.Fields[0], {Name: "K", Type: types.TBigInt}, sideSchema.Fields[2]}}

func bigKeyBatch(rows []trow) arrow.Record {
	mem := memory.DefaultAllocator
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	kb := array.NewInt64Builder(mem)
	vb := array.NewInt32Builder(mem)
	for _, r := range rows {
		tb.Append(arrow.Timestamp(r.t))
		kb.Append(*r.k)
		vb.Append(int32(r.v))
	}
	cols := []arrow.Array{tb.NewArray(), kb.NewArray(), vb.NewArray()}
	rec := array.NewRecord(bigKeySchema.Arrow(), cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return rec
}
