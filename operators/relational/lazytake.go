package relational

import (
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// takenRecord is the rows of src at rows, gathered column by column the
// first time a column is read. A filter hands one to the projection after
// it (FilterOp.FeedProject), so that the kept rows are copied only for the
// columns the SELECT list reads: a pass-through query that drops a long
// VARCHAR never copies it. It is not safe for concurrent use and must not
// outlive the call it is passed to; materialize makes an ordinary record.
type takenRecord struct {
	mem  memory.Allocator
	src  arrow.Record
	rows []int32
	cols []arrow.Array
	refs int
}

var _ arrow.Record = (*takenRecord)(nil)

func newTakenRecord(mem memory.Allocator, src arrow.Record, rows []int32) *takenRecord {
	return &takenRecord{mem: mem, src: src, rows: rows, cols: make([]arrow.Array, src.NumCols()), refs: 1}
}

func (t *takenRecord) Column(i int) arrow.Array {
	if t.cols[i] == nil {
		col := t.src.Column(i)
		t.cols[i] = Gather(t.mem, col.DataType(), []arrow.Array{col}, nil, t.rows)
	}
	return t.cols[i]
}

func (t *takenRecord) Columns() []arrow.Array {
	for i := range t.cols {
		t.Column(i)
	}
	return t.cols
}

// materialize returns the rows as an ordinary record the caller releases.
func (t *takenRecord) materialize() arrow.Record {
	return array.NewRecord(t.src.Schema(), t.Columns(), int64(len(t.rows)))
}

func (t *takenRecord) Schema() *arrow.Schema   { return t.src.Schema() }
func (t *takenRecord) NumRows() int64          { return int64(len(t.rows)) }
func (t *takenRecord) NumCols() int64          { return t.src.NumCols() }
func (t *takenRecord) ColumnName(i int) string { return t.src.ColumnName(i) }

func (t *takenRecord) Retain() { t.refs++ }

// Release drops the columns gathered so far with the last reference.
func (t *takenRecord) Release() {
	if t.refs--; t.refs > 0 {
		return
	}
	for i, c := range t.cols {
		if c != nil {
			c.Release()
			t.cols[i] = nil
		}
	}
}

func (t *takenRecord) SetColumn(i int, col arrow.Array) (arrow.Record, error) {
	rec := t.materialize()
	defer rec.Release()
	return rec.SetColumn(i, col)
}

func (t *takenRecord) NewSlice(i, j int64) arrow.Record {
	rec := t.materialize()
	defer rec.Release()
	return rec.NewSlice(i, j)
}

func (t *takenRecord) MarshalJSON() ([]byte, error) {
	rec := t.materialize()
	defer rec.Release()
	return rec.MarshalJSON()
}
