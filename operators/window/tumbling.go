package window

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// TumblingSpec describes a streaming GROUP BY (KDA-SQL.md §2.2).
type TumblingSpec struct {
	Input types.Schema
	// WindowKey is the monotonic GROUP BY key, e.g. STEP(ROWTIME BY
	// INTERVAL '1' MINUTE): its value is the window's start. A TIMESTAMP
	// with Width > 0, or an integer or TIMESTAMP with Width == 0.
	WindowKey expr.Expr
	// Width is the window length. 0 means the key is not time-based
	// (MONOTONIC(expr)): a window closes when a row with a greater key
	// arrives.
	Width time.Duration
	// Keys are the other GROUP BY keys; NULLs group together.
	Keys []expr.Expr
	Aggs []Aggregate
	// Names optionally names the output columns after ROWTIME: the window
	// key, the keys, the aggregates. Default WINDOW_KEY, KEY_1..., AGG_1...
	Names []string
}

// Tumbling is the operator NewTumbling builds. Its output rows are
// (ROWTIME, window key, keys..., aggregates...), one per (window, keys)
// group, emitted once when the window closes: with Width > 0 when stream
// time (a row's ROWTIME or an Advance) reaches key + Width, which is the
// row's ROWTIME; with Width == 0 when a row with a greater key arrives, whose
// ROWTIME the row takes. Rows come out in ROWTIME order, then key order
// (NULLs first). A row whose window has already closed (the key went
// backwards) goes to error_stream as LATE_ROW.
type Tumbling struct {
	relational.Out
	spec   TumblingSpec
	width  int64
	schema types.Schema
	arrow  *arrow.Schema
	keys   *keyCols
	aggs   *aggSet
	ids    ids
	open   []*twin // by key; ends are increasing too
	pool   []groupTable
	closed bool  // some window has closed
	last   int64 // the key of the last closed window
	cur    *twin
	alloc  func(row int) int32
	out    *staged

	// scratch for one batch
	rt   []int64
	wk   vec
	gids []int32
	errs expr.RowErrors
}

type twin struct {
	key, end int64
	table    groupTable
	groups   []int32
}

// NewTumbling validates spec and builds the operator.
func NewTumbling(spec TumblingSpec) (*Tumbling, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("tumbling window: %w", err)
	}
	if spec.WindowKey == nil {
		return nil, fmt.Errorf("tumbling window: no monotonic window key")
	}
	wt := spec.WindowKey.Type()
	switch {
	case spec.Width < 0:
		return nil, fmt.Errorf("tumbling window: negative width %s", spec.Width)
	case spec.Width > 0 && wt.Kind != types.Timestamp:
		return nil, fmt.Errorf("tumbling window: a %s window needs a TIMESTAMP key, got %s %s", spec.Width, spec.WindowKey, wt)
	case spec.Width > 0 && spec.Width%time.Millisecond != 0:
		return nil, fmt.Errorf("tumbling window: width %s is not a whole number of milliseconds", spec.Width)
	case !wt.IsInteger() && wt.Kind != types.Timestamp:
		return nil, fmt.Errorf("tumbling window: monotonic key %s is %s, not an integer or TIMESTAMP", spec.WindowKey, wt)
	}
	t := &Tumbling{spec: spec, width: spec.Width.Milliseconds()}
	var err error
	if t.keys, err = newKeyCols(spec.Keys); err != nil {
		return nil, fmt.Errorf("tumbling window: %w", err)
	}
	if t.aggs, err = newAggSet(spec.Aggs); err != nil {
		return nil, fmt.Errorf("tumbling window: %w", err)
	}
	defaults := []string{"WINDOW_KEY"}
	outTypes := []types.Type{{Kind: types.Timestamp, NotNull: true}, wt.Nullable()}
	for i := range spec.Keys {
		defaults = append(defaults, fmt.Sprintf("KEY_%d", i+1))
		outTypes = append(outTypes, t.keys.types[i].Nullable())
	}
	for i, p := range t.aggs.plans {
		defaults = append(defaults, fmt.Sprintf("AGG_%d", i+1))
		outTypes = append(outTypes, p.out)
	}
	names, err := outputNames(spec.Names, defaults)
	if err != nil {
		return nil, fmt.Errorf("tumbling window: %w", err)
	}
	t.schema.Fields = append(t.schema.Fields, types.Field{Name: types.RowtimeName, Type: outTypes[0]})
	for i, n := range names {
		t.schema.Fields = append(t.schema.Fields, types.Field{Name: n, Type: outTypes[i+1]})
	}
	t.arrow = t.schema.Arrow()
	if t.out, err = newStaged(outTypes); err != nil {
		return nil, fmt.Errorf("tumbling window: %w", err)
	}
	t.wk.p = pInt
	t.alloc = func(row int) int32 {
		g, fresh := t.ids.get()
		if fresh {
			t.aggs.grow(int(g) + 1)
		}
		t.keys.keep(g, row)
		t.cur.groups = append(t.cur.groups, g)
		return g
	}
	return t, nil
}

// Schema implements operators.Operator.
func (t *Tumbling) Schema() types.Schema { return t.schema }

// Process implements operators.Operator.
func (t *Tumbling) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	var err error
	if t.rt, err = rowtimes(rec, t.rt); err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	t.errs.Reset()
	ec := ctx.Eval(&t.errs)
	arr, err := t.spec.WindowKey.Eval(ec, rec)
	if err != nil {
		return fmt.Errorf("tumbling window: evaluate %s: %w", t.spec.WindowKey, err)
	}
	err = t.wk.load(arr)
	arr.Release()
	if err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	if err := t.keys.eval(ec, rec); err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	if err := evalArgs(ec, rec, t.aggs.plans, t.aggs.args); err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	if err := t.aggs.evalUser(ec, rec); err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	t.gids = grow(t.gids, n)
	markFailed(ctx, rec, &t.errs, t.gids)

	rt, wk, ok, gids := t.rt, t.wk.i, t.wk.ok, t.gids
	seg := 0
	t.cur = nil
	for i := 0; i < n; i++ {
		now := rt[i]
		if t.width > 0 && len(t.open) > 0 && t.open[0].end <= now {
			// Stream time passes the end of a window (failed rows count:
			// their ROWTIME is still known).
			t.flushSeg(seg, i)
			seg, t.cur = i, nil
			t.closeUntil(func(w *twin) bool { return w.end <= now }, -1)
		}
		if gids[i] < 0 {
			continue
		}
		if !ok[i] {
			t.late(ctx, rec, i, "NULL_WINDOW_KEY", "the monotonic window key is NULL")
			gids[i] = -1
			continue
		}
		k := wk[i]
		if t.cur != nil && t.cur.key == k {
			continue
		}
		t.flushSeg(seg, i)
		seg = i
		if t.width == 0 && len(t.open) > 0 && t.open[0].key < k {
			t.closeUntil(func(w *twin) bool { return w.key < k }, now)
		}
		backwards := t.width == 0 && len(t.open) > 0 && k < t.open[len(t.open)-1].key
		if backwards || (t.closed && k <= t.last) || (t.width > 0 && k+t.width <= now) {
			t.late(ctx, rec, i, "LATE_ROW", fmt.Sprintf("its window (key %d) has already closed", k))
			gids[i] = -1
			t.cur = nil
			continue
		}
		t.cur = t.window(k)
	}
	t.flushSeg(seg, n)
	t.cur = nil
	t.aggs.finish(ctx, rec, t.rt, t.rt[n-1])
	return t.out.flush(ctx, t.arrow, &t.Out)
}

// late reports row i, which no window can take, to error_stream.
func (t *Tumbling) late(ctx *operators.Context, rec arrow.Record, i int, name, why string) {
	if ctx == nil || ctx.Errors == nil {
		return
	}
	tm := time.UnixMilli(t.rt[i]).UTC()
	ctx.Errors.RowError(operators.RowError{
		Time: tm, Level: "ERROR", Name: name, Message: "row dropped: " + why,
		DataRowtime: tm, DataRow: operators.RowJSON(rec, i), Pump: ctx.Pump,
	})
}

// flushSeg aggregates rows [lo, hi), which all belong to t.cur.
func (t *Tumbling) flushSeg(lo, hi int) {
	if t.cur == nil || lo >= hi {
		return
	}
	t.cur.table.assign(t.keys, lo, hi, t.gids, t.alloc)
	t.aggs.update(t.rt, t.gids, lo, hi)
}

// window finds or opens the window of key k.
func (t *Tumbling) window(k int64) *twin {
	for j := len(t.open) - 1; j >= 0; j-- {
		if t.open[j].key == k {
			return t.open[j]
		}
		if t.open[j].key < k {
			break
		}
	}
	w := &twin{key: k, end: k + t.width}
	if n := len(t.pool); n > 0 {
		w.table, t.pool = t.pool[n-1], t.pool[:n-1]
	} else {
		w.table = newGroupTable(t.keys)
	}
	j, _ := slices.BinarySearchFunc(t.open, k, func(w *twin, k int64) int { return cmpInt(w.key, k) })
	t.open = slices.Insert(t.open, j, w)
	return w
}

// closeUntil closes the leading open windows for which done holds, staging
// their rows with ROWTIME rowtime (-1: the window end).
func (t *Tumbling) closeUntil(done func(*twin) bool, rowtime int64) {
	for len(t.open) > 0 && done(t.open[0]) {
		w := t.open[0]
		t.open = t.open[1:]
		ot := rowtime
		if ot < 0 {
			ot = w.end
		}
		t.keys.sortGroups(w.groups)
		for _, g := range w.groups {
			t.stage(ot, w.key, g)
		}
		for _, g := range w.groups {
			t.aggs.clear(g)
			t.ids.put(g)
		}
		w.table.clear()
		t.pool = append(t.pool, w.table)
		t.closed, t.last = true, w.key
	}
}

func (t *Tumbling) stage(rowtime, key int64, g int32) {
	c := t.out.cols
	c[0].i, c[0].ok = append(c[0].i, rowtime), append(c[0].ok, true)
	c[1].i, c[1].ok = append(c[1].i, key), append(c[1].ok, true)
	nk := len(t.keys.store)
	for k := 0; k < nk; k++ {
		c[2+k].appendFrom(&t.keys.store[k], int(g))
	}
	for k, a := range t.aggs.accs {
		a.result(&c[2+nk+k], g, rowtime)
	}
}

// Advance implements operators.Operator: time-based windows that end at or
// before now close and emit.
func (t *Tumbling) Advance(ctx *operators.Context, now time.Time) error {
	if t.width == 0 {
		return nil
	}
	ms := now.UnixMilli()
	t.closeUntil(func(w *twin) bool { return w.end <= ms }, -1)
	t.aggs.finish(ctx, nil, nil, ms)
	return t.out.flush(ctx, t.arrow, &t.Out)
}

// Snapshot implements operators.Stateful.
func (t *Tumbling) Snapshot(w io.Writer) error {
	var b wbuf
	b.header(tagTumbling)
	b.bool(t.closed)
	b.i64(t.last)
	saveIDs(&b, &t.ids)
	b.int(len(t.open))
	for _, o := range t.open {
		b.i64(o.key)
		b.i64(o.end)
		b.int(len(o.groups))
		for _, g := range o.groups {
			b.i64(int64(g))
		}
	}
	saveKeys(&b, t.keys)
	if err := saveAccs(&b, t.aggs); err != nil {
		return fmt.Errorf("tumbling window: snapshot: %w", err)
	}
	return b.flush(w)
}

// Restore implements operators.Stateful: it replaces the operator's state.
func (t *Tumbling) Restore(rd io.Reader) error {
	r, err := readAll(rd, tagTumbling)
	if err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	t.closed = r.bool()
	t.last = r.i64()
	loadIDs(r, &t.ids)
	t.open = make([]*twin, r.count())
	for j := range t.open {
		o := &twin{key: r.i64(), end: r.i64()}
		o.groups = make([]int32, r.count())
		for k := range o.groups {
			o.groups[k] = int32(r.i64())
		}
		t.open[j] = o
	}
	loadKeys(r, t.keys)
	if err := loadAccs(r, t.aggs); err != nil {
		return fmt.Errorf("tumbling window: restore: %w", err)
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	if err := checkGroups(t.ids.next, t.keys, t.aggs); err != nil {
		return fmt.Errorf("tumbling window: %w", err)
	}
	for _, o := range t.open {
		o.table = newGroupTable(t.keys)
		for _, g := range o.groups {
			if g < 0 || g >= t.ids.next {
				return fmt.Errorf("tumbling window: restore: group id %d out of range", g)
			}
			o.table.add(t.keys, g)
		}
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func saveIDs(b *wbuf, d *ids) {
	b.i64(int64(d.next))
	b.int(len(d.free))
	for _, g := range d.free {
		b.i64(int64(g))
	}
}

func loadIDs(r *rbuf, d *ids) {
	d.next = int32(r.i64())
	d.free = make([]int32, r.count())
	for k := range d.free {
		d.free[k] = int32(r.i64())
	}
}

func saveKeys(b *wbuf, kc *keyCols) {
	for c := range kc.store {
		b.vec(&kc.store[c])
	}
}

func loadKeys(r *rbuf, kc *keyCols) {
	for c := range kc.store {
		p := kc.store[c].p
		r.vec(&kc.store[c])
		if kc.store[c].p != p {
			r.fail("key column kind")
		}
	}
}

func saveAccs(b *wbuf, s *aggSet) error {
	for _, a := range s.accs {
		if err := a.save(b); err != nil {
			return err
		}
	}
	return nil
}

func loadAccs(r *rbuf, s *aggSet) error {
	for _, a := range s.accs {
		p := a.v.p
		if err := a.load(r); err != nil {
			return err
		}
		if a.v.p != p {
			r.fail("aggregate value kind")
		}
	}
	return nil
}

// checkGroups verifies that every per-group array covers the ids handed out.
func checkGroups(next int32, kc *keyCols, s *aggSet) error {
	for c := range kc.store {
		if kc.store[c].len() > int(next) {
			return fmt.Errorf("restore: key column longer than the group ids")
		}
		kc.store[c].resize(int(next))
	}
	for _, a := range s.accs {
		if len(a.n) != int(next) {
			return fmt.Errorf("restore: aggregate state for %d groups, expected %d", len(a.n), next)
		}
	}
	return nil
}
