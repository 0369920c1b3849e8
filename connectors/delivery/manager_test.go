package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdaproject/kda/engine/store"
)

// fakeClock is a Clock that moves only when told.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// memStore is an in-memory ObjectStore that can be made to fail.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket/key
	order   []string
	failN   int   // fail the next failN puts
	failErr error // with this error (retryable when not *Permanent)
}

func newMemStore() *memStore { return &memStore{objects: map[string][]byte{}} }

func (s *memStore) PutObject(_ context.Context, bucket, key string, body []byte, _, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN > 0 {
		s.failN--
		return s.failErr
	}
	k := bucket + "/" + key
	if _, ok := s.objects[k]; !ok {
		s.order = append(s.order, k)
	}
	s.objects[k] = append([]byte(nil), body...)
	return nil
}

func (s *memStore) Close() error { return nil }

func (s *memStore) setFail(n int, err error) {
	s.mu.Lock()
	s.failN, s.failErr = n, err
	s.mu.Unlock()
}

// keys returns the object keys in the order they were written.
func (s *memStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

func (s *memStore) get(k string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objects[k]
}

type fixture struct {
	t     *testing.T
	dir   string
	clock *fakeClock
	st    *store.Store
	mem   *memStore
	reg   *Registry
	m     *Manager
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, dir: t.TempDir(), clock: newFakeClock(), mem: newMemStore(), reg: NewRegistry()}
	if err := f.reg.Register(Connector{Kind: "mem", OpenStore: func(context.Context, json.RawMessage) (ObjectStore, error) {
		return f.mem, nil
	}}); err != nil {
		t.Fatal(err)
	}
	f.open()
	t.Cleanup(func() {
		if f.m != nil {
			f.m.Close()
		}
		f.st.Close()
	})
	return f
}

func (f *fixture) open() {
	var err error
	if f.st == nil {
		f.st, err = store.Open(f.dir, store.Options{Now: f.clock.Now, Throughput: store.ThroughputOptions{Disabled: true}})
		if err != nil {
			f.t.Fatal(err)
		}
	}
	f.m, err = NewManager(f.st, ManagerOptions{Registry: f.reg, ObjectStoreKind: "mem", Clock: f.clock,
		RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) restart() {
	f.t.Helper()
	if err := f.m.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.open()
}

func intp(n int) *int { return &n }

func s3def(name string, mut func(*ExtendedS3DestinationConfiguration)) Definition {
	s := &ExtendedS3DestinationConfiguration{BucketARN: "arn:aws:s3:::logs", Prefix: "data/", ErrorOutputPrefix: "errors/",
		BufferingHints: &BufferingHints{SizeInMBs: intp(1), IntervalInSeconds: intp(60)}}
	if mut != nil {
		mut(s)
	}
	return Definition{DeliveryStreamName: name, ExtendedS3DestinationConfiguration: s}
}

func (f *fixture) create(def Definition) {
	f.t.Helper()
	if _, err := f.m.Create(def); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) put(name string, recs ...string) {
	f.t.Helper()
	in := make([]PutInput, len(recs))
	for i, r := range recs {
		in[i] = PutInput{Data: []byte(r), PartitionKey: "k"}
	}
	if _, err := f.m.Put(name, in); err != nil {
		f.t.Fatal(err)
	}
}

// waitFor polls cond every millisecond for up to 10s.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	f.t.Fatalf("timed out waiting for %s", what)
}

// buffered waits until the worker holds n records in its buffer... or at
// least one, as the metric tells.
func (f *fixture) waitBuffered(name string) {
	f.t.Helper()
	f.m.mu.Lock()
	w := f.m.workers[name]
	f.m.mu.Unlock()
	f.waitFor("records buffered", func() bool { return w.oldestMs.Load() != 0 })
}

func (f *fixture) dataObjects() []string {
	var out []string
	for _, k := range f.mem.keys() {
		if strings.HasPrefix(k, "logs/data/") {
			out = append(out, k)
		}
	}
	return out
}

func (f *fixture) errorObjects() []string {
	var out []string
	for _, k := range f.mem.keys() {
		if strings.HasPrefix(k, "logs/errors/") {
			out = append(out, k)
		}
	}
	return out
}

func TestBufferingDeliversAfterTheIntervalSinceTheFirstRecord(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("ticks", nil))
	f.put("ticks", `{"a":1}`+"\n", `{"a":2}`+"\n")
	f.waitBuffered("ticks")
	f.clock.Advance(59 * time.Second)
	time.Sleep(3 * time.Millisecond)
	if n := len(f.dataObjects()); n != 0 {
		t.Fatalf("%d objects before the interval passed", n)
	}
	f.clock.Advance(time.Second)
	f.waitFor("one object", func() bool { return len(f.dataObjects()) == 1 })
	k := f.dataObjects()[0]
	if want := "logs/data/2024/03/01/12/ticks-1-2024-03-01-12-00-00-"; !strings.HasPrefix(k, want) {
		t.Errorf("key %s, want prefix %s", k, want)
	}
	if got := string(f.mem.get(k)); got != "{\"a\":1}\n{\"a\":2}\n" {
		t.Errorf("object %q", got)
	}
	f.waitFor("the checkpoint", func() bool {
		d, _ := f.m.Describe("ticks")
		return d.Metrics.Spilled == 0 && d.Metrics.DeliveryAge == 0
	})
	d, _ := f.m.Describe("ticks")
	if d.Metrics.Delivered != 2 || d.Metrics.DeliveryAge != 0 {
		t.Errorf("metrics %+v", d.Metrics)
	}
}

func TestBufferingDeliversOnceTheSizeIsReached(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("big", nil)) // 1 MiB, 60s
	rec := strings.Repeat("x", 300<<10)
	f.put("big", rec, rec, rec) // 900 KiB: below the size
	f.waitBuffered("big")
	time.Sleep(3 * time.Millisecond)
	if n := len(f.dataObjects()); n != 0 {
		t.Fatalf("%d objects below the size", n)
	}
	f.put("big", rec, rec) // 1.5 MiB: one object of 4 records (≥ 1 MiB), one left
	f.waitFor("one object", func() bool { return len(f.dataObjects()) == 1 })
	if got := len(f.mem.get(f.dataObjects()[0])); got != 4*len(rec) {
		t.Errorf("first object has %d bytes, want %d", got, 4*len(rec))
	}
	f.waitFor("the checkpoint", func() bool { d, _ := f.m.Describe("big"); return d.Metrics.Spilled == 1 })
	time.Sleep(3 * time.Millisecond)
	if n := len(f.dataObjects()); n != 1 {
		t.Fatalf("%d objects; the rest should wait for the interval", n)
	}
	f.clock.Advance(time.Minute)
	f.waitFor("the rest", func() bool { return len(f.dataObjects()) == 2 })
}

func TestZeroIntervalDeliversAtOnceAndFlushDeliversOnDemand(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("now", func(s *ExtendedS3DestinationConfiguration) {
		s.BufferingHints = &BufferingHints{SizeInMBs: intp(1), IntervalInSeconds: intp(0)}
		s.CompressionFormat = GZIP
	}))
	f.put("now", "a")
	f.waitFor("an object", func() bool { return len(f.dataObjects()) == 1 })
	if !strings.HasSuffix(f.dataObjects()[0], ".gz") {
		t.Errorf("key %s has no .gz", f.dataObjects()[0])
	}
	f.create(s3def("later", nil))
	f.put("later", "b")
	if err := f.m.Flush(context.Background(), "later"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.dataObjects()); n != 2 {
		t.Fatalf("Flush returned with %d objects", n)
	}
}

func TestTransformationOkDroppedAndProcessingFailed(t *testing.T) {
	f := newFixture(t)
	script := `exports.handler = async (event) => ({records: event.records.map(r => {
		const s = Buffer.from(r.data, 'base64').toString();
		if (s.startsWith('drop')) return {recordId: r.recordId, result: 'Dropped'};
		if (s.startsWith('bad')) return {recordId: r.recordId, result: 'ProcessingFailed', data: r.data};
		return {recordId: r.recordId, result: 'Ok', data: Buffer.from(s.toUpperCase() + '\n').toString('base64')};
	})});`
	f.create(s3def("tr", func(s *ExtendedS3DestinationConfiguration) {
		s.ProcessingConfiguration = &ProcessingConfiguration{KdaTransformation: &Transformation{Script: script}}
	}))
	f.put("tr", "one", "drop me", "bad one", "two")
	if err := f.m.Flush(context.Background(), "tr"); err != nil {
		t.Fatal(err)
	}
	if objs := f.dataObjects(); len(objs) != 1 || string(f.mem.get(objs[0])) != "ONE\nTWO\n" {
		t.Fatalf("data objects %v: %q", objs, f.mem.get(objs[0]))
	}
	errs := f.errorObjects()
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "logs/errors/processing-failed/2024/03/01/12/tr-1-") {
		t.Fatalf("error objects %v", errs)
	}
	var doc map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(f.mem.get(errs[0])), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["errorCode"] != codeProcessingFailed || doc["rawData"] != "YmFkIG9uZQ==" || doc["attemptsMade"] != 1.0 ||
		doc["arrivalTimestamp"] != float64(f.clock.Now().UnixMilli()) {
		t.Errorf("error document %v", doc)
	}
	d, _ := f.m.Describe("tr")
	if m := d.Metrics; m.Delivered != 2 || m.Dropped != 1 || m.Failed != 1 {
		t.Errorf("metrics %+v", m)
	}
}

func TestAFailingDestinationLosesNothingAndKeepsOrder(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("flaky", func(s *ExtendedS3DestinationConfiguration) {
		s.BufferingHints = &BufferingHints{SizeInMBs: intp(1), IntervalInSeconds: intp(0)}
	}))
	f.mem.setFail(25, errors.New("connection refused"))
	var want strings.Builder
	for i := 0; i < 50; i++ {
		r := fmt.Sprintf("%03d\n", i)
		want.WriteString(r)
		f.put("flaky", r)
	}
	f.waitFor("all records", func() bool { d, _ := f.m.Describe("flaky"); return d.Metrics.Delivered == 50 })
	var got strings.Builder
	for _, k := range f.dataObjects() {
		got.Write(f.mem.get(k))
	}
	if got.String() != want.String() {
		t.Fatalf("delivered\n%s\nwant\n%s", got.String(), want.String())
	}
	d, _ := f.m.Describe("flaky")
	if d.Metrics.Retried != 25 || !strings.Contains(d.Metrics.LastError, "connection refused") {
		t.Errorf("metrics %+v", d.Metrics)
	}
}

func TestPermanentErrorsGoToTheErrorOutput(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("perm", nil))
	f.mem.setFail(1, &Permanent{Err: errors.New("access denied")})
	f.put("perm", "a")
	if err := f.m.Flush(context.Background(), "perm"); err != nil {
		t.Fatal(err)
	}
	errs := f.errorObjects()
	if len(errs) != 1 || !strings.Contains(errs[0], "/delivery-failed/") || !strings.Contains(string(f.mem.get(errs[0])), "access denied") {
		t.Fatalf("error objects %v", errs)
	}
}

func TestARestartInTheMiddleLosesNothing(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("rs", nil))
	f.put("rs", "1\n", "2\n")
	f.waitBuffered("rs")
	f.restart() // buffered, not delivered: read again after the restart
	f.put("rs", "3\n")
	// An outage across a restart too.
	f.mem.setFail(3, errors.New("503"))
	if err := f.m.Flush(context.Background(), "rs"); err != nil {
		t.Fatal(err)
	}
	objs := f.dataObjects()
	if len(objs) != 1 || string(f.mem.get(objs[0])) != "1\n2\n3\n" {
		t.Fatalf("objects %v", objs)
	}
	f.restart()
	f.put("rs", "4\n")
	if err := f.m.Flush(context.Background(), "rs"); err != nil {
		t.Fatal(err)
	}
	objs = f.dataObjects()
	if len(objs) != 2 || string(f.mem.get(objs[1])) != "4\n" {
		t.Fatalf("after the second restart: %v (checkpointed records delivered again?)", objs)
	}
	if names := f.m.List(); len(names) != 1 || names[0] != "rs" {
		t.Errorf("List = %v", names)
	}
}

func TestDynamicPartitioningWritesOneObjectPerKey(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("dp", func(s *ExtendedS3DestinationConfiguration) {
		s.Prefix = "data/ticker=!{partitionKeyFromQuery:ticker}/!{timestamp:yyyy}/"
		s.ErrorOutputPrefix = "errors/!{firehose:error-output-type}/"
		s.DynamicPartitioningConfiguration = &DynamicPartitioningConfiguration{Enabled: boolp(true), KdaPartitionKeys: map[string]string{"ticker": "$.ticker"}}
	}))
	f.put("dp", `{"ticker":"AMZN","p":1}`, `{"ticker":"MSFT","p":2}`, `{"ticker":"AMZN","p":3}`, `{"p":4}`)
	if err := f.m.Flush(context.Background(), "dp"); err != nil {
		t.Fatal(err)
	}
	objs := f.dataObjects()
	sort.Strings(objs)
	if len(objs) != 2 || !strings.HasPrefix(objs[0], "logs/data/ticker=AMZN/2024/dp-1-") || !strings.HasPrefix(objs[1], "logs/data/ticker=MSFT/2024/dp-1-") {
		t.Fatalf("objects %v", objs)
	}
	if got := string(f.mem.get(objs[0])); got != `{"ticker":"AMZN","p":1}{"ticker":"AMZN","p":3}` {
		t.Errorf("AMZN object %q", got)
	}
	if errs := f.errorObjects(); len(errs) != 1 || !strings.HasPrefix(errs[0], "logs/errors/partitioning-failed/") {
		t.Errorf("error objects %v", errs)
	}
}

func boolp(b bool) *bool { return &b }

// fakeSink records deliveries and refuses records containing "poison".
type fakeSink struct {
	mu   sync.Mutex
	got  []Record
	fail int
}

func (s *fakeSink) Deliver(_ context.Context, recs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("down")
	}
	for _, r := range recs {
		if bytes.Contains(r.Data, []byte("poison")) {
			return &Permanent{Err: errors.New("rejected " + string(r.Data))}
		}
	}
	s.got = append(s.got, recs...)
	return nil
}

func (s *fakeSink) Close() error { return nil }

func TestRecordSinksGetBatchesAndFailedRecordsGoToTheErrorStream(t *testing.T) {
	f := newFixture(t)
	sink := &fakeSink{fail: 2}
	if err := f.reg.Register(Connector{Kind: "fake", OpenSink: func(context.Context, json.RawMessage) (RecordSink, error) { return sink, nil }}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Create(Definition{DeliveryStreamName: "s", SinkDestination: &SinkDestination{Type: "nope"}}); err == nil {
		t.Fatal("an unregistered sink type was accepted")
	}
	f.create(Definition{DeliveryStreamName: "s", SinkDestination: &SinkDestination{Type: "fake"}})
	f.put("s", "a", "poison", "b")
	if err := f.m.Flush(context.Background(), "s"); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 2 || string(sink.got[0].Data) != "a" || string(sink.got[1].Data) != "b" || sink.got[0].ID == "" || sink.got[0].PartitionKey != "k" {
		t.Fatalf("sink got %+v", sink.got)
	}
	it, _ := f.st.GetShardIterator(store.GetShardIteratorInput{StreamName: ErrorStreamName("s"), ShardID: "shardId-000000000000", Type: store.TrimHorizon})
	out, err := f.st.GetRecords(it, 0)
	if err != nil || len(out.Records) != 1 {
		t.Fatalf("error stream: %v %v", out.Records, err)
	}
	var doc errorDocument
	if err := json.Unmarshal(out.Records[0].Data, &doc); err != nil || string(doc.RawData) != "poison" || doc.ErrorCode != codePermanent {
		t.Fatalf("error document %+v %v", doc, err)
	}
}

func TestCreateDescribeDeleteAndPutErrors(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("x", nil))
	var e *Error
	if _, err := f.m.Create(s3def("x", nil)); !errors.As(err, &e) || e.Code != CodeResourceInUse {
		t.Errorf("second create: %v", err)
	}
	if _, err := f.m.Put("nope", []PutInput{{Data: []byte("a")}}); !errors.As(err, &e) || e.Code != CodeResourceNotFound {
		t.Errorf("put into a missing stream: %v", err)
	}
	if _, err := f.m.Put("x", make([]PutInput, 501)); !errors.As(err, &e) || e.Code != CodeInvalidArgument {
		t.Errorf("501 records: %v", err)
	}
	d, err := f.m.Describe("x")
	if err != nil || d.DeliveryStreamARN != "arn:aws:firehose:us-east-1:000000000000:deliverystream/x" || d.SpillStream != "kda-delivery-x" || d.DeliveryStreamStatus != "ACTIVE" {
		t.Errorf("describe %+v %v", d, err)
	}
	if err := f.m.Delete("x"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.DescribeStream("kda-delivery-x"); err == nil {
		t.Error("the spill stream survived Delete")
	}
	f.restart()
	if len(f.m.List()) != 0 {
		t.Errorf("deleted stream came back: %v", f.m.List())
	}
}
