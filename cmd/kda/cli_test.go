package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdaproject/kda/engine/store"
)

func TestStreamCommandsRoundTrip(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			out := tg.ok(t, "", "stream", "create", "orders", "--shards", "2", "--wait")
			if !strings.Contains(out, "Created stream orders with 2 shard(s) (ACTIVE)") {
				t.Errorf("create said %q", out)
			}
			if out := tg.ok(t, "", "stream", "list"); !strings.Contains(out, "orders") || !strings.Contains(out, "ACTIVE") {
				t.Errorf("list does not show the stream:\n%s", out)
			}

			var info streamInfo
			if err := json.Unmarshal([]byte(tg.ok(t, "", "stream", "describe", "orders", "-o", "json")), &info); err != nil {
				t.Fatalf("describe -o json: %v", err)
			}
			if info.Name != "orders" || info.Status != "ACTIVE" || len(info.Shards) != 2 {
				t.Fatalf("describe: got %+v, want ACTIVE stream orders with 2 shards", info)
			}
			if info.Shards[0].StartingHashKey != "0" || info.Shards[1].EndingHashKey != "340282366920938463463374607431768211455" {
				t.Errorf("shards do not cover the hash space: %+v", info.Shards)
			}
			for _, s := range info.Shards {
				if s.State != "open" {
					t.Errorf("new shard %s is %s, want open", s.ID, s.State)
				}
			}
			if out := tg.ok(t, "", "stream", "describe", "orders"); !strings.Contains(out, "shardId-000000000001") || !strings.Contains(out, "2 open, 0 closed") {
				t.Errorf("describe table:\n%s", out)
			}

			// Exact data round trip, including a non-UTF-8 record.
			tg.ok(t, "", "put", "orders", "--key", "k1", "first", "second record", "{\"n\":3}")
			bin := string([]byte{0xff, 0x00, 0xfe})
			tg.ok(t, "", "put", "orders", "--key", "k1", bin)
			recs := tailJSON(t, tg, "orders")
			want := []string{"first", "second record", `{"n":3}`, "base64:" + base64.StdEncoding.EncodeToString([]byte(bin))}
			if got := dataOf(recs); !reflect.DeepEqual(got, want) {
				t.Errorf("tail data = %q, want %q", got, want)
			}
			for _, r := range recs {
				if r.PartitionKey != "k1" || r.SequenceNumber == "" || r.ShardID == "" || r.ArrivalTime.IsZero() {
					t.Errorf("incomplete record %+v", r)
				}
			}
			human := tg.ok(t, "", "tail", "orders", "--limit", "2")
			if lines := strings.Split(strings.TrimSpace(human), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[1], " second record") {
				t.Errorf("human tail --limit 2:\n%s", human)
			}

			tg.ok(t, "", "stream", "delete", "orders", "--wait")
			r := tg.run(t, "", "stream", "describe", "orders")
			if r.code != 1 || !strings.Contains(r.stderr, "ResourceNotFoundException") {
				t.Errorf("describe after delete: exit %d, stderr %q; want exit 1 with ResourceNotFoundException", r.code, r.stderr)
			}
		})
	}
}

func TestStreamReshardingAndSettings(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.ok(t, "", "stream", "create", "s", "--shards", "2", "--wait")
			steps := []struct {
				args []string
				want string
			}{
				{[]string{"stream", "merge", "s", "0", "1", "--wait"}, "Merged shardId-000000000000 and shardId-000000000001"},
				{[]string{"stream", "split", "s", "shardId-000000000002", "--wait"}, "at hash key 170141183460469231731687303715884105728"},
				{[]string{"stream", "scale", "s", "4", "--wait"}, "from 2 to 4 shards"},
				{[]string{"stream", "retention", "s", "48"}, "24h → 48h"},
				{[]string{"stream", "retention", "s", "36"}, "48h → 36h"},
				{[]string{"stream", "mode", "s", "on-demand", "--wait"}, "now ON_DEMAND"},
			}
			for _, st := range steps {
				if out := tg.ok(t, "", st.args...); !strings.Contains(out, st.want) {
					t.Errorf("kda %s: got %q, want it to contain %q", strings.Join(st.args, " "), out, st.want)
				}
			}
			var info streamInfo
			if err := json.Unmarshal([]byte(tg.ok(t, "", "stream", "describe", "s", "-o", "json")), &info); err != nil {
				t.Fatal(err)
			}
			open := 0
			for _, s := range info.Shards {
				if s.State == "open" {
					open++
				}
			}
			if info.Mode != "ON_DEMAND" || info.RetentionHours != 36 || open != 4 {
				t.Errorf("after changes: mode %s retention %d open shards %d; want ON_DEMAND 36 4", info.Mode, info.RetentionHours, open)
			}
			merged := info.Shards[2]
			if merged.Parent != "shardId-000000000000" || merged.AdjacentParent != "shardId-000000000001" {
				t.Errorf("merged shard parents: %+v", merged)
			}
			r := tg.run(t, "", "stream", "split", "s", "shardId-000000000099")
			if r.code == 0 || !strings.Contains(r.stderr, "no shard shardId-000000000099") {
				t.Errorf("split of a missing shard: exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

func TestTailReadsParentsBeforeChildren(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.ok(t, "", "stream", "create", "clicks", "--shards", "1", "--wait")
			tg.ok(t, "", "put", "clicks", "--key", "user-1", "p1", "p2", "p3")
			tg.ok(t, "", "stream", "split", "clicks", "0", "--wait")
			tg.ok(t, "", "put", "clicks", "--key", "user-1", "c1", "c2")
			tg.ok(t, "", "stream", "split", "clicks", "1", "--wait")
			tg.ok(t, "", "stream", "split", "clicks", "2", "--wait")
			tg.ok(t, "", "put", "clicks", "--key", "user-1", "g1")

			recs := tailJSON(t, tg, "clicks")
			if got, want := dataOf(recs), []string{"p1", "p2", "p3", "c1", "c2", "g1"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("tail order = %q, want %q", got, want)
			}
			if recs[0].ShardID != "shardId-000000000000" || recs[3].ShardID == recs[0].ShardID || recs[5].ShardID == recs[3].ShardID {
				t.Errorf("records should move from parent to child to grandchild: %q %q %q", recs[0].ShardID, recs[3].ShardID, recs[5].ShardID)
			}

			// --from a sequence number starts there and follows that lineage.
			from := tailJSON(t, tg, "clicks", "--from", recs[1].SequenceNumber)
			if got, want := dataOf(from), []string{"p2", "p3", "c1", "c2", "g1"}; !reflect.DeepEqual(got, want) {
				t.Errorf("tail --from %s = %q, want %q", recs[1].SequenceNumber, got, want)
			}
			// --from a time after everything returns nothing; latest too.
			if got := tailJSON(t, tg, "clicks", "--from", "2999-01-01T00:00:00Z"); len(got) != 0 {
				t.Errorf("tail --from the future returned %d records", len(got))
			}
			if got := tailJSON(t, tg, "clicks", "--from", "latest"); len(got) != 0 {
				t.Errorf("tail --from latest returned %d records", len(got))
			}
		})
	}
}

func TestPutInputs(t *testing.T) {
	tg := targets(t)[0]
	tg.ok(t, "", "stream", "create", "events", "--shards", "3", "--wait")

	jsonl := "{\"user\":\"ann\",\"n\":1}\n\n{\"user\":\"bob\",\"n\":2}\r\n{\"user\":{\"id\":7},\"n\":3}\n"
	r := tg.run(t, jsonl, "put", "events", "--json", "--key-field", "user", "-o", "json")
	if r.code != 0 {
		t.Fatalf("put --json: exit %d: %s", r.code, r.stderr)
	}
	var sum putSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("put -o json: %v\n%s", err, r.stdout)
	}
	if sum.Records != 3 || sum.Failed != 0 || sum.Stream != "events" {
		t.Errorf("summary %+v, want 3 records, 0 failed", sum)
	}
	keys := map[string]string{}
	for _, rec := range tailJSON(t, tg, "events") {
		keys[*rec.Data] = rec.PartitionKey
	}
	want := map[string]string{`{"user":"ann","n":1}`: "ann", `{"user":"bob","n":2}`: "bob", `{"user":{"id":7},"n":3}`: `{"id":7}`}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("data → key = %v, want %v", keys, want)
	}

	// A file of many records spans several PutRecords batches.
	var b strings.Builder
	for i := range 1234 {
		fmt.Fprintf(&b, "{\"user\":\"u%d\",\"i\":%d}\n", i%17, i)
	}
	file := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tg.ok(t, "", "put", "events", "--file", file, "--json", "--key-field", "user", "--no-progress")
	if !strings.Contains(out, "Put 1234 records") || !strings.Contains(out, "0 failed") {
		t.Errorf("file put summary: %q", out)
	}
	if got := len(tailJSON(t, tg, "events")); got != 1237 {
		t.Errorf("stream holds %d records, want 1237", got)
	}

	bad := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"invalid JSON line", "{\"user\":\"a\"}\nnot json\n", []string{"--json"}, 1, "record 2 is not valid JSON"},
		{"missing key field", "{\"who\":\"a\"}\n", []string{"--json", "--key-field", "user"}, 1, `no field "user"`},
		{"key-field without json", "x\n", []string{"--key-field", "user"}, 2, "--key-field needs --json"},
		{"missing stream", "x\n", []string{"--stream-typo"}, 2, "unknown flag"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			r := tg.run(t, c.stdin, append([]string{"put", "events"}, c.args...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, c.code, c.want)
			}
		})
	}
	r = tg.run(t, "", "put", "nope", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "ResourceNotFoundException") {
		t.Errorf("put to a missing stream: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestConsumerCheckpointsResume(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.ok(t, "", "stream", "create", "jobs", "--shards", "2", "--wait")
			tg.ok(t, "", "put", "jobs", "a", "b", "c")

			first := dataOf(tailJSON(t, tg, "jobs", "--consumer", "worker"))
			slices.Sort(first)
			if !reflect.DeepEqual(first, []string{"a", "b", "c"}) {
				t.Fatalf("first read = %q", first)
			}
			if got := tailJSON(t, tg, "jobs", "--consumer", "worker"); len(got) != 0 {
				t.Errorf("second read without new records returned %q", dataOf(got))
			}
			tg.ok(t, "", "put", "jobs", "d", "e")
			second := dataOf(tailJSON(t, tg, "jobs", "--consumer", "worker"))
			slices.Sort(second)
			if !reflect.DeepEqual(second, []string{"d", "e"}) {
				t.Errorf("resumed read = %q, want only the new records d, e", second)
			}
			// Another consumer has its own position; --limit saves only what
			// was printed.
			if got := tailJSON(t, tg, "jobs", "--consumer", "other", "--limit", "1"); len(got) != 1 {
				t.Fatalf("other --limit 1 returned %d", len(got))
			}
			if got := tailJSON(t, tg, "jobs", "--consumer", "other"); len(got) != 4 {
				t.Errorf("other consumer resumed with %d records, want the 4 not yet printed", len(got))
			}
		})
	}
}

func TestOutputAndUsageErrors(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unreachable endpoint", []string{"--endpoint", "http://127.0.0.1:1", "stream", "list"}, 1, "connection refused): is `kda serve` running?"},
		{"bad endpoint URL", []string{"--endpoint", "localhost:4567", "stream", "list"}, 2, "--endpoint must be an http(s) URL"},
		{"bad output format", []string{"--endpoint", ts.url, "-o", "yaml", "stream", "list"}, 2, "--output must be table or json"},
		{"wrong argument count", []string{"--endpoint", ts.url, "stream", "describe"}, 2, "takes 1 argument(s): NAME"},
		{"bad mode", []string{"--endpoint", ts.url, "stream", "create", "x", "--mode", "fast"}, 2, "mode must be provisioned or on-demand"},
		{"bad --from", []string{"--endpoint", ts.url, "tail", "x", "--from", "yesterday"}, 2, "--from must be"},
		{"AWS error code and message", []string{"--endpoint", ts.url, "stream", "create", "bad name!"}, 1, "Exception"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, nil, "", c.args...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, c.code, c.want)
			}
			if !strings.HasPrefix(r.stderr, "Error: ") {
				t.Errorf("stderr should start with Error: %q", r.stderr)
			}
		})
	}
	if out := runCLI(t, nil, "", "--endpoint", ts.url, "stream", "list", "-o", "json").stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("empty list as JSON = %q, want []", out)
	}
}

func TestBenchKinesis(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			out := tg.ok(t, "", "bench", "kinesis", "--records", "3000", "--size", "64", "--batch", "250", "--concurrency", "3", "--shards", "2", "-o", "json")
			var res benchResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("bench -o json: %v\n%s", err, out)
			}
			if res.Records != 3000 || res.Failed != 0 || res.Calls < 12 || res.RecordsPerSecond <= 0 || res.LatencyMS.P50 <= 0 || res.LatencyMS.Max < res.LatencyMS.P99 {
				t.Errorf("bench result %+v", res)
			}
			var info streamInfo
			if err := json.Unmarshal([]byte(tg.ok(t, "", "stream", "describe", "kda-bench", "-o", "json")), &info); err != nil || len(info.Shards) != 2 {
				t.Errorf("bench stream: %+v %v", info, err)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTailFollowCrossesASplitAndStopsCleanly(t *testing.T) {
	ts := newTestServer(t)
	tg := target{args: []string{"--endpoint", ts.url}}
	tg.ok(t, "", "stream", "create", "live", "--shards", "1", "--wait")
	tg.ok(t, "", "put", "live", "--key", "k", "old")
	// Start after "old" by time, so the test does not race the tail's start.
	time.Sleep(20 * time.Millisecond)
	from := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--endpoint", ts.url, "tail", "live", "--from", from, "--follow", "--poll", "200ms", "--consumer", "f", "-o", "json"},
			strings.NewReader(""), &out, &errb, func(string) string { return "" })
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; output so far:\n%s\nstderr:\n%s", what, out.String(), errb.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	tg.ok(t, "", "put", "live", "--key", "k", "new1")
	waitFor("new1", func() bool { return strings.Contains(out.String(), "new1") })
	tg.ok(t, "", "stream", "split", "live", "0", "--wait")
	tg.ok(t, "", "put", "live", "--key", "k", "new2")
	waitFor("new2 from a child shard", func() bool { return strings.Contains(out.String(), "new2") })
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("interrupted tail exited %d: %s", c, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail --follow did not stop on cancel")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got []string
	for _, l := range lines {
		var r tailRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad line %q", l)
		}
		got = append(got, *r.Data)
	}
	if !reflect.DeepEqual(got, []string{"new1", "new2"}) {
		t.Errorf("follow printed %q, want new1 then new2 (and not the old record)", got)
	}
	cps, err := ts.st.Checkpoints("live", "f")
	if err != nil || len(cps) != 2 {
		t.Errorf("checkpoints after follow: %v %v; want one for the parent and one for the child", cps, err)
	}
}

func TestTailWithoutFollowEndsOnABusyStream(t *testing.T) {
	ts := newTestServer(t)
	if err := ts.st.CreateStream(store.CreateStreamInput{StreamName: "busy", ShardCount: 2}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = ts.st.PutRecord("busy", store.PutRecordInput{PartitionKey: fmt.Sprint(i), Data: []byte("x")})
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { close(stop); <-writerDone }()
	time.Sleep(100 * time.Millisecond)

	start := time.Now()
	r := runCLI(t, nil, "", "--endpoint", ts.url, "tail", "busy", "-o", "json")
	if r.code != 0 {
		t.Fatalf("tail exit %d: %s", r.code, r.stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("tail without --follow took %s on a busy stream", d)
	}
	if n := strings.Count(r.stdout, "\n"); n < 10 {
		t.Errorf("tail printed only %d records", n)
	}
}

func TestPutRetriesThrottledRecords(t *testing.T) {
	// Real per-shard limits, small enough that one put must be throttled.
	ts := newTestServerWithStore(t, store.Options{Throughput: store.ThroughputOptions{WriteRecordsPerSecond: 300}})
	tg := target{args: []string{"--endpoint", ts.url}}
	tg.ok(t, "", "stream", "create", "narrow", "--shards", "1", "--wait")
	var in strings.Builder
	for i := range 900 {
		fmt.Fprintf(&in, "r%d\n", i)
	}
	r := tg.run(t, in.String(), "put", "narrow", "-o", "json", "--progress")
	if r.code != 0 {
		t.Fatalf("put exit %d: %s", r.code, r.stderr)
	}
	var sum putSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Records != 900 || sum.Failed != 0 || sum.Retried == 0 {
		t.Errorf("summary %+v: want 900 records, some retried, none failed", sum)
	}
	if !strings.Contains(r.stderr, "put narrow") {
		t.Errorf("--progress drew no bar on stderr: %q", r.stderr)
	}
	if got := len(tailJSON(t, target{args: []string{"--endpoint", ts.url}}, "narrow", "--limit", "1000")); got != 900 {
		t.Errorf("stream holds %d records, want 900", got)
	}

	// With no retries allowed the throttled records fail, and put says so.
	r = tg.run(t, in.String(), "put", "narrow", "--retries", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "could not be put after 0 retries") || !strings.Contains(r.stderr, "ProvisionedThroughputExceededException") {
		t.Errorf("put --retries 0: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUnresponsiveEndpointTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	r := runCLI(t, nil, "", "--endpoint", srv.URL, "--timeout", "200ms", "stream", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "did not answer in time") {
		t.Errorf("exit %d, stderr %q; want a timeout error", r.code, r.stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s to give up", d)
	}
}
