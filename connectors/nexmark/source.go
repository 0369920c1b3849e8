package nexmark

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kdaproject/kda/connectors/source"
)

// SourceKind is the source kind applications name in input.source.
const SourceKind = "nexmark"

// SourceConfig is the nexmark source's configuration.
type SourceConfig struct {
	// EventsPerSecond paces the source in real time and sets the event-time
	// rate (default 10,000).
	EventsPerSecond float64 `json:"eventsPerSecond,omitempty"`
	// MaxEvents stops the source after that many events (0: never).
	MaxEvents int64 `json:"maxEvents,omitempty"`
	// Seed selects the events (default 1).
	Seed uint64 `json:"seed,omitempty"`
}

// Bounds of one Poll.
const (
	sourceMaxPoll  = 5000
	sourceMaxSleep = 100 * time.Millisecond
)

// sourcePartition is the source's one partition.
const sourcePartition = "nexmark"

// SourceConnector declares the nexmark source.
func SourceConnector() source.Connector {
	return source.Connector{
		Kind:    SourceKind,
		Doc:     "generate the Nexmark benchmark's people, auctions and bids as JSON, paced in real time",
		Example: json.RawMessage(`{"eventsPerSecond": 1000, "maxEvents": 0, "seed": 1}`),
		Open: func(_ context.Context, config json.RawMessage) (source.Source, error) {
			return OpenSource(config, time.Now)
		},
	}
}

// Source generates Nexmark events (see the package comment) at
// EventsPerSecond, in real time: event n is due, and happens (its
// dateTime), at start + n/EventsPerSecond, where start is the time the
// source first started. The message key is the id of the event's person,
// auction or, for a bid, auction; the timestamp is the event time.
//
// The one partition, "nexmark", has as position "<n>@<start in Unix
// milliseconds>", n being the last event copied. Since events are a
// function of the seed and their number, a restart regenerates exactly the
// events after the saved one, with the same times.
type Source struct {
	cfg  SourceConfig
	now  func() time.Time
	gen  *Generator
	next int64 // the next event to return
	// start is the time of event 0.
	start time.Time
}

// OpenSource validates a configuration; now is the clock (time.Now).
func OpenSource(config json.RawMessage, now func() time.Time) (*Source, error) {
	var c SourceConfig
	if len(bytes.TrimSpace(config)) > 0 {
		d := json.NewDecoder(bytes.NewReader(config))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			return nil, fmt.Errorf("nexmark source config: %w", err)
		}
	}
	switch {
	case c.EventsPerSecond < 0:
		return nil, fmt.Errorf("nexmark source config: eventsPerSecond %g: want a positive rate (0: the default, %d)", c.EventsPerSecond, DefaultEventsPerSecond)
	case c.EventsPerSecond > 10_000_000:
		return nil, fmt.Errorf("nexmark source config: eventsPerSecond %g: at most 10,000,000", c.EventsPerSecond)
	case c.MaxEvents < 0:
		return nil, fmt.Errorf("nexmark source config: maxEvents %d: want 0 (no limit) or more", c.MaxEvents)
	}
	if c.EventsPerSecond == 0 {
		c.EventsPerSecond = DefaultEventsPerSecond
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	return &Source{cfg: c, now: now}, nil
}

// Seek continues after the saved event, or starts afresh at event 0 now.
func (s *Source) Seek(_ context.Context, from source.Positions) error {
	s.next, s.start = 0, s.now().Truncate(time.Millisecond)
	if pos, ok := from[sourcePartition]; ok {
		n, start, err := parsePosition(pos)
		if err != nil {
			return err
		}
		s.next, s.start = n+1, start
	}
	s.gen = New(Config{EventsPerSecond: s.cfg.EventsPerSecond, Seed: s.cfg.Seed, BaseTime: s.start})
	return nil
}

func parsePosition(pos string) (int64, time.Time, error) {
	num, ms, ok := strings.Cut(pos, "@")
	n, err1 := strconv.ParseInt(num, 10, 64)
	m, err2 := strconv.ParseInt(ms, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 0 {
		return 0, time.Time{}, fmt.Errorf("nexmark: saved position %q is not <event>@<start ms>", pos)
	}
	return n, time.UnixMilli(m).UTC(), nil
}

// Poll returns the events due by now (at most 5,000), waiting up to 100 ms
// for the next one when none is.
func (s *Source) Poll(ctx context.Context) ([]source.Message, error) {
	if s.gen == nil {
		return nil, fmt.Errorf("nexmark: Poll before Seek")
	}
	if s.cfg.MaxEvents > 0 && s.next >= s.cfg.MaxEvents {
		return nil, sleep(ctx, sourceMaxSleep)
	}
	due := s.due(s.now())
	if due <= s.next {
		wait := s.gen.TimeOf(s.next).Sub(s.now())
		if err := sleep(ctx, min(max(wait, time.Millisecond), sourceMaxSleep)); err != nil {
			return nil, err
		}
		due = s.due(s.now())
	}
	end := min(due, s.next+sourceMaxPoll)
	if s.cfg.MaxEvents > 0 {
		end = min(end, s.cfg.MaxEvents)
	}
	if end <= s.next {
		return nil, nil
	}
	msgs := make([]source.Message, 0, end-s.next)
	startMS := strconv.FormatInt(s.start.UnixMilli(), 10)
	for n := s.next; n < end; n++ {
		e := s.gen.Event(n)
		msgs = append(msgs, source.Message{
			Key:       []byte(strconv.FormatInt(e.key(), 10)),
			Value:     e.AppendJSON(nil),
			Timestamp: e.Time,
			Partition: sourcePartition,
			Position:  strconv.FormatInt(n, 10) + "@" + startMS,
		})
	}
	s.next = end
	return msgs, nil
}

// due is the number of events due by t: those numbered below it.
func (s *Source) due(t time.Time) int64 {
	d := t.Sub(s.start)
	if d < 0 {
		return 0
	}
	return int64(d.Seconds()*s.cfg.EventsPerSecond) + 1
}

// Lag is the number of events due and not yet polled.
func (s *Source) Lag() (int64, bool) {
	if s.gen == nil {
		return 0, false
	}
	due := s.due(s.now())
	if s.cfg.MaxEvents > 0 {
		due = min(due, s.cfg.MaxEvents)
	}
	return max(due-s.next, 0), true
}

// Close does nothing: the source holds no connection.
func (s *Source) Close() error { return nil }

// key is the id of the event's subject.
func (e *Event) key() int64 {
	switch e.Kind {
	case KindPerson:
		return e.Person.ID
	case KindAuction:
		return e.Auction.ID
	}
	return e.Bid.Auction
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
