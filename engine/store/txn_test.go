package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func recsOf(key string, n int, prefix string) []PutRecordInput {
	out := make([]PutRecordInput, n)
	for i := range out {
		out[i] = PutRecordInput{PartitionKey: key, Data: []byte(fmt.Sprintf("%s-%d", prefix, i))}
	}
	return out
}

func TestCommitWritesRecordsOfSeveralStreamsAndStateTogether(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	mustCreate(t, s, "a", 1)
	mustCreate(t, s, "b", 2)
	putN(t, s, "a", "k", 3, "put")
	err := s.Commit(Txn{
		Records: []StreamRecords{{Stream: "b", Records: recsOf("x", 4, "tb")}, {Stream: "a", Records: recsOf("k", 2, "ta")}},
		State:   map[string][]byte{"app/x/ckpt": []byte("one"), "app/x/def": []byte("two")},
	})
	if err != nil {
		t.Fatal(err)
	}
	putN(t, s, "a", "k", 1, "after")
	got, _ := readAll(t, s, "a", "shardId-000000000000", TrimHorizon, "")
	var data []string
	for _, r := range got {
		data = append(data, string(r.Data))
	}
	if want := "[put-0 put-1 put-2 ta-0 ta-1 after-0]"; fmt.Sprint(data) != want {
		t.Fatalf("stream a holds %v, want %s", data, want)
	}
	for i := 1; i < len(got); i++ {
		if !lessSeq(got[i-1].SequenceNumber, got[i].SequenceNumber) {
			t.Fatalf("sequence numbers not increasing: %s then %s", got[i-1].SequenceNumber, got[i].SequenceNumber)
		}
	}
	nb := 0
	for _, sh := range []string{"shardId-000000000000", "shardId-000000000001"} {
		r, _ := readAll(t, s, "b", sh, TrimHorizon, "")
		nb += len(r)
	}
	if nb != 4 {
		t.Fatalf("stream b holds %d records, want 4", nb)
	}
	s.Close()

	s = openTest(t, dir, nil)
	v, err := s.AppState("app/x/ckpt")
	if err != nil || string(v) != "one" {
		t.Fatalf("state after reopen: %q, %v", v, err)
	}
	keys, err := s.AppStateKeys("app/x/")
	if err != nil || fmt.Sprint(keys) != "[app/x/ckpt app/x/def]" {
		t.Fatalf("keys %v, %v", keys, err)
	}
	if n := len(s.ListStreams()); n != 2 {
		t.Fatalf("application state must not show as streams: %d streams", n)
	}
}

func lessSeq(a, b string) bool {
	x, _ := parseU128(a)
	y, _ := parseU128(b)
	return x.cmp(y) < 0
}

func TestCommitToAMissingStreamWritesNothing(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "a", 1)
	err := s.Commit(Txn{
		Records: []StreamRecords{{Stream: "a", Records: recsOf("k", 2, "x")}, {Stream: "nope", Records: recsOf("k", 1, "y")}},
		State:   map[string][]byte{"k": []byte("v")},
	})
	if ErrorCode(err) != CodeResourceNotFound {
		t.Fatalf("want ResourceNotFound, got %v", err)
	}
	if got, _ := readAll(t, s, "a", "shardId-000000000000", TrimHorizon, ""); len(got) != 0 {
		t.Fatalf("stream a got %d records from a failed transaction", len(got))
	}
	if v, _ := s.AppState("k"); v != nil {
		t.Fatalf("state written by a failed transaction: %q", v)
	}
}

func TestCommitIsNeverThrottled(t *testing.T) {
	s := openTest(t, t.TempDir(), newFakeClock(), func(o *Options) { o.Throughput.Disabled = false })
	mustCreate(t, s, "a", 1)
	// 3,000 records in one second is three times the shard's write limit.
	if err := s.Commit(Txn{Records: []StreamRecords{{Stream: "a", Records: recsOf("k", 3000, "x")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.PutRecords("a", recsOf("k", 1, "p"))
	if err != nil {
		t.Fatal(err)
	}
	_ = out // a put may now be throttled or not; the commit itself must not be
}

func TestAppStateDeletesByNilValueAndByPrefix(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Commit(Txn{State: map[string][]byte{"app/a/1": {1}, "app/a/2": {2}, "app/b/1": {3}}}))
	must(s.Commit(Txn{State: map[string][]byte{"app/a/1": nil}}))
	keys, _ := s.AppStateKeys("app/")
	if fmt.Sprint(keys) != "[app/a/2 app/b/1]" {
		t.Fatalf("after nil value: %v", keys)
	}
	must(s.DeleteAppState("app/a/"))
	keys, _ = s.AppStateKeys("app/")
	if fmt.Sprint(keys) != "[app/b/1]" {
		t.Fatalf("after prefix delete: %v", keys)
	}
	if err := s.DeleteAppState(""); err == nil {
		t.Fatal("deleting with an empty prefix must be refused")
	}
}

func TestCommitsAndPutsInterleaveWithoutGapsOrDuplicates(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "a", 2)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var err error
				if w%2 == 0 {
					_, err = s.PutRecords("a", recsOf(fmt.Sprint(w, i), 5, fmt.Sprintf("p%d-%d", w, i)))
				} else {
					err = s.Commit(Txn{Records: []StreamRecords{{Stream: "a", Records: recsOf(fmt.Sprint(w, i), 5, fmt.Sprintf("c%d-%d", w, i))}},
						State: map[string][]byte{fmt.Sprint("w", w): []byte(fmt.Sprint(i))}})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, sh := range []string{"shardId-000000000000", "shardId-000000000001"} {
		recs, _ := readAll(t, s, "a", sh, TrimHorizon, "")
		for i, r := range recs {
			if seen[string(r.Data)] {
				t.Fatalf("record %s twice", r.Data)
			}
			seen[string(r.Data)] = true
			if i > 0 && !lessSeq(recs[i-1].SequenceNumber, r.SequenceNumber) {
				t.Fatalf("sequence numbers out of order in %s", sh)
			}
		}
	}
	if len(seen) != 4*50*5 {
		t.Fatalf("read %d records, want %d", len(seen), 4*50*5)
	}
	if v, _ := s.AppState("w3"); string(v) != "49" {
		t.Fatalf("last state of w3 = %q", v)
	}
}

func TestCommitWakesWaitingReaders(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "a", 1)
	it, err := s.GetShardIterator(GetShardIteratorInput{StreamName: "a", ShardID: "shardId-000000000000", Type: Latest})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.RecordsSignal(it)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = s.Commit(Txn{Records: []StreamRecords{{Stream: "a", Records: recsOf("k", 1, "x")}}})
	}()
	select {
	case <-sig:
	case <-time.After(5 * time.Second):
		t.Fatal("a commit did not wake the reader")
	}
	out, err := s.GetRecordsDedicated(it, 10)
	if err != nil || len(out.Records) != 1 {
		t.Fatalf("read after wake: %d records, %v", len(out.Records), err)
	}
}

func TestClosingAShardWakesItsReaders(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	mustCreate(t, s, "a", 1)
	it, err := s.GetShardIterator(GetShardIteratorInput{StreamName: "a", ShardID: "shardId-000000000000", Type: Latest})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.RecordsSignal(it)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateShardCount("a", 2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sig:
	case <-time.After(5 * time.Second):
		t.Fatal("closing the shard did not wake its reader")
	}
	out, err := s.GetRecordsDedicated(it, 10)
	if err != nil || out.NextShardIterator != "" || len(out.ChildShards) == 0 {
		t.Fatalf("read after close: next %q, children %v, %v", out.NextShardIterator, out.ChildShards, err)
	}
}
