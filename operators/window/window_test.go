package window

import (
	"bytes"
	"fmt"
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

func ms(hms string) int64 {
	t, err := time.Parse("2006-01-02 15:04:05", "2024-01-01 "+hms)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// minuteOf is FLOOR(EVENT_TIME TO MINUTE).
var minuteOf = floorTo{i: 6, width: time.Minute}

func TestStaggerReproducesTheDeveloperGuideExample(t *testing.T) {
	s := &sink{}
	op, err := NewStagger(StaggerSpec{
		Input:       testSchema,
		PartitionBy: []expr.Expr{minuteOf, cS},
		Range:       time.Minute,
		Aggs:        []Aggregate{{Func: "COUNT", Arg: cS}},
		Names:       []string{"EVENT_MINUTE", "TICKER_SYMBOL", "TICKER_COUNT"},
	})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	ctx := s.ctx()
	for _, r := range []row{
		{t: ms("11:00:20"), e: ms("11:00:10"), s: sp("AMZN")},
		{t: ms("11:00:30"), e: ms("11:00:20"), s: sp("AMZN")},
		{t: ms("11:01:05"), e: ms("11:00:55"), s: sp("AMZN")},
		{t: ms("11:01:15"), e: ms("11:01:05"), s: sp("AMZN")},
	} {
		rec := batch([]row{r})
		if err := op.Process(ctx, rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if len(s.rows) != 0 {
		t.Fatalf("emitted before any window closed: %v", s.rows)
	}
	if err := op.Advance(ctx, time.UnixMilli(ms("11:01:20"))); err != nil {
		t.Fatal(err)
	}
	exactRows(t, "at 11:01:20", s.rows, [][]any{{ms("11:01:20"), ms("11:00:00"), "AMZN", int64(3)}})
	if err := op.Advance(ctx, time.UnixMilli(ms("11:02:15"))); err != nil {
		t.Fatal(err)
	}
	exactRows(t, "at 11:02:15", s.rows, [][]any{
		{ms("11:01:20"), ms("11:00:00"), "AMZN", int64(3)},
		{ms("11:02:15"), ms("11:01:00"), "AMZN", int64(1)},
	})
}

func TestTumblingEmitsOneRowPerGroupWhenStreamTimePassesTheWindowEnd(t *testing.T) {
	s := &sink{}
	op, err := NewTumbling(TumblingSpec{
		Input:     testSchema,
		WindowKey: floorTo{i: 0, width: time.Minute},
		Width:     time.Minute,
		Keys:      []expr.Expr{cS},
		Aggs:      []Aggregate{{Func: "COUNT"}, {Func: "SUM", Arg: cV}, {Func: "AVG", Arg: cV}},
	})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	ctx := s.ctx()
	rec := batch([]row{
		{t: ms("11:00:20"), s: sp("b"), v: ip(1)},
		{t: ms("11:00:30"), s: sp("a"), v: ip(2)},
		{t: ms("11:00:40"), v: ip(4)},
		{t: ms("11:00:59"), s: sp("b"), v: nil},
		{t: ms("11:01:00"), s: sp("a"), v: ip(8)},
	})
	defer rec.Release()
	if err := op.Process(ctx, rec); err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{ms("11:01:00"), ms("11:00:00"), nil, int64(1), int64(4), 4.0},
		{ms("11:01:00"), ms("11:00:00"), "a", int64(1), int64(2), 2.0},
		{ms("11:01:00"), ms("11:00:00"), "b", int64(2), int64(1), 1.0},
	}
	exactRows(t, "first minute", s.rows, want)
	// An idle stream: the heartbeat closes the second minute.
	if err := op.Advance(ctx, time.UnixMilli(ms("11:01:59"))); err != nil {
		t.Fatal(err)
	}
	exactRows(t, "before the end", s.rows, want)
	if err := op.Advance(ctx, time.UnixMilli(ms("11:02:00"))); err != nil {
		t.Fatal(err)
	}
	want = append(want, []any{ms("11:02:00"), ms("11:01:00"), "a", int64(1), int64(8), 8.0})
	exactRows(t, "second minute", s.rows, want)
}

func TestTumblingOnANonTimeKeyClosesWhenTheKeyGrows(t *testing.T) {
	s := &sink{}
	op, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: cK, Aggs: []Aggregate{{Func: "COUNT"}}})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	rec := batch([]row{{t: 1, k: ip(1)}, {t: 2, k: ip(1)}, {t: 5, k: ip(3)}, {t: 6, k: ip(2)}, {t: 9, k: ip(4)}})
	defer rec.Release()
	if err := op.Process(s.ctx(), rec); err != nil {
		t.Fatal(err)
	}
	exactRows(t, "output", s.rows, [][]any{{int64(5), int64(1), int64(2)}, {int64(9), int64(3), int64(1)}})
	if len(s.errs) != 1 || s.errs[0].Name != "LATE_ROW" {
		t.Fatalf("the row going back to key 2 should be a LATE_ROW error, got %+v", s.errs)
	}
}

func TestRowsThatFailToEvaluateGoToTheErrorStream(t *testing.T) {
	s := &sink{}
	op, err := NewSliding(SlidingSpec{
		Input: testSchema, PartitionBy: []expr.Expr{cK}, Range: time.Minute,
		Aggs: []Aggregate{{Func: "SUM", Arg: failOn{cV, 13}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	rec := batch([]row{{t: 1, k: ip(1), v: ip(1)}, {t: 2, k: ip(1), v: ip(13)}, {t: 3, k: ip(1), v: ip(2)}})
	defer rec.Release()
	if err := op.Process(s.ctx(), rec); err != nil {
		t.Fatal(err)
	}
	if len(s.rows) != 2 || s.rows[1][7] != int64(3) {
		t.Fatalf("rows: %v", s.rows)
	}
	if len(s.errs) != 1 || s.errs[0].Name != "DIVISION_BY_ZERO" || s.errs[0].DataRowtime.UnixMilli() != 2 {
		t.Fatalf("errors: %+v", s.errs)
	}
}

func TestSpecsAreValidated(t *testing.T) {
	for name, build := range map[string]func() error{
		"unknown function": func() error {
			_, err := NewSliding(SlidingSpec{Input: testSchema, Range: time.Second, Aggs: []Aggregate{{Func: "MEDIAN", Arg: cV}}})
			return err
		},
		"SUM of a string": func() error {
			_, err := NewStagger(StaggerSpec{Input: testSchema, Range: time.Second, Aggs: []Aggregate{{Func: "SUM", Arg: cS}}})
			return err
		},
		"EXP_AVG without half-life": func() error {
			_, err := NewStagger(StaggerSpec{Input: testSchema, Range: time.Second, Aggs: []Aggregate{{Func: "EXP_AVG", Arg: cF}}})
			return err
		},
		"time width on an integer key": func() error {
			_, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: cK, Width: time.Second})
			return err
		},
		"no range": func() error {
			_, err := NewSliding(SlidingSpec{Input: testSchema})
			return err
		},
		"input without ROWTIME": func() error {
			_, err := NewStagger(StaggerSpec{Input: types.Schema{}, Range: time.Second})
			return err
		},
	} {
		if build() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestResultTypes(t *testing.T) {
	for _, c := range []struct {
		fn   string
		arg  types.Type
		want types.Kind
	}{
		{"SUM", types.TInteger, types.BigInt}, {"SUM", types.TReal, types.Double}, {"AVG", types.TInteger, types.Double},
		{"MIN", types.VarcharOf(4), types.Varchar}, {"MAX", types.TTimestamp, types.Timestamp},
		{"COUNT", types.TDouble, types.BigInt}, {"EVERY", types.TBoolean, types.Boolean}, {"stddev_samp", types.TBigInt, types.Double},
	} {
		got, err := ResultType(c.fn, c.arg)
		if err != nil || got.Kind != c.want {
			t.Errorf("ResultType(%s, %s) = %s, %v; want %s", c.fn, c.arg, got, err, c.want)
		}
	}
}

// ---- randomized differential tests ----

type event struct {
	rows    []row
	advance int64 // 0: none
}

func genStream(rnd *rand.Rand, n int, strKeys bool) []event {
	t := int64(1_700_000_000_000)
	var rows []row
	for i := 0; i < n; i++ {
		switch x := rnd.Intn(20); {
		case x < 4:
		case x < 19:
			t += int64(rnd.Intn(4000))
		default:
			t += int64(60_000 + rnd.Intn(150_000))
		}
		r := row{t: t, e: t - int64(rnd.Intn(90_000))}
		if rnd.Intn(10) > 0 {
			r.k = ip(int64(rnd.Intn(5)))
		}
		if rnd.Intn(8) > 0 {
			r.s = sp([]string{"a", "b", "cc", "d"}[rnd.Intn(4)])
			if !strKeys && rnd.Intn(2) == 0 {
				r.s = sp(fmt.Sprintf("s%d", rnd.Intn(50)))
			}
		}
		if rnd.Intn(6) > 0 {
			r.v = ip(int64(rnd.Intn(26) - 5))
		}
		if rnd.Intn(6) > 0 {
			r.f = fp(float64(rnd.Intn(80)-20) / 4)
		}
		if rnd.Intn(5) > 0 {
			r.b = bp(rnd.Intn(3) > 0)
		}
		rows = append(rows, r)
	}
	var evs []event
	for len(rows) > 0 {
		k := 1 + rnd.Intn(min(len(rows), 25))
		evs = append(evs, event{rows: rows[:k]})
		rows = rows[k:]
		if rnd.Intn(3) == 0 {
			last := evs[len(evs)-1].rows[k-1].t
			gap := int64(1 + rnd.Intn(100_000))
			if len(rows) > 0 {
				gap = rows[0].t - last
			}
			evs = append(evs, event{advance: last + rnd.Int63n(gap+1)})
		}
	}
	return evs
}

// drive runs the events through the operator that build returns; at event
// snapAt it snapshots, restores into a fresh operator and goes on with it.
func drive(t *testing.T, build func() operators.Stateful, evs []event, snapAt int) *sink {
	t.Helper()
	s := &sink{}
	ctx := s.ctx()
	op := build()
	op.(interface{ SetEmit(operators.Emit) }).SetEmit(s.emit)
	for i, ev := range evs {
		if i == snapAt {
			var buf bytes.Buffer
			if err := op.Snapshot(&buf); err != nil {
				t.Fatal(err)
			}
			op = build()
			op.(interface{ SetEmit(operators.Emit) }).SetEmit(s.emit)
			if err := op.Restore(&buf); err != nil {
				t.Fatal(err)
			}
		}
		if ev.rows != nil {
			rec := batch(ev.rows)
			err := op.Process(ctx, rec)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
		} else if err := op.Advance(ctx, time.UnixMilli(ev.advance)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func allRows(evs []event) []row {
	var rows []row
	for _, ev := range evs {
		rows = append(rows, ev.rows...)
	}
	return rows
}

func streamTime(evs []event) int64 {
	var now int64
	for _, ev := range evs {
		if ev.advance > now {
			now = ev.advance
		}
		if n := len(ev.rows); n > 0 && ev.rows[n-1].t > now {
			now = ev.rows[n-1].t
		}
	}
	return now
}

// keyOf is the grouping key of r as comparable values (K, then S if used).
type gkey struct {
	k    *int64
	s    *string
	useS bool
}

func (g gkey) id() string {
	a, b := "null", "null"
	if g.k != nil {
		a = fmt.Sprint(*g.k)
	}
	if g.s != nil {
		b = *g.s
	}
	return a + "|" + b
}

func cmpKey(x, y gkey) int {
	if c := cmpNullable(x.k, y.k); c != 0 {
		return c
	}
	return cmpNullable(x.s, y.s)
}

func cmpNullable[T int64 | string](a, b *T) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	case *a < *b:
		return -1
	case *a > *b:
		return 1
	}
	return 0
}

func keyValues(g gkey) []any {
	var out []any
	if g.k != nil {
		out = append(out, *g.k)
	} else {
		out = append(out, nil)
	}
	if g.useS {
		if g.s != nil {
			out = append(out, *g.s)
		} else {
			out = append(out, nil)
		}
	}
	return out
}

func mkKey(r row, useS bool) gkey {
	g := gkey{k: r.k, useS: useS}
	if useS {
		g.s = r.s
	}
	return g
}

func keyExprs(useS bool) []expr.Expr {
	if useS {
		return []expr.Expr{cK, cS}
	}
	return []expr.Expr{cK}
}

func TestTumblingMatchesAReferenceOnRandomStreams(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		useS := seed%2 == 0
		failing := seed%3 == 0
		aggs := withFailures(allAggs, failing)
		width := time.Duration(1+rnd.Intn(90)) * time.Second
		evs := genStream(rnd, 200+rnd.Intn(300), true)
		build := func() operators.Stateful {
			op, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: floorTo{0, width}, Width: width,
				Keys: keyExprs(useS), Aggs: specs(aggs)})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}
		// Reference: group by (window start, keys); emit the windows whose
		// end is at or before the final stream time, by end then key.
		w := width.Milliseconds()
		type grp struct {
			start int64
			key   gkey
			rows  []row
		}
		groups := map[string]*grp{}
		for _, r := range allRows(evs) {
			if fails(r, failing) {
				continue
			}
			st := floorDiv(r.t, w) * w
			g := mkKey(r, useS)
			id := fmt.Sprint(st, g.id())
			if groups[id] == nil {
				groups[id] = &grp{start: st, key: g}
			}
			groups[id].rows = append(groups[id].rows, r)
		}
		var list []*grp
		now := streamTime(evs)
		for _, g := range groups {
			if g.start+w <= now {
				list = append(list, g)
			}
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].start != list[j].start {
				return list[i].start < list[j].start
			}
			return cmpKey(list[i].key, list[j].key) < 0
		})
		var want [][]any
		for _, g := range list {
			r := append([]any{g.start + w, g.start}, keyValues(g.key)...)
			for _, a := range aggs {
				r = append(r, a.eval(g.rows))
			}
			want = append(want, r)
		}
		got := drive(t, build, evs, -1)
		sameRows(t, fmt.Sprintf("seed %d", seed), got.rows, want)
		if n := countFailures(allRows(evs), failing); len(got.errs) != n {
			t.Fatalf("seed %d: %d error rows, want %d", seed, len(got.errs), n)
		}
		snap := drive(t, build, evs, rnd.Intn(len(evs)))
		exactRows(t, fmt.Sprintf("seed %d restored", seed), snap.rows, got.rows)
	}
}

func TestStaggerMatchesAReferenceOnRandomStreams(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		useS := seed%2 == 1
		failing := seed%3 == 0
		aggs := withFailures(allAggs, failing)
		rng := time.Duration(1+rnd.Intn(90)) * time.Second
		evs := genStream(rnd, 200+rnd.Intn(300), true)
		build := func() operators.Stateful {
			op, err := NewStagger(StaggerSpec{Input: testSchema, PartitionBy: keyExprs(useS), Range: rng, Aggs: specs(aggs)})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}
		type win struct {
			open int64
			key  gkey
			rows []row
		}
		R := rng.Milliseconds()
		open := map[string]*win{}
		var done []*win
		for _, r := range allRows(evs) {
			if fails(r, failing) {
				continue
			}
			g := mkKey(r, useS)
			w := open[g.id()]
			if w == nil || w.open+R <= r.t {
				if w != nil {
					done = append(done, w)
				}
				w = &win{open: r.t, key: g}
				open[g.id()] = w
			}
			w.rows = append(w.rows, r)
		}
		now := streamTime(evs)
		for _, w := range open {
			if w.open+R <= now {
				done = append(done, w)
			}
		}
		sort.Slice(done, func(i, j int) bool {
			if done[i].open != done[j].open {
				return done[i].open < done[j].open
			}
			return cmpKey(done[i].key, done[j].key) < 0
		})
		var want [][]any
		for _, w := range done {
			r := append([]any{w.open + R}, keyValues(w.key)...)
			for _, a := range aggs {
				r = append(r, a.eval(w.rows))
			}
			want = append(want, r)
		}
		got := drive(t, build, evs, -1)
		sameRows(t, fmt.Sprintf("seed %d", seed), got.rows, want)
		if n := countFailures(allRows(evs), failing); len(got.errs) != n {
			t.Fatalf("seed %d: %d error rows, want %d", seed, len(got.errs), n)
		}
		snap := drive(t, build, evs, rnd.Intn(len(evs)))
		exactRows(t, fmt.Sprintf("seed %d restored", seed), snap.rows, got.rows)
	}
}

func TestSlidingMatchesAReferenceOnRandomStreams(t *testing.T) {
	for seed := int64(1); seed <= 60; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		useS := seed%3 == 0
		isRows := seed%2 == 0
		failing := seed%5 == 0
		aggs := withFailures(allAggs, failing)
		rng := time.Duration(1+rnd.Intn(60)) * time.Second
		nrows := rnd.Intn(12)
		evs := genStream(rnd, 200+rnd.Intn(300), useS)
		build := func() operators.Stateful {
			op, err := NewSliding(SlidingSpec{Input: testSchema, PartitionBy: keyExprs(useS), Range: rng,
				Rows: nrows, IsRows: isRows, Aggs: specs(aggs)})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}
		rows := allRows(evs)
		var want [][]any
		for i, r := range rows {
			if fails(r, failing) {
				continue
			}
			g := mkKey(r, useS)
			var win []row
			for j := 0; j <= i; j++ {
				if !fails(rows[j], failing) && mkKey(rows[j], useS).id() == g.id() && (isRows || rows[j].t > r.t-rng.Milliseconds()) {
					win = append(win, rows[j])
				}
			}
			if isRows && len(win) > nrows+1 {
				win = win[len(win)-nrows-1:]
			}
			out := []any{r.t, ptrVal(r.k), ptrVal(r.s), ptrVal(r.v), ptrVal(r.f), ptrVal(r.b), r.e}
			for _, a := range aggs {
				out = append(out, a.eval(win))
			}
			want = append(want, out)
		}
		got := drive(t, build, evs, -1)
		sameRows(t, fmt.Sprintf("seed %d", seed), got.rows, want)
		if n := countFailures(allRows(evs), failing); len(got.errs) != n {
			t.Fatalf("seed %d: %d error rows, want %d", seed, len(got.errs), n)
		}
		snap := drive(t, build, evs, rnd.Intn(len(evs)))
		exactRows(t, fmt.Sprintf("seed %d restored", seed), snap.rows, got.rows)
	}
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestTwoSlidingWindowsChain(t *testing.T) {
	s := &sink{}
	w1, err := NewSliding(SlidingSpec{Input: testSchema, PartitionBy: []expr.Expr{cK}, IsRows: true, Rows: 1,
		Aggs: []Aggregate{{Func: "SUM", Arg: cV}}, Names: []string{"SUM2"}})
	if err != nil {
		t.Fatal(err)
	}
	w2, err := NewSliding(SlidingSpec{Input: w1.Schema(), PartitionBy: []expr.Expr{cK}, Range: time.Minute,
		Aggs: []Aggregate{{Func: "MAX", Arg: col{7, types.TBigInt}}}, Names: []string{"MAX_SUM2"}})
	if err != nil {
		t.Fatal(err)
	}
	w1.SetEmit(func(rec arrow.Record) error { return w2.Process(s.ctx(), rec) })
	w2.SetEmit(s.emit)
	rec := batch([]row{{t: 1, k: ip(1), v: ip(5)}, {t: 2, k: ip(1), v: ip(1)}, {t: 3, k: ip(1), v: ip(1)}})
	defer rec.Release()
	if err := w1.Process(s.ctx(), rec); err != nil {
		t.Fatal(err)
	}
	var got []any
	for _, r := range s.rows {
		got = append(got, r[7], r[8])
	}
	exactRows(t, "chained", [][]any{got}, [][]any{{int64(5), int64(5), int64(6), int64(6), int64(2), int64(6)}})
}

func TestSlidingReclaimsPartitionsWhoseRowsHaveAllExpired(t *testing.T) {
	s := &sink{}
	op, err := NewSliding(SlidingSpec{Input: testSchema, PartitionBy: []expr.Expr{cK}, Range: time.Second,
		Aggs: []Aggregate{{Func: "COUNT"}}})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	for i := int64(0); i < 1000; i++ {
		rec := batch([]row{{t: i * 100, k: ip(i / 20)}}) // a new key every 2 seconds
		if err := op.Process(s.ctx(), rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	live := 0
	for _, p := range op.parts {
		if p != nil {
			live++
		}
	}
	if live > 2 || len(op.parts) > 3 {
		t.Fatalf("%d live partitions in %d slots; idle ones should be reclaimed", live, len(op.parts))
	}
	if last := s.rows[len(s.rows)-1]; last[len(last)-1] != int64(10) {
		t.Fatalf("last row %v, want a count of 10", last)
	}
}

// rowtimeDiv is MONOTONIC(FLOOR(UNIX_TIMESTAMP(ROWTIME) / div)), a BIGINT key.
type rowtimeDiv struct{ div int64 }

func (r rowtimeDiv) Type() types.Type { return types.TBigInt }
func (r rowtimeDiv) String() string   { return fmt.Sprintf("ROWTIME/%d", r.div) }
func (r rowtimeDiv) Eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, error) {
	ts := rec.Column(0).(*array.Timestamp)
	b := array.NewInt64Builder(ec.Mem)
	defer b.Release()
	for _, v := range ts.TimestampValues() {
		b.Append(floorDiv(int64(v), r.div))
	}
	return b.NewArray(), nil
}

func TestTumblingOnAMonotonicIntegerKeyMatchesAReference(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		div := int64(1000 * (1 + rnd.Intn(60)))
		evs := genStream(rnd, 300, true)
		build := func() operators.Stateful {
			op, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: rowtimeDiv{div}, Keys: []expr.Expr{cS}, Aggs: specs(allAggs)})
			if err != nil {
				t.Fatal(err)
			}
			return op
		}
		// Reference: a key's groups close at the first row with a greater
		// key, taking its ROWTIME; heartbeats close nothing.
		var want [][]any
		rows := allRows(evs)
		for i := 0; i < len(rows); {
			k := floorDiv(rows[i].t, div)
			j := i
			for j < len(rows) && floorDiv(rows[j].t, div) == k {
				j++
			}
			if j == len(rows) {
				break
			}
			groups := map[string][]row{}
			var keys []gkey
			for _, r := range rows[i:j] {
				g := gkey{s: r.s, useS: true}
				if groups[g.id()] == nil {
					keys = append(keys, g)
				}
				groups[g.id()] = append(groups[g.id()], r)
			}
			sort.Slice(keys, func(a, b int) bool { return cmpNullable(keys[a].s, keys[b].s) < 0 })
			for _, g := range keys {
				out := []any{rows[j].t, k, ptrVal(g.s)}
				for _, a := range allAggs {
					out = append(out, a.eval(groups[g.id()]))
				}
				want = append(want, out)
			}
			i = j
		}
		got := drive(t, build, evs, -1)
		sameRows(t, fmt.Sprintf("seed %d", seed), got.rows, want)
		snap := drive(t, build, evs, rnd.Intn(len(evs)))
		exactRows(t, fmt.Sprintf("seed %d restored", seed), snap.rows, got.rows)
	}
}
