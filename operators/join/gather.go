package join

import (
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators/relational"
)

// gather builds one output column from rows of several source arrays of
// type dt: value k is srcs[seg[k]] at row[k], or NULL when seg[k] < 0.
// Joins use it to assemble output batches from the rows they hold.
func gather(mem memory.Allocator, dt arrow.DataType, srcs []arrow.Array, seg, row []int32) arrow.Array {
	return relational.Gather(mem, dt, srcs, seg, row)
}

// sendKept sends the rows k of rec for which keep(k) holds, if there are
// any.
func sendKept(mem memory.Allocator, send func(arrow.Record) error, rec arrow.Record, keep func(k int) bool) error {
	var rows []int
	for k := range int(rec.NumRows()) {
		if keep(k) {
			rows = append(rows, k)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	kept, err := relational.Take(mem, rec, rows)
	if err != nil {
		return err
	}
	defer kept.Release()
	return send(kept)
}
