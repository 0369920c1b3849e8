package nexmark

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/engine/store"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSourcePacesResumesAndStops(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)}
	src, err := OpenSource(json.RawMessage(`{"eventsPerSecond":100,"maxEvents":150,"seed":3}`), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := src.Seek(ctx, nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := src.Poll(ctx)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("first poll: %d messages, %v; want event 0 only", len(msgs), err)
	}
	clock.add(time.Second)
	msgs, err = src.Poll(ctx)
	if err != nil || len(msgs) != 100 {
		t.Fatalf("a second later: %d messages, %v; want events 1..100", len(msgs), err)
	}
	if lag, ok := src.Lag(); !ok || lag != 0 {
		t.Errorf("lag %d %v after polling what is due", lag, ok)
	}
	last := msgs[len(msgs)-1]
	if want := clock.t.Add(-time.Second).Add(time.Second).Truncate(time.Millisecond); !last.Timestamp.Equal(want) {
		t.Errorf("event 100 at %v, want %v (start + 100/100 s)", last.Timestamp, want)
	}
	// The events are the generator's, starting when the source did.
	g := New(Config{EventsPerSecond: 100, Seed: 3, BaseTime: clock.t.Add(-time.Second).Truncate(time.Millisecond)})
	e := g.Event(100)
	if !bytes.Equal(last.Value, e.AppendJSON(nil)) || last.Partition != "nexmark" {
		t.Errorf("event 100 is %s in partition %s, want %s", last.Value, last.Partition, e.AppendJSON(nil))
	}

	// A new source seeking to event 100's position goes on with event 101,
	// with the same start, however late it restarts.
	clock.add(time.Hour)
	again, _ := OpenSource(json.RawMessage(`{"eventsPerSecond":100,"maxEvents":150,"seed":3}`), clock.now)
	if err := again.Seek(ctx, source.Positions{"nexmark": last.Position}); err != nil {
		t.Fatal(err)
	}
	msgs, err = again.Poll(ctx)
	if err != nil || len(msgs) != 49 {
		t.Fatalf("after the restart: %d messages, %v; want events 101..149 (maxEvents 150)", len(msgs), err)
	}
	e = g.Event(101)
	if !bytes.Equal(msgs[0].Value, e.AppendJSON(nil)) {
		t.Errorf("after the restart, first event %s, want %s", msgs[0].Value, e.AppendJSON(nil))
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if msgs, _ := again.Poll(cctx); len(msgs) != 0 {
		t.Errorf("past maxEvents: %d messages", len(msgs))
	}
	if err := again.Seek(ctx, source.Positions{"nexmark": "x"}); err == nil {
		t.Error("a bad saved position was accepted")
	}
}

func TestSourceConfigErrors(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{`{"eventsPerSecond":-1}`, "eventsPerSecond"},
		{`{"maxEvents":-1}`, "maxEvents"},
		{`{"rate":5}`, "unknown field"},
		{`{"eventsPerSecond":1e9}`, "at most"},
	} {
		if _, err := OpenSource(json.RawMessage(c.config), time.Now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", c.config, err, c.want)
		}
	}
	if _, err := OpenSource(nil, time.Now); err != nil {
		t.Errorf("no configuration: %v", err)
	}
}

// TestSourceBridgesIntoAStream runs the source for real through a bridge
// into a store stream.
func TestSourceBridgesIntoAStream(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateStream(store.CreateStreamInput{StreamName: "nx", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	reg := source.NewRegistry()
	if err := reg.Register(SourceConnector()); err != nil {
		t.Fatal(err)
	}
	src, err := reg.Open(context.Background(), SourceKind, json.RawMessage(`{"eventsPerSecond":100000,"maxEvents":500}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := source.NewBridge(st, "nx-bridge", src, "nx", source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pos, err := source.SavedPositions(st, "nx-bridge")
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(pos["nexmark"], "499@") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("500 events not copied in 10s: positions %v", pos)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The positions and the records are committed together, but a reader
	// may see the records a moment after the positions: read until all
	// 500 are there.
	var recs []store.Record
	for {
		it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: "nx", ShardID: "shardId-000000000000", Type: store.TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		recs = recs[:0]
		for it != "" && len(recs) < 600 {
			out, err := st.GetRecordsDedicated(it, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) == 0 {
				break
			}
			recs = append(recs, out.Records...)
			it = out.NextShardIterator
		}
		if len(recs) >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(recs) == 0 {
		t.Fatal("no record in the stream")
	}
	if len(recs) != 500 || !bytes.HasPrefix(recs[0].Data, []byte(`{"event_type":0,"person":{"id":1000,`)) {
		t.Fatalf("%d records, the first %s", len(recs), recs[0].Data)
	}
}
