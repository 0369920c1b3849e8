package window

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// EventTimeKind is the shape of a Flink-style group window.
type EventTimeKind uint8

const (
	// TumbleWindows are TUMBLE(ts, size): epoch-aligned [k·size, (k+1)·size).
	TumbleWindows EventTimeKind = iota + 1
	// HopWindows are HOP(ts, slide, size): windows of size starting every
	// slide, epoch-aligned; a row belongs to about size/slide of them.
	HopWindows
	// SessionWindows are SESSION(ts, gap): per key, rows closer than gap
	// merge into one window [first ts, last ts + gap).
	SessionWindows
)

func (k EventTimeKind) String() string {
	switch k {
	case TumbleWindows:
		return "TUMBLE"
	case HopWindows:
		return "HOP"
	case SessionWindows:
		return "SESSION"
	}
	return fmt.Sprintf("EventTimeKind(%d)", uint8(k))
}

// EventTimeSpec describes GROUP BY TUMBLE/HOP/SESSION(ts, ...), keys...
// over an event-time column, for people coming from Flink SQL.
type EventTimeSpec struct {
	Input types.Schema
	Kind  EventTimeKind
	// Time is the event time (TIMESTAMP) rows are windowed by.
	Time expr.Expr
	// Size is the TUMBLE or HOP window length, Slide the HOP step, Gap the
	// SESSION inactivity gap.
	Size, Slide, Gap time.Duration
	// Keys are the other GROUP BY keys; NULLs group together.
	Keys []expr.Expr
	Aggs []Aggregate
	// MaxOutOfOrderness bounds how far event time may go backwards: the
	// watermark is the greatest event time seen minus this.
	MaxOutOfOrderness time.Duration
	// AllowedLateness keeps a window open this long after the watermark has
	// passed its end; it fires once, when the watermark reaches end +
	// AllowedLateness.
	AllowedLateness time.Duration
	// IdleTimeout, when positive, lets the watermark advance while no rows
	// arrive: after IdleTimeout of stream time (ROWTIME and heartbeats)
	// without a row, event time is taken to move on with stream time. This
	// is what closes the last windows of an idle or finished input. 0
	// disables it.
	IdleTimeout time.Duration
	// Names optionally names the output columns after ROWTIME: window start,
	// window end, the keys, the aggregates. Default WINDOW_START,
	// WINDOW_END, KEY_1..., AGG_1...
	Names []string
}

// EventTime is the operator NewEventTime builds. Its output rows are
// (ROWTIME = window end, window start, window end, keys..., aggregates...),
// one per (window, keys) group, emitted once when the watermark reaches the
// window end plus the allowed lateness; rows come out by window end, then
// key, then window start, so ROWTIME never decreases. A row none of whose
// windows can still take it goes to error_stream as LATE_ROW; a row whose
// event time is NULL as NULL_EVENT_TIME.
type EventTime struct {
	relational.Out
	spec          EventTimeSpec
	size, slide   int64
	gap           int64
	ooo, lateness int64
	idle          int64
	schema        types.Schema
	arrow         *arrow.Schema
	keys          *keyCols
	aggs          *aggSet
	ids           ids
	out           *staged

	// time
	streamTime int64 // greatest ROWTIME or heartbeat
	lastRow    int64 // ROWTIME of the last row (valid with seen)
	maxEvent   int64 // greatest event time (valid with seen)
	wm         int64 // watermark
	seen       bool

	// TUMBLE / HOP
	open    []*ewin // by start
	byStart map[int64]*ewin
	pool    []groupTable
	cur     *ewin

	// SESSION
	table    groupTable // key -> key group id
	sessions map[int32][]*session
	nextEnd  int64 // no session ends before this
	seq      int64

	// scratch
	rt, ev []int64
	evOK   []bool
	gids   [][]int32
	errs   expr.RowErrors
	alloc  func(row int) int32
	due    []*session
}

type ewin struct {
	start  int64
	table  groupTable
	groups []int32
}

type session struct {
	g          int32
	start, end int64
	ev, seq    []int64
	args       []vec
}

const minTime = math.MinInt64 / 4

// NewEventTime validates spec and builds the operator.
func NewEventTime(spec EventTimeSpec) (*EventTime, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("%s window: %w", spec.Kind, err)
	}
	if spec.Time == nil || spec.Time.Type().Kind != types.Timestamp {
		return nil, fmt.Errorf("%s window: the event time must be a TIMESTAMP", spec.Kind)
	}
	whole := func(d time.Duration) bool { return d > 0 && d%time.Millisecond == 0 }
	switch spec.Kind {
	case TumbleWindows:
		spec.Slide = spec.Size
		if !whole(spec.Size) {
			return nil, fmt.Errorf("TUMBLE window: size %s must be a positive whole number of milliseconds", spec.Size)
		}
	case HopWindows:
		if !whole(spec.Size) || !whole(spec.Slide) {
			return nil, fmt.Errorf("HOP window: slide %s and size %s must be positive whole numbers of milliseconds", spec.Slide, spec.Size)
		}
		if spec.Size/spec.Slide > 1000 {
			return nil, fmt.Errorf("HOP window: size %s over slide %s puts a row in more than 1000 windows", spec.Size, spec.Slide)
		}
	case SessionWindows:
		if !whole(spec.Gap) {
			return nil, fmt.Errorf("SESSION window: gap %s must be a positive whole number of milliseconds", spec.Gap)
		}
	default:
		return nil, fmt.Errorf("event-time window: unknown kind %d", spec.Kind)
	}
	for _, d := range []time.Duration{spec.MaxOutOfOrderness, spec.AllowedLateness, spec.IdleTimeout} {
		if d < 0 || d%time.Millisecond != 0 {
			return nil, fmt.Errorf("%s window: %s must be a non-negative whole number of milliseconds", spec.Kind, d)
		}
	}
	e := &EventTime{spec: spec, size: spec.Size.Milliseconds(), slide: spec.Slide.Milliseconds(), gap: spec.Gap.Milliseconds(),
		ooo: spec.MaxOutOfOrderness.Milliseconds(), lateness: spec.AllowedLateness.Milliseconds(), idle: spec.IdleTimeout.Milliseconds(),
		streamTime: minTime, wm: minTime, maxEvent: minTime, nextEnd: math.MaxInt64, byStart: map[int64]*ewin{}, sessions: map[int32][]*session{}}
	var err error
	if e.keys, err = newKeyCols(spec.Keys); err != nil {
		return nil, fmt.Errorf("%s window: %w", spec.Kind, err)
	}
	if e.aggs, err = newAggSet(spec.Aggs); err != nil {
		return nil, fmt.Errorf("%s window: %w", spec.Kind, err)
	}
	if spec.Kind == SessionWindows && len(e.aggs.users) > 0 {
		return nil, fmt.Errorf("SESSION window: user aggregates such as %s are not supported in SESSION windows (sessions merge by re-aggregating their rows); use TUMBLE, HOP, a STEP GROUP BY or STAGGER", e.aggs.users[0].name)
	}
	defaults := []string{"WINDOW_START", "WINDOW_END"}
	ts := types.Type{Kind: types.Timestamp, NotNull: true}
	outTypes := []types.Type{ts, ts, ts}
	for i := range spec.Keys {
		defaults = append(defaults, fmt.Sprintf("KEY_%d", i+1))
		outTypes = append(outTypes, e.keys.types[i].Nullable())
	}
	for i, p := range e.aggs.plans {
		defaults = append(defaults, fmt.Sprintf("AGG_%d", i+1))
		outTypes = append(outTypes, p.out)
	}
	names, err := outputNames(spec.Names, defaults)
	if err != nil {
		return nil, fmt.Errorf("%s window: %w", spec.Kind, err)
	}
	e.schema.Fields = append(e.schema.Fields, types.Field{Name: types.RowtimeName, Type: ts})
	for i, n := range names {
		e.schema.Fields = append(e.schema.Fields, types.Field{Name: n, Type: outTypes[i+1]})
	}
	e.arrow = e.schema.Arrow()
	if e.out, err = newStaged(outTypes); err != nil {
		return nil, fmt.Errorf("%s window: %w", spec.Kind, err)
	}
	e.table = newGroupTable(e.keys)
	if spec.Kind == SessionWindows {
		e.alloc = func(row int) int32 {
			g := e.newGroup()
			e.keys.keep(g, row)
			return g
		}
	} else {
		e.alloc = func(row int) int32 {
			g := e.newGroup()
			e.keys.keep(g, row)
			e.cur.groups = append(e.cur.groups, g)
			return g
		}
	}
	return e, nil
}

func (e *EventTime) newGroup() int32 {
	g, fresh := e.ids.get()
	if fresh {
		e.aggs.grow(int(g) + 1)
	}
	return g
}

// perRow is how many windows a row may belong to.
func (e *EventTime) perRow() int {
	if e.spec.Kind == SessionWindows {
		return 1
	}
	return int((e.size + e.slide - 1) / e.slide)
}

// Schema implements operators.Operator.
func (e *EventTime) Schema() types.Schema { return e.schema }

// Process implements operators.Operator.
func (e *EventTime) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	name := e.spec.Kind.String() + " window"
	var err error
	if e.rt, err = rowtimes(rec, e.rt); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	e.errs.Reset()
	ec := ctx.Eval(&e.errs)
	arr, err := e.spec.Time.Eval(ec, rec)
	if err != nil {
		return fmt.Errorf("%s: evaluate %s: %w", name, e.spec.Time, err)
	}
	tsArr, ok := arr.(*array.Timestamp)
	if !ok {
		arr.Release()
		return fmt.Errorf("%s: event time %s is %s, not a timestamp", name, e.spec.Time, arr.DataType())
	}
	e.ev, e.evOK = grow(e.ev, n), grow(e.evOK, n)
	for i := 0; i < n; i++ {
		e.ev[i], e.evOK[i] = int64(tsArr.Value(i)), tsArr.IsValid(i)
	}
	arr.Release()
	if err := e.keys.eval(ec, rec); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := evalArgs(ec, rec, e.aggs.plans, e.aggs.args); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := e.aggs.evalUser(ec, rec); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	k := e.perRow()
	if len(e.gids) < k {
		e.gids = make([][]int32, k)
	}
	for j := 0; j < k; j++ {
		e.gids[j] = grow(e.gids[j], n)
	}
	markFailed(ctx, rec, &e.errs, e.gids[0])

	seg := 0
	for i := 0; i < n; i++ {
		if e.tick(e.rt[i]) {
			e.flushSeg(seg, i)
			seg = i
			e.fire()
		}
		failed := e.gids[0][i] < 0
		for j := 0; j < k; j++ {
			e.gids[j][i] = -1
		}
		if failed {
			continue
		}
		e.lastRow, e.seen = e.rt[i], true
		if !e.evOK[i] {
			e.reject(ctx, rec, i, "NULL_EVENT_TIME", "the event time "+e.spec.Time.String()+" is NULL")
			continue
		}
		v := e.ev[i]
		var took bool
		if e.spec.Kind == SessionWindows {
			took = e.addSession(i, v)
		} else {
			took = e.assign(i, v)
		}
		if !took {
			e.reject(ctx, rec, i, "LATE_ROW", fmt.Sprintf("its event time %s is behind the watermark %s: its windows have already fired",
				operators.FormatTimestamp(v), operators.FormatTimestamp(e.wm)))
		}
		e.maxEvent = max(e.maxEvent, v)
		if e.advanceTo(e.maxEvent - e.ooo) {
			e.flushSeg(seg, i+1)
			seg = i + 1
			e.fire()
		}
	}
	e.flushSeg(seg, n)
	e.aggs.finish(ctx, rec, e.rt, e.rt[n-1])
	return e.out.flush(ctx, e.arrow, &e.Out)
}

// tick moves stream time to now and applies the idle rule; it reports
// whether some window is due.
func (e *EventTime) tick(now int64) bool {
	e.streamTime = max(e.streamTime, now)
	if e.idle > 0 && e.seen && e.streamTime-e.lastRow >= e.idle {
		e.advanceTo(e.maxEvent - e.ooo + (e.streamTime - e.lastRow - e.idle))
	}
	return e.isDue()
}

// advanceTo raises the watermark; it reports whether some window is due.
func (e *EventTime) advanceTo(wm int64) bool {
	if wm > e.wm {
		e.wm = wm
	}
	return e.isDue()
}

func (e *EventTime) isDue() bool {
	if e.spec.Kind == SessionWindows {
		return e.nextEnd != math.MaxInt64 && e.nextEnd+e.lateness <= e.wm
	}
	return len(e.open) > 0 && e.open[0].start+e.size+e.lateness <= e.wm
}

func (e *EventTime) reject(ctx *operators.Context, rec arrow.Record, i int, name, why string) {
	if ctx == nil || ctx.Errors == nil {
		return
	}
	tm := time.UnixMilli(e.rt[i]).UTC()
	ctx.Errors.RowError(operators.RowError{
		Time: tm, Level: "ERROR", Name: name, Message: "row dropped: " + why,
		DataRowtime: tm, DataRow: operators.RowJSON(rec, i), Pump: ctx.Pump,
	})
}

// floorDivInt is a/b rounded towards minus infinity.
func floorDivInt(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// assign puts row i (event time v) in each TUMBLE/HOP window that has not
// fired; it reports whether there was one.
func (e *EventTime) assign(i int, v int64) bool {
	took := false
	last := floorDivInt(v, e.slide) * e.slide
	j := 0
	for start := last; start > v-e.size; start -= e.slide {
		if start+e.size+e.lateness > e.wm {
			w := e.window(start)
			e.cur = w
			e.gids[j][i] = 0
			w.table.assign(e.keys, i, i+1, e.gids[j], e.alloc)
			took = true
		}
		j++
	}
	e.cur = nil
	return took
}

// window finds or opens the window starting at start.
func (e *EventTime) window(start int64) *ewin {
	if w, ok := e.byStart[start]; ok {
		return w
	}
	w := &ewin{start: start}
	if n := len(e.pool); n > 0 {
		w.table, e.pool = e.pool[n-1], e.pool[:n-1]
	} else {
		w.table = newGroupTable(e.keys)
	}
	j, _ := slices.BinarySearchFunc(e.open, start, func(w *ewin, s int64) int { return cmpInt(w.start, s) })
	e.open = slices.Insert(e.open, j, w)
	e.byStart[start] = w
	return w
}

// flushSeg aggregates rows [lo, hi) into the groups assigned to them.
func (e *EventTime) flushSeg(lo, hi int) {
	if e.spec.Kind == SessionWindows || lo >= hi {
		return
	}
	for j := 0; j < e.perRow(); j++ {
		e.aggs.update(e.ev, e.gids[j], lo, hi)
	}
}

// fire emits every window that is due.
func (e *EventTime) fire() {
	if e.spec.Kind == SessionWindows {
		e.fireSessions()
		return
	}
	for len(e.open) > 0 && e.open[0].start+e.size+e.lateness <= e.wm {
		w := e.open[0]
		e.open = e.open[1:]
		delete(e.byStart, w.start)
		e.keys.sortGroups(w.groups)
		for _, g := range w.groups {
			e.stage(w.start, w.start+e.size, g)
		}
		for _, g := range w.groups {
			e.aggs.clear(g)
			e.ids.put(g)
		}
		w.table.clear()
		e.pool = append(e.pool, w.table)
	}
}

func (e *EventTime) stage(start, end int64, g int32) {
	c := e.out.cols
	for k, v := range []int64{end, start, end} {
		c[k].i, c[k].ok = append(c[k].i, v), append(c[k].ok, true)
	}
	nk := len(e.keys.store)
	for k := 0; k < nk; k++ {
		c[3+k].appendFrom(&e.keys.store[k], int(g))
	}
	for k, a := range e.aggs.accs {
		a.result(&c[3+nk+k], g, end)
	}
}

// addSession puts row i (event time v) in its key's session, merging the
// sessions it bridges; it reports false when the row would only make a
// session that is already due (late).
func (e *EventTime) addSession(i int, v int64) bool {
	gids := e.gids[0]
	gids[i] = 0
	e.table.assign(e.keys, i, i+1, gids, e.alloc)
	g := gids[i]
	gids[i] = -1 // session rows are aggregated when the session fires
	list := e.sessions[g]
	lo, hi := v, v+e.gap
	var merged *session
	keep := list[:0]
	for _, s := range list {
		if s.start < hi && lo < s.end {
			if merged == nil {
				merged = s
			} else {
				merged.absorb(s)
			}
			continue
		}
		keep = append(keep, s)
	}
	if merged == nil {
		if hi+e.lateness <= e.wm {
			if len(list) == 0 {
				e.dropKey(g)
			}
			return false
		}
		merged = &session{g: g, start: lo, end: hi, args: make([]vec, len(e.aggs.plans))}
		for k, p := range e.aggs.plans {
			merged.args[k].p = p.argPhys
		}
	}
	merged.start, merged.end = min(merged.start, lo), max(merged.end, hi)
	merged.ev = append(merged.ev, v)
	merged.seq = append(merged.seq, e.seq)
	e.seq++
	for k, p := range e.aggs.plans {
		if p.arg != nil {
			merged.args[k].appendFrom(&e.aggs.args[k], i)
		}
	}
	j, _ := slices.BinarySearchFunc(keep, merged.start, func(s *session, t int64) int { return cmpInt(s.start, t) })
	e.sessions[g] = slices.Insert(keep, j, merged)
	e.nextEnd = min(e.nextEnd, merged.end)
	return true
}

// absorb moves o's rows into s.
func (s *session) absorb(o *session) {
	s.start, s.end = min(s.start, o.start), max(s.end, o.end)
	s.ev = append(s.ev, o.ev...)
	s.seq = append(s.seq, o.seq...)
	for k := range s.args {
		for r := 0; r < o.args[k].len(); r++ {
			s.args[k].appendFrom(&o.args[k], r)
		}
	}
}

func (e *EventTime) dropKey(g int32) {
	e.table.remove(e.keys, g)
	delete(e.sessions, g)
	e.aggs.clear(g)
	e.ids.put(g)
}

// fireSessions emits every session whose end (plus lateness) the watermark
// has reached, by end, then key, then start.
func (e *EventTime) fireSessions() {
	e.due = e.due[:0]
	next := int64(math.MaxInt64)
	for g, list := range e.sessions {
		keep := list[:0]
		for _, s := range list {
			if s.end+e.lateness <= e.wm {
				e.due = append(e.due, s)
			} else {
				keep = append(keep, s)
				next = min(next, s.end)
			}
		}
		e.sessions[g] = keep
	}
	e.nextEnd = next
	slices.SortFunc(e.due, func(a, b *session) int {
		if r := cmpInt(a.end, b.end); r != 0 {
			return r
		}
		if a.g != b.g {
			if r := e.keys.compare(a.g, b.g); r != 0 {
				return r
			}
		}
		return cmpInt(a.start, b.start)
	})
	var gids []int32
	for _, s := range e.due {
		s.inOrder()
		n := len(s.ev)
		gids = grow(gids, n)
		for r := range gids {
			gids[r] = s.g
		}
		for k, a := range e.aggs.accs {
			a.update(&s.args[k], s.ev, gids, 0, n)
		}
		e.stage(s.start, s.end, s.g)
		e.aggs.clear(s.g)
	}
	for _, s := range e.due {
		if list, ok := e.sessions[s.g]; ok && len(list) == 0 {
			e.dropKey(s.g)
		}
	}
	e.due = e.due[:0]
}

// inOrder sorts the session's rows by event time, then arrival, so that
// FIRST_VALUE and LAST_VALUE see them in event-time order.
func (s *session) inOrder() {
	n := len(s.ev)
	sorted := true
	for r := 1; r < n; r++ {
		if s.ev[r] < s.ev[r-1] || (s.ev[r] == s.ev[r-1] && s.seq[r] < s.seq[r-1]) {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	perm := make([]int, n)
	for r := range perm {
		perm[r] = r
	}
	slices.SortFunc(perm, func(a, b int) int {
		if r := cmpInt(s.ev[a], s.ev[b]); r != 0 {
			return r
		}
		return cmpInt(s.seq[a], s.seq[b])
	})
	ev, seq := make([]int64, n), make([]int64, n)
	args := make([]vec, len(s.args))
	for k := range args {
		args[k].p = s.args[k].p
	}
	for r, p := range perm {
		ev[r], seq[r] = s.ev[p], s.seq[p]
		for k := range args {
			if s.args[k].len() > 0 {
				args[k].appendFrom(&s.args[k], p)
			}
		}
	}
	s.ev, s.seq, s.args = ev, seq, args
}

// Advance implements operators.Operator: stream time moves on, which with
// an IdleTimeout may raise the watermark and fire windows.
func (e *EventTime) Advance(ctx *operators.Context, now time.Time) error {
	if e.tick(now.UnixMilli()) {
		e.fire()
	}
	e.aggs.finish(ctx, nil, nil, now.UnixMilli())
	return e.out.flush(ctx, e.arrow, &e.Out)
}

// Hold implements operators.Holder: every window that has not fired, and
// every window a row still to come may open, ends after the watermark less
// the allowed lateness, and its rows have that end as their ROWTIME.
func (e *EventTime) Hold(now time.Time) time.Time {
	if e.wm == minTime {
		return time.Time{}
	}
	if b := e.wm - e.lateness; b < now.UnixMilli() {
		return time.UnixMilli(b).UTC()
	}
	return now
}

const tagEventTime byte = 'E'

// Snapshot implements operators.Stateful.
func (e *EventTime) Snapshot(w io.Writer) error {
	var b wbuf
	b.header(tagEventTime)
	b.int(int(e.spec.Kind))
	b.i64(e.streamTime)
	b.i64(e.lastRow)
	b.i64(e.maxEvent)
	b.i64(e.wm)
	b.bool(e.seen)
	b.i64(e.seq)
	saveIDs(&b, &e.ids)
	saveKeys(&b, e.keys)
	if err := saveAccs(&b, e.aggs); err != nil {
		return fmt.Errorf("%s window: snapshot: %w", e.spec.Kind, err)
	}
	b.int(len(e.open))
	for _, o := range e.open {
		b.i64(o.start)
		b.int(len(o.groups))
		for _, g := range o.groups {
			b.i64(int64(g))
		}
	}
	var all []*session
	for _, list := range e.sessions {
		all = append(all, list...)
	}
	slices.SortFunc(all, func(a, c *session) int {
		if a.g != c.g {
			return cmpInt(int64(a.g), int64(c.g))
		}
		return cmpInt(a.start, c.start)
	})
	b.int(len(all))
	for _, s := range all {
		b.i64(int64(s.g))
		b.i64(s.start)
		b.i64(s.end)
		b.i64s(s.ev)
		b.i64s(s.seq)
		for k := range s.args {
			b.vec(&s.args[k])
		}
	}
	return b.flush(w)
}

// Restore implements operators.Stateful: it replaces the operator's state.
func (e *EventTime) Restore(rd io.Reader) error {
	name := e.spec.Kind.String() + " window"
	r, err := readAll(rd, tagEventTime)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if EventTimeKind(r.int()) != e.spec.Kind {
		return fmt.Errorf("%s: restore: snapshot of another window kind", name)
	}
	e.streamTime, e.lastRow, e.maxEvent, e.wm = r.i64(), r.i64(), r.i64(), r.i64()
	e.seen = r.bool()
	e.seq = r.i64()
	loadIDs(r, &e.ids)
	loadKeys(r, e.keys)
	if err := loadAccs(r, e.aggs); err != nil {
		return fmt.Errorf("%s: restore: %w", name, err)
	}
	e.open = make([]*ewin, r.count())
	for j := range e.open {
		o := &ewin{start: r.i64()}
		o.groups = make([]int32, r.count())
		for k := range o.groups {
			o.groups[k] = int32(r.i64())
		}
		e.open[j] = o
	}
	sessions := make([]*session, r.count())
	for j := range sessions {
		s := &session{g: int32(r.i64()), start: r.i64(), end: r.i64()}
		s.ev, s.seq = r.i64s(), r.i64s()
		s.args = make([]vec, len(e.aggs.plans))
		for k := range s.args {
			r.vec(&s.args[k])
		}
		sessions[j] = s
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := checkGroups(e.ids.next, e.keys, e.aggs); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	e.byStart = map[int64]*ewin{}
	for _, o := range e.open {
		o.table = newGroupTable(e.keys)
		for _, g := range o.groups {
			if g < 0 || g >= e.ids.next {
				return fmt.Errorf("%s: restore: group id %d out of range", name, g)
			}
			o.table.add(e.keys, g)
		}
		e.byStart[o.start] = o
	}
	e.table = newGroupTable(e.keys)
	e.sessions = map[int32][]*session{}
	e.nextEnd = math.MaxInt64
	for _, s := range sessions {
		if s.g < 0 || s.g >= e.ids.next || len(s.ev) != len(s.seq) {
			return fmt.Errorf("%s: restore: bad session", name)
		}
		if _, ok := e.sessions[s.g]; !ok {
			e.table.add(e.keys, s.g)
		}
		e.sessions[s.g] = append(e.sessions[s.g], s)
		e.nextEnd = min(e.nextEnd, s.end)
	}
	return nil
}

var _ operators.Stateful = (*EventTime)(nil)
