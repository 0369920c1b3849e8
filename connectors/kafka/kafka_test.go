package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/connectors/source/sourcetest"
	"github.com/kdaproject/kda/engine/store"
)

// The tests run against franz-go's in-process fake cluster (kfake): no
// Kafka is needed. An outage is a real one: the cluster is closed (its
// listener goes away) and started again on the same port from its data
// directory.

type cluster struct {
	t    *testing.T
	c    *kfake.Cluster
	addr string
	port int
	dir  string
}

func startCluster(t *testing.T, opts ...kfake.Opt) *cluster {
	t.Helper()
	k := &cluster{t: t, dir: t.TempDir()}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(k.dir)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	k.c, k.addr = c, c.ListenAddrs()[0]
	_, p, _ := net.SplitHostPort(k.addr)
	k.port, _ = strconv.Atoi(p)
	t.Cleanup(func() { k.c.Close() })
	return k
}

// stop closes the cluster: connections drop and new ones are refused.
func (k *cluster) stop() { k.c.Close() }

// restart starts the cluster again on the same port, with its data.
func (k *cluster) restart() {
	k.t.Helper()
	var err error
	for i := 0; i < 50; i++ {
		var c *kfake.Cluster
		if c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(k.dir), kfake.Ports(k.port)); err == nil {
			k.c = c
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.t.Fatalf("restart kfake on port %d: %v", k.port, err)
}

func (k *cluster) client(opts ...kgo.Opt) *kgo.Client {
	k.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.addr)}, opts...)...)
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(cl.Close)
	return cl
}

// readBack consumes n messages of topics from the start.
func (k *cluster) readBack(n int, topics ...string) []*kgo.Record {
	k.t.Helper()
	cl := k.client(kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			k.t.Fatalf("read back %d of %d messages: %v", len(out), n, ctx.Err())
		}
		out = append(out, f.Records()...)
	}
	return out
}

func sinkConfig(k *cluster, extra string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"brokers": [%q], "timeout": "3s", %s}`, k.addr, extra))
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestSinkDeliversBatchesThatAConsumerReadsBackWithKeysAndHeaders(t *testing.T) {
	k := startCluster(t, kfake.SeedTopics(3, "trades"))
	s, err := Connector().OpenSink(context.Background(), sinkConfig(k, `"topic": "trades", "key": "{TICKER}"`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	arrival := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var sent []delivery.Record
	for b := 0; b < 3; b++ {
		var batch []delivery.Record
		for i := 0; i < 4; i++ {
			n := b*4 + i
			batch = append(batch, delivery.Record{
				Data:         []byte(fmt.Sprintf(`{"TICKER": "T%d", "N": %d}`, n%3, n)),
				PartitionKey: "ignored",
				Arrival:      arrival,
				ID:           fmt.Sprintf("shardId-000000000000:%03d", n),
			})
		}
		if err := s.Deliver(context.Background(), batch); err != nil {
			t.Fatalf("deliver batch %d: %v", b, err)
		}
		sent = append(sent, batch...)
	}
	got := k.readBack(len(sent), "trades")
	if len(got) != len(sent) {
		t.Fatalf("read %d messages, want %d", len(got), len(sent))
	}
	byID := map[string]delivery.Record{}
	for _, r := range sent {
		byID[r.ID] = r
	}
	lastN := map[string]int{}
	for _, m := range got {
		id := header(m, RecordIDHeader)
		r, ok := byID[id]
		if !ok {
			t.Fatalf("message %s has header %s=%q, not a record sent", m.Value, RecordIDHeader, id)
		}
		delete(byID, id)
		var row struct {
			TICKER string
			N      int
		}
		json.Unmarshal(m.Value, &row)
		if string(m.Value) != string(r.Data) || string(m.Key) != row.TICKER {
			t.Fatalf("message key %q value %s, want key %s value %s", m.Key, m.Value, row.TICKER, r.Data)
		}
		if !m.Timestamp.Equal(arrival) {
			t.Fatalf("timestamp %v, want the arrival %v", m.Timestamp, arrival)
		}
		if prev, ok := lastN[row.TICKER]; ok && row.N < prev {
			t.Fatalf("key %s out of order: %d after %d", row.TICKER, row.N, prev)
		}
		lastN[row.TICKER] = row.N
	}
}

func TestSinkRendersTheTopicFromFieldsAndKeysByPartitionKeyByDefault(t *testing.T) {
	k := startCluster(t, kfake.SeedTopics(1, "alerts-high", "alerts-low"))
	s, err := OpenSink(sinkConfig(k, `"topic": "alerts-{severity}", "acks": "leader", "idempotent": false`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Deliver(context.Background(), []delivery.Record{
		{Data: []byte(`{"SEVERITY": "high"}`), PartitionKey: "pk1", ID: "a"},
		{Data: []byte(`{"SEVERITY": "low"}`), PartitionKey: "pk2", ID: "b"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := k.readBack(2, "alerts-high", "alerts-low")
	for _, m := range got {
		want := map[string]string{"alerts-high": "pk1", "alerts-low": "pk2"}[m.Topic]
		if string(m.Key) != want {
			t.Fatalf("topic %s key %q, want %q", m.Topic, m.Key, want)
		}
	}
}

func TestSinkRefusesRecordsItCannotRenderAsPermanent(t *testing.T) {
	k := startCluster(t, kfake.SeedTopics(1, "t-x"))
	s, err := OpenSink(sinkConfig(k, `"topic": "t-{K}"`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct{ name, data, want string }{
		{"a record that is not JSON", `nope`, "not a JSON object"},
		{"a record without the field", `{"OTHER": 1}`, "field K"},
		{"a field that makes an invalid topic", `{"K": "a b"}`, "Kafka topics use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Deliver(context.Background(), []delivery.Record{{Data: []byte(tc.data), PartitionKey: "p", ID: "r1"}})
			var p *delivery.Permanent
			if !errors.As(err, &p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a permanent error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSinkConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, config, want string }{
		{"no brokers", `{"topic": "t"}`, "brokers is required"},
		{"a broker without a port", `{"brokers": ["localhost"], "topic": "t"}`, "brokers"},
		{"a broker URL", `{"brokers": ["kafka://h:9092"], "topic": "t"}`, "brokers"},
		{"brokers as a string", `{"brokers": "h:9092", "topic": "t"}`, "brokers"},
		{"no topic", `{"brokers": ["h:9092"]}`, "topic is required"},
		{"a topic with a slash", `{"brokers": ["h:9092"], "topic": "a/{X}"}`, "topic"},
		{"an unclosed brace", `{"brokers": ["h:9092"], "topic": "a-{X"}`, "topic"},
		{"a bad key template", `{"brokers": ["h:9092"], "topic": "t", "key": "}"}`, "key"},
		{"acks none", `{"brokers": ["h:9092"], "topic": "t", "acks": "none"}`, "acks"},
		{"unknown acks", `{"brokers": ["h:9092"], "topic": "t", "acks": "2"}`, "acks"},
		{"idempotent with leader acks", `{"brokers": ["h:9092"], "topic": "t", "acks": "leader"}`, "idempotent"},
		{"a bad timeout", `{"brokers": ["h:9092"], "topic": "t", "timeout": "soon"}`, "timeout"},
		{"idempotent as a string", `{"brokers": ["h:9092"], "topic": "t", "idempotent": "yes"}`, "idempotent"},
		{"an unknown field", `{"brokers": ["h:9092"], "topic": "t", "partition": 3}`, "partition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenSink(json.RawMessage(tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestSourceConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, config, want string }{
		{"no brokers", `{"topic": "t"}`, "brokers"},
		{"no topic", `{"brokers": ["h:9092"]}`, "topic is required"},
		{"an invalid topic", `{"brokers": ["h:9092"], "topic": "a b"}`, "topic"},
		{"a bad start offset", `{"brokers": ["h:9092"], "topic": "t", "startOffset": "middle"}`, "startOffset"},
		{"an unknown field", `{"brokers": ["h:9092"], "topic": "t", "group": "g"}`, "group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SourceConnector().Open(context.Background(), json.RawMessage(tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestSinkFailsDuringAnOutageAndDeliversAfterIt(t *testing.T) {
	k := startCluster(t, kfake.SeedTopics(1, "t"))
	s, err := OpenSink(sinkConfig(k, `"topic": "t", "timeout": "1s"`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := func(id string) []delivery.Record {
		return []delivery.Record{{Data: []byte(id), PartitionKey: "p", ID: id}}
	}
	if err := s.Deliver(context.Background(), rec("before")); err != nil {
		t.Fatal(err)
	}
	k.stop()
	if err := s.Deliver(context.Background(), rec("during")); err == nil {
		t.Fatal("Deliver succeeded with the cluster down")
	} else {
		t.Logf("during the outage: %v", err)
	}
	k.restart()
	if err := s.Deliver(context.Background(), rec("after")); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	got := k.readBack(2, "t")
	if len(got) != 2 || string(got[0].Value) != "before" || string(got[1].Value) != "after" {
		t.Fatalf("topic holds %d messages: %v", len(got), got)
	}
}

// produce writes n messages to each partition of topic, values
// "p<partition>-<seq>" starting at seq from, keys "k<seq%5>".
func produce(t *testing.T, k *cluster, topic string, partitions, from, n int) {
	t.Helper()
	cl := k.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		for p := 0; p < partitions; p++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte(fmt.Sprintf("k%d", i%5)), Value: []byte(fmt.Sprintf("p%d-%d", p, i))})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cl.Close()
}

func openStore(t *testing.T, stream string, shards int) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateStream(store.CreateStreamInput{StreamName: stream, ShardCount: shards}); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkStream reads the whole stream and checks that every partition's
// messages 0..n-1 are there once each, in order.
func checkStream(t *testing.T, st *store.Store, stream string, partitions, n int) {
	t.Helper()
	d, err := st.DescribeStream(stream)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string][]int{}
	for _, sh := range d.Shards {
		it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: stream, ShardID: sh.ShardID, Type: store.TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for it != "" {
			out, err := st.GetRecords(it, 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Records {
				p, i, _ := strings.Cut(string(r.Data), "-")
				if "p"+r.PartitionKey != p {
					t.Fatalf("record %s has partition key %s, want its source partition", r.Data, r.PartitionKey)
				}
				v, _ := strconv.Atoi(i)
				seqs[p] = append(seqs[p], v)
			}
			if len(out.Records) == 0 {
				break
			}
			it = out.NextShardIterator
		}
	}
	for p := 0; p < partitions; p++ {
		got := seqs[fmt.Sprintf("p%d", p)]
		if len(got) != n {
			t.Fatalf("partition %d: %d records in the stream, want exactly %d", p, len(got), n)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("partition %d: record %d is message %d: duplicated, lost or out of order", p, i, v)
			}
		}
	}
}

// pausingStore lets the first allow commits through and fails the rest,
// so that a test can close a bridge in the middle of a topic.
type pausingStore struct {
	*store.Store
	allow int
	mu    sync.Mutex
}

func (p *pausingStore) Commit(tx store.Txn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.allow == 0 {
		return errors.New("paused by the test")
	}
	p.allow--
	return p.Store.Commit(tx)
}

func startBridge(t *testing.T, st source.Store, k *cluster, topic string) *source.Bridge {
	config := fmt.Sprintf(`{"brokers": [%q], "topic": %q, "startOffset": "earliest", "timeout": "1s"}`, k.addr, topic)
	return sourcetest.StartBridge(t, st, SourceConnector(), config, "orders-in", "orders",
		source.Options{PartitionKey: source.KeyBySourcePartition, MaxBatch: 50})
}

// caughtUp reports whether every partition's saved position is offset
// last.
func caughtUp(b *source.Bridge, partitions, last int) bool {
	pos := b.Stats().Positions
	for p := 0; p < partitions; p++ {
		if pos[strconv.Itoa(p)] != strconv.Itoa(last) {
			return false
		}
	}
	return true
}

func TestBridgeCopiesATopicIntoAStreamExactlyOnceAcrossARestart(t *testing.T) {
	const parts, n = 3, 200
	k := startCluster(t, kfake.SeedTopics(parts, "orders"))
	st := openStore(t, "orders", 2)
	produce(t, k, "orders", parts, 0, n/2)

	// The first bridge may commit 3 batches of 50, then its commits fail
	// (and it re-seeks) until it is closed in the middle of the topic.
	b := startBridge(t, &pausingStore{Store: st, allow: 3}, k, "orders")
	sourcetest.WaitUntil(t, "the first commits", 20*time.Second, func() bool { return b.Stats().Errors > 1 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	copied := b.Stats().Copied
	if copied != 150 {
		t.Fatalf("the first bridge copied %d messages, want 3 batches of 50", copied)
	}
	produce(t, k, "orders", parts, n/2, n/2)

	// A new bridge, as after a restart: it seeks to the saved offsets.
	b2 := startBridge(t, st, k, "orders")
	sourcetest.WaitUntil(t, "every message", 20*time.Second, func() bool { return caughtUp(b2, parts, n-1) })
	b2.Close()
	t.Logf("first bridge copied %d messages, the second %d", copied, b2.Stats().Copied)
	if copied+b2.Stats().Copied != parts*n {
		t.Fatalf("copied %d + %d messages, want %d", copied, b2.Stats().Copied, parts*n)
	}
	checkStream(t, st, "orders", parts, n)
	if lag := b2.Stats().Lag; lag != 0 {
		t.Fatalf("lag %d after catching up", lag)
	}
	saved, err := source.SavedPositions(st, "orders-in")
	if err != nil || saved["0"] != strconv.Itoa(n-1) {
		t.Fatalf("saved positions %v, %v", saved, err)
	}
}

func TestBridgeRetriesThroughAKafkaOutageAndResumes(t *testing.T) {
	const parts = 2
	k := startCluster(t, kfake.SeedTopics(parts, "orders"))
	st := openStore(t, "orders", 1)
	produce(t, k, "orders", parts, 0, 30)
	b := startBridge(t, st, k, "orders")
	sourcetest.WaitUntil(t, "the messages before the outage", 20*time.Second, func() bool { return caughtUp(b, parts, 29) })

	k.stop()
	sourcetest.WaitUntil(t, "the bridge to see the outage", 20*time.Second, func() bool { return b.Stats().LastError != "" })
	t.Logf("during the outage: %s", b.Stats().LastError)
	time.Sleep(2500 * time.Millisecond) // a few retries, each seek timing out after 1s
	k.restart()
	produce(t, k, "orders", parts, 30, 30)

	sourcetest.WaitUntil(t, "the messages after the outage", 30*time.Second, func() bool { return caughtUp(b, parts, 59) })
	s := b.Stats()
	if s.Errors < 2 || s.LastError != "" {
		t.Fatalf("stats %+v: want several errors and none left", s)
	}
	b.Close()
	checkStream(t, st, "orders", parts, 60)
}

func TestSourceStartsAtLatestWithoutSavedPositions(t *testing.T) {
	k := startCluster(t, kfake.SeedTopics(1, "orders"))
	produce(t, k, "orders", 1, 0, 5)
	src, err := OpenSource(json.RawMessage(fmt.Sprintf(`{"brokers": [%q], "topic": "orders", "startOffset": "latest"}`, k.addr)))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	if err := src.Seek(ctx, nil); err != nil {
		t.Fatal(err)
	}
	produce(t, k, "orders", 1, 5, 2)
	// Seeking again (as after an error) must not skip what arrived since.
	if err := src.Seek(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	sourcetest.WaitUntil(t, "the new messages", 10*time.Second, func() bool {
		msgs, err := src.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, string(m.Value)+"@"+m.Position)
		}
		return len(got) >= 2
	})
	if fmt.Sprint(got) != "[p0-5@5 p0-6@6]" {
		t.Fatalf("got %v, want the two messages after the start", got)
	}
}
