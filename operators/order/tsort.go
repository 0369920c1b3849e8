package order

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// TSortSpec describes ORDER BY ts WITHIN INTERVAL ... (the T-sort).
type TSortSpec struct {
	Input types.Schema
	// TS is the TIMESTAMP each row is ordered by; it becomes the row's
	// ROWTIME.
	TS expr.Expr
	// Within is the length of the sliding window rows are reordered in.
	Within time.Duration
}

// TSort is the operator NewTSort builds. Its output schema is its input's;
// column 0 of an output row holds the row's ts. See the package comment.
type TSort struct {
	relational.Out
	spec   TSortSpec
	arrow  *arrow.Schema
	within int64
	st     store

	buf     []tsItem // buffered rows, by (ts, seq), from head on
	head    int
	now     int64 // stream time
	emitted int64 // the greatest ts emitted (math.MinInt64 before any)
	seq     uint64

	pending []ref
	pendTS  []int64
	errs    expr.RowErrors
}

type tsItem struct {
	ts  int64
	seq uint64
	ref ref
}

// NewTSort validates spec and builds the operator.
func NewTSort(spec TSortSpec) (*TSort, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("order by within: %w", err)
	}
	if spec.TS == nil || spec.TS.Type().Kind != types.Timestamp {
		return nil, fmt.Errorf("order by within: the sort key must be a TIMESTAMP")
	}
	if spec.Within < 0 || spec.Within%time.Millisecond != 0 {
		return nil, fmt.Errorf("order by within: interval %s must be a non-negative whole number of milliseconds", spec.Within)
	}
	return &TSort{spec: spec, arrow: spec.Input.Arrow(), within: spec.Within.Milliseconds(), now: math.MinInt64, emitted: math.MinInt64}, nil
}

// Schema implements operators.Operator.
func (t *TSort) Schema() types.Schema { return t.spec.Input }

// Process implements operators.Operator.
func (t *TSort) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	rt, err := rowtimes(rec)
	if err != nil {
		return fmt.Errorf("order by within: %w", err)
	}
	t.errs.Reset()
	arr, err := t.spec.TS.Eval(ctx.Eval(&t.errs), rec)
	if err != nil {
		return fmt.Errorf("order by within: evaluate %s: %w", t.spec.TS, err)
	}
	defer arr.Release()
	ts, ok := arr.(*array.Timestamp)
	if !ok {
		return fmt.Errorf("order by within: %s returned %s, not a timestamp", t.spec.TS, arr.DataType())
	}
	relational.ReportFailed(ctx, rec, &t.errs)
	id := t.st.add(rec)
	for i := 0; i < n; i++ {
		t.release(int64(rt.Value(i)))
		if t.errs.Failed(i) || ts.IsNull(i) {
			continue // rows whose ts is NULL are discarded
		}
		v := int64(ts.Value(i))
		if v < t.emitted {
			reportRow(ctx, rec, i, "LATE_ROW", fmt.Sprintf("row dropped: its ORDER BY time %s is earlier than %s, which has already been emitted (the window is %s)",
				operators.FormatTimestamp(v), operators.FormatTimestamp(t.emitted), t.spec.Within))
			continue
		}
		t.insert(tsItem{ts: v, seq: t.seq, ref: ref{chunk: id, row: int32(i)}})
		t.seq++
		t.st.hold(id)
	}
	t.release(t.now)
	t.st.dropIfEmpty(id)
	return t.flush(ctx)
}

// insert places it after every buffered row with the same or an earlier ts.
func (t *TSort) insert(it tsItem) {
	live := t.buf[t.head:]
	if n := len(live); n == 0 || live[n-1].ts <= it.ts {
		t.buf = append(t.buf, it)
		return
	}
	j := t.head + sort.Search(len(live), func(k int) bool { return live[k].ts > it.ts })
	t.buf = append(t.buf, tsItem{})
	copy(t.buf[j+1:], t.buf[j:])
	t.buf[j] = it
}

// release advances stream time to now and moves every row whose ts +
// within has been reached to pending.
func (t *TSort) release(now int64) {
	t.now = max(t.now, now)
	for t.head < len(t.buf) {
		it := t.buf[t.head]
		if it.ts > t.now-t.within {
			break
		}
		t.pending = append(t.pending, it.ref)
		t.pendTS = append(t.pendTS, it.ts)
		t.emitted = max(t.emitted, it.ts)
		t.head++
	}
	if t.head == len(t.buf) {
		t.buf, t.head = t.buf[:0], 0
	} else if t.head > 1024 && t.head > len(t.buf)/2 {
		t.buf = append(t.buf[:0], t.buf[t.head:]...)
		t.head = 0
	}
}

func (t *TSort) flush(ctx *operators.Context) error {
	err := t.st.emit(ctx.Alloc(), t.arrow, t.pending, t.pendTS, t.Send)
	t.pending, t.pendTS = t.pending[:0], t.pendTS[:0]
	if err != nil {
		return fmt.Errorf("order by within: %w", err)
	}
	return nil
}

// Advance implements operators.Operator: rows whose ts + within is at or
// before now are emitted.
func (t *TSort) Advance(ctx *operators.Context, now time.Time) error {
	t.release(now.UnixMilli())
	return t.flush(ctx)
}

// Hold implements operators.Holder: a row still to come is emitted if its
// ts is not before the greatest ts emitted, so that is the earliest
// ROWTIME the T-sort may still emit (the zero time before any row has
// been emitted, when it may still emit any ts).
func (t *TSort) Hold(now time.Time) time.Time {
	if t.emitted == math.MinInt64 {
		return time.Time{}
	}
	return minTime(now, t.emitted)
}

// minTime is the earlier of now and ms (milliseconds).
func minTime(now time.Time, ms int64) time.Time {
	if ms < now.UnixMilli() {
		return time.UnixMilli(ms).UTC()
	}
	return now
}

// Snapshot implements operators.Stateful.
func (t *TSort) Snapshot(w io.Writer) error {
	var b bytes.Buffer
	b.Write([]byte{'K', 'O', version, tagTSort})
	writeVarint(&b, t.now)
	writeVarint(&b, t.emitted)
	refs := make([]ref, 0, len(t.buf)-t.head)
	for _, it := range t.buf[t.head:] {
		refs = append(refs, it.ref)
	}
	if err := t.st.writeRows(&b, t.arrow, refs); err != nil {
		return fmt.Errorf("order by within: snapshot: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("order by within: snapshot: %w", err)
	}
	return nil
}

// Restore implements operators.Stateful: it replaces the operator's state.
func (t *TSort) Restore(rd io.Reader) error {
	r, err := readHeader(rd, tagTSort)
	if err != nil {
		return fmt.Errorf("order by within: restore: %w", err)
	}
	now, err1 := binary.ReadVarint(r)
	emitted, err2 := binary.ReadVarint(r)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("order by within: restore: truncated snapshot")
	}
	rec, err := readRows(r, t.arrow)
	if err != nil {
		return fmt.Errorf("order by within: restore: %w", err)
	}
	defer rec.Release()
	t.st.reset()
	t.buf, t.head, t.pending, t.pendTS = t.buf[:0], 0, t.pending[:0], t.pendTS[:0]
	t.now, t.emitted, t.seq = now, emitted, 0
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	t.errs.Reset()
	arr, err := t.spec.TS.Eval(&expr.EvalContext{Mem: memory.DefaultAllocator, Errors: &t.errs}, rec)
	if err != nil {
		return fmt.Errorf("order by within: restore: %w", err)
	}
	defer arr.Release()
	ts, ok := arr.(*array.Timestamp)
	if !ok || t.errs.Len() > 0 {
		return fmt.Errorf("order by within: restore: buffered rows no longer evaluate")
	}
	id := t.st.add(rec)
	for i := 0; i < n; i++ {
		if ts.IsNull(i) || (i > 0 && ts.Value(i) < ts.Value(i-1)) {
			return fmt.Errorf("order by within: restore: buffered rows out of order")
		}
		t.buf = append(t.buf, tsItem{ts: int64(ts.Value(i)), seq: t.seq, ref: ref{chunk: id, row: int32(i)}})
		t.seq++
		t.st.hold(id)
	}
	return nil
}

// Close releases the buffered batches.
func (t *TSort) Close() { t.st.reset() }
