package relational

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
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/sql/types"
)

// Merge is the meeting point of UNION ALL: the rows of several branches,
// each a chain of operators with its own source stream, come out as one
// stream in ROWTIME order, as an in-application stream requires.
//
// kda runs every stream synchronously from the one input, so a branch
// that has processed its input up to stream time t will not emit a row
// earlier than t (true of every operator but T-sort and event-time
// windows, whose rows can lag stream time; such a late row still comes
// out, and the stream it is inserted into reports it as OUT_OF_ORDER, as
// with two pumps into one stream). Each branch tells the Merge how far it
// has got (Progress: after each batch and each heartbeat); the Merge holds
// the rows the branches emit and releases, sorted by ROWTIME, those
// earlier than every branch's progress. Rows of equal ROWTIME come out by
// branch, then in the order their branch emitted them, so the output
// never depends on how the input was batched; the price is that rows wait
// until stream time has passed their ROWTIME (the next row or heartbeat).
// Held rows and the branches' progress are checkpointed.
type Merge struct {
	Out
	schema types.Schema
	arrow  *arrow.Schema
	done   []int64 // per branch: the stream time it has processed its input to
	// held are the rows not yet released, per branch, in arrival order.
	held [][]arrow.Record
}

// NewMerge builds a Merge of n branches that all emit rows of schema.
func NewMerge(schema types.Schema, n int) (*Merge, error) {
	if err := operators.CheckSchema(schema); err != nil {
		return nil, fmt.Errorf("union: %w", err)
	}
	if n < 2 {
		return nil, fmt.Errorf("union: %d branches; UNION ALL needs at least 2", n)
	}
	m := &Merge{schema: schema, arrow: schema.Arrow(), done: make([]int64, n), held: make([][]arrow.Record, n)}
	for i := range m.done {
		m.done[i] = math.MinInt64
	}
	return m, nil
}

// Schema implements operators.Operator.
func (m *Merge) Schema() types.Schema { return m.schema }

// Process implements operators.Operator. Rows reach a Merge through
// Branch, never through Process.
func (m *Merge) Process(*operators.Context, arrow.Record) error {
	return fmt.Errorf("union: rows must arrive through a branch")
}

// Advance implements operators.Operator: progress comes from the branches.
func (m *Merge) Advance(*operators.Context, time.Time) error { return nil }

// Branch returns the Emit that branch i's last operator sends its rows to.
func (m *Merge) Branch(i int) operators.Emit {
	return func(rec arrow.Record) error {
		if rec.NumRows() == 0 {
			return nil
		}
		if !rec.Schema().Equal(m.arrow) {
			return fmt.Errorf("union: branch %d emits %s, expected %s", i+1, rec.Schema(), m.arrow)
		}
		rec.Retain()
		m.held[i] = append(m.held[i], rec)
		return nil
	}
}

// Hold implements operators.Holder: rows at or after the slowest branch's
// progress are still held.
func (m *Merge) Hold(now time.Time) time.Time {
	bound := m.done[0]
	for _, d := range m.done[1:] {
		bound = min(bound, d)
	}
	if bound == math.MinInt64 {
		return time.Time{}
	}
	if bound < now.UnixMilli() {
		return time.UnixMilli(bound).UTC()
	}
	return now
}

// Progress records that branch i has processed its input up to stream
// time t (milliseconds) and releases the rows every branch is past.
func (m *Merge) Progress(ctx *operators.Context, i int, t int64) error {
	if t > m.done[i] {
		m.done[i] = t
	}
	bound := m.done[0]
	for _, d := range m.done[1:] {
		bound = min(bound, d)
	}
	return m.release(ctx.Alloc(), bound)
}

// release emits the held rows whose ROWTIME is before bound.
func (m *Merge) release(mem memory.Allocator, bound int64) error {
	ready := false
scan:
	for _, recs := range m.held {
		for _, rec := range recs {
			for _, v := range rec.Column(0).(*array.Timestamp).TimestampValues() {
				if int64(v) < bound {
					ready = true
					break scan
				}
			}
		}
	}
	if !ready {
		return nil
	}
	all, branch, err := m.gather(mem)
	if err != nil {
		return err
	}
	defer all.Release()
	rt := all.Column(0).(*array.Timestamp).TimestampValues()
	var out, keep []int
	for r, v := range rt {
		if int64(v) < bound {
			out = append(out, r)
		} else {
			keep = append(keep, r)
		}
	}
	// all is branch-major in arrival order: a stable sort by ROWTIME
	// orders ties by branch, then arrival.
	sort.SliceStable(out, func(a, b int) bool { return rt[out[a]] < rt[out[b]] })
	if err := m.keep(mem, all, branch, keep); err != nil {
		return err
	}
	rec, err := Take(mem, all, out)
	if err != nil {
		return fmt.Errorf("union: %w", err)
	}
	defer rec.Release()
	return m.Send(rec)
}

// gather concatenates the held rows, branch by branch, and gives each
// row's branch; the held records are released.
func (m *Merge) gather(mem memory.Allocator) (arrow.Record, []int, error) {
	var recs []arrow.Record
	var branch []int
	for i, rs := range m.held {
		for _, r := range rs {
			recs = append(recs, r)
			for k := int64(0); k < r.NumRows(); k++ {
				branch = append(branch, i)
			}
		}
		m.held[i] = nil
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	all, err := concatRecords(mem, m.arrow, recs)
	if err != nil {
		return nil, nil, fmt.Errorf("union: %w", err)
	}
	return all, branch, nil
}

// keep holds the rows of all at positions rows again, under their branches.
func (m *Merge) keep(mem memory.Allocator, all arrow.Record, branch []int, rows []int) error {
	for lo := 0; lo < len(rows); {
		hi := lo
		for hi < len(rows) && branch[rows[hi]] == branch[rows[lo]] {
			hi++
		}
		rec, err := Take(mem, all, rows[lo:hi])
		if err != nil {
			return fmt.Errorf("union: %w", err)
		}
		b := branch[rows[lo]]
		m.held[b] = append(m.held[b], rec)
		lo = hi
	}
	return nil
}

// concatRecords appends records of one schema into one (an empty record
// for none). The caller releases the result.
func concatRecords(mem memory.Allocator, schema *arrow.Schema, recs []arrow.Record) (arrow.Record, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	for c := range cols {
		if len(recs) == 0 {
			b := array.NewBuilder(mem, schema.Field(c).Type)
			cols[c] = b.NewArray()
			b.Release()
			continue
		}
		parts := make([]arrow.Array, len(recs))
		for k, r := range recs {
			parts[k] = r.Column(c)
		}
		a, err := array.Concatenate(parts, mem)
		if err != nil {
			for _, x := range cols[:c] {
				x.Release()
			}
			return nil, err
		}
		cols[c] = a
	}
	rec := array.NewRecord(schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// Snapshot implements operators.Stateful: the branches' progress and the
// held rows (Arrow IPC) with their branches.
func (m *Merge) Snapshot(w io.Writer) error {
	all, branch, err := m.gather(memory.DefaultAllocator)
	if err != nil {
		return err
	}
	defer all.Release()
	rows := make([]int, len(branch))
	for i := range rows {
		rows[i] = i
	}
	if err := m.keep(memory.DefaultAllocator, all, branch, rows); err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("UNI1")
	b.Write(binary.AppendUvarint(nil, uint64(len(m.done))))
	for _, d := range m.done {
		b.Write(binary.AppendVarint(nil, d))
	}
	b.Write(binary.AppendUvarint(nil, uint64(len(branch))))
	for _, br := range branch {
		b.Write(binary.AppendUvarint(nil, uint64(br)))
	}
	if len(branch) > 0 {
		iw := ipc.NewWriter(&b, ipc.WithSchema(m.arrow))
		if err := iw.Write(all); err != nil {
			return fmt.Errorf("union: snapshot: %w", err)
		}
		if err := iw.Close(); err != nil {
			return fmt.Errorf("union: snapshot: %w", err)
		}
	}
	_, err = w.Write(b.Bytes())
	return err
}

// Restore implements operators.Stateful.
func (m *Merge) Restore(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("union: restore: %w", err)
	}
	rd := bytes.NewReader(data)
	head := make([]byte, 4)
	if _, err := io.ReadFull(rd, head); err != nil || string(head) != "UNI1" {
		return fmt.Errorf("union: restore: not a union snapshot")
	}
	n, err := binary.ReadUvarint(rd)
	if err != nil || int(n) != len(m.done) {
		return fmt.Errorf("union: restore: %d branches in the snapshot, %d now", n, len(m.done))
	}
	for i := range m.done {
		if m.done[i], err = binary.ReadVarint(rd); err != nil {
			return fmt.Errorf("union: restore: %w", err)
		}
	}
	rows, err := binary.ReadUvarint(rd)
	if err != nil || rows > uint64(len(data)) {
		return fmt.Errorf("union: restore: truncated snapshot")
	}
	branch := make([]int, rows)
	for i := range branch {
		b, err := binary.ReadUvarint(rd)
		if err != nil || int(b) >= len(m.done) {
			return fmt.Errorf("union: restore: bad branch")
		}
		branch[i] = int(b)
	}
	for i := range m.held {
		for _, r := range m.held[i] {
			r.Release()
		}
		m.held[i] = nil
	}
	if rows == 0 {
		return nil
	}
	ir, err := ipc.NewReader(rd, ipc.WithSchema(m.arrow))
	if err != nil {
		return fmt.Errorf("union: restore: %w", err)
	}
	defer ir.Release()
	if !ir.Next() {
		return fmt.Errorf("union: restore: held rows missing: %v", ir.Err())
	}
	all := ir.Record()
	if all.NumRows() != int64(rows) {
		return fmt.Errorf("union: restore: %d held rows, %d branches", all.NumRows(), rows)
	}
	idx := make([]int, rows)
	for i := range idx {
		idx[i] = i
	}
	return m.keep(memory.DefaultAllocator, all, branch, idx)
}
