package app

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
)

// EndOfTime is the heartbeat a replay ends with: every window closes.
var EndOfTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// BatchSize is how many records are decoded and pushed at once
	// (default 4096). Results do not depend on it.
	BatchSize int
	// Progress, when set, is called after every batch with the number of
	// records replayed so far.
	Progress func(done int)
}

// Replay pushes recs through the application in order — each record's
// Rowtime is its arrival time — with a heartbeat after every batch, then
// lets the clock run on until every window has closed. The clock is driven
// by the records alone, so a replay is deterministic.
func (r *Runtime) Replay(recs []input.Record, opts ReplayOptions) error {
	n := opts.BatchSize
	if n <= 0 {
		n = 4096
	}
	if r.now == nil && r.queryStart.IsZero() && len(recs) > 0 {
		r.SetClock(recs[0].Rowtime, nil)
	}
	for i := 0; i < len(recs); i += n {
		batch := recs[i:min(i+n, len(recs))]
		if err := r.Push(batch); err != nil {
			return fmt.Errorf("replay records %d..%d: %w", i+1, i+len(batch), err)
		}
		if err := r.Advance(batch[len(batch)-1].Rowtime); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if opts.Progress != nil {
			opts.Progress(i + len(batch))
		}
	}
	if err := r.Advance(EndOfTime); err != nil {
		return fmt.Errorf("replay: closing windows: %w", err)
	}
	return nil
}

// JSONLines is an output that writes each row of a stream as one JSON
// object per line: ROWTIME and the stream's columns, with TIMESTAMP values
// as "yyyy-MM-dd HH:mm:ss.SSS". With Stream set, each object starts with a
// "stream" field naming it (kda run's standard output).
type JSONLines struct {
	W      io.Writer
	Stream string
}

// Process implements pipeline.Subscriber.
func (j *JSONLines) Process(_ *operators.Context, rec arrow.Record) error {
	var b strings.Builder
	for i := 0; i < int(rec.NumRows()); i++ {
		row := operators.RowJSON(rec, i)
		if j.Stream != "" {
			b.WriteString(`{"stream":`)
			b.WriteString(strconv.Quote(j.Stream))
			b.WriteByte(',')
			b.WriteString(row[1:])
		} else {
			b.WriteString(row)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(j.W, b.String())
	return err
}

// Advance implements pipeline.Subscriber.
func (j *JSONLines) Advance(*operators.Context, time.Time) error { return nil }
