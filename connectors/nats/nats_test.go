package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/servicetest"
)

const natsAddr = "127.0.0.1:4222"

// fixture is a unique stream and subject prefix on the real server,
// deleted when the test ends.
type fixture struct {
	stream, prefix string
	js             jetstream.JetStream
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	servicetest.Require(t, "NATS", natsAddr)
	b := make([]byte, 6)
	rand.Read(b)
	id := hex.EncodeToString(b)
	nc, err := natsgo.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{stream: "KDA_TEST_" + strings.ToUpper(id), prefix: "kdatest_" + id, js: js}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, f.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", f.stream, err)
		}
		nc.Close()
	})
	return f
}

// messages reads every message of the stream.
func (f *fixture) messages(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := f.js.Stream(ctx, f.stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
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

func rows(first int, tickers ...string) []delivery.Record {
	out := make([]delivery.Record, len(tickers))
	for i, tk := range tickers {
		out[i] = delivery.Record{
			Data: []byte(fmt.Sprintf(`{"TICKER":%q,"PRICE":%d}`, tk, 100+first+i)),
			ID:   fmt.Sprintf("shardId-000000000000:%d", first+i),
		}
	}
	return out
}

func TestTheExampleConfigIsValid(t *testing.T) {
	c := Connector()
	s, err := c.OpenSink(context.Background(), c.Example)
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // never connected
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`{"subject": "a"}`, "url is required"},
		{`{"url": "nats://x:4222"}`, "subject is required"},
		{`{"url": "nats://x:4222", "subject": "a.{B"}`, "subject"},
		{`{"url": "nats://x:4222", "subject": "a.*.{B}"}`, "wildcard"},
		{`{"url": "nats://x:4222", "subject": "a..{B}"}`, "empty token"},
		{`{"url": "nats://x:4222", "subject": "a b.{B}"}`, "white space"},
		{`{"url": "nats://x:4222", "subject": "{B}.a", "stream": "S"}`, "fixed token"},
		{`{"url": "nats://x:4222", "subject": "a", "stream": "A.B"}`, "stream"},
		{`{"url": "nats://x:4222", "subject": "a", "timeout": "0s"}`, "timeout"},
		{`{"url": "nats://x:4222", "subject": "a", "subjects": ["b"]}`, `unknown field "subjects"`},
	} {
		_, err := Open(json.RawMessage(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.config, err, tc.want)
		}
	}
}

func TestTheCreatedStreamCapturesTheFixedTokens(t *testing.T) {
	for subject, want := range map[string]string{
		"alerts.{TICKER}":            "alerts.>",
		"alerts.{TICKER}.price":      "alerts.>",
		"kda.alerts.x{TICKER}.{{y}}": "kda.alerts.>",
		"alerts.all":                 "alerts.all",
	} {
		s, err := Open(json.RawMessage(`{"url": "nats://x", "subject": "` + subject + `", "stream": "S"}`))
		if err != nil {
			t.Fatal(err)
		}
		if s.wildcard != want {
			t.Errorf("%s: stream subject %s, want %s", subject, s.wildcard, want)
		}
	}
}

func TestMessagesArriveOnTheirSubjectsWithTheRecordID(t *testing.T) {
	f := newFixture(t)
	s := open(t, `{"url": "nats://`+natsAddr+`", "subject": "`+f.prefix+`.{ticker}", "stream": "`+f.stream+`"}`)
	recs := rows(1, "AAPL", "BRK.B", "MSFT")
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	got := f.messages(t)
	if len(got) != len(recs) {
		t.Fatalf("%d messages, want %d", len(got), len(recs))
	}
	for i, m := range got {
		wantSubj := f.prefix + "." + []string{"AAPL", "BRK.B", "MSFT"}[i]
		if m.Subject != wantSubj || string(m.Data) != string(recs[i].Data) {
			t.Errorf("message %d: %s %s, want %s %s", i, m.Subject, m.Data, wantSubj, recs[i].Data)
		}
		if m.Header.Get(RecordIDHeader) != recs[i].ID || m.Header.Get(jetstream.MsgIDHeader) != recs[i].ID {
			t.Errorf("message %d: headers %v, want the record ID %s", i, m.Header, recs[i].ID)
		}
	}
}

func TestARedeliveredBatchIsDeduplicatedByTheStream(t *testing.T) {
	f := newFixture(t)
	s := open(t, `{"url": "nats://`+natsAddr+`", "subject": "`+f.prefix+`.{TICKER}", "stream": "`+f.stream+`"}`)
	ctx := context.Background()
	batch := rows(10, "AAPL", "MSFT")
	for range 2 {
		if err := s.Deliver(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Deliver(ctx, rows(11, "MSFT", "GOOG")); err != nil { // overlaps by one record
		t.Fatal(err)
	}
	if got := f.messages(t); len(got) != 3 {
		t.Fatalf("%d messages in the stream, want 3 (duplicates dropped)", len(got))
	}
}

func TestAFixedSubjectForwardsAnyBytes(t *testing.T) {
	f := newFixture(t)
	s := open(t, `{"url": "nats://`+natsAddr+`", "subject": "`+f.prefix+`.raw", "stream": "`+f.stream+`"}`)
	rec := delivery.Record{Data: []byte("\x00\xffnot json"), ID: "shardId-000000000001:1"}
	if err := s.Deliver(context.Background(), []delivery.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if got := f.messages(t); len(got) != 1 || string(got[0].Data) != string(rec.Data) {
		t.Fatalf("got %v", got)
	}
}

func TestAMissingFieldIsPermanentAndNothingIsSent(t *testing.T) {
	f := newFixture(t)
	s := open(t, `{"url": "nats://`+natsAddr+`", "subject": "`+f.prefix+`.{SECTOR}", "stream": "`+f.stream+`"}`)
	ok := delivery.Record{Data: []byte(`{"SECTOR":"TECH"}`), ID: "a:1"}
	for _, bad := range []delivery.Record{
		{Data: []byte(`{"TICKER":"AAPL"}`), ID: "a:2"},
		{Data: []byte(`not json`), ID: "a:3"},
		{Data: []byte(`{"SECTOR":"A B"}`), ID: "a:4"},
		{Data: []byte(`{"SECTOR":""}`), ID: "a:5"},
	} {
		err := s.Deliver(context.Background(), []delivery.Record{ok, bad})
		var perm *delivery.Permanent
		if !errors.As(err, &perm) || !strings.Contains(err.Error(), bad.ID) {
			t.Errorf("%s: got %v, want a permanent error naming the record", bad.Data, err)
		}
	}
	if _, err := f.js.Stream(context.Background(), f.stream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("the sink connected (stream: %v) for batches it refused", err)
	}
}

func TestWithoutAStreamNoRespondersIsARetryableError(t *testing.T) {
	f := newFixture(t)
	s := open(t, `{"url": "nats://`+natsAddr+`", "subject": "`+f.prefix+`.nostream", "timeout": "2s"}`)
	err := s.Deliver(context.Background(), rows(1, "AAPL"))
	var perm *delivery.Permanent
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "no JetStream stream captures") {
		t.Fatalf("got %v", err)
	}
}

func TestAnOutageFailsDeliverAndTheNextDeliverReconnects(t *testing.T) {
	f := newFixture(t)
	proxy := testproxy.Start(t, natsAddr)
	s := open(t, `{"url": "nats://`+proxy.Addr+`", "subject": "`+f.prefix+`.{TICKER}", "stream": "`+f.stream+`", "timeout": "2s"}`)
	ctx := context.Background()
	if err := s.Deliver(ctx, rows(1, "AAPL")); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	proxy.Cut()
	failed := rows(2, "MSFT", "GOOG")
	err := s.Deliver(ctx, failed)
	var perm *delivery.Permanent
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("during the outage: got %v, want a retryable error", err)
	}
	t.Logf("during the outage: %v", err)
	proxy.Restore()
	if err := s.Deliver(ctx, failed); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if got := f.messages(t); len(got) != 3 {
		t.Fatalf("%d messages, want 3", len(got))
	}
}
