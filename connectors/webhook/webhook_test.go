package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
)

// request is what a test server saw.
type request struct {
	at     time.Time
	method string
	header http.Header
	body   []byte
}

// server answers requests with the codes of answers in turn (then 200)
// and remembers them.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	answers  []func(w http.ResponseWriter)
}

func newServer(t *testing.T, answers ...func(w http.ResponseWriter)) *server {
	s := &server{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, request{at: time.Now(), method: r.Method, header: r.Header.Clone(), body: body})
		var answer func(http.ResponseWriter)
		if n < len(s.answers) {
			answer = s.answers[n]
		}
		s.mu.Unlock()
		if answer != nil {
			answer(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) seen() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

func status(code int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}
}

func open(t *testing.T, config string) *Sink {
	t.Helper()
	s, err := Open(json.RawMessage(config))
	if err != nil {
		t.Fatalf("open %s: %v", config, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func records(data ...string) []delivery.Record {
	out := make([]delivery.Record, len(data))
	for i, d := range data {
		out[i] = delivery.Record{Data: []byte(d), ID: fmt.Sprintf("shardId-000000000000:%d", 100+i), Arrival: time.Now()}
	}
	return out
}

func TestTheExampleConfigOpens(t *testing.T) {
	c := Connector()
	s, err := c.OpenSink(context.Background(), c.Example)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`{}`, "url is required"},
		{`{"url": "ftp://x/"}`, "scheme"},
		{`{"url": "http://"}`, "no host"},
		{`{"url": "http://x/", "method": "GET"}`, "method"},
		{`{"url": "http://x/", "timeout": "soon"}`, "timeout"},
		{`{"url": "http://x/", "timeout": "-1s"}`, "timeout"},
		{`{"url": "http://x/", "rateLimit": -1}`, "rateLimit"},
		{`{"url": "http://x/", "maxRetries": -1}`, "maxRetries"},
		{`{"url": "http://x/", "signatureHeader": "X-Sig"}`, "secret"},
		{`{"url": "http://x/", "headers": {"Bad Name": "v"}}`, "headers"},
		{`{"url": "http://x/", "retries": 3}`, `unknown field "retries"`},
		{`{"url": "http://x/", "batch": "yes"}`, "batch"},
	} {
		_, err := Open(json.RawMessage(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.config, err, tc.want)
		}
	}
}

func TestEachRecordIsOneSignedRequestWithItsID(t *testing.T) {
	srv := newServer(t)
	s := open(t, `{"url": "`+srv.URL+`/hook", "method": "put", "secret": "s3cret", "headers": {"Authorization": "Bearer t"}}`)
	recs := records(`{"TICKER":"AAPL","PRICE":101.5}`, "not json \x00\xff")
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	got := srv.seen()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for i, r := range got {
		if string(r.body) != string(recs[i].Data) {
			t.Errorf("request %d: body %q, want the record's bytes %q", i, r.body, recs[i].Data)
		}
		if r.method != "PUT" || r.header.Get("Authorization") != "Bearer t" || r.header.Get(RecordIDHeader) != recs[i].ID {
			t.Errorf("request %d: method %s, headers %v", i, r.method, r.header)
		}
		if sig := r.header.Get(DefaultSignatureHeader); !Verify([]byte("s3cret"), r.body, sig) || Verify([]byte("other"), r.body, sig) {
			t.Errorf("request %d: signature %q does not verify", i, sig)
		}
	}
	if ct := got[0].header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("JSON record sent as %s", ct)
	}
	if ct := got[1].header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("bytes sent as %s", ct)
	}
}

func TestTheSignatureIsGitHubStyleHexHMAC(t *testing.T) {
	// echo -n 'hello' | openssl dgst -sha256 -hmac key
	const want = "sha256=9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b"
	if got := Sign([]byte("key"), []byte("hello")); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestABatchIsOneJSONArray(t *testing.T) {
	srv := newServer(t)
	s := open(t, `{"url": "`+srv.URL+`", "batch": true, "secret": "k", "signatureHeader": "X-Sig"}`)
	recs := records(`{"TICKER":"AAPL"}`, ` {"TICKER":"MSFT"}`+"\n", `42`)
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	got := srv.seen()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(got[0].body, &arr); err != nil || len(arr) != 3 {
		t.Fatalf("body %s is not an array of 3: %v", got[0].body, err)
	}
	if string(got[0].body) != `[{"TICKER":"AAPL"},{"TICKER":"MSFT"},42]` {
		t.Errorf("body %s", got[0].body)
	}
	wantIDs := recs[0].ID + "," + recs[1].ID + "," + recs[2].ID
	if ids := got[0].header.Get(RecordIDsHeader); ids != wantIDs {
		t.Errorf("ids %q, want %q", ids, wantIDs)
	}
	if !Verify([]byte("k"), got[0].body, got[0].header.Get("X-Sig")) {
		t.Error("signature does not verify")
	}
}

func TestABatchOfNonJSONRecordsIsPermanentlyRefused(t *testing.T) {
	srv := newServer(t)
	s := open(t, `{"url": "`+srv.URL+`", "batch": true}`)
	err := s.Deliver(context.Background(), records(`{"A":1}`, `oops`))
	var perm *delivery.Permanent
	if !errors.As(err, &perm) {
		t.Fatalf("got %v, want a permanent error", err)
	}
	if n := len(srv.seen()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestA429IsRetriedAfterRetryAfter(t *testing.T) {
	srv := newServer(t, status(http.StatusTooManyRequests, "Retry-After", "1"), status(http.StatusServiceUnavailable))
	s := open(t, `{"url": "`+srv.URL+`", "maxRetries": 3}`)
	if err := s.Deliver(context.Background(), records(`{"A":1}`)); err != nil {
		t.Fatal(err)
	}
	got := srv.seen()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 429, 503, then success", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < 900*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	for _, r := range got {
		if string(r.body) != `{"A":1}` || r.header.Get(RecordIDHeader) == "" {
			t.Errorf("retry changed the request: %q %v", r.body, r.header)
		}
	}
}

func TestA400IsPermanentAndNotRetried(t *testing.T) {
	srv := newServer(t, status(http.StatusBadRequest))
	s := open(t, `{"url": "`+srv.URL+`", "maxRetries": 3}`)
	err := s.Deliver(context.Background(), records(`{"A":1}`, `{"A":2}`))
	var perm *delivery.Permanent
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "answer 400") {
		t.Fatalf("got %v, want a permanent error with the status and the answer", err)
	}
	if n := len(srv.seen()); n != 1 {
		t.Fatalf("%d requests, want 1 (no retry, no next record)", n)
	}
}

func TestServerErrorsAreRetriedThenReturnedAsRetryable(t *testing.T) {
	fail := status(http.StatusBadGateway)
	srv := newServer(t, fail, fail, fail)
	s := open(t, `{"url": "`+srv.URL+`", "maxRetries": 2}`)
	err := s.Deliver(context.Background(), records(`{"A":1}`))
	var perm *delivery.Permanent
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("got %v, want a retryable error after 3 attempts", err)
	}
	got := srv.seen()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	// Exponential backoff: 100ms, then 200ms.
	if g1, g2 := got[1].at.Sub(got[0].at), got[2].at.Sub(got[1].at); g1 < 90*time.Millisecond || g2 < 180*time.Millisecond {
		t.Errorf("backoff %v then %v, want at least 100ms then 200ms", g1, g2)
	}
}

func TestTheRateLimitSpacesRequests(t *testing.T) {
	srv := newServer(t)
	s := open(t, `{"url": "`+srv.URL+`", "rateLimit": 20}`)
	if err := s.Deliver(context.Background(), records("1", "2", "3", "4", "5", "6")); err != nil {
		t.Fatal(err)
	}
	got := srv.seen()
	if len(got) != 6 {
		t.Fatalf("%d requests", len(got))
	}
	// 20 per second with a burst of one: 50ms apart. Only a lower bound
	// is asserted (a slow machine spaces them more), with 20% tolerance
	// for timer granularity.
	if span := got[5].at.Sub(got[0].at); span < 5*50*time.Millisecond*8/10 {
		t.Errorf("6 requests within %v, want at least %v", span, 5*50*time.Millisecond)
	}
}

func TestAnOutageFailsDeliverAndDeliveryResumesAfterIt(t *testing.T) {
	srv := newServer(t)
	proxy := testproxy.Start(t, strings.TrimPrefix(srv.URL, "http://"))
	s := open(t, `{"url": "http://`+proxy.Addr+`/hook", "maxRetries": 1, "timeout": "2s"}`)
	ctx := context.Background()
	if err := s.Deliver(ctx, records(`{"N":1}`)); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	proxy.Cut()
	err := s.Deliver(ctx, records(`{"N":2}`))
	var perm *delivery.Permanent
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("during the outage: got %v, want a retryable error", err)
	}
	t.Logf("during the outage: %v", err)
	proxy.Restore()
	if err := s.Deliver(ctx, records(`{"N":2}`)); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	got := srv.seen()
	if len(got) != 2 || string(got[1].body) != `{"N":2}` {
		t.Fatalf("server saw %d requests", len(got))
	}
}

func TestACancelledContextStopsRetrying(t *testing.T) {
	srv := newServer(t, status(http.StatusServiceUnavailable, "Retry-After", "30"))
	s := open(t, `{"url": "`+srv.URL+`"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Deliver(ctx, records(`{}`)); err == nil {
		t.Fatal("delivered")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Deliver waited %v past its context", d)
	}
}

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"junk", 0}, {"-5", 0}, {"86400", maxRetryAfter},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
	} {
		if got := retryAfter(tc.v, now); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.v, got, tc.want)
		}
	}
}
