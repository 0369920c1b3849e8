package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/engine/store"
)

// The whole-path outage tests (outage_<sink>_test.go) share one script:
// records are put into the delivery stream "orders" before, during and
// after an outage of the destination, the test waits until the delivery
// stream reports every record delivered and nothing left in its spill,
// then reads the destination back and checks what arrived with
// checkArrivals.
//
// Record i (0 ≤ i < outageTotal) is the JSON object
// {"ID":i,"K":"k<i mod outageKeys>","SEQ":i,"ONE":1}, put with partition
// key K: ID and SEQ are the same number, so that the order records of
// one key were put in is the order of their IDs, and ONE is a score for
// sinks that add (Redis ZINCRBY).
const (
	outageTotal = 600
	outageKeys  = 7
)

func outageKey(i int) string { return fmt.Sprintf("k%d", i%outageKeys) }

func outageRecord(i int) []byte {
	return fmt.Appendf(nil, `{"ID":%d,"K":"%s","SEQ":%d,"ONE":1}`, i, outageKey(i), i)
}

// outageID reads the ID back from a record's bytes; -1 if it has none.
func outageID(data []byte) int {
	var r struct{ ID *int }
	if json.Unmarshal(data, &r) != nil || r.ID == nil {
		return -1
	}
	return *r.ID
}

// outage is one whole-path run against one sink.
type outage struct {
	t *testing.T
	m *delivery.Manager

	mu          sync.Mutex
	inFailedTry map[int]bool // IDs of records in a Deliver call that failed
	failedTries []string     // "records a..b: error" of every failed Deliver, for the log
}

// startOutage opens a store and a manager with short retry backoffs,
// registers c with its sink wrapped so that the test learns which records
// were in a failed Deliver (the only ones an at-least-once sink may
// deliver twice), and creates the delivery stream "orders" to c with
// config (marshalled to JSON). Buffering delivers at once, up to 1 MiB a
// batch.
func startOutage(t *testing.T, c delivery.Connector, config any) *outage {
	t.Helper()
	o := &outage{t: t, inFailedTry: map[int]bool{}}
	st, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	open := c.OpenSink
	c.OpenSink = func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
		s, err := open(ctx, config)
		if err != nil {
			return nil, err
		}
		return &watchedSink{RecordSink: s, o: o}, nil
	}
	reg := delivery.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	o.m, err = delivery.NewManager(st, delivery.ManagerOptions{Registry: reg, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.m.Close(); st.Close() })
	cfg, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	zero, one := 0, 1
	if _, err := o.m.Create(delivery.Definition{DeliveryStreamName: "orders", SinkDestination: &delivery.SinkDestination{
		Type: c.Kind, Config: cfg, BufferingHints: &delivery.BufferingHints{SizeInMBs: &one, IntervalInSeconds: &zero}}}); err != nil {
		t.Fatal(err)
	}
	return o
}

// watchedSink notes the records of every Deliver that fails.
type watchedSink struct {
	delivery.RecordSink
	o *outage
}

func (s *watchedSink) Deliver(ctx context.Context, records []delivery.Record) error {
	err := s.RecordSink.Deliver(ctx, records)
	if err != nil {
		s.o.mu.Lock()
		for _, r := range records {
			s.o.inFailedTry[outageID(r.Data)] = true
		}
		s.o.failedTries = append(s.o.failedTries, fmt.Sprintf("records %d..%d: %v", outageID(records[0].Data), outageID(records[len(records)-1].Data), err))
		s.o.mu.Unlock()
	}
	return err
}

// put puts records from..to-1 in batches of 50, as a producer would.
func (o *outage) put(from, to int) {
	o.t.Helper()
	var batch []delivery.PutInput
	for i := from; i < to; i++ {
		batch = append(batch, delivery.PutInput{PartitionKey: outageKey(i), Data: outageRecord(i)})
		if len(batch) == 50 || i == to-1 {
			if _, err := o.m.Put("orders", batch); err != nil {
				o.t.Fatal(err)
			}
			batch = nil
		}
	}
}

// run puts a third of the records, calls cut (the destination goes away)
// and puts more while it is away, calls restore once a delivery failed
// and puts the rest. It then waits until every record was delivered and the spill
// is empty, and fails the test unless the outage made the delivery
// stream retry and no record went to the error stream.
func (o *outage) run(cut, restore func()) delivery.Metrics {
	o.t.Helper()
	o.put(0, 200)
	cut()
	o.put(200, 450)
	// The outage lasts at least 300ms, and until a delivery failed: a
	// client that retries by itself within the sink's timeout (Kafka's)
	// would otherwise ride out a short outage unnoticed.
	time.Sleep(300 * time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := o.m.Describe("orders")
		if err != nil {
			o.t.Fatal(err)
		}
		if d.Metrics.Retried > 0 {
			if d.Metrics.Spilled == 0 {
				o.t.Logf("nothing waited during the outage: %+v", d.Metrics)
			}
			break
		}
		if time.Now().After(deadline) {
			o.t.Fatalf("no delivery failed during 10s of outage: %+v", d.Metrics)
		}
	}
	restore()
	o.put(450, outageTotal)

	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := o.m.Describe("orders")
		if err != nil {
			o.t.Fatal(err)
		}
		mt := d.Metrics
		if mt.Spilled == 0 && mt.Delivered+mt.Failed >= outageTotal {
			if mt.Failed > 0 {
				o.t.Fatalf("%d records went to the error stream: %+v", mt.Failed, mt)
			}
			if mt.Retried == 0 {
				o.t.Errorf("the outage caused no retry: %+v", mt)
			}
			return mt
		}
		if time.Now().After(deadline) {
			o.t.Fatalf("not delivered after the outage: %+v", mt)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkArrivals checks the IDs of the records the destination received,
// in the order it received them:
//
//   - every record arrived (no loss), and nothing else did;
//   - exactlyOnce: no record arrived twice; otherwise (at least once) a
//     record arrived twice only if it was in a Deliver that failed — the
//     batch the delivery stream sent again after the outage;
//   - per partition key, records first arrived in the order they were
//     put, and the last record put was the last to arrive.
func (o *outage) checkArrivals(arrivals []int, exactlyOnce bool) {
	o.t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := make([]int, outageTotal)
	lastFirst := map[string]int{} // key → ID of the latest first arrival
	lastArrival := map[string]int{}
	dups := 0
	for _, id := range arrivals {
		if id < 0 || id >= outageTotal {
			o.t.Errorf("record %d arrived but was never put", id)
			continue
		}
		k := outageKey(id)
		lastArrival[k] = id
		if seen[id]++; seen[id] > 1 {
			dups++
			switch {
			case exactlyOnce:
				o.t.Errorf("record %d arrived %d times; want exactly once", id, seen[id])
			case !o.inFailedTry[id]:
				o.t.Errorf("record %d arrived %d times but was never in a failed Deliver", id, seen[id])
			}
			continue
		}
		if p, ok := lastFirst[k]; ok && id < p {
			o.t.Errorf("key %s: record %d first arrived after record %d", k, id, p)
		}
		lastFirst[k] = id
	}
	missing := 0
	for id, n := range seen {
		if n == 0 {
			if missing++; missing <= 5 {
				o.t.Errorf("record %d never arrived", id)
			}
		}
	}
	if missing > 0 {
		o.t.Errorf("%d of %d records never arrived", missing, outageTotal)
	}
	for i := outageTotal - outageKeys; i < outageTotal; i++ {
		if k := outageKey(i); lastArrival[k] != i {
			o.t.Errorf("key %s: the last record to arrive is %d, want %d (the last put)", k, lastArrival[k], i)
		}
	}
	o.t.Logf("%d arrivals of %d records, %d duplicates; %d records were in a failed Deliver", len(arrivals), outageTotal, dups, len(o.inFailedTry))
	if dups > 0 || o.t.Failed() {
		for i, f := range o.failedTries {
			if i == 10 {
				o.t.Logf("and %d more failed Deliver calls", len(o.failedTries)-i)
				break
			}
			o.t.Logf("failed Deliver: %s", f)
		}
	}
}
