package rabbitmq

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

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/servicetest"
)

const (
	rabbitAddr = "127.0.0.1:5672"
	rabbitURL  = "amqp://guest:guest@" + rabbitAddr + "/"
)

// fixture is a unique topic exchange on the real broker with a
// temporary queue bound to it, deleted when the test ends.
type fixture struct {
	exchange string
	ch       *amqp.Channel
	queue    string
}

// newFixture declares the exchange as the sink would (topic, durable) and
// binds a queue with bindingKey; queueArgs configure that queue.
func newFixture(t *testing.T, bindingKey string, queueArgs amqp.Table) *fixture {
	t.Helper()
	servicetest.Require(t, "RabbitMQ", rabbitAddr)
	b := make([]byte, 6)
	rand.Read(b)
	f := &fixture{exchange: "kda.test." + hex.EncodeToString(b)}
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if f.ch, err = conn.Channel(); err != nil {
		t.Fatal(err)
	}
	if err := f.ch.ExchangeDeclare(f.exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.ch.ExchangeDelete(f.exchange, false, false); err != nil {
			t.Errorf("delete exchange %s: %v", f.exchange, err)
		}
	})
	q, err := f.ch.QueueDeclare("", false, true, true, false, queueArgs)
	if err != nil {
		t.Fatal(err)
	}
	f.queue = q.Name
	if err := f.ch.QueueBind(q.Name, bindingKey, f.exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// await takes n messages from the queue.
func (f *fixture) await(t *testing.T, n int) []amqp.Delivery {
	t.Helper()
	var out []amqp.Delivery
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n {
		d, ok, err := f.ch.Get(f.queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if time.Now().After(deadline) {
				t.Fatalf("received %d messages, want %d", len(out), n)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		out = append(out, d)
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
			Data:    []byte(fmt.Sprintf(`{"TICKER":%q,"PRICE":%d}`, tk, 100+first+i)),
			ID:      fmt.Sprintf("shardId-000000000000:%d", first+i),
			Arrival: time.Unix(1700000000+int64(i), 0),
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
		{`{"exchange": "x", "routingKey": "k"}`, "url is required"},
		{`{"url": "http://user:secret@x/", "exchange": "x", "routingKey": "k"}`, "url"},
		{`{"url": "amqp://x/", "declare": true, "routingKey": "k"}`, "declare"},
		{`{"url": "amqp://x/", "exchange": ""}`, "routingKey is required"},
		{`{"url": "amqp://x/", "exchange": "x", "routingKey": "{A"}`, "routingKey"},
		{`{"url": "amqp://x/", "exchange": "x", "routingKey": "` + strings.Repeat("k", 256) + `"}`, "routingKey"},
		{`{"url": "amqp://x/", "exchange": "x", "timeout": "x"}`, "timeout"},
		{`{"url": "amqp://x/", "exchange": "x", "persistent": "yes"}`, "persistent"},
		{`{"url": "amqp://x/", "exchange": "x", "durable": true}`, `unknown field "durable"`},
	} {
		_, err := Open(json.RawMessage(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.config, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", tc.config, err)
		}
	}
}

func TestMessagesArriveWithTheirRoutingKeysAndIDs(t *testing.T) {
	f := newFixture(t, "#", nil)
	s := open(t, `{"url": "`+rabbitURL+`", "exchange": "`+f.exchange+`", "declare": true, "routingKey": "price.{ticker}"}`)
	recs := rows(1, "AAPL", "MSFT", "BRK.B")
	if err := s.Deliver(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	got := f.await(t, len(recs))
	for i, d := range got {
		var row struct{ TICKER string }
		json.Unmarshal(recs[i].Data, &row)
		if d.RoutingKey != "price."+row.TICKER || string(d.Body) != string(recs[i].Data) {
			t.Errorf("message %d: key %s body %s", i, d.RoutingKey, d.Body)
		}
		if d.MessageId != recs[i].ID || d.DeliveryMode != amqp.Persistent || d.ContentType != "application/json" || !d.Timestamp.Equal(recs[i].Arrival) {
			t.Errorf("message %d: id %s mode %d type %s time %v", i, d.MessageId, d.DeliveryMode, d.ContentType, d.Timestamp)
		}
	}
}

func TestAFixedKeyForwardsAnyBytesTransiently(t *testing.T) {
	f := newFixture(t, "raw", nil)
	s := open(t, `{"url": "`+rabbitURL+`", "exchange": "`+f.exchange+`", "routingKey": "raw", "persistent": false}`)
	rec := delivery.Record{Data: []byte("\x00\xffnot json"), ID: "shardId-000000000001:1"}
	if err := s.Deliver(context.Background(), []delivery.Record{rec}); err != nil {
		t.Fatal(err)
	}
	d := f.await(t, 1)[0]
	if string(d.Body) != string(rec.Data) || d.DeliveryMode != amqp.Transient || d.ContentType != "application/octet-stream" {
		t.Fatalf("got %q mode %d type %s", d.Body, d.DeliveryMode, d.ContentType)
	}
}

func TestAMissingExchangeIsAnErrorThatSaysWhatToDo(t *testing.T) {
	servicetest.Require(t, "RabbitMQ", rabbitAddr)
	s := open(t, `{"url": "`+rabbitURL+`", "exchange": "kda.test.does-not-exist", "routingKey": "k"}`)
	err := s.Deliver(context.Background(), rows(1, "AAPL"))
	var perm *delivery.Permanent
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "set declare to true") {
		t.Fatalf("got %v", err)
	}
}

func TestAMissingFieldIsPermanentAndNothingIsSent(t *testing.T) {
	s := open(t, `{"url": "amqp://guest:guest@127.0.0.1:1/", "exchange": "x", "routingKey": "{SECTOR}"}`)
	ok := delivery.Record{Data: []byte(`{"SECTOR":"TECH"}`), ID: "a:1"}
	for _, bad := range []delivery.Record{
		{Data: []byte(`{"TICKER":"AAPL"}`), ID: "a:2"},
		{Data: []byte(`not json`), ID: "a:3"},
		{Data: []byte(`{"SECTOR":"` + strings.Repeat("x", 256) + `"}`), ID: "a:4"},
	} {
		err := s.Deliver(context.Background(), []delivery.Record{ok, bad})
		var perm *delivery.Permanent
		if !errors.As(err, &perm) || !strings.Contains(err.Error(), bad.ID) {
			t.Errorf("%.40s: got %v, want a permanent error naming the record", bad.Data, err)
		}
	}
}

func TestANackIsAnError(t *testing.T) {
	// A queue that holds one message and rejects publishes beyond that
	// makes RabbitMQ nack them under publisher confirms.
	f := newFixture(t, "#", amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
	s := open(t, `{"url": "`+rabbitURL+`", "exchange": "`+f.exchange+`", "routingKey": "{TICKER}"}`)
	err := s.Deliver(context.Background(), rows(1, "AAPL", "MSFT", "GOOG"))
	var perm *delivery.Permanent
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "nack") {
		t.Fatalf("got %v, want a retryable nack error", err)
	}
	f.await(t, 1) // the queue has room again
	if err := s.Deliver(context.Background(), rows(2, "MSFT")); err != nil {
		t.Fatalf("after the nack: %v", err)
	}
}

func TestAnOutageFailsDeliverAndTheNextDeliverReconnects(t *testing.T) {
	f := newFixture(t, "#", nil)
	proxy := testproxy.Start(t, rabbitAddr)
	s := open(t, `{"url": "amqp://guest:guest@`+proxy.Addr+`/", "exchange": "`+f.exchange+`", "routingKey": "{TICKER}", "timeout": "2s"}`)
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
	// At least once: the cut batch may have reached the queue as well.
	seen := map[string]bool{}
	for !seen["shardId-000000000000:2"] || !seen["shardId-000000000000:3"] {
		for _, d := range f.await(t, 1) {
			seen[d.MessageId] = true
		}
	}
	if !seen["shardId-000000000000:1"] {
		t.Error("the record before the outage is missing")
	}
}
