package join

import (
	"bytes"
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

var sideSchema = types.Schema{Fields: []types.Field{
	{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "K", Type: types.TInteger},
	{Name: "V", Type: types.TInteger},
}}

// trow is one input row of a side: V is unique, so it names the row.
type trow struct {
	t, v int64
	k    *int64
}

func sideBatch(rows []trow) arrow.Record {
	mem := memory.DefaultAllocator
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	kb := array.NewInt32Builder(mem)
	vb := array.NewInt32Builder(mem)
	defer tb.Release()
	defer kb.Release()
	defer vb.Release()
	for _, r := range rows {
		tb.Append(arrow.Timestamp(r.t))
		if r.k == nil {
			kb.AppendNull()
		} else {
			kb.Append(int32(*r.k))
		}
		vb.Append(int32(r.v))
	}
	cols := []arrow.Array{tb.NewArray(), kb.NewArray(), vb.NewArray()}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return array.NewRecord(sideSchema.Arrow(), cols, int64(len(rows)))
}

// outRow is an output row: ROWTIME and each side's V (-1 for NULL).
type outRow struct{ t, lv, rv int64 }

type collect struct {
	rows []outRow
	errs []operators.RowError
}

func (c *collect) RowError(e operators.RowError) { c.errs = append(c.errs, e) }

func (c *collect) emit(rec arrow.Record) error {
	ts := rec.Column(0).(*array.Timestamp)
	lv := rec.Column(2).(*array.Int32)
	rv := rec.Column(4).(*array.Int32)
	for i := 0; i < int(rec.NumRows()); i++ {
		r := outRow{t: int64(ts.Value(i)), lv: -1, rv: -1}
		if lv.IsValid(i) {
			r.lv = int64(lv.Value(i))
		}
		if rv.IsValid(i) {
			r.rv = int64(rv.Value(i))
		}
		c.rows = append(c.rows, r)
	}
	return nil
}

// reference joins the sides the slow way: rows in the join's processing
// order (ROWTIME, left before right, arrival), each against every earlier
// row of the other side. It returns the matched pairs in emission order
// and the preserved rows that end up NULL-extended.
func reference(spec StreamSpec, cond func(l, r trow) bool, sides [2][]trow) ([]outRow, map[int64]bool) {
	type ev struct {
		side, seq int
	}
	var order []ev
	for s := 0; s < 2; s++ {
		for i := range sides[s] {
			order = append(order, ev{s, i})
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := order[a], order[b]
		tx, ty := sides[x.side][x.seq].t, sides[y.side][y.seq].t
		if tx != ty {
			return tx < ty
		}
		return x.side < y.side
	})
	lo, hi := spec.Lo.Milliseconds(), spec.Hi.Milliseconds()
	rows := [2]int{spec.LeftRows, spec.RightRows}
	processed := [2]int{}
	matched := [2]map[int]bool{{}, {}}
	var pairs []outRow
	for _, e := range order {
		processed[e.side]++
		x := sides[e.side][e.seq]
		o := 1 - e.side
		for j := 0; j < processed[o]; j++ {
			y := sides[o][j]
			l, r := x, y
			if e.side == 1 {
				l, r = y, x
			}
			if l.k == nil || r.k == nil || *l.k != *r.k || !cond(l, r) {
				continue
			}
			d := l.t - r.t
			inRows := rows[o] >= 0 && j >= processed[o]-(rows[o]+1)
			if (d < lo || d > hi) && !inRows {
				continue
			}
			pairs = append(pairs, outRow{t: x.t, lv: l.v, rv: r.v})
			matched[e.side][e.seq], matched[o][j] = true, true
		}
	}
	nulls := map[int64]bool{}
	for s := 0; s < 2; s++ {
		outer := (s == 0 && (spec.Kind == LeftOuter || spec.Kind == FullOuter)) || (s == 1 && (spec.Kind == RightOuter || spec.Kind == FullOuter))
		if !outer {
			continue
		}
		for i, x := range sides[s] {
			if rows[s] >= 0 && i >= len(sides[s])-(rows[s]+1) {
				continue // still in its ROWS window: never known unmatched
			}
			if !matched[s][i] {
				nulls[x.v] = true
			}
		}
	}
	return pairs, nulls
}

// TestStreamJoinMatchesNestedLoops runs random joins — keys with NULLs,
// ties, time bounds, ROWS windows, outer kinds, a residual condition —
// with random batching, interleaving, heartbeats and a snapshot/restore,
// and compares with the nested-loop reference.
func TestStreamJoinMatchesNestedLoops(t *testing.T) {
	reg := expr.NewRegistry()
	totalPairs := 0
	defer func() { t.Logf("%d matched pairs checked", totalPairs) }()
	for iter := 0; iter < 400; iter++ {
		rng := rand.New(rand.NewSource(int64(iter)))
		spec := StreamSpec{Left: sideSchema, Right: sideSchema, Kind: Kind(rng.Intn(4)), LeftRows: -1, RightRows: -1,
			LeftKeys:  []expr.Expr{expr.Col(1, types.TInteger, "K")},
			RightKeys: []expr.Expr{expr.Col(1, types.TInteger, "K")}}
		lo, hi := -int64(rng.Intn(6)), int64(rng.Intn(6))
		if rng.Intn(5) == 0 { // an interval join that needs the left row later
			lo = int64(rng.Intn(4))
			hi = lo + int64(rng.Intn(4))
		}
		spec.Lo, spec.Hi = time.Duration(lo)*time.Millisecond, time.Duration(hi)*time.Millisecond
		if rng.Intn(3) == 0 {
			spec.LeftRows = rng.Intn(3)
		}
		if rng.Intn(3) == 0 {
			spec.RightRows = rng.Intn(3)
		}
		cond := func(l, r trow) bool { return true }
		if rng.Intn(2) == 0 {
			x, err := reg.Call("<", expr.Col(2, types.TInteger, "V"), expr.Col(4, types.TInteger, "V"))
			if err != nil {
				t.Fatal(err)
			}
			spec.Residual = x
			cond = func(l, r trow) bool { return l.v < r.v }
		}
		var sides [2][]trow
		v := int64(0)
		for s := 0; s < 2; s++ {
			tm := int64(0)
			for i := rng.Intn(40); i > 0; i-- {
				tm += int64(rng.Intn(4))
				v++
				r := trow{t: tm, v: v}
				if rng.Intn(6) > 0 {
					k := int64(rng.Intn(3))
					r.k = &k
				}
				sides[s] = append(sides[s], r)
			}
		}
		name := fmt.Sprintf("iter %d: %s [%d,%d] rows %d/%d residual %v", iter, spec.Kind, lo, hi, spec.LeftRows, spec.RightRows, spec.Residual != nil)
		got, err := runRandom(rng, spec, sides)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantPairs, wantNulls := reference(spec, cond, sides)
		var gotPairs []outRow
		last := int64(-1 << 62)
		for _, r := range got {
			if r.t < last {
				t.Fatalf("%s: output ROWTIME goes back from %d to %d", name, last, r.t)
			}
			last = r.t
			switch {
			case r.lv >= 0 && r.rv >= 0:
				gotPairs = append(gotPairs, r)
			case r.lv >= 0:
				if !wantNulls[r.lv] {
					t.Fatalf("%s: unexpected NULL-extended left row %d", name, r.lv)
				}
				delete(wantNulls, r.lv)
			default:
				if !wantNulls[r.rv] {
					t.Fatalf("%s: unexpected NULL-extended right row %d", name, r.rv)
				}
				delete(wantNulls, r.rv)
			}
		}
		if fmt.Sprint(gotPairs) != fmt.Sprint(wantPairs) {
			t.Fatalf("%s:\n got %v\nwant %v\nsides %v", name, gotPairs, wantPairs, sides)
		}
		totalPairs += len(gotPairs)
		if len(wantNulls) > 0 {
			t.Fatalf("%s: NULL-extended rows missing: %v", name, wantNulls)
		}
	}
}

// runRandom feeds the sides in random batches, interleaved at random, with
// heartbeats a side has earned, snapshots and restores halfway, and ends
// with a heartbeat at the end of time.
func runRandom(rng *rand.Rand, spec StreamSpec, sides [2][]trow) ([]outRow, error) {
	c := &collect{}
	ctx := &operators.Context{Mem: memory.DefaultAllocator, Errors: c}
	j, err := NewStream(spec)
	if err != nil {
		return nil, err
	}
	j.SetEmit(c.emit)
	pos := [2]int{}
	steps := 0
	restored := false
	for pos[0] < len(sides[0]) || pos[1] < len(sides[1]) {
		s := rng.Intn(2)
		if pos[s] == len(sides[s]) {
			s = 1 - s
		}
		n := 1 + rng.Intn(4)
		end := min(pos[s]+n, len(sides[s]))
		rec := sideBatch(sides[s][pos[s]:end])
		err := j.Input(s).Process(ctx, rec)
		rec.Release()
		if err != nil {
			return nil, err
		}
		pos[s] = end
		if rng.Intn(3) == 0 && pos[s] < len(sides[s]) {
			if err := j.Input(s).Advance(ctx, time.UnixMilli(sides[s][pos[s]].t)); err != nil {
				return nil, err
			}
		}
		steps++
		if !restored && steps == 3 {
			restored = true
			var buf bytes.Buffer
			if err := j.Snapshot(&buf); err != nil {
				return nil, err
			}
			j2, err := NewStream(spec)
			if err != nil {
				return nil, err
			}
			if err := j2.Restore(&buf); err != nil {
				return nil, err
			}
			j2.SetEmit(c.emit)
			j = j2
		}
	}
	if err := j.Advance(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return nil, err
	}
	if len(c.errs) > 0 {
		return nil, fmt.Errorf("row errors: %+v", c.errs)
	}
	return c.rows, nil
}

// TestStreamJoinLateRow: a row earlier than what the join has processed
// goes to error_stream as LATE_ROW, and the join goes on.
func TestStreamJoinLateRow(t *testing.T) {
	spec := StreamSpec{Left: sideSchema, Right: sideSchema, Kind: Inner, LeftRows: -1, RightRows: -1, Hi: 10 * time.Millisecond,
		LeftKeys: []expr.Expr{expr.Col(1, types.TInteger, "K")}, RightKeys: []expr.Expr{expr.Col(1, types.TInteger, "K")}}
	j, err := NewStream(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &collect{}
	j.SetEmit(c.emit)
	ctx := &operators.Context{Errors: c, Pump: "P"}
	k := int64(1)
	feed := func(side int, ts ...int64) {
		var rows []trow
		for _, x := range ts {
			rows = append(rows, trow{t: x, k: &k, v: x})
		}
		rec := sideBatch(rows)
		defer rec.Release()
		if err := j.Input(side).Process(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	feed(1, 5)
	if err := j.Advance(ctx, time.UnixMilli(20)); err != nil {
		t.Fatal(err)
	}
	feed(0, 3)  // late: the join has processed every instant before 20
	feed(0, 21) // matches nothing: the right row at 5 is 16 ms older
	feed(0, 22)
	feed(1, 22)
	if err := j.Advance(ctx, time.UnixMilli(100)); err != nil {
		t.Fatal(err)
	}
	if len(c.errs) != 1 || c.errs[0].Name != "LATE_ROW" || c.errs[0].Pump != "P" {
		t.Fatalf("errors: %+v", c.errs)
	}
	if fmt.Sprint(c.rows) != "[{22 22 22}]" {
		t.Fatalf("rows: %v", c.rows)
	}
}
