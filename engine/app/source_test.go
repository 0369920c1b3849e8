package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdaproject/kda/connectors/kafka"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/engine/store"
)

// The source tests run against franz-go's in-process fake Kafka cluster
// (kfake): no Kafka is needed.

// newSourceEnv is a live environment whose manager knows the kafka source
// kind, with an output stream "out" and a kfake cluster holding topic
// "clicks" (3 partitions).
func newSourceEnv(t *testing.T) (*liveEnv, string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "clicks"))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	reg := source.NewRegistry()
	if err := reg.Register(kafka.SourceConnector()); err != nil {
		t.Fatal(err)
	}
	e := &liveEnv{t: t, st: st, clock: &testClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}}
	e.m, err = NewManager(st, ManagerOptions{Now: e.clock.Now, Heartbeat: 2 * time.Millisecond, RetryInterval: 20 * time.Millisecond, Sources: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.m.Close()
		st.Close()
	})
	if err := st.CreateStream(store.CreateStreamInput{StreamName: "out", ShardCount: 2}); err != nil {
		t.Fatal(err)
	}
	return e, c.ListenAddrs()[0]
}

// kafkaCountDef counts the messages of topic "clicks" per key in 10-second
// tumbling windows; the input stream is the default one.
func kafkaCountDef(name, brokers string) Definition {
	def := countDef(name)
	def.Input.Stream = ""
	def.Input.Source = &InputSource{Kind: "kafka", Config: json.RawMessage(fmt.Sprintf(`{"brokers": [%q], "topic": "clicks", "timeout": "3s"}`, brokers))}
	return def
}

// produce sends messages {"k": <key>, "v": i} for i in [from, to), keyed by
// key, round robin over the keys a, b and c.
func produce(t *testing.T, cl *kgo.Client, from, to int) {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < to; i++ {
		k := string(rune('a' + i%3))
		recs = append(recs, &kgo.Record{Topic: "clicks", Key: []byte(k), Value: []byte(fmt.Sprintf(`{"k":%q,"v":%d}`, k, i))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Errorf("produce %d..%d: %v", from, to, err)
	}
}

// windowTotals sums the output rows per key: count and sum of v.
func (e *liveEnv) windowTotals() (n, total map[string]int64) {
	e.t.Helper()
	n, total = map[string]int64{}, map[string]int64{}
	for _, r := range e.output() {
		if strings.Contains(r, "ERROR_NAME") {
			e.t.Fatalf("error_stream row: %s", r)
		}
		var row struct {
			K        string
			N, TOTAL int64
		}
		if err := json.Unmarshal([]byte(r), &row); err != nil {
			e.t.Fatalf("output row %s: %v", r, err)
		}
		n[row.K] += row.N
		total[row.K] += row.TOTAL
	}
	return n, total
}

func TestAnApplicationCountsKafkaMessagesExactlyOnceAcrossStopsAndStarts(t *testing.T) {
	e, brokers := newSourceEnv(t)
	d, err := e.m.Create(kafkaCountDef("counts", brokers))
	if err != nil {
		t.Fatal(err)
	}
	if d.InputStream != "kda-source-counts" || d.Source == nil || d.Source.Kind != "kafka" || d.Source.Running {
		t.Fatalf("after create: input stream %q, source %+v", d.InputStream, d.Source)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	const total = 300
	produce(t, cl, 0, 60)
	d = e.waitFor("the first messages are copied and read", func(d Description) bool { return d.RecordsIn >= 60 })
	if d.Source == nil || !d.Source.Running || d.Source.Copied < 60 {
		t.Fatalf("source while running: %+v", d.Source)
	}

	// Produce the rest while the application is stopped and started again.
	// Messages 60..240 arrive all along; 240..300 while it is stopped.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 60; i < 240; i += 5 {
			produce(t, cl, i, i+5)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for round := 0; round < 3; round++ {
		time.Sleep(15 * time.Millisecond)
		d, err := e.m.Stop("counts")
		if err != nil {
			t.Fatalf("stop %d: %v", round, err)
		}
		if d.Source == nil || d.Source.Running || len(d.Source.Positions) == 0 {
			t.Fatalf("source after stop %d: %+v", round, d.Source)
		}
		e.clock.Add(10 * time.Second) // windows close across the restarts
		produce(t, cl, 240+round*20, 260+round*20)
		if _, err := e.m.Start("counts", ""); err != nil {
			t.Fatalf("start %d: %v", round, err)
		}
	}
	// An update restarts the bridge; so does reopening the manager.
	time.Sleep(10 * time.Millisecond)
	upd := kafkaCountDef("counts", brokers)
	upd.CheckpointInterval = Duration{7 * time.Millisecond}
	if _, err := e.m.Update("counts", upd); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	if e.m, err = NewManager(e.st, e.m.opts); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	e.waitFor("every message is read", func(d Description) bool { return d.RecordsIn >= total })
	e.clock.Add(10 * time.Second)
	e.waitFor("the last window is delivered", func(Description) bool {
		n, _ := e.windowTotals()
		return n["a"]+n["b"]+n["c"] >= total
	})
	time.Sleep(50 * time.Millisecond) // a duplicate would show up by now

	wantN, wantTotal := map[string]int64{}, map[string]int64{}
	for i := 0; i < total; i++ {
		k := string(rune('a' + i%3))
		wantN[k]++
		wantTotal[k] += int64(i)
	}
	n, sum := e.windowTotals()
	if fmt.Sprint(n) != fmt.Sprint(wantN) || fmt.Sprint(sum) != fmt.Sprint(wantTotal) {
		t.Fatalf("counted %v with totals %v; want %v with %v", n, sum, wantN, wantTotal)
	}
	d, err = e.m.Describe("counts")
	if err != nil {
		t.Fatal(err)
	}
	if d.RecordsIn != total {
		t.Fatalf("records in: %d, want %d", d.RecordsIn, total)
	}

	// The bridge's stream holds every message once.
	it, err := e.st.GetShardIterator(store.GetShardIteratorInput{StreamName: "kda-source-counts", ShardID: "shardId-000000000000", Type: store.TrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.st.GetRecords(it, 10000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range out.Records {
		if seen[string(r.Data)] {
			t.Fatalf("the source stream holds %s twice", r.Data)
		}
		seen[string(r.Data)] = true
	}
	if len(seen) != total {
		t.Fatalf("the source stream holds %d messages, want %d", len(seen), total)
	}

	// Deleting the application deletes the bridge's positions.
	if b, _ := e.st.AppState(source.StateKey("counts")); b == nil {
		t.Fatal("no saved source positions before delete")
	}
	if err := e.m.Delete("counts"); err != nil {
		t.Fatal(err)
	}
	if b, err := e.st.AppState(source.StateKey("counts")); err != nil || b != nil {
		t.Fatalf("source positions after delete: %s, %v", b, err)
	}
}

func TestSourceDefinitionsAreRefusedWithTheFieldNamed(t *testing.T) {
	e, brokers := newSourceEnv(t)
	cases := []struct {
		name string
		edit func(s *InputSource)
		want string
	}{
		{"a misspelt kind", func(s *InputSource) { s.Kind = "kafak" }, `input.source.kind: "kafak" is not a source kind (kafka)`},
		{"no kind", func(s *InputSource) { s.Kind = "" }, `input.source.kind: name the source kind`},
		{"a config without topic", func(s *InputSource) { s.Config = json.RawMessage(`{"brokers": ["127.0.0.1:9092"]}`) }, `input.source.config: kafka source config: topic is required`},
		{"a config with an unknown field", func(s *InputSource) {
			s.Config = json.RawMessage(`{"brokers": ["127.0.0.1:9092"], "topic": "t", "tpoic": "t"}`)
		}, `input.source.config: kafka source config`},
		{"a config that is not an object", func(s *InputSource) { s.Config = json.RawMessage(`["x"]`) }, `input.source.config: want a JSON object`},
		{"an unknown partition key mode", func(s *InputSource) { s.PartitionKey = "shard" }, `input.source.partitionKey: "shard" is not "key" or "partition"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := kafkaCountDef("bad", brokers)
			c.edit(def.Input.Source)
			_, err := e.m.Create(def)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("create: %v; want ErrInvalid with %q", err, c.want)
			}
		})
	}
}

func TestADownBrokerIsAnOutageTheBridgeReportsNotADefinitionError(t *testing.T) {
	e, _ := newSourceEnv(t)
	// Nothing listens on port 1.
	def := kafkaCountDef("down", "127.0.0.1:1")
	if _, err := e.m.Create(def); err != nil {
		t.Fatalf("create with a down broker: %v", err)
	}
	if _, err := e.m.Start("down", ""); err != nil {
		t.Fatalf("start with a down broker: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := e.m.Describe("down")
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == StatusRunning && d.Source != nil && d.Source.Running && d.Source.LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bridge error reported: %+v", d.Source)
		}
		time.Sleep(20 * time.Millisecond)
	}
	desc, err := e.st.DescribeStream("kda-source-down")
	if err != nil || len(desc.Shards) != 1 {
		t.Fatalf("the default input stream: %+v, %v", desc, err)
	}
}
