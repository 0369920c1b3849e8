package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdaproject/kda/engine/store"
)

// fakeSource serves fixed partitions of messages "<partition>-<index>";
// a position is the index. It can fail polls and return few messages at a
// time to make many commits.
type fakeSource struct {
	mu       sync.Mutex
	parts    map[string]int // partition -> messages available
	next     map[string]int
	perPoll  int
	failPoll func() bool
	seeks    int
	closed   bool
}

func newFake(parts map[string]int) *fakeSource {
	return &fakeSource{parts: parts, next: map[string]int{}, perPoll: 3}
}

func (f *fakeSource) add(part string, n int) {
	f.mu.Lock()
	f.parts[part] += n
	f.mu.Unlock()
}

func (f *fakeSource) Seek(ctx context.Context, from Positions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seeks++
	f.next = map[string]int{}
	for p, pos := range from {
		i, err := strconv.Atoi(pos)
		if err != nil {
			return fmt.Errorf("bad position %q", pos)
		}
		f.next[p] = i + 1
	}
	return nil
}

func (f *fakeSource) Poll(ctx context.Context) ([]Message, error) {
	f.mu.Lock()
	if f.failPoll != nil && f.failPoll() {
		f.mu.Unlock()
		return nil, errors.New("injected poll failure")
	}
	var out []Message
	for _, p := range []string{"a", "b", "c"} {
		for k := 0; k < f.perPoll && f.next[p] < f.parts[p]; k++ {
			i := f.next[p]
			out = append(out, Message{Key: []byte("key-" + p), Value: []byte(fmt.Sprintf("%s-%d", p, i)), Partition: p, Position: strconv.Itoa(i)})
			f.next[p]++
		}
	}
	f.mu.Unlock()
	if len(out) == 0 {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return out, nil
}

func (f *fakeSource) Lag() (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int
	for p, c := range f.parts {
		n += c - f.next[p]
	}
	return int64(n), true
}

func (f *fakeSource) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

// flakyStore fails some commits: before writing, or after writing (the
// caller cannot know the outcome).
type flakyStore struct {
	*store.Store
	n            atomic.Int64
	failBefore   int64 // every failBefore-th commit fails unwritten
	failAfter    int64 // every failAfter-th commit is written, then fails
	failedBefore atomic.Int64
	failedAfter  atomic.Int64
}

func (s *flakyStore) Commit(tx store.Txn) error {
	n := s.n.Add(1)
	if s.failBefore > 0 && n%s.failBefore == 0 {
		s.failedBefore.Add(1)
		return errors.New("injected failure before the write")
	}
	if err := s.Store.Commit(tx); err != nil {
		return err
	}
	if s.failAfter > 0 && n%s.failAfter == 0 {
		s.failedAfter.Add(1)
		return errors.New("injected failure after the write")
	}
	return nil
}

func openStore(t *testing.T, dir string, stream string, shards int) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if shards > 0 {
		if err := st.CreateStream(store.CreateStreamInput{StreamName: stream, ShardCount: shards}); err != nil {
			t.Fatalf("create stream: %v", err)
		}
	}
	return st
}

// readStream returns the data of every record in the stream, shard by
// shard in order.
func readStream(t *testing.T, st *store.Store, stream string) [][]string {
	t.Helper()
	d, err := st.DescribeStream(stream)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, sh := range d.Shards {
		it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: stream, ShardID: sh.ShardID, Type: store.TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		var data []string
		for it != "" {
			r, err := st.GetRecords(it, 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range r.Records {
				data = append(data, string(rec.Data))
			}
			if len(r.Records) == 0 {
				break
			}
			it = r.NextShardIterator
		}
		out = append(out, data)
	}
	return out
}

// checkExactlyOnce checks that the stream holds, for each partition,
// messages 0..want-1 once each and in order.
func checkExactlyOnce(t *testing.T, shards [][]string, want map[string]int) {
	t.Helper()
	got := map[string][]int{}
	for _, data := range shards {
		for _, d := range data {
			p, i, _ := strings.Cut(d, "-")
			n, _ := strconv.Atoi(i)
			got[p] = append(got[p], n)
		}
	}
	for p, n := range want {
		seq := got[p]
		if len(seq) != n {
			t.Fatalf("partition %s: %d records in the stream, want %d: %v", p, len(seq), n, seq)
		}
		for i, v := range seq {
			if v != i {
				t.Fatalf("partition %s: record %d is message %d (duplicated, lost or out of order): %v", p, i, v, seq)
			}
		}
	}
}

func total(s [][]string) int {
	n := 0
	for _, d := range s {
		n += len(d)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBridgeIsExactlyOnceAcrossFailedCommitsPollErrorsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, "orders", 2)
	fs := &flakyStore{Store: st, failBefore: 5, failAfter: 7}
	src := newFake(map[string]int{"a": 40, "b": 25, "c": 0})
	var polls atomic.Int64
	src.failPoll = func() bool { return polls.Add(1)%11 == 0 }
	b, err := NewBridge(fs, "orders-in", src, "orders", Options{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first messages", func() bool { return b.Stats().Copied >= 20 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !src.closed {
		t.Fatal("Close did not close the source")
	}

	// A new bridge (as after a restart) continues from the saved positions.
	src2 := newFake(map[string]int{"a": 40, "b": 25, "c": 0})
	src2.add("c", 10)
	b2, err := NewBridge(fs, "orders-in", src2, "orders", Options{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Start(); err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	waitFor(t, "every message", func() bool {
		p := b2.Stats().Positions
		return p["a"] == "39" && p["b"] == "24" && p["c"] == "9"
	})
	b2.Close()
	if fs.failedBefore.Load() == 0 || fs.failedAfter.Load() == 0 {
		t.Fatalf("the test injected no commit failures (%d before, %d after)", fs.failedBefore.Load(), fs.failedAfter.Load())
	}
	checkExactlyOnce(t, readStream(t, st, "orders"), map[string]int{"a": 40, "b": 25, "c": 10})
	s := b2.Stats()
	if s.Errors == 0 || s.Lag != 0 {
		t.Fatalf("stats %+v: want errors counted and lag 0", s)
	}
	saved, err := SavedPositions(st, "orders-in")
	if err != nil || saved["a"] != "39" {
		t.Fatalf("saved positions %v, %v", saved, err)
	}
}

func TestBridgeKeysRecordsByMessageKeyOrBySourcePartition(t *testing.T) {
	for _, mode := range []string{KeyByMessageKey, KeyBySourcePartition} {
		t.Run(mode, func(t *testing.T) {
			st := openStore(t, t.TempDir(), "s", 1)
			src := newFake(map[string]int{"a": 2})
			b, err := NewBridge(st, "x", src, "s", Options{PartitionKey: mode})
			if err != nil {
				t.Fatal(err)
			}
			b.Start()
			waitFor(t, "the messages", func() bool { return b.Stats().Copied == 2 })
			b.Close()
			it, _ := st.GetShardIterator(store.GetShardIteratorInput{StreamName: "s", ShardID: "shardId-000000000000", Type: store.TrimHorizon})
			r, err := st.GetRecords(it, 10)
			if err != nil || len(r.Records) != 2 {
				t.Fatalf("%d records, %v", len(r.Records), err)
			}
			want := map[string]string{KeyByMessageKey: "key-a", KeyBySourcePartition: "a"}[mode]
			if r.Records[0].PartitionKey != want {
				t.Fatalf("partition key %q, want %q", r.Records[0].PartitionKey, want)
			}
		})
	}
}

func TestBridgeRetriesUntilTheStreamExists(t *testing.T) {
	st := openStore(t, t.TempDir(), "late", 0)
	src := newFake(map[string]int{"a": 5})
	b, _ := NewBridge(st, "late-in", src, "late", Options{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	b.Start()
	defer b.Close()
	waitFor(t, "an error", func() bool { return b.Stats().LastError != "" })
	if err := st.CreateStream(store.CreateStreamInput{StreamName: "late", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the messages", func() bool { return b.Stats().Copied == 5 })
	if s := b.Stats(); s.LastError != "" {
		t.Fatalf("last error %q after recovering", s.LastError)
	}
	b.Close()
	checkExactlyOnce(t, readStream(t, st, "late"), map[string]int{"a": 5})
}

func TestBridgeStopsAtAMessageTooLargeForARecord(t *testing.T) {
	st := openStore(t, t.TempDir(), "s", 1)
	src := &bigSource{}
	b, _ := NewBridge(st, "big", src, "s", Options{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	b.Start()
	defer b.Close()
	waitFor(t, "the error", func() bool { return strings.Contains(b.Stats().LastError, "more than a kda record holds") })
	b.Close()
	if got := readStream(t, st, "s"); total(got) != 1 {
		t.Fatalf("stream holds %v, want only the message before the big one", got)
	}
	if p, _ := SavedPositions(st, "big"); p["0"] != "0" {
		t.Fatalf("positions %v", p)
	}
}

type bigSource struct{ from Positions }

func (s *bigSource) Seek(_ context.Context, from Positions) error { s.from = from; return nil }
func (s *bigSource) Poll(ctx context.Context) ([]Message, error) {
	if s.from["0"] == "0" {
		time.Sleep(time.Millisecond)
		return []Message{{Partition: "0", Position: "1", Value: make([]byte, store.MaxRecordBytes+1)}}, nil
	}
	return []Message{
		{Partition: "0", Position: "0", Value: []byte("small")},
		{Partition: "0", Position: "1", Value: make([]byte, store.MaxRecordBytes+1)},
	}, nil
}
func (s *bigSource) Close() error { return nil }

func TestNewBridgeRejectsBadArguments(t *testing.T) {
	st := openStore(t, t.TempDir(), "s", 1)
	for _, tc := range []struct {
		name, bridge, stream, mode, want string
	}{
		{"an empty name", "", "s", "", "source name"},
		{"a name with a slash", "a/b", "s", "", "source name"},
		{"no stream", "x", "", "", "stream name"},
		{"an unknown key mode", "x", "s", "hash", "partition key mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBridge(st, tc.bridge, newFake(nil), tc.stream, Options{PartitionKey: tc.mode})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRegistryOpensRegisteredKindsOnly(t *testing.T) {
	r := NewRegistry()
	c := Connector{Kind: "fake", Open: func(context.Context, json.RawMessage) (Source, error) { return newFake(nil), nil }}
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(c); err == nil {
		t.Fatal("a kind registered twice")
	}
	if _, err := r.Open(context.Background(), "fake", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(context.Background(), "nope", nil); err == nil || !strings.Contains(err.Error(), "fake") {
		t.Fatalf("unknown kind: %v", err)
	}
}

// committingSource is a fakeSource that records what the bridge reports
// as committed, checking each report against the store, and can fail
// some reports.
type committingSource struct {
	*fakeSource
	st        *store.Store
	reports   atomic.Int64
	fail      func(n int64) bool
	mu        sync.Mutex
	last      Positions
	notStored []string // reports whose positions were not the saved ones
}

func (c *committingSource) Committed(ctx context.Context, p Positions) error {
	n := c.reports.Add(1)
	saved, err := SavedPositions(c.st, "committed-in")
	c.mu.Lock()
	if err != nil || fmt.Sprint(saved) != fmt.Sprint(p) {
		c.notStored = append(c.notStored, fmt.Sprintf("report %d: %v, saved %v (%v)", n, p, saved, err))
	}
	c.last = p
	p["a"] = "mutated by the source" // the bridge must have passed a copy
	c.mu.Unlock()
	if c.fail != nil && c.fail(n) {
		return errors.New("injected Committed failure")
	}
	return nil
}

func TestBridgeReportsEachDurableCommitToACommitterAndNoFailedOne(t *testing.T) {
	st := openStore(t, t.TempDir(), "s", 1)
	// Every 3rd commit is written and then fails: its outcome is unknown
	// to the bridge, so it must not be reported; every 4th report fails,
	// which makes the bridge seek again without duplicating anything.
	fs := &flakyStore{Store: st, failAfter: 3}
	src := &committingSource{fakeSource: newFake(map[string]int{"a": 30, "b": 12}), st: st}
	src.fail = func(n int64) bool { return n%4 == 0 }
	b, err := NewBridge(fs, "committed-in", src, "s", Options{MaxBatch: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitFor(t, "every message", func() bool {
		p := b.Stats().Positions
		return p["a"] == "29" && p["b"] == "11"
	})
	b.Close()
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.notStored) > 0 {
		t.Fatalf("reported positions that were not the saved ones:\n%s", strings.Join(src.notStored, "\n"))
	}
	// One report per commit that returned success; the last names the
	// final positions.
	if n := src.reports.Load(); n == 0 || n != fs.n.Load()-fs.failedAfter.Load() {
		t.Fatalf("%d reports for %d commits of which %d failed after the write: want one per successful commit", n, fs.n.Load(), fs.failedAfter.Load())
	}
	if src.last["b"] != "11" {
		t.Fatalf("last report %v, want the final positions", src.last)
	}
	if s := b.Stats(); s.Errors < fs.failedAfter.Load()+src.reports.Load()/4 || fs.failedAfter.Load() == 0 {
		t.Fatalf("stats %+v: want every injected failure counted", s)
	}
	checkExactlyOnce(t, readStream(t, st, "s"), map[string]int{"a": 30, "b": 12})
}
