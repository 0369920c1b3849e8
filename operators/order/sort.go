package order

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// Key is one ORDER BY expression after the leading one.
type Key struct {
	Expr expr.Expr
	Desc bool
}

// SortSpec describes ORDER BY with a monotonic leading key.
type SortSpec struct {
	Input types.Schema
	// Leading is the monotonic leading key (an integer or datetime), e.g.
	// FLOOR(s.ROWTIME TO MINUTE).
	Leading expr.Expr
	// Width is the period of a time-based leading key (FLOOR/STEP of
	// ROWTIME): the group with key k is complete when stream time reaches
	// k + Width. 0 means the group closes only when the key changes.
	Width time.Duration
	// Keys sort the rows of one group.
	Keys []Key
}

// Sort is the operator NewSort builds; its output schema is its input's.
// See the package comment for its semantics.
type Sort struct {
	relational.Out
	spec  SortSpec
	arrow *arrow.Schema
	width int64
	st    store

	open    bool  // a group is being collected
	cur     int64 // its leading key
	maxRT   int64 // the greatest ROWTIME of its rows
	closed  bool  // some group has been emitted
	last    int64 // the leading key of the last group emitted
	refs    []ref
	keys    []keyVals
	pending []ref   // rows of closed groups, in output order
	pendRT  []int64 // their output ROWTIME

	errs expr.RowErrors
	lead keyVals
	perm []int
}

// NewSort validates spec and builds the operator.
func NewSort(spec SortSpec) (*Sort, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("order by: %w", err)
	}
	if spec.Leading == nil {
		return nil, fmt.Errorf("order by: no leading key")
	}
	if t := spec.Leading.Type(); !t.IsInteger() && !t.IsDatetime() {
		return nil, fmt.Errorf("order by: the monotonic leading key %s is %s, not an integer or datetime", spec.Leading, t)
	}
	if spec.Width < 0 || spec.Width%time.Millisecond != 0 {
		return nil, fmt.Errorf("order by: width %s must be a non-negative whole number of milliseconds", spec.Width)
	}
	for i, k := range spec.Keys {
		if k.Expr == nil {
			return nil, fmt.Errorf("order by: key %d is nil", i+2)
		}
	}
	return &Sort{spec: spec, arrow: spec.Input.Arrow(), width: spec.Width.Milliseconds(), keys: make([]keyVals, len(spec.Keys))}, nil
}

// Schema implements operators.Operator.
func (s *Sort) Schema() types.Schema { return s.spec.Input }

// Process implements operators.Operator.
func (s *Sort) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	s.errs.Reset()
	ec := ctx.Eval(&s.errs)
	lead, keys, err := s.eval(ec, rec)
	if err != nil {
		return err
	}
	defer releaseAll(lead, keys)
	relational.ReportFailed(ctx, rec, &s.errs)
	rt, err := rowtimes(rec)
	if err != nil {
		return fmt.Errorf("order by: %w", err)
	}
	id := s.st.add(rec)
	for i := 0; i < n; i++ {
		if s.errs.Failed(i) {
			continue
		}
		if lead.IsNull(i) {
			reportRow(ctx, rec, i, "NULL_ORDER_KEY", "row dropped: the leading ORDER BY key "+s.spec.Leading.String()+" is NULL")
			continue
		}
		s.lead.reset()
		if err := s.lead.appendFrom(lead, i); err != nil {
			return fmt.Errorf("order by: %w", err)
		}
		k := s.lead.i[0]
		if s.open && k > s.cur {
			s.closeGroup()
		}
		if (s.open && k < s.cur) || (!s.open && s.closed && k < s.last) {
			reportRow(ctx, rec, i, "LATE_ROW", fmt.Sprintf("row dropped: its leading ORDER BY key %s went backwards (rows with a greater key were already seen)", operators.ValueJSON(lead, i)))
			continue
		}
		if !s.open {
			s.open, s.cur, s.maxRT = true, k, int64(rt.Value(i))
		}
		for c, kv := range keys {
			if err := s.keys[c].appendFrom(kv, i); err != nil {
				return fmt.Errorf("order by: key %s: %w", s.spec.Keys[c].Expr, err)
			}
		}
		s.refs = append(s.refs, ref{chunk: id, row: int32(i)})
		s.maxRT = max(s.maxRT, int64(rt.Value(i)))
		s.st.hold(id)
	}
	s.st.dropIfEmpty(id)
	return s.flush(ctx)
}

func (s *Sort) eval(ec *expr.EvalContext, rec arrow.Record) (arrow.Array, []arrow.Array, error) {
	lead, err := s.spec.Leading.Eval(ec, rec)
	if err != nil {
		return nil, nil, fmt.Errorf("order by: evaluate %s: %w", s.spec.Leading, err)
	}
	keys := make([]arrow.Array, len(s.spec.Keys))
	for c, k := range s.spec.Keys {
		if keys[c], err = k.Expr.Eval(ec, rec); err != nil {
			releaseAll(lead, keys)
			return nil, nil, fmt.Errorf("order by: evaluate %s: %w", k.Expr, err)
		}
	}
	return lead, keys, nil
}

// closeGroup sorts the open group into pending.
func (s *Sort) closeGroup() {
	n := len(s.refs)
	s.perm = s.perm[:0]
	for i := 0; i < n; i++ {
		s.perm = append(s.perm, i)
	}
	slices.SortStableFunc(s.perm, func(a, b int) int {
		for c := range s.keys {
			r := s.keys[c].cmp(a, b)
			if s.spec.Keys[c].Desc {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return 0
	})
	for _, p := range s.perm {
		s.pending = append(s.pending, s.refs[p])
		s.pendRT = append(s.pendRT, s.maxRT)
	}
	s.refs = s.refs[:0]
	for c := range s.keys {
		s.keys[c].reset()
	}
	s.open, s.closed, s.last = false, true, s.cur
}

// flush emits the pending rows as one batch.
func (s *Sort) flush(ctx *operators.Context) error {
	err := s.st.emit(ctx.Alloc(), s.arrow, s.pending, s.pendRT, s.Send)
	s.pending, s.pendRT = s.pending[:0], s.pendRT[:0]
	if err != nil {
		return fmt.Errorf("order by: %w", err)
	}
	return nil
}

// Advance implements operators.Operator: a time-based group whose period
// has ended closes.
func (s *Sort) Advance(ctx *operators.Context, now time.Time) error {
	if s.open && s.width > 0 && now.UnixMilli() >= s.cur+s.width {
		s.closeGroup()
	}
	return s.flush(ctx)
}

// Hold implements operators.Holder: the open group comes out with the
// greatest ROWTIME of its rows, which may be earlier than now.
func (s *Sort) Hold(now time.Time) time.Time {
	if s.open {
		return minTime(now, s.maxRT)
	}
	return now
}

const (
	tagSort  = 1
	tagTSort = 2
	version  = 1
)

// Snapshot implements operators.Stateful.
func (s *Sort) Snapshot(w io.Writer) error {
	var b bytes.Buffer
	b.Write([]byte{'K', 'O', version, tagSort})
	writeUvarint(&b, uint64(boolInt(s.open)|boolInt(s.closed)<<1))
	writeVarint(&b, s.cur)
	writeVarint(&b, s.maxRT)
	writeVarint(&b, s.last)
	if err := s.st.writeRows(&b, s.arrow, s.refs); err != nil {
		return fmt.Errorf("order by: snapshot: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("order by: snapshot: %w", err)
	}
	return nil
}

// Restore implements operators.Stateful: it replaces the operator's state.
func (s *Sort) Restore(rd io.Reader) error {
	r, err := readHeader(rd, tagSort)
	if err != nil {
		return fmt.Errorf("order by: restore: %w", err)
	}
	flags, err1 := binary.ReadUvarint(r)
	cur, err2 := binary.ReadVarint(r)
	maxRT, err3 := binary.ReadVarint(r)
	last, err4 := binary.ReadVarint(r)
	for _, e := range []error{err1, err2, err3, err4} {
		if e != nil {
			return fmt.Errorf("order by: restore: %w", e)
		}
	}
	rec, err := readRows(r, s.arrow)
	if err != nil {
		return fmt.Errorf("order by: restore: %w", err)
	}
	defer rec.Release()
	s.st.reset()
	s.refs, s.pending, s.pendRT = s.refs[:0], s.pending[:0], s.pendRT[:0]
	for c := range s.keys {
		s.keys[c].reset()
	}
	s.open, s.closed, s.cur, s.maxRT, s.last = flags&1 != 0, flags&2 != 0, cur, maxRT, last
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	s.errs.Reset()
	ec := &expr.EvalContext{Mem: memory.DefaultAllocator, Errors: &s.errs}
	lead, keys, err := s.eval(ec, rec)
	if err != nil {
		return fmt.Errorf("order by: restore: %w", err)
	}
	defer releaseAll(lead, keys)
	if s.errs.Len() > 0 {
		return fmt.Errorf("order by: restore: buffered rows no longer evaluate")
	}
	id := s.st.add(rec)
	for i := 0; i < n; i++ {
		for c, kv := range keys {
			if err := s.keys[c].appendFrom(kv, i); err != nil {
				return fmt.Errorf("order by: restore: %w", err)
			}
		}
		s.refs = append(s.refs, ref{chunk: id, row: int32(i)})
		s.st.hold(id)
	}
	return nil
}

// Close releases the buffered batches.
func (s *Sort) Close() { s.st.reset() }

// ---- helpers shared by Sort and TSort

// rowtimes is the ROWTIME column of rec.
func rowtimes(rec arrow.Record) (*array.Timestamp, error) {
	ts, ok := rec.Column(0).(*array.Timestamp)
	if !ok {
		return nil, fmt.Errorf("column 0 is %s, not the ROWTIME timestamp", rec.Column(0).DataType())
	}
	return ts, nil
}

func releaseAll(a arrow.Array, more []arrow.Array) {
	if a != nil {
		a.Release()
	}
	for _, x := range more {
		if x != nil {
			x.Release()
		}
	}
}

// reportRow sends row i of rec to error_stream.
func reportRow(ctx *operators.Context, rec arrow.Record, i int, name, msg string) {
	if ctx == nil || ctx.Errors == nil {
		return
	}
	var t time.Time
	if ts, err := rowtimes(rec); err == nil && ts.IsValid(i) {
		t = time.UnixMilli(int64(ts.Value(i))).UTC()
	}
	ctx.Errors.RowError(operators.RowError{
		Time: t, Level: "ERROR", Name: name, Message: msg,
		DataRowtime: t, DataRow: operators.RowJSON(rec, i), Pump: ctx.Pump,
	})
}

func readHeader(rd io.Reader, tag byte) (*bytes.Reader, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	if len(data) < 4 || data[0] != 'K' || data[1] != 'O' {
		return nil, fmt.Errorf("not an order operator snapshot")
	}
	if data[2] != version {
		return nil, fmt.Errorf("snapshot version %d, this build reads %d", data[2], version)
	}
	if data[3] != tag {
		return nil, fmt.Errorf("snapshot of another operator (tag %d, expected %d)", data[3], tag)
	}
	return bytes.NewReader(data[4:]), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The operators of this package keep their state across restarts.
var (
	_ operators.Stateful = (*Sort)(nil)
	_ operators.Stateful = (*TSort)(nil)
)
