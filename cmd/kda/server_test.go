package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kdaproject/kda/engine/store"
)

func TestHealthzAndNotFound(t *testing.T) {
	ts := newTestServer(t)
	if err := ts.st.CreateStream(store.CreateStreamInput{StreamName: "a", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	code, body, hdr := httpGet(t, ts.url+"/healthz")
	var h healthStatus
	if code != 200 || json.Unmarshal([]byte(body), &h) != nil || h.Status != "ok" || h.Streams != 1 || h.Version != "test" {
		t.Errorf("GET /healthz = %d %q", code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("healthz content type %q", ct)
	}

	if code, body, hdr := httpGet(t, ts.url+"/"); code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Errorf("GET / = %d %q, want the console's index.html", code, body)
	}
	for _, path := range []string{"/nope.png", "/v1/nope"} {
		code, body, _ := httpGet(t, ts.url+path)
		var e restError
		if code != 404 || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "NotFound" {
			t.Errorf("GET %s = %d %q, want a JSON 404", path, code, body)
		}
	}
}

func TestMetricsCountPerStream(t *testing.T) {
	ts := newTestServer(t)
	tg := target{args: []string{"--endpoint", ts.url}}
	tg.ok(t, "", "stream", "create", "m", "--shards", "2", "--wait")
	tg.ok(t, "", "stream", "create", "quiet", "--shards", "1", "--wait")
	tg.ok(t, "", "put", "m", "--key", "k", "aaaa", "bbbb", "cccc")
	tailJSON(t, tg, "m")

	code, body, _ := httpGet(t, ts.url+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`kda_stream_incoming_records_total{stream="m"} 3`,
		`kda_stream_incoming_bytes_total{stream="m"} 15`, // data plus keys
		`kda_stream_outgoing_records_total{stream="m"} 3`,
		`kda_stream_outgoing_bytes_total{stream="m"} 15`,
		`kda_stream_open_shards{stream="m"} 2`,
		`kda_stream_write_throttles_total{stream="m"} 0`,
		`kda_stream_incoming_records_total{stream="quiet"} 0`,
		`kda_stream_open_shards{stream="quiet"} 1`,
		`# TYPE kda_stream_iterator_age_milliseconds gauge`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestCheckpointRoute(t *testing.T) {
	ts := newTestServer(t)
	if err := ts.st.CreateStream(store.CreateStreamInput{StreamName: "s", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	d, _ := ts.st.DescribeStream("s")
	if _, err := ts.st.RegisterConsumer(d.StreamARN, "c"); err != nil {
		t.Fatal(err)
	}
	res, err := ts.st.PutRecord("s", store.PutRecordInput{PartitionKey: "k", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"empty at first", "GET", "/v1/streams/s/consumers/c/checkpoints", "", 200, "{}"},
		{"save", "PUT", "/v1/streams/s/consumers/c/checkpoints", `{"shardId-000000000000":"` + res.SequenceNumber + `"}`, 200, res.SequenceNumber},
		{"read back", "GET", "/v1/streams/s/consumers/c/checkpoints", "", 200, res.SequenceNumber},
		{"bad body", "PUT", "/v1/streams/s/consumers/c/checkpoints", `[1]`, 400, "InvalidArgumentException"},
		{"foreign sequence number", "PUT", "/v1/streams/s/consumers/c/checkpoints", `{"shardId-000000000000":"123"}`, 400, "InvalidArgumentException"},
		{"unknown consumer", "GET", "/v1/streams/s/consumers/zz/checkpoints", "", 404, "ResourceNotFoundException"},
		{"unknown stream", "GET", "/v1/streams/zz/consumers/c/checkpoints", "", 404, "ResourceNotFoundException"},
		{"wrong method", "DELETE", "/v1/streams/s/consumers/c/checkpoints", "", 405, "MethodNotAllowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, ts.url+c.path, strings.NewReader(c.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			if resp.StatusCode != c.code || !strings.Contains(b.String(), c.want) {
				t.Errorf("%s %s = %d %q; want %d containing %q", c.method, c.path, resp.StatusCode, b.String(), c.code, c.want)
			}
		})
	}
}

func TestServerWithKeys(t *testing.T) {
	ts := newTestServer(t, withKeys("AKID", "SECRET"))
	good := target{args: []string{"--endpoint", ts.url}, env: map[string]string{"KDA_ACCESS_KEY": "AKID", "KDA_SECRET_KEY": "SECRET"}}
	good.ok(t, "", "stream", "create", "s", "--wait")
	good.ok(t, "", "put", "s", "x", "y")
	if got := tailJSON(t, good, "s", "--consumer", "c"); len(got) != 2 {
		t.Fatalf("signed tail --consumer read %d records", len(got))
	}

	bad := target{args: []string{"--endpoint", ts.url}, env: map[string]string{"KDA_ACCESS_KEY": "AKID", "KDA_SECRET_KEY": "WRONG"}}
	if r := bad.run(t, "", "stream", "list"); r.code != 1 {
		t.Errorf("wrong secret: Kinesis call exit %d", r.code)
	}
	// The REST route checks signatures too.
	rc := &restCheckpoints{endpoint: ts.url, region: "us-east-1", errf: newApp(nil, nil, nil, nil).apiErr}
	rc.creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "WRONG"}, nil
	})
	if _, err := rc.Get(context.Background(), "s", "c"); err == nil || !strings.Contains(err.Error(), "does not match the signature you provided") {
		t.Errorf("REST with a wrong secret: %v", err)
	}
	code, _, _ := httpGet(t, ts.url+"/v1/streams/s/consumers/c/checkpoints")
	if code != http.StatusForbidden {
		t.Errorf("unsigned REST call = %d, want 403", code)
	}
	if code, _, _ := httpGet(t, ts.url+"/healthz"); code != 200 {
		t.Errorf("healthz needs no signature, got %d", code)
	}
}

func TestDemoWritesStockTrades(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runDemo(ctx, st, nil, nil, demoConfig{rate: 200}, slogDiscard())
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stats := st.Stats()
		if len(stats) == 1 && stats[0].StreamName == demoStream && stats[0].RecordsIn >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo wrote nothing in 10s: %+v", stats)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	d, err := st.DescribeStream(demoStream)
	if err != nil || len(d.Shards) != 2 {
		t.Fatalf("demo stream: %+v, %v", d, err)
	}
	it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: demoStream, ShardID: d.Shards[0].ShardID, Type: store.TrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	it2, _ := st.GetShardIterator(store.GetShardIteratorInput{StreamName: demoStream, ShardID: d.Shards[1].ShardID, Type: store.TrimHorizon})
	var recs []store.Record
	for _, i := range []string{it, it2} {
		out, err := st.GetRecords(i, 100)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, out.Records...)
	}
	for _, r := range recs {
		var ev tradeEvent
		if err := json.Unmarshal(r.Data, &ev); err != nil || ev.Ticker != r.PartitionKey || ev.Sector == "" || ev.Price < 1 || ev.EventTime == "" {
			t.Errorf("bad demo record %s (key %s): %v", r.Data, r.PartitionKey, err)
		}
	}

	// A second start finds the stream and keeps writing to it.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	runDemo(ctx2, st, nil, nil, demoConfig{rate: 100}, slogDiscard())
	if n := len(st.ListStreams()); n != 1 {
		t.Errorf("restarted demo left %d streams", n)
	}
}

func TestMidpointHashKey(t *testing.T) {
	cases := []struct{ start, end, want, err string }{
		{"0", "340282366920938463463374607431768211455", "170141183460469231731687303715884105728", ""},
		{"0", "1", "1", ""},
		{"10", "20", "15", ""},
		{"5", "5", "", "single key"},
		{"x", "5", "", "bad hash key"},
	}
	for _, c := range cases {
		got, err := midpointHashKey(c.start, c.end)
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("midpointHashKey(%s, %s) = %q, %v; want %q, %q", c.start, c.end, got, err, c.want, c.err)
		}
	}
}

func TestParseFrom(t *testing.T) {
	at := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want startPos
		ok   bool
	}{
		{"trim-horizon", startPos{typ: "TRIM_HORIZON"}, true},
		{"TRIM_HORIZON", startPos{typ: "TRIM_HORIZON"}, true},
		{"latest", startPos{typ: "LATEST"}, true},
		{"2025-01-02T15:04:05Z", startPos{typ: "AT_TIMESTAMP", at: at}, true},
		{"49590338271490256608559692538361571095921575989136588898", startPos{typ: "AT_SEQUENCE_NUMBER", seq: "49590338271490256608559692538361571095921575989136588898"}, true},
		{"yesterday", startPos{}, false},
		{"-5", startPos{}, false},
	}
	for _, c := range cases {
		got, err := parseFrom(c.in)
		if (err == nil) != c.ok || !got.at.Equal(c.want.at) || got.typ != c.want.typ || got.seq != c.want.seq {
			t.Errorf("parseFrom(%q) = %+v, %v", c.in, got, err)
		}
	}
}

// flakyPutter rejects every third record on its first attempt.
type flakyPutter struct {
	mu   sync.Mutex
	seen map[string]bool
	got  int
}

func (f *flakyPutter) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &kinesis.PutRecordsOutput{}
	for i, e := range in.Records {
		k := aws.ToString(e.PartitionKey)
		if i%3 == 0 && !f.seen[k] {
			f.seen[k] = true
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException")})
			continue
		}
		f.got++
		out.Records = append(out.Records, types.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String("1")})
	}
	return out, nil
}

func TestRunBenchRetriesRejectedRecords(t *testing.T) {
	cases := []struct {
		name                     string
		retries                  int
		wantOK, wantFailed, want int64
	}{
		{"retries make every record land", 3, 1000, 0, 1000},
		{"without retries rejected records fail", 0, 660, 340, 660},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &flakyPutter{seen: map[string]bool{}}
			res, err := runBench(context.Background(), f, benchConfig{Stream: "s", Records: 1000, Size: 10, Batch: 100, Concurrency: 3, MaxRetries: c.retries})
			if err != nil {
				t.Fatal(err)
			}
			if res.Records != c.wantOK || res.Failed != c.wantFailed || int64(f.got) != c.want {
				t.Errorf("records %d failed %d delivered %d; want %d %d %d", res.Records, res.Failed, f.got, c.wantOK, c.wantFailed, c.want)
			}
			if c.retries > 0 && res.Retried != 340 {
				t.Errorf("retried %d, want 340 (records 0, 3, … 99 of each batch of 100, once)", res.Retried)
			}
		})
	}
}
