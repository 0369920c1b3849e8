package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/servicetest"
)

const brokerAddr = "127.0.0.1:1883"

type message struct{ topic, payload string }

// subscriber receives everything under a unique topic prefix on the real
// broker through its own client.
type subscriber struct {
	prefix string
	mu     sync.Mutex
	got    []message
}

func subscribe(t *testing.T) *subscriber {
	t.Helper()
	servicetest.Require(t, "Mosquitto", brokerAddr)
	b := make([]byte, 6)
	rand.Read(b)
	sub := &subscriber{prefix: "kdatest/" + hex.EncodeToString(b)}
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("kdatest-sub-" + hex.EncodeToString(b)))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(sub.prefix+"/#", 1, func(_ paho.Client, m paho.Message) {
		sub.mu.Lock()
		sub.got = append(sub.got, message{m.Topic(), string(m.Payload())})
		sub.mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return sub
}

// await waits until n messages arrived and returns them.
func (s *subscriber) await(t *testing.T, n int) []message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := append([]message(nil), s.got...)
		s.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("received %d messages, want %d: %v", len(got), n, got)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
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
		{`{"topic": "a"}`, "broker is required"},
		{`{"broker": "127.0.0.1:1883", "topic": "a"}`, "broker"},
		{`{"broker": "http://x:1883", "topic": "a"}`, "scheme"},
		{`{"broker": "tcp://x:1883"}`, "topic is required"},
		{`{"broker": "tcp://x:1883", "topic": "a/+/{B}"}`, "wildcard"},
		{`{"broker": "tcp://x:1883", "topic": "a/#"}`, "wildcard"},
		{`{"broker": "tcp://x:1883", "topic": "$SYS/{B}"}`, "broker's own"},
		{`{"broker": "tcp://x:1883", "topic": "a/{B"}`, "topic"},
		{`{"broker": "tcp://x:1883", "topic": "a", "qos": 0}`, "qos 0 is not acknowledged"},
		{`{"broker": "tcp://x:1883", "topic": "a", "qos": 3}`, "qos 3"},
		{`{"broker": "tcp://x:1883", "topic": "a", "password": "p"}`, "username"},
		{`{"broker": "tcp://x:1883", "topic": "a", "timeout": "x"}`, "timeout"},
		{`{"broker": "tcp://x:1883", "topic": "a", "retain": true}`, `unknown field "retain"`},
	} {
		_, err := Open(json.RawMessage(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.config, err, tc.want)
		}
	}
}

func TestABatchArrivesOnItsTopics(t *testing.T) {
	for _, qos := range []int{1, 2} {
		t.Run(fmt.Sprintf("qos %d", qos), func(t *testing.T) {
			sub := subscribe(t)
			s := open(t, fmt.Sprintf(`{"broker": "tcp://%s", "topic": "%s/{ticker}", "qos": %d}`, brokerAddr, sub.prefix, qos))
			recs := rows(1, "AAPL", "MSFT", "AAPL", "GOOG")
			if err := s.Deliver(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			got := sub.await(t, len(recs))
			byTopic := map[string][]string{}
			for _, m := range got {
				byTopic[m.topic] = append(byTopic[m.topic], m.payload)
			}
			for _, r := range recs {
				var row struct{ TICKER string }
				json.Unmarshal(r.Data, &row)
				topic := sub.prefix + "/" + row.TICKER
				if len(byTopic[topic]) == 0 || byTopic[topic][0] != string(r.Data) {
					t.Fatalf("%s: got %v, want %s first", topic, byTopic[topic], r.Data)
				}
				byTopic[topic] = byTopic[topic][1:] // in order per topic
			}
		})
	}
}

func TestAFixedTopicForwardsAnyBytes(t *testing.T) {
	sub := subscribe(t)
	s := open(t, `{"broker": "tcp://`+brokerAddr+`", "topic": "`+sub.prefix+`/raw"}`)
	rec := delivery.Record{Data: []byte("\x00\xffnot json"), ID: "shardId-000000000001:1"}
	if err := s.Deliver(context.Background(), []delivery.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if got := sub.await(t, 1); got[0].payload != string(rec.Data) {
		t.Fatalf("got %q", got[0].payload)
	}
}

func TestAMissingFieldIsPermanentAndNothingIsSent(t *testing.T) {
	sub := subscribe(t)
	s := open(t, `{"broker": "tcp://`+brokerAddr+`", "topic": "`+sub.prefix+`/{SECTOR}"}`)
	ok := delivery.Record{Data: []byte(`{"SECTOR":"TECH"}`), ID: "a:1"}
	for _, bad := range []delivery.Record{
		{Data: []byte(`{"TICKER":"AAPL"}`), ID: "a:2"},
		{Data: []byte(`not json`), ID: "a:3"},
		{Data: []byte(`{"SECTOR":"#"}`), ID: "a:4"},
	} {
		err := s.Deliver(context.Background(), []delivery.Record{ok, bad})
		var perm *delivery.Permanent
		if !errors.As(err, &perm) || !strings.Contains(err.Error(), bad.ID) {
			t.Errorf("%s: got %v, want a permanent error naming the record", bad.Data, err)
		}
	}
	if s.client != nil {
		t.Fatal("the sink connected for batches it refused")
	}
}

func TestAnOutageFailsDeliverAndTheNextDeliverReconnects(t *testing.T) {
	sub := subscribe(t)
	proxy := testproxy.Start(t, brokerAddr)
	s := open(t, `{"broker": "tcp://`+proxy.Addr+`", "topic": "`+sub.prefix+`/{TICKER}", "timeout": "2s"}`)
	ctx := context.Background()
	if err := s.Deliver(ctx, rows(1, "AAPL")); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	sub.await(t, 1)
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
	// At least once: what was cut mid-flight may also have arrived.
	deadline := time.Now().Add(10 * time.Second)
	for {
		sub.mu.Lock()
		got := append([]message(nil), sub.got...)
		sub.mu.Unlock()
		seen := map[string]bool{}
		for _, m := range got {
			seen[m.topic] = true
		}
		if seen[sub.prefix+"/MSFT"] && seen[sub.prefix+"/GOOG"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage the subscriber has %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
