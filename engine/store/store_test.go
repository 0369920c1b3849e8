package store

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t *testing.T, dir string, clock *fakeClock, mut ...func(*Options)) *Store {
	t.Helper()
	o := Options{Throughput: ThroughputOptions{Disabled: true}}
	if clock != nil {
		o.Now = clock.Now
	}
	for _, m := range mut {
		m(&o)
	}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t *testing.T, s *Store, name string, shards int) {
	t.Helper()
	if err := s.CreateStream(CreateStreamInput{StreamName: name, ShardCount: shards}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
}

func putN(t *testing.T, s *Store, stream, key string, n int, prefix string) []PutRecordResult {
	t.Helper()
	recs := make([]PutRecordInput, n)
	for i := range recs {
		recs[i] = PutRecordInput{PartitionKey: key, Data: []byte(fmt.Sprintf("%s-%d", prefix, i))}
	}
	out, err := s.PutRecords(stream, recs)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if out.FailedRecordCount != 0 {
		t.Fatalf("put: %d failed: %+v", out.FailedRecordCount, out.Records[0])
	}
	return out.Records
}

func readAll(t *testing.T, s *Store, stream, shardID string, typ IteratorType, seq string) ([]Record, GetRecordsOutput) {
	t.Helper()
	it, err := s.GetShardIterator(GetShardIteratorInput{StreamName: stream, ShardID: shardID, Type: typ, SequenceNumber: seq})
	if err != nil {
		t.Fatalf("iterator: %v", err)
	}
	var all []Record
	var last GetRecordsOutput
	for it != "" {
		out, err := s.GetRecords(it, 1000)
		if err != nil {
			t.Fatalf("get records: %v", err)
		}
		all = append(all, out.Records...)
		last = out
		if len(out.Records) == 0 {
			break
		}
		it = out.NextShardIterator
	}
	return all, last
}

func TestPutThenReadReturnsEveryRecordInOrderWithItsData(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "clicks", 1)
	var res []PutRecordResult
	for i := 0; i < 3; i++ {
		res = append(res, putN(t, s, "clicks", "user-1", 400, "a")...)
	}
	recs, _ := readAll(t, s, "clicks", "shardId-000000000000", TrimHorizon, "")
	if len(recs) != 1200 {
		t.Fatalf("read %d records, want 1200", len(recs))
	}
	for i, r := range recs {
		if r.SequenceNumber != res[i].SequenceNumber || string(r.Data) != fmt.Sprintf("a-%d", i%400) || r.PartitionKey != "user-1" {
			t.Fatalf("record %d = %+v, want seq %s data a-%d", i, r, res[i].SequenceNumber, i%400)
		}
	}
}

func TestSequenceNumbersIncreaseAndSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	mustCreate(t, s, "s", 1)
	first := putN(t, s, "s", "k", 3, "x")
	s.Close()
	s = openTest(t, dir, nil)
	second := putN(t, s, "s", "k", 3, "y")
	all := append(first, second...)
	for i := 1; i < len(all); i++ {
		a, _ := parseU128(all[i-1].SequenceNumber)
		b, _ := parseU128(all[i].SequenceNumber)
		if a.cmp(b) >= 0 {
			t.Fatalf("sequence %s not after %s", all[i].SequenceNumber, all[i-1].SequenceNumber)
		}
	}
	recs, _ := readAll(t, s, "s", "shardId-000000000000", TrimHorizon, "")
	if len(recs) != 6 || string(recs[5].Data) != "y-2" {
		t.Fatalf("after restart read %d records", len(recs))
	}
}

func TestIteratorTypesStartWhereTheySay(t *testing.T) {
	clock := newFakeClock()
	s := openTest(t, t.TempDir(), clock)
	mustCreate(t, s, "s", 1)
	early := putN(t, s, "s", "k", 5, "early")
	clock.Advance(10 * time.Second)
	mid := clock.Now()
	late := putN(t, s, "s", "k", 5, "late")
	sh := "shardId-000000000000"

	at, _ := readAll(t, s, "s", sh, AtSequenceNumber, early[3].SequenceNumber)
	after, _ := readAll(t, s, "s", sh, AfterSequenceNumber, early[3].SequenceNumber)
	latest, _ := readAll(t, s, "s", sh, Latest, "")
	if len(at) != 7 || string(at[0].Data) != "early-3" {
		t.Errorf("AT_SEQUENCE_NUMBER read %d from %q", len(at), at[0].Data)
	}
	if len(after) != 6 || string(after[0].Data) != "early-4" {
		t.Errorf("AFTER_SEQUENCE_NUMBER read %d from %q", len(after), after[0].Data)
	}
	if len(latest) != 0 {
		t.Errorf("LATEST read %d old records", len(latest))
	}
	it, err := s.GetShardIterator(GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: AtTimestamp, Timestamp: mid})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.GetRecords(it, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 5 || out.Records[0].SequenceNumber != late[0].SequenceNumber {
		t.Errorf("AT_TIMESTAMP read %d records starting %v", len(out.Records), out.Records)
	}
	if !out.Records[0].ArrivalTime.Equal(mid) {
		t.Errorf("arrival %v, want %v", out.Records[0].ArrivalTime, mid)
	}
}

func TestBadIteratorRequestsGetTheAWSErrors(t *testing.T) {
	clock := newFakeClock()
	s := openTest(t, t.TempDir(), clock)
	mustCreate(t, s, "s", 2)
	mustCreate(t, s, "other", 1)
	res := putN(t, s, "other", "k", 1, "x")
	sh := "shardId-000000000000"
	cases := []struct {
		name string
		in   GetShardIteratorInput
		code string
	}{
		{"an unknown stream", GetShardIteratorInput{StreamName: "nope", ShardID: sh, Type: TrimHorizon}, CodeResourceNotFound},
		{"an unknown shard", GetShardIteratorInput{StreamName: "s", ShardID: "shardId-000000000009", Type: TrimHorizon}, CodeResourceNotFound},
		{"a sequence type without a number", GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: AtSequenceNumber}, CodeInvalidArgument},
		{"a number from another stream", GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: AtSequenceNumber, SequenceNumber: res[0].SequenceNumber}, CodeInvalidArgument},
		{"a non-numeric sequence", GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: AfterSequenceNumber, SequenceNumber: "12ab"}, CodeValidation},
		{"a timestamp type without a time", GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: AtTimestamp}, CodeInvalidArgument},
		{"a future timestamp", GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: AtTimestamp, Timestamp: clock.Now().Add(time.Hour)}, CodeInvalidArgument},
		{"an unknown type", GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: "SIDEWAYS"}, CodeValidation},
	}
	for _, c := range cases {
		_, err := s.GetShardIterator(c.in)
		if ErrorCode(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
	}
	it, _ := s.GetShardIterator(GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: TrimHorizon})
	forged := []byte(it)
	forged[10] ^= 1
	if _, err := s.GetRecords(string(forged), 1); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("forged iterator: %v", err)
	}
	clock.Advance(6 * time.Minute)
	if _, err := s.GetRecords(it, 1); ErrorCode(err) != CodeExpiredIterator {
		t.Errorf("old iterator: %v", err)
	}
}

func TestBadPutsAreRejectedWhole(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 1)
	big := bytes.Repeat([]byte("x"), MaxRecordBytes)
	cases := []struct {
		name string
		recs []PutRecordInput
		code string
	}{
		{"no records", nil, CodeValidation},
		{"501 records", make([]PutRecordInput, 501), CodeValidation},
		{"an empty partition key", []PutRecordInput{{PartitionKey: "k", Data: []byte("ok")}, {Data: []byte("x")}}, CodeValidation},
		{"a record over 1 MiB with its key", []PutRecordInput{{PartitionKey: "k", Data: []byte("ok")}, {PartitionKey: "k", Data: big}}, CodeValidation},
		{"a bad explicit hash key", []PutRecordInput{{PartitionKey: "k", ExplicitHashKey: "340282366920938463463374607431768211456"}}, CodeInvalidArgument},
		{"over 5 MiB in all", []PutRecordInput{{PartitionKey: "k", Data: big[:1<<20-10]}, {PartitionKey: "k", Data: big[:1<<20-10]}, {PartitionKey: "k", Data: big[:1<<20-10]}, {PartitionKey: "k", Data: big[:1<<20-10]}, {PartitionKey: "k", Data: big[:1<<20-10]}, {PartitionKey: "k", Data: big[:100]}}, CodeInvalidArgument},
	}
	for _, c := range cases {
		if _, err := s.PutRecords("s", c.recs); ErrorCode(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
	}
	if _, err := s.PutRecords("missing", []PutRecordInput{{PartitionKey: "k"}}); ErrorCode(err) != CodeResourceNotFound {
		t.Errorf("unknown stream: %v", err)
	}
	recs, _ := readAll(t, s, "s", "shardId-000000000000", TrimHorizon, "")
	if len(recs) != 0 {
		t.Fatalf("a rejected put stored %d records", len(recs))
	}
}

func TestExplicitHashKeyChoosesTheShard(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 4)
	d, _ := s.DescribeStream("s")
	for _, sh := range d.Shards {
		out, err := s.PutRecord("s", PutRecordInput{PartitionKey: "same", ExplicitHashKey: sh.HashKeyRange.EndingHashKey, Data: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if out.ShardID != sh.ShardID {
			t.Errorf("hash %s went to %s, want %s", sh.HashKeyRange.EndingHashKey, out.ShardID, sh.ShardID)
		}
	}
}

func TestSplitClosesTheParentAndChildrenContinueIt(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 1)
	before := putN(t, s, "s", "k", 3, "before")
	d, _ := s.DescribeStream("s")
	mid := maxU128.rsh1().String()
	if err := s.SplitShard("s", d.Shards[0].ShardID, mid); err != nil {
		t.Fatal(err)
	}
	after := putN(t, s, "s", "k", 2, "after")
	d, _ = s.DescribeStream("s")
	if len(d.Shards) != 3 || d.OpenShardCount != 2 {
		t.Fatalf("after split: %d shards, %d open", len(d.Shards), d.OpenShardCount)
	}
	parent := d.Shards[0]
	if parent.Open() || parent.SequenceNumberRange.EndingSequenceNumber != before[2].SequenceNumber {
		t.Fatalf("parent range %+v, want end %s", parent.SequenceNumberRange, before[2].SequenceNumber)
	}
	for _, c := range d.Shards[1:] {
		if c.ParentShardID != parent.ShardID {
			t.Errorf("child %s parent %q", c.ShardID, c.ParentShardID)
		}
	}
	recs, last := readAll(t, s, "s", parent.ShardID, TrimHorizon, "")
	if len(recs) != 3 || last.NextShardIterator != "" || len(last.ChildShards) != 2 {
		t.Fatalf("reading parent: %d records, next %q, children %v", len(recs), last.NextShardIterator, last.ChildShards)
	}
	if after[0].ShardID == parent.ShardID {
		t.Fatal("a record went to the closed parent")
	}
	if err := s.SplitShard("s", parent.ShardID, mid); ErrorCode(err) != CodeResourceInUse {
		t.Errorf("splitting a closed shard: %v", err)
	}
	child := d.Shards[1]
	start, _ := parseU128(child.HashKeyRange.StartingHashKey)
	for _, at := range []string{child.HashKeyRange.StartingHashKey, start.add64(1).String(), child.HashKeyRange.EndingHashKey} {
		if err := s.SplitShard("s", child.ShardID, at); ErrorCode(err) != CodeInvalidArgument {
			t.Errorf("splitting %s at %s (outside start+1 < key < end): %v", child.ShardID, at, err)
		}
	}
}

func TestMergeAndUniformScaling(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 3)
	if err := s.MergeShards("s", "shardId-000000000000", "shardId-000000000002"); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("merging non-adjacent shards: %v", err)
	}
	if err := s.MergeShards("s", "shardId-000000000001", "shardId-000000000000"); err != nil {
		t.Fatal(err)
	}
	d, _ := s.DescribeStream("s")
	child := d.Shards[3]
	if child.ParentShardID != "shardId-000000000001" || child.AdjacentParentShardID != "shardId-000000000000" || child.HashKeyRange.StartingHashKey != "0" {
		t.Fatalf("merge child %+v", child)
	}
	out, err := s.UpdateShardCount("s", 4)
	if err != nil || out.CurrentShardCount != 2 || out.TargetShardCount != 4 {
		t.Fatalf("scale: %+v %v", out, err)
	}
	if _, err := s.UpdateShardCount("s", 9); ErrorCode(err) != CodeLimitExceeded {
		t.Errorf("scaling over double: %v", err)
	}
	d, _ = s.DescribeStream("s")
	if d.OpenShardCount != 4 {
		t.Fatalf("open shards %d", d.OpenShardCount)
	}
	putN(t, s, "s", "k", 10, "x")
}

func TestRetentionTrimsOldDataButNeverReusesSequenceNumbers(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	s := openTest(t, dir, clock)
	mustCreate(t, s, "s", 1)
	old := putN(t, s, "s", "k", 5, "old")
	clock.Advance(23 * time.Hour)
	fresh := putN(t, s, "s", "k", 2, "fresh")
	clock.Advance(2 * time.Hour)
	if err := s.TrimExpired(); err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, s, "s", "shardId-000000000000", TrimHorizon, "")
	if len(recs) != 2 || recs[0].SequenceNumber != fresh[0].SequenceNumber {
		t.Fatalf("after trim read %d records", len(recs))
	}
	clock.Advance(24 * time.Hour)
	if err := s.TrimExpired(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, clock)
	next := putN(t, s, "s", "k", 1, "next")
	a, _ := parseU128(old[4].SequenceNumber)
	b, _ := parseU128(fresh[1].SequenceNumber)
	c, _ := parseU128(next[0].SequenceNumber)
	if !(a.cmp(b) < 0 && b.cmp(c) < 0) {
		t.Fatalf("sequence reused after trim+restart: %s %s %s", a, b, c)
	}
	if err := s.IncreaseRetention("s", 12); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("retention below 24h: %v", err)
	}
	if err := s.IncreaseRetention("s", 48); err != nil {
		t.Fatal(err)
	}
	if err := s.DecreaseRetention("s", 72); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("decrease upwards: %v", err)
	}
}

func TestProvisionedThroughputThrottlesPerShard(t *testing.T) {
	clock := newFakeClock()
	s := openTest(t, t.TempDir(), clock, func(o *Options) { o.Throughput.Disabled = false })
	mustCreate(t, s, "s", 1)
	recs := make([]PutRecordInput, 500)
	for i := range recs {
		recs[i] = PutRecordInput{PartitionKey: "k", Data: []byte("x")}
	}
	a, _ := s.PutRecords("s", recs)
	b, _ := s.PutRecords("s", recs)
	c, _ := s.PutRecords("s", recs)
	if a.FailedRecordCount != 0 || b.FailedRecordCount != 0 || c.FailedRecordCount != 500 {
		t.Fatalf("failed counts %d %d %d, want 0 0 500", a.FailedRecordCount, b.FailedRecordCount, c.FailedRecordCount)
	}
	if c.Records[0].ErrorCode != CodeProvisionedThroughputExceeded {
		t.Fatalf("error code %q", c.Records[0].ErrorCode)
	}
	clock.Advance(time.Second)
	if d, _ := s.PutRecords("s", recs); d.FailedRecordCount != 0 {
		t.Fatalf("after a second %d failed", d.FailedRecordCount)
	}
	it, _ := s.GetShardIterator(GetShardIteratorInput{StreamName: "s", ShardID: "shardId-000000000000", Type: TrimHorizon})
	var err error
	for i := 0; i < 6 && err == nil; i++ {
		_, err = s.GetRecords(it, 1)
	}
	if ErrorCode(err) != CodeProvisionedThroughputExceeded {
		t.Fatalf("6 reads in a second: %v", err)
	}
}

func TestOnDemandStreamsSplitBusyShards(t *testing.T) {
	clock := newFakeClock()
	s := openTest(t, t.TempDir(), clock, func(o *Options) { o.OnDemand.InitialShards = 1 })
	if err := s.CreateStream(CreateStreamInput{StreamName: "od", Mode: ModeOnDemand}); err != nil {
		t.Fatal(err)
	}
	putN(t, s, "od", "k", 500, "x")
	putN(t, s, "od", "k", 500, "x")
	s.ScaleOnDemand(time.Second)
	d, _ := s.DescribeStream("od")
	if d.OpenShardCount != 2 {
		t.Fatalf("open shards after a busy second: %d", d.OpenShardCount)
	}
	s.ScaleOnDemand(time.Second)
	if d, _ := s.DescribeStream("od"); d.OpenShardCount != 2 {
		t.Fatalf("an idle interval split again: %d", d.OpenShardCount)
	}
	if err := s.SplitShard("od", "shardId-000000000001", "5"); ErrorCode(err) != CodeValidation {
		t.Errorf("manual split of on-demand: %v", err)
	}
}

func TestLifecycleTransitionsAreObservable(t *testing.T) {
	s := openTest(t, t.TempDir(), nil, func(o *Options) { o.TransitionDelay = 50 * time.Millisecond })
	if err := s.CreateStream(CreateStreamInput{StreamName: "s", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	d, _ := s.DescribeStream("s")
	if d.StreamStatus != StatusCreating {
		t.Fatalf("status %s right after create", d.StreamStatus)
	}
	if _, err := s.PutRecord("s", PutRecordInput{PartitionKey: "k"}); ErrorCode(err) != CodeResourceNotFound {
		t.Errorf("put while creating: %v", err)
	}
	waitStatus(t, s, "s", StatusActive)
	if _, err := s.UpdateShardCount("s", 2); err != nil {
		t.Fatal(err)
	}
	d, _ = s.DescribeStream("s")
	if d.StreamStatus != StatusUpdating {
		t.Fatalf("status %s after scaling", d.StreamStatus)
	}
	if _, err := s.UpdateShardCount("s", 1); ErrorCode(err) != CodeResourceInUse {
		t.Errorf("rescale while updating: %v", err)
	}
	waitStatus(t, s, "s", StatusActive)
	if err := s.DeleteStream("s", false); err != nil {
		t.Fatal(err)
	}
	d, _ = s.DescribeStream("s")
	if d.StreamStatus != StatusDeleting {
		t.Fatalf("status %s after delete", d.StreamStatus)
	}
}

func waitStatus(t *testing.T, s *Store, name string, want StreamStatus) {
	t.Helper()
	for i := 0; i < 200; i++ {
		d, err := s.DescribeStream(name)
		if err == nil && d.StreamStatus == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("stream %s never became %s", name, want)
}

func TestConsumersKeepDurableCheckpoints(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	mustCreate(t, s, "s", 1)
	res := putN(t, s, "s", "k", 3, "x")
	d, _ := s.DescribeStream("s")
	c, err := s.RegisterConsumer(d.StreamARN, "app")
	if err != nil || c.Status != ConsumerActive {
		t.Fatalf("register: %+v %v", c, err)
	}
	if _, err := s.RegisterConsumer(d.StreamARN, "app"); ErrorCode(err) != CodeResourceInUse {
		t.Errorf("register twice: %v", err)
	}
	if err := s.SetCheckpoint("s", "app", "shardId-000000000000", res[1].SequenceNumber); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint("s", "ghost", "shardId-000000000000", res[1].SequenceNumber); ErrorCode(err) != CodeResourceNotFound {
		t.Errorf("unregistered consumer: %v", err)
	}
	s.Close()
	s = openTest(t, dir, nil)
	cps, err := s.Checkpoints("s", "app")
	if err != nil || cps["shardId-000000000000"] != res[1].SequenceNumber {
		t.Fatalf("checkpoints after restart: %v %v", cps, err)
	}
	if err := s.DeleteStream("s", false); ErrorCode(err) != CodeResourceInUse {
		t.Errorf("delete with consumers: %v", err)
	}
	if err := s.DeregisterConsumer("", "", c.ConsumerARN); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream("s", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DescribeStream("s"); ErrorCode(err) != CodeResourceNotFound {
		t.Errorf("describe deleted: %v", err)
	}
}

func TestRecreatedStreamDoesNotSeeOldData(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 1)
	old := putN(t, s, "s", "k", 2, "old")
	it, _ := s.GetShardIterator(GetShardIteratorInput{StreamName: "s", ShardID: "shardId-000000000000", Type: TrimHorizon})
	if err := s.DeleteStream("s", false); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "s", 1)
	recs, _ := readAll(t, s, "s", "shardId-000000000000", TrimHorizon, "")
	if len(recs) != 0 {
		t.Fatalf("re-created stream has %d old records", len(recs))
	}
	if _, err := s.GetRecords(it, 10); ErrorCode(err) != CodeResourceNotFound {
		t.Errorf("iterator of the deleted stream: %v", err)
	}
	fresh := putN(t, s, "s", "k", 1, "new")
	if fresh[0].SequenceNumber == old[0].SequenceNumber {
		t.Fatal("sequence number reused across incarnations")
	}
}

func TestConcurrentPutsAreAllStoredOnce(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 2)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				putN(t, s, "s", fmt.Sprintf("k%d-%d", g, i), 50, fmt.Sprintf("g%d-%d", g, i))
			}
		}(g)
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, sh := range []string{"shardId-000000000000", "shardId-000000000001"} {
		recs, _ := readAll(t, s, "s", sh, TrimHorizon, "")
		for _, r := range recs {
			k := r.PartitionKey + "/" + string(r.Data)
			if seen[k] {
				t.Fatalf("record %s twice", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != 8*20*50 {
		t.Fatalf("read %d distinct records, want %d", len(seen), 8*20*50)
	}
}

func TestRecordsSignalWakesAWaitingReader(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 1)
	it, _ := s.GetShardIterator(GetShardIteratorInput{StreamName: "s", ShardID: "shardId-000000000000", Type: Latest})
	sig, err := s.RecordsSignal(it)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-sig:
		t.Fatal("signalled before any put")
	default:
	}
	go func() {
		if _, err := s.PutRecord("s", PutRecordInput{PartitionKey: "k", Data: []byte("wake-0")}); err != nil {
			t.Errorf("put: %v", err)
		}
	}()
	select {
	case <-sig:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal after a put")
	}
	out, err := s.GetRecordsDedicated(it, 10)
	if err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "wake-0" {
		t.Fatalf("read after signal: %+v %v", out, err)
	}
}

func TestIteratorSequenceNumberResumesAfterWithoutLoss(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "s", 1)
	sh := "shardId-000000000000"
	it, _ := s.GetShardIterator(GetShardIteratorInput{StreamName: "s", ShardID: sh, Type: TrimHorizon})
	start, err := s.IteratorSequenceNumber(it)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := s.DescribeStream("s")
	if start != d.Shards[0].SequenceNumberRange.StartingSequenceNumber {
		t.Fatalf("position before any record = %s, want the shard's starting number %s", start, d.Shards[0].SequenceNumberRange.StartingSequenceNumber)
	}
	putN(t, s, "s", "k", 3, "x")
	recs, _ := readAll(t, s, "s", sh, AfterSequenceNumber, start)
	if len(recs) != 3 || string(recs[0].Data) != "x-0" {
		t.Fatalf("resuming after the starting number read %d records", len(recs))
	}
}
