package sketch

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/sql/types"
)

// Snapshots are "KDAK", a version byte, an operator tag byte, then the
// operator's state as gob.
const (
	snapMagic   = "KDAK"
	snapVersion = 1

	tagTopK     byte = 'K'
	tagDistinct byte = 'D'
	tagHotspots byte = 'H'
)

func writeSnap(w io.Writer, tag byte, state any) error {
	var b bytes.Buffer
	b.WriteString(snapMagic)
	b.WriteByte(snapVersion)
	b.WriteByte(tag)
	if err := gob.NewEncoder(&b).Encode(state); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func readSnap(r io.Reader, tag byte, state any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(data) < len(snapMagic)+2 || string(data[:len(snapMagic)]) != snapMagic {
		return fmt.Errorf("restore: not a sketch operator snapshot")
	}
	if v := data[len(snapMagic)]; v != snapVersion {
		return fmt.Errorf("restore: snapshot format version %d, expected %d", v, snapVersion)
	}
	if t := data[len(snapMagic)+1]; t != tag {
		return fmt.Errorf("restore: snapshot of operator %q, expected %q", t, tag)
	}
	if err := gob.NewDecoder(bytes.NewReader(data[len(snapMagic)+2:])).Decode(state); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// rowtimes reads column 0 of rec.
func rowtimes(rec arrow.Record) (*array.Timestamp, error) {
	if rec.NumCols() == 0 {
		return nil, fmt.Errorf("batch has no ROWTIME column")
	}
	rt, ok := rec.Column(0).(*array.Timestamp)
	if !ok {
		return nil, fmt.Errorf("column 0 is %s, not ROWTIME", rec.Column(0).DataType())
	}
	return rt, nil
}

// clock tracks the one open tumbling window of an operator whose windows
// are aligned on multiples of Width since the epoch, like STEP(ROWTIME BY
// INTERVAL 'n' SECOND). Exported fields are snapshotted.
type clock struct {
	Width   int64 // ms
	Open    bool
	Start   int64
	Closed  bool
	LastEnd int64 // end of the last closed window
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// due reports whether the open window has ended by stream time now.
func (c *clock) due(now int64) bool { return c.Open && now >= c.Start+c.Width }

// place opens the window of a row at time rt if none is open and reports
// false for a row whose window has already closed.
func (c *clock) place(rt int64) bool {
	if c.Closed && rt < c.LastEnd || c.Open && rt < c.Start {
		return false
	}
	if !c.Open {
		c.Open, c.Start = true, floorDiv(rt, c.Width)*c.Width
	}
	return true
}

// close ends the open window and returns its end.
func (c *clock) close() int64 {
	end := c.Start + c.Width
	c.Open, c.Closed, c.LastEnd = false, true, end
	return end
}

func lateRow(ctx *operators.Context, rec arrow.Record, i int, rt int64, what string) {
	if ctx == nil || ctx.Errors == nil {
		return
	}
	tm := time.UnixMilli(rt).UTC()
	ctx.Errors.RowError(operators.RowError{
		Time: tm, Level: "ERROR", Name: "LATE_ROW", Message: "row dropped: its " + what + " window has already closed",
		DataRowtime: tm, DataRow: operators.RowJSON(rec, i), Pump: ctx.Pump,
	})
}

// staged collects output rows across one Process or Advance call.
type staged struct {
	schema *arrow.Schema
	b      *array.RecordBuilder
}

func (s *staged) builder(ctx *operators.Context) *array.RecordBuilder {
	if s.b == nil {
		s.b = array.NewRecordBuilder(ctx.Alloc(), s.schema)
	}
	return s.b
}

// flush sends the staged rows, if any, through send.
func (s *staged) flush(send func(arrow.Record) error) error {
	if s.b == nil {
		return nil
	}
	rec := s.b.NewRecord()
	s.b.Release()
	s.b = nil
	defer rec.Release()
	return send(rec)
}

func checkInput(what string, in types.Schema) error {
	if err := operators.CheckSchema(in); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// TumblingWindowRange bounds windowSizeSeconds of TOP_K_ITEMS_TUMBLING and
// COUNT_DISTINCT_ITEMS_TUMBLING (KDA-SQL.md §4.4).
const (
	MinWindowSeconds = 1
	MaxWindowSeconds = 3600
)

func checkWindow(what string, w time.Duration) error {
	if w < MinWindowSeconds*time.Second || w > MaxWindowSeconds*time.Second || w%time.Second != 0 {
		return fmt.Errorf("%s: the window size must be a whole number of seconds from %d to %d, got %s", what, MinWindowSeconds, MaxWindowSeconds, w)
	}
	return nil
}
