package pipeline

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// Subscriber receives a stream's batches and heartbeats.
type Subscriber interface {
	Process(ctx *operators.Context, rec arrow.Record) error
	Advance(ctx *operators.Context, now time.Time) error
}

// Stream is an in-application stream. Many pumps may insert into it and
// many subscribers may read it. ROWTIME never decreases along a stream.
type Stream struct {
	Name   string
	Schema types.Schema
	subs   []Subscriber
	// last is the highest ROWTIME (ms) the stream has carried.
	last int64
	// clock is the latest heartbeat time (ms) passed on.
	clock int64
}

// NewStream returns an empty stream. Column 0 of schema must be ROWTIME.
func NewStream(name string, schema types.Schema) (*Stream, error) {
	if err := operators.CheckSchema(schema); err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return &Stream{Name: name, Schema: schema, last: -1 << 62, clock: -1 << 62}, nil
}

// Subscribe adds a reader of the stream.
func (s *Stream) Subscribe(sub Subscriber) { s.subs = append(s.subs, sub) }

// Subscribers reports how many readers the stream has.
func (s *Stream) Subscribers() int { return len(s.subs) }

// Insert appends a batch to the stream. Rows whose ROWTIME is earlier than a
// row the stream already carried are out of order: they go to ctx.Errors
// (OUT_OF_ORDER, naming the pump) and the rest are passed on. The caller
// keeps ownership of rec.
func (s *Stream) Insert(ctx *operators.Context, rec arrow.Record) error {
	if rec.NumRows() == 0 {
		return nil
	}
	rt, ok := rec.Column(0).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("insert into %s: column 0 is %s, not ROWTIME", s.Name, rec.Column(0).DataType())
	}
	vals := rt.TimestampValues()
	last := s.last
	var keep []int
	for i, v := range vals {
		t := int64(v)
		if t < last {
			if keep == nil {
				keep = make([]int, 0, len(vals))
				for j := 0; j < i; j++ {
					keep = append(keep, j)
				}
			}
			ctx.Errors.RowError(operators.RowError{
				Time: time.UnixMilli(last).UTC(), Level: "ERROR", Name: "OUT_OF_ORDER",
				Message:     fmt.Sprintf("row with ROWTIME %s is earlier than ROWTIME %s already in stream %s", formatTime(t), formatTime(last), s.Name),
				DataRowtime: time.UnixMilli(t).UTC(), DataRow: operators.RowJSON(rec, i), Pump: ctx.Pump,
			})
			continue
		}
		last = t
		if keep != nil {
			keep = append(keep, i)
		}
	}
	s.last = last
	if keep != nil {
		if len(keep) == 0 {
			return nil
		}
		sub, err := relational.Take(ctx.Mem, rec, keep)
		if err != nil {
			return fmt.Errorf("insert into %s: %w", s.Name, err)
		}
		defer sub.Release()
		rec = sub
	}
	for _, sub := range s.subs {
		if err := sub.Process(ctx, rec); err != nil {
			return fmt.Errorf("stream %s: %w", s.Name, err)
		}
	}
	return nil
}

// Advance passes a heartbeat to the stream's readers. A heartbeat earlier
// than one already passed is ignored.
func (s *Stream) Advance(ctx *operators.Context, now time.Time) error {
	ms := now.UnixMilli()
	if ms < s.clock {
		return nil
	}
	s.clock = ms
	for _, sub := range s.subs {
		if err := sub.Advance(ctx, now); err != nil {
			return fmt.Errorf("stream %s: %w", s.Name, err)
		}
	}
	return nil
}

// LastRowtime is the highest ROWTIME the stream has carried (false if none).
func (s *Stream) LastRowtime() (time.Time, bool) {
	if s.last == -1<<62 {
		return time.Time{}, false
	}
	return time.UnixMilli(s.last).UTC(), true
}

// SetLastRowtime restores the ordering floor after a restart.
func (s *Stream) SetLastRowtime(t time.Time) { s.last = t.UnixMilli() }
