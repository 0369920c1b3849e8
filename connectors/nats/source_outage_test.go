package nats

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/connectors/source/sourcetest"
	"github.com/kdaproject/kda/engine/store"
)

// The outage tests run a bridge from a JetStream stream, reached through
// a proxy that the test cuts, into a real store whose stream has several
// shards; messages are published straight to the server, before, during
// and after the cut.

const outageShards = 3

var outageSubjects = []string{"a", "b", "c", "d"}

func openOutageStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateStream(store.CreateStreamInput{StreamName: "orders", ShardCount: outageShards}); err != nil {
		t.Fatal(err)
	}
	return st
}

// startOutageBridge starts a bridge named orders-in reading f's stream
// at url, with backoffs short enough for an outage of a fraction of a
// second.
func startOutageBridge(t *testing.T, st source.Store, f *fixture, url string) *source.Bridge {
	t.Helper()
	config := fmt.Sprintf(`{"url": "nats://%s", "stream": %q, "timeout": "1s"}`, url, f.stream)
	return sourcetest.StartBridge(t, st, SourceConnector(), config, "orders-in", "orders",
		source.Options{MaxBatch: 7, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
}

// keyedRecords reads every shard of the kda stream "orders" and groups
// the message numbers ("m-<i>") by partition key, in stream order.
func keyedRecords(t *testing.T, st *store.Store) map[string][]int {
	t.Helper()
	d, err := st.DescribeStream("orders")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	for _, sh := range d.Shards {
		it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: "orders", ShardID: sh.ShardID, Type: store.TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for it != "" {
			r, err := st.GetRecords(it, 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range r.Records {
				i, err := strconv.Atoi(strings.TrimPrefix(string(rec.Data), "m-"))
				if err != nil {
					t.Fatalf("record %q is no test message", rec.Data)
				}
				out[rec.PartitionKey] = append(out[rec.PartitionKey], i)
			}
			if len(r.Records) == 0 {
				break
			}
			it = r.NextShardIterator
		}
	}
	return out
}

// checkExactlyOnceInOrder checks that the stream holds messages 0..n-1,
// each once, keyed by their subject prefix.<subs[i%len(subs)]>, in
// publication order per key.
func checkExactlyOnceInOrder(t *testing.T, f *fixture, got map[string][]int, n int) {
	t.Helper()
	total := 0
	for i, sub := range outageSubjects {
		key := f.prefix + "." + sub
		var want []int
		for j := i; j < n; j += len(outageSubjects) {
			want = append(want, j)
		}
		if fmt.Sprint(got[key]) != fmt.Sprint(want) {
			t.Errorf("key %s holds %v\nwant %v (each message once, in order)", key, got[key], want)
		}
		total += len(got[key])
	}
	if total != n || len(got) != len(outageSubjects) {
		t.Errorf("the stream holds %d records under %d keys, want %d under %d", total, len(got), n, len(outageSubjects))
	}
}

// waitCopied waits until the bridge's saved position is sequence n.
func waitCopied(t *testing.T, b *source.Bridge, f *fixture, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("the position to reach %d", n), func() bool { return b.Stats().Positions[f.stream] == strconv.Itoa(n) })
}

func TestSourceCopiesEveryMessageExactlyOnceAcrossAnOutage(t *testing.T) {
	f := newFixture(t)
	f.sourceStream(t)
	proxy := testproxy.Start(t, natsAddr)
	st := openOutageStore(t)
	b := startOutageBridge(t, st, f, proxy.Addr)

	f.publish(t, 0, 40, "", outageSubjects...)
	waitCopied(t, b, f, 40)

	proxy.Cut()
	errs := b.Stats().Errors
	f.publish(t, 40, 40, "", outageSubjects...)
	// The bridge must notice the outage (its poll fails, its seeks fail)
	// and must not copy anything while it lasts.
	waitUntil(t, "the bridge to notice the outage", func() bool { return b.Stats().Errors >= errs+2 })
	if p := b.Stats().Positions[f.stream]; p != "40" {
		t.Fatalf("position %s during the outage, want 40", p)
	}
	proxy.Restore()

	f.publish(t, 80, 40, "", outageSubjects...)
	waitCopied(t, b, f, 120)
	b.Close()
	checkExactlyOnceInOrder(t, f, keyedRecords(t, st), 120)
	if s := b.Stats(); s.Copied != 120 {
		t.Fatalf("stats %+v: want 120 messages copied", s)
	}
}

func TestSourceLosesNothingWhenTheBridgeRestartsWhilePublishingAndDuringAnOutage(t *testing.T) {
	const n = 300
	f := newFixture(t)
	f.sourceStream(t)
	proxy := testproxy.Start(t, natsAddr)
	st := openOutageStore(t)

	// A publisher publishes all along, straight to the server.
	published := make(chan error, 1)
	go func() { published <- f.publishAlong(n, outageSubjects...) }()

	// The first bridge is closed in the middle of the stream.
	b1 := startOutageBridge(t, st, f, proxy.Addr)
	waitUntil(t, "the first bridge to copy some", func() bool { return b1.Stats().Copied >= 50 })
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if c := b1.Stats().Copied; c >= n {
		t.Fatalf("the first bridge copied all %d messages before it was closed: the restart is not in the middle", c)
	}

	// The second starts and is cut off, and closed during the outage.
	b2 := startOutageBridge(t, st, f, proxy.Addr)
	waitUntil(t, "the second bridge to copy some", func() bool { return b2.Stats().Copied > 0 })
	proxy.Cut()
	errs := b2.Stats().Errors
	waitUntil(t, "the second bridge to notice the outage", func() bool { return b2.Stats().Errors > errs })
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}

	// The third starts during the outage, which then ends.
	b3 := startOutageBridge(t, st, f, proxy.Addr)
	waitUntil(t, "the third bridge to fail to connect", func() bool { return b3.Stats().Errors > 0 })
	proxy.Restore()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	waitCopied(t, b3, f, n)
	b3.Close()
	t.Logf("copied: %d by the first bridge, %d by the second, %d by the third", b1.Stats().Copied, b2.Stats().Copied, b3.Stats().Copied)
	checkExactlyOnceInOrder(t, f, keyedRecords(t, st), n)
	if c := b1.Stats().Copied + b2.Stats().Copied + b3.Stats().Copied; c != n {
		t.Fatalf("the bridges copied %d messages in all, want %d", c, n)
	}
}

// publishAlong publishes "m-<i>" for i in [0, n) as publish does, ten at
// a time with a pause, and returns the first error (for a goroutine).
func (f *fixture) publishAlong(n int, subs ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if _, err := f.js.Publish(ctx, f.prefix+"."+subs[i%len(subs)], []byte(fmt.Sprintf("m-%d", i))); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
		if i%10 == 9 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}
