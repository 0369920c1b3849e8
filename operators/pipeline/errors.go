package pipeline

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/sql/types"
)

// ErrorStreamName is the system stream that receives rows that failed.
const ErrorStreamName = "error_stream"

// ErrorSchema is error_stream's schema, as Kinesis Data Analytics defines it.
// kda writes DATA_ROW as the row's JSON text (or the raw record when it could
// not be decoded) rather than hex, so that it can be read.
var ErrorSchema = types.Schema{Fields: []types.Field{
	{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "ERROR_TIME", Type: types.TTimestamp},
	{Name: "ERROR_LEVEL", Type: types.VarcharOf(10)},
	{Name: "ERROR_NAME", Type: types.VarcharOf(32)},
	{Name: "MESSAGE", Type: types.VarcharOf(4096)},
	{Name: "DATA_ROWTIME", Type: types.TTimestamp},
	{Name: "DATA_ROW", Type: types.VarcharOf(49152)},
	{Name: "PUMP_NAME", Type: types.VarcharOf(128)},
}}

// ErrorCollector is the operators.ErrorSink of an application: it buffers
// failed rows and writes them to error_stream on Flush, outside the batch
// that failed them, with non-decreasing ROWTIME (the error's time).
type ErrorCollector struct {
	stream  *Stream
	pending []operators.RowError
	last    time.Time
}

// NewErrorCollector returns a collector that flushes into stream.
func NewErrorCollector(stream *Stream) *ErrorCollector { return &ErrorCollector{stream: stream} }

// RowError buffers a failed row.
func (c *ErrorCollector) RowError(e operators.RowError) { c.pending = append(c.pending, e) }

// Pending reports how many failed rows wait for Flush.
func (c *ErrorCollector) Pending() int { return len(c.pending) }

// Flush writes the buffered rows to error_stream.
func (c *ErrorCollector) Flush(mem memory.Allocator) error {
	if len(c.pending) == 0 {
		return nil
	}
	rows := c.pending
	c.pending = nil
	b := array.NewRecordBuilder(mem, ErrorSchema.Arrow())
	defer b.Release()
	ts := func(i int, t time.Time) {
		tb := b.Field(i).(*array.TimestampBuilder)
		if t.IsZero() {
			tb.AppendNull()
			return
		}
		tb.Append(arrowMillis(t))
	}
	str := func(i int, s string, max int) {
		if len(s) > max {
			s = s[:max]
		}
		b.Field(i).(*array.StringBuilder).Append(s)
	}
	for _, e := range rows {
		t := e.Time
		if t.Before(c.last) {
			t = c.last
		}
		c.last = t
		ts(0, t)
		ts(1, e.Time)
		str(2, e.Level, 10)
		str(3, e.Name, 32)
		str(4, e.Message, 4096)
		ts(5, e.DataRowtime)
		str(6, e.DataRow, 49152)
		str(7, e.Pump, 128)
	}
	rec := b.NewRecord()
	defer rec.Release()
	ctx := &operators.Context{Mem: mem, Errors: discardErrors{}, Pump: ErrorStreamName}
	if err := c.stream.Insert(ctx, rec); err != nil {
		return fmt.Errorf("write error_stream: %w", err)
	}
	return nil
}

// discardErrors drops errors raised while writing error_stream itself, which
// cannot be reported anywhere else.
type discardErrors struct{}

func (discardErrors) RowError(operators.RowError) {}
