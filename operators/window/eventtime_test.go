package window

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

var cEV = col{6, types.TTimestamp}

// randomEventRows makes rows whose event time wanders up with jitter of up
// to jitter ms, a few NULL keys, ROWTIME one ms apart.
func randomEventRows(rnd *rand.Rand, n int, jitter int64) []row {
	rows := make([]row, n)
	ev := int64(1_000_000)
	for i := range rows {
		ev += rnd.Int63n(400)
		r := row{t: int64(i), e: ev - rnd.Int63n(jitter+1), v: ip(rnd.Int63n(100))}
		if rnd.Intn(10) > 0 {
			r.k = ip(rnd.Int63n(4))
		}
		rows[i] = r
	}
	return rows
}

func eventSpec(kind EventTimeKind, ooo time.Duration) EventTimeSpec {
	return EventTimeSpec{
		Input: testSchema, Kind: kind, Time: cEV,
		Size: 2 * time.Second, Slide: 500 * time.Millisecond, Gap: 700 * time.Millisecond,
		Keys: []expr.Expr{cK}, Aggs: []Aggregate{{Func: "COUNT"}, {Func: "SUM", Arg: cV}},
		MaxOutOfOrderness: ooo, IdleTimeout: time.Hour,
	}
}

// runEventTime feeds rows in batches of size bs, then a final heartbeat;
// with cut >= 0 the operator is snapshotted after cut batches and a fresh
// one restored from it continues.
func runEventTime(t *testing.T, spec EventTimeSpec, rows []row, bs, cut int) *sink {
	t.Helper()
	s := &sink{}
	op, err := NewEventTime(spec)
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	for b := 0; b*bs < len(rows); b++ {
		if b == cut {
			var buf bytes.Buffer
			if err := op.Snapshot(&buf); err != nil {
				t.Fatal(err)
			}
			if op, err = NewEventTime(spec); err != nil {
				t.Fatal(err)
			}
			op.SetEmit(s.emit)
			if err := op.Restore(&buf); err != nil {
				t.Fatal(err)
			}
		}
		rec := batch(rows[b*bs : min((b+1)*bs, len(rows))])
		if err := op.Process(s.ctx(), rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := op.Advance(s.ctx(), time.UnixMilli(1<<40)); err != nil {
		t.Fatal(err)
	}
	return s
}

// referenceWindows computes TUMBLE/HOP results the slow way: each row
// goes to each of its windows that the watermark before it has not passed.
func referenceWindows(spec EventTimeSpec, rows []row) (out [][]any, late int) {
	size, slide := spec.Size.Milliseconds(), spec.Slide.Milliseconds()
	if spec.Kind == TumbleWindows {
		slide = size
	}
	type gk struct {
		start int64
		null  bool
		k     int64
	}
	type acc struct{ n, sum int64 }
	groups := map[gk]*acc{}
	wm, maxEv := int64(minTime), int64(minTime)
	for _, r := range rows {
		took := false
		for start := floorDiv(r.e, slide) * slide; start > r.e-size; start -= slide {
			if start+size <= wm {
				continue
			}
			key := gk{start: start, null: r.k == nil}
			if r.k != nil {
				key.k = *r.k
			}
			a := groups[key]
			if a == nil {
				a = &acc{}
				groups[key] = a
			}
			a.n++
			a.sum += *r.v
			took = true
		}
		if !took {
			late++
		}
		maxEv = max(maxEv, r.e)
		wm = max(wm, maxEv-spec.MaxOutOfOrderness.Milliseconds())
	}
	keys := make([]gk, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b gk) int {
		if a.start != b.start {
			return cmpInt(a.start, b.start)
		}
		if a.null != b.null {
			if a.null {
				return -1
			}
			return 1
		}
		return cmpInt(a.k, b.k)
	})
	for _, k := range keys {
		var kv any
		if !k.null {
			kv = k.k
		}
		a := groups[k]
		out = append(out, []any{k.start + size, k.start, k.start + size, kv, a.n, a.sum})
	}
	return out, late
}

func TestEventTimeMatchesReferenceForTumbleAndHop(t *testing.T) {
	for _, kind := range []EventTimeKind{TumbleWindows, HopWindows} {
		for seed := int64(1); seed <= 20; seed++ {
			rnd := rand.New(rand.NewSource(seed))
			ooo := time.Duration(rnd.Intn(3)*300) * time.Millisecond
			rows := randomEventRows(rnd, 300+rnd.Intn(300), int64(rnd.Intn(3)*500))
			spec := eventSpec(kind, ooo)
			want, late := referenceWindows(spec, rows)
			for _, bs := range []int{1, 7, 1000} {
				got := runEventTime(t, spec, rows, bs, -1)
				exactRows(t, fmt.Sprintf("%s seed %d batch %d", kind, seed, bs), got.rows, want)
				if len(got.errs) != late {
					t.Fatalf("%s seed %d: %d late rows, want %d", kind, seed, len(got.errs), late)
				}
			}
		}
	}
}

func TestEventTimeRestoreContinuesIdentically(t *testing.T) {
	for _, kind := range []EventTimeKind{TumbleWindows, HopWindows, SessionWindows} {
		for seed := int64(1); seed <= 10; seed++ {
			rnd := rand.New(rand.NewSource(seed))
			rows := randomEventRows(rnd, 400, 800)
			spec := eventSpec(kind, 300*time.Millisecond)
			want := runEventTime(t, spec, rows, 13, -1)
			got := runEventTime(t, spec, rows, 13, 1+rnd.Intn(25))
			exactRows(t, fmt.Sprintf("%s seed %d", kind, seed), got.rows, want.rows)
			if len(got.errs) != len(want.errs) {
				t.Fatalf("%s seed %d: %d errors after restore, want %d", kind, seed, len(got.errs), len(want.errs))
			}
		}
	}
}

func TestSessionWindowsMergeAndOrderByEnd(t *testing.T) {
	rows := []row{
		{t: 1, k: ip(1), v: ip(1), e: 0},
		{t: 2, k: ip(2), v: ip(2), e: 300},
		{t: 3, k: ip(1), v: ip(4), e: 1000},  // separate session for key 1
		{t: 4, k: ip(1), v: ip(8), e: 500},   // bridges [0,700) and [1000,1700)
		{t: 5, k: ip(2), v: ip(16), e: 5000}, // fires everything before
	}
	spec := eventSpec(SessionWindows, time.Second)
	got := runEventTime(t, spec, rows, 2, -1)
	want := [][]any{
		{int64(1000), int64(300), int64(1000), int64(2), int64(1), int64(2)},
		{int64(1700), int64(0), int64(1700), int64(1), int64(3), int64(13)},
		{int64(5700), int64(5000), int64(5700), int64(2), int64(1), int64(16)},
	}
	exactRows(t, "sessions", got.rows, want)
}

func BenchmarkEventTimeTumble1000Keys(b *testing.B) { benchEventTime(b, TumbleWindows) }
func BenchmarkEventTimeHop4x1000Keys(b *testing.B)  { benchEventTime(b, HopWindows) }
func BenchmarkEventTimeSession1000Keys(b *testing.B) {
	benchEventTime(b, SessionWindows)
}

// benchEventTime windows benchSchema's rows by their ROWTIME taken as the
// event time.
func benchEventTime(b *testing.B, kind EventTimeKind) {
	op, err := NewEventTime(EventTimeSpec{
		Input: benchSchema, Kind: kind, Time: col{0, types.TTimestamp},
		Size: time.Minute, Slide: 15 * time.Second, Gap: 10 * time.Second,
		Keys:              []expr.Expr{col{1, types.TBigInt}},
		Aggs:              []Aggregate{{Func: "COUNT"}, {Func: "SUM", Arg: col{2, types.TBigInt}}},
		MaxOutOfOrderness: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	op.SetEmit(func(arrow.Record) error { return nil })
	runBench(b, op)
}
