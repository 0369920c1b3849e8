package sketch

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// ExactDistinct is how many distinct items COUNT_DISTINCT_ITEMS_TUMBLING
// counts exactly in a window before it switches to HyperLogLog.
const ExactDistinct = 10000

// DistinctCountName is COUNT_DISTINCT_ITEMS_TUMBLING's output column.
const DistinctCountName = "NUMBER_OF_DISTINCT_ITEMS"

// DistinctSpec describes COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(...),
// 'column', window).
type DistinctSpec struct {
	Input  types.Schema
	Column string
	Window time.Duration
}

// Distinct is the operator NewDistinct builds. Per tumbling window (aligned
// like STEP) it keeps the set of the column's value hashes (64-bit) until
// it exceeds ExactDistinct members, then a HyperLogLog sketch of 2^14
// registers; when stream time reaches the window end it emits one row
// (ROWTIME = window end, NUMBER_OF_DISTINCT_ITEMS BIGINT). NULLs are not
// counted; a window that received no row emits nothing.
type Distinct struct {
	relational.Out
	spec   DistinctSpec
	col    int
	schema types.Schema
	out    staged
	st     distinctState
	buf    []byte
}

type distinctState struct {
	Clock  clock
	Exact  map[uint64]struct{}
	Sketch hll // used once Exact overflows; Reg is nil until then
}

// DistinctSchema is COUNT_DISTINCT_ITEMS_TUMBLING's output.
func DistinctSchema() types.Schema {
	return types.Schema{Fields: []types.Field{
		{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
		{Name: DistinctCountName, Type: types.TBigInt},
	}}
}

// NewDistinct validates spec and builds the operator.
func NewDistinct(spec DistinctSpec) (*Distinct, error) {
	const what = "COUNT_DISTINCT_ITEMS_TUMBLING"
	if err := checkInput(what, spec.Input); err != nil {
		return nil, err
	}
	col := spec.Input.Index(spec.Column)
	if col <= 0 {
		return nil, fmt.Errorf("%s: the input has no column %q", what, spec.Column)
	}
	if err := keyable(spec.Input.Fields[col].Type); err != nil {
		return nil, fmt.Errorf("%s: column %q: %w", what, spec.Column, err)
	}
	if err := checkWindow(what, spec.Window); err != nil {
		return nil, err
	}
	d := &Distinct{spec: spec, col: col, schema: DistinctSchema()}
	d.out.schema = d.schema.Arrow()
	d.st.Clock.Width = spec.Window.Milliseconds()
	d.st.Exact = map[uint64]struct{}{}
	return d, nil
}

// Schema implements operators.Operator.
func (d *Distinct) Schema() types.Schema { return d.schema }

// Process implements operators.Operator.
func (d *Distinct) Process(ctx *operators.Context, rec arrow.Record) error {
	rt, err := rowtimes(rec)
	if err != nil {
		return fmt.Errorf("COUNT_DISTINCT_ITEMS_TUMBLING: %w", err)
	}
	col := rec.Column(d.col)
	for i := 0; i < int(rec.NumRows()); i++ {
		now := int64(rt.Value(i))
		if d.st.Clock.due(now) {
			d.close(ctx)
		}
		if !d.st.Clock.place(now) {
			lateRow(ctx, rec, i, now, "COUNT_DISTINCT_ITEMS_TUMBLING")
			continue
		}
		var ok bool
		d.buf, ok, err = keyAt(col, i, d.buf)
		if err != nil {
			return fmt.Errorf("COUNT_DISTINCT_ITEMS_TUMBLING: %w", err)
		}
		if ok {
			d.st.add(hashKey(d.buf))
		}
	}
	return d.out.flush(d.Send)
}

func (s *distinctState) add(h uint64) {
	if s.Sketch.Reg != nil {
		s.Sketch.add(h)
		return
	}
	s.Exact[h] = struct{}{}
	if len(s.Exact) > ExactDistinct {
		s.Sketch = newHLL()
		for x := range s.Exact {
			s.Sketch.add(x)
		}
		clear(s.Exact)
	}
}

func (s *distinctState) count() int64 {
	if s.Sketch.Reg == nil {
		return int64(len(s.Exact))
	}
	n := int64(math.Round(s.Sketch.estimate()))
	// Above the exact threshold the window certainly held more than
	// ExactDistinct items.
	return max(n, ExactDistinct+1)
}

// Advance implements operators.Operator.
func (d *Distinct) Advance(ctx *operators.Context, now time.Time) error {
	if d.st.Clock.due(now.UnixMilli()) {
		d.close(ctx)
	}
	return d.out.flush(d.Send)
}

func (d *Distinct) close(ctx *operators.Context) {
	end := d.st.Clock.close()
	b := d.out.builder(ctx)
	b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(end))
	b.Field(1).(*array.Int64Builder).Append(d.st.count())
	clear(d.st.Exact)
	d.st.Sketch.Reg = nil
}

// Snapshot implements operators.Stateful.
func (d *Distinct) Snapshot(w io.Writer) error { return writeSnap(w, tagDistinct, &d.st) }

// Restore implements operators.Stateful.
func (d *Distinct) Restore(r io.Reader) error {
	var st distinctState
	if err := readSnap(r, tagDistinct, &st); err != nil {
		return fmt.Errorf("COUNT_DISTINCT_ITEMS_TUMBLING: %w", err)
	}
	if st.Clock.Width != d.st.Clock.Width {
		return fmt.Errorf("COUNT_DISTINCT_ITEMS_TUMBLING: restore: the snapshot is of a different window size")
	}
	if st.Sketch.Reg != nil && len(st.Sketch.Reg) != 1<<hllP {
		return fmt.Errorf("COUNT_DISTINCT_ITEMS_TUMBLING: restore: %d HyperLogLog registers, expected %d", len(st.Sketch.Reg), 1<<hllP)
	}
	if st.Exact == nil {
		st.Exact = map[uint64]struct{}{}
	}
	d.st = st
	return nil
}
