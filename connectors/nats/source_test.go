package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/connectors/source/sourcetest"
	"github.com/kdaproject/kda/engine/store"
)

// sourceStream creates the fixture's stream, capturing prefix.>.
func (f *fixture) sourceStream(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := f.js.CreateStream(ctx, jetstream.StreamConfig{Name: f.stream, Subjects: []string{f.prefix + ".>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
}

// publish publishes "m-<i>" for i in [from, from+n) on prefix.<sub>,
// alternating the subjects given, with a Kda-Key header when key is set.
func (f *fixture) publish(t *testing.T, from, n int, key string, subs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := from; i < from+n; i++ {
		m := natsgo.NewMsg(f.prefix + "." + subs[i%len(subs)])
		m.Data = []byte(fmt.Sprintf("m-%d", i))
		if key != "" {
			m.Header.Set(KeyHeader, key)
		}
		if _, err := f.js.PublishMsg(ctx, m); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

func openSourceStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateStream(store.CreateStreamInput{StreamName: "orders", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	return st
}

type record struct{ key, data string }

// streamRecords reads the one-shard kda stream "orders" from its start.
func streamRecords(t *testing.T, st *store.Store) []record {
	t.Helper()
	d, err := st.DescribeStream("orders")
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: "orders", ShardID: d.Shards[0].ShardID, Type: store.TrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out []record
	for it != "" {
		r, err := st.GetRecords(it, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range r.Records {
			out = append(out, record{rec.PartitionKey, string(rec.Data)})
		}
		if len(r.Records) == 0 {
			break
		}
		it = r.NextShardIterator
	}
	return out
}

// stoppingStore lets the first allow commits through and fails the rest,
// so that a test can stop a bridge in the middle of a stream.
type stoppingStore struct {
	*store.Store
	mu    sync.Mutex
	allow int
}

func (s *stoppingStore) Commit(tx store.Txn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allow == 0 {
		return errors.New("stopped by the test")
	}
	s.allow--
	return s.Store.Commit(tx)
}

func startSourceBridge(t *testing.T, st source.Store, config string) *source.Bridge {
	return sourcetest.StartBridge(t, st, SourceConnector(), config, "orders-in", "orders", source.Options{MaxBatch: 10})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	sourcetest.WaitUntil(t, what, 20*time.Second, cond)
}

func TestSourceExampleConfigIsValid(t *testing.T) {
	if _, err := SourceConnector().Open(context.Background(), SourceConnector().Example); err != nil {
		t.Fatal(err)
	}
}

func TestSourceConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, config, want string }{
		{"no url", `{"stream": "S"}`, "url is required"},
		{"no stream", `{"url": "nats://h:4222"}`, "stream is required"},
		{"a stream with a dot", `{"url": "nats://h:4222", "stream": "a.b"}`, "stream"},
		{"an empty subject token", `{"url": "nats://h:4222", "stream": "S", "subject": "a..b"}`, "subject"},
		{"a > in the middle", `{"url": "nats://h:4222", "stream": "S", "subject": "a.>.b"}`, "subject"},
		{"a bad start", `{"url": "nats://h:4222", "stream": "S", "startSequence": "last"}`, "startSequence"},
		{"a bad timeout", `{"url": "nats://h:4222", "stream": "S", "timeout": "soon"}`, "timeout"},
		{"an unknown field", `{"url": "nats://h:4222", "stream": "S", "durable": "d"}`, "durable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SourceConnector().Open(context.Background(), json.RawMessage(tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestSourceBridgeCopiesAStreamExactlyOnceAcrossARestart(t *testing.T) {
	const n = 100
	f := newFixture(t)
	f.sourceStream(t)
	f.publish(t, 0, n/2, "", "a", "b")
	st := openSourceStore(t)
	config := fmt.Sprintf(`{"url": "nats://%s", "stream": %q, "timeout": "2s"}`, natsAddr, f.stream)

	// The first bridge commits 3 batches of 10, then its commits fail
	// (and it seeks again) until it is closed in the middle of the stream.
	b := startSourceBridge(t, &stoppingStore{Store: st, allow: 3}, config)
	waitUntil(t, "the first commits and a failure", func() bool { return b.Stats().Errors > 1 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if c := b.Stats().Copied; c != 30 {
		t.Fatalf("the first bridge copied %d messages, want 3 batches of 10", c)
	}
	f.publish(t, n/2, n/2, "", "a", "b")

	// A new bridge, as after a restart, resumes at the saved sequence + 1.
	b2 := startSourceBridge(t, st, config)
	waitUntil(t, "every message", func() bool { return b2.Stats().Positions[f.stream] == fmt.Sprint(n) })
	waitUntil(t, "the lag to be known", func() bool { return b2.Stats().Lag == 0 })
	b2.Close()
	got := streamRecords(t, st)
	if len(got) != n {
		t.Fatalf("%d records in the stream, want exactly %d", len(got), n)
	}
	for i, r := range got {
		wantKey := f.prefix + ".a"
		if i%2 == 1 {
			wantKey = f.prefix + ".b"
		}
		if r.data != fmt.Sprintf("m-%d", i) || r.key != wantKey {
			t.Fatalf("record %d is %+v, want m-%d keyed by %s: duplicated, lost or out of order", i, r, i, wantKey)
		}
	}
	saved, err := source.SavedPositions(st, "orders-in")
	if err != nil || saved[f.stream] != fmt.Sprint(n) {
		t.Fatalf("saved positions %v, %v; want {%s: %d}", saved, err, f.stream, n)
	}
}

func TestSourceFiltersBySubjectAndKeysByTheKdaKeyHeader(t *testing.T) {
	f := newFixture(t)
	f.sourceStream(t)
	f.publish(t, 0, 4, "", "a", "b")
	f.publish(t, 4, 2, "customer-7", "a")
	st := openSourceStore(t)
	b := startSourceBridge(t, st, fmt.Sprintf(`{"url": "nats://%s", "stream": %q, "subject": %q}`, natsAddr, f.stream, f.prefix+".a"))
	waitUntil(t, "the messages on .a", func() bool { return b.Stats().Positions[f.stream] == "6" })
	b.Close()
	got := fmt.Sprint(streamRecords(t, st))
	want := fmt.Sprintf("[{%[1]s.a m-0} {%[1]s.a m-2} {customer-7 m-4} {customer-7 m-5}]", f.prefix)
	if got != want {
		t.Fatalf("stream holds %s, want %s", got, want)
	}
}

func TestSourceStartsAtNewMessagesWithoutSkippingOnASecondSeek(t *testing.T) {
	f := newFixture(t)
	f.sourceStream(t)
	f.publish(t, 0, 5, "", "a")
	src, err := OpenSource(json.RawMessage(fmt.Sprintf(`{"url": "nats://%s", "stream": %q, "startSequence": "new"}`, natsAddr, f.stream)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	if err := src.Seek(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f.publish(t, 5, 2, "", "a")
	// Seeking again (as after an error) must not skip what arrived since.
	if err := src.Seek(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	waitUntil(t, "the new messages", func() bool {
		msgs, err := src.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, string(m.Value)+"@"+m.Position)
		}
		return len(got) >= 2
	})
	if fmt.Sprint(got) != "[m-5@6 m-6@7]" {
		t.Fatalf("got %v, want the two messages after the start", got)
	}
}

func TestSourceRefusesAPositionBeyondTheStreamsEnd(t *testing.T) {
	f := newFixture(t)
	f.sourceStream(t)
	f.publish(t, 0, 2, "", "a")
	src, err := OpenSource(json.RawMessage(fmt.Sprintf(`{"url": "nats://%s", "stream": %q}`, natsAddr, f.stream)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	err = src.Seek(context.Background(), source.Positions{f.stream: "9"})
	if err == nil || !strings.Contains(err.Error(), "created again") {
		t.Fatalf("seek to a sequence after the end: %v, want an error saying the stream was recreated", err)
	}
}

func TestSourceReportsAMissingStream(t *testing.T) {
	f := newFixture(t)
	src, err := OpenSource(json.RawMessage(fmt.Sprintf(`{"url": "nats://%s", "stream": %q}`, natsAddr, f.stream)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Seek(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("seek on a missing stream: %v", err)
	}
}
