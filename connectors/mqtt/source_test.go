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

	"github.com/kdaproject/kda/connectors/servicetest"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/connectors/source/sourcetest"
	"github.com/kdaproject/kda/engine/store"
)

// sessionFixture is a unique topic prefix and client id on the real
// broker, with a publishing client; the source's persistent session is
// removed when the test ends.
type sessionFixture struct {
	prefix, clientID string
	pub              paho.Client
}

func newSessionFixture(t *testing.T) *sessionFixture {
	t.Helper()
	servicetest.Require(t, "Mosquitto", brokerAddr)
	b := make([]byte, 6)
	rand.Read(b)
	id := hex.EncodeToString(b)
	f := &sessionFixture{prefix: "kdatest/" + id, clientID: "kdatest-src-" + id}
	f.pub = paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("kdatest-pub-" + id))
	if tok := f.pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: connect: %v", tok.Error())
	}
	t.Cleanup(func() {
		f.pub.Disconnect(100)
		// A clean connection under the source's id ends its session.
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID(f.clientID).SetCleanSession(true))
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(100)
		}
	})
	return f
}

// publish publishes "m-<i>" for i in [from, from+n) at QoS 1 on
// prefix/<sub>, alternating the subtopics given.
func (f *sessionFixture) publish(t *testing.T, from, n int, subs ...string) {
	t.Helper()
	for i := from; i < from+n; i++ {
		tok := f.pub.Publish(f.prefix+"/"+subs[i%len(subs)], 1, false, fmt.Sprintf("m-%d", i))
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
}

// createSession subscribes once under the source's client id and leaves,
// so that the broker queues what is published from now on for the
// source, whenever its bridge connects.
func (f *sessionFixture) createSession(t *testing.T) {
	t.Helper()
	src, err := OpenSource(json.RawMessage(f.config()))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Seek(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	src.Close()
}

func (f *sessionFixture) config() string { return f.configVia(brokerAddr) }

// configVia is the source's configuration with the broker at addr (a
// proxy, say).
func (f *sessionFixture) configVia(addr string) string {
	return fmt.Sprintf(`{"broker": "tcp://%s", "topics": [%q], "qos": 1, "clientId": %q, "timeout": "5s"}`, addr, f.prefix+"/#", f.clientID)
}

func openSourceStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateStream(store.CreateStreamInput{StreamName: "readings", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	return st
}

// streamRecords reads the one-shard kda stream "readings" from its start
// as "<partition key> <data>".
func streamRecords(t *testing.T, st *store.Store) []string {
	t.Helper()
	d, err := st.DescribeStream("readings")
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: "readings", ShardID: d.Shards[0].ShardID, Type: store.TrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it != "" {
		r, err := st.GetRecords(it, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range r.Records {
			out = append(out, rec.PartitionKey+" "+string(rec.Data))
		}
		if len(r.Records) == 0 {
			break
		}
		it = r.NextShardIterator
	}
	return out
}

// want lists "<topic> m-<i>" for i in [0, n), alternating the subtopics.
func (f *sessionFixture) want(n int, subs ...string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/%s m-%d", f.prefix, subs[i%len(subs)], i)
	}
	return out
}

func startSourceBridge(t *testing.T, st source.Store, config string) *source.Bridge {
	return sourcetest.StartBridge(t, st, SourceConnector(), config, "readings-in", "readings", source.Options{MaxBatch: 4})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	sourcetest.WaitUntil(t, what, 20*time.Second, cond)
}

func TestSourceExampleConfigIsValid(t *testing.T) {
	if _, err := SourceConnector().Open(context.Background(), SourceConnector().Example); err != nil {
		t.Fatal(err)
	}
}

func TestSourceConfigErrorsNameTheField(t *testing.T) {
	const ok = `"broker": "tcp://h:1883", "topics": ["a/#"], "clientId": "kda"`
	for _, tc := range []struct{ name, config, want string }{
		{"no broker", `{"topics": ["a"], "clientId": "kda"}`, "broker is required"},
		{"a broker without a scheme", `{"broker": "h:1883", "topics": ["a"], "clientId": "kda"}`, "broker"},
		{"no topics", `{"broker": "tcp://h:1883", "clientId": "kda"}`, "topics is required"},
		{"a # before the last level", `{"broker": "tcp://h:1883", "topics": ["a/#/b"], "clientId": "kda"}`, "topics"},
		{"a partial + level", `{"broker": "tcp://h:1883", "topics": ["a/b+"], "clientId": "kda"}`, "topics"},
		{"no clientId", `{"broker": "tcp://h:1883", "topics": ["a"]}`, "clientId is required"},
		{"qos 0", `{` + ok + `, "qos": 0}`, "qos 0"},
		{"qos 3", `{` + ok + `, "qos": 3}`, "qos 3"},
		{"a password without a username", `{` + ok + `, "password": "p"}`, "username"},
		{"a bad timeout", `{` + ok + `, "timeout": "1 minute"}`, "timeout"},
		{"an unknown field", `{` + ok + `, "cleanSession": true}`, "cleanSession"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SourceConnector().Open(context.Background(), json.RawMessage(tc.config))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestSourceCopiesMessagesAnotherClientPublishesKeyedByTopic(t *testing.T) {
	f := newSessionFixture(t)
	f.createSession(t)
	st := openSourceStore(t)
	b := startSourceBridge(t, st, f.config())
	f.publish(t, 0, 20, "a", "b")
	waitUntil(t, "20 messages", func() bool { return b.Stats().Copied == 20 })
	b.Close()
	if got, want := streamRecords(t, st), f.want(20, "a", "b"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stream holds\n%v\nwant\n%v", got, want)
	}
	if saved, err := source.SavedPositions(st, "readings-in"); err != nil || saved[f.clientID] != "20" {
		t.Fatalf("saved positions %v, %v: want 20 messages in session %s", saved, err, f.clientID)
	}
}

func TestSourceGetsMessagesPublishedWhileKdaWasDownFromItsSession(t *testing.T) {
	f := newSessionFixture(t)
	f.createSession(t)
	st := openSourceStore(t)
	b := startSourceBridge(t, st, f.config())
	f.publish(t, 0, 5, "x")
	waitUntil(t, "the first messages", func() bool { return b.Stats().Copied == 5 })
	b.Close() // acknowledges what was committed (Committed) before disconnecting

	f.publish(t, 5, 10, "x") // the broker queues these in the session
	b2 := startSourceBridge(t, st, f.config())
	waitUntil(t, "the queued messages", func() bool { return b2.Stats().Copied == 10 })
	time.Sleep(300 * time.Millisecond) // nothing more may come
	b2.Close()
	if got, want := streamRecords(t, st), f.want(15, "x"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stream holds\n%v\nwant\n%v", got, want)
	}
	if saved, _ := source.SavedPositions(st, "readings-in"); saved[f.clientID] != "15" {
		t.Fatalf("saved positions %v: the count must continue across the restart", saved)
	}
}

// failingStore fails the commits numbered in fail (1-based).
type failingStore struct {
	*store.Store
	mu   sync.Mutex
	n    int
	fail map[int]bool
}

func (s *failingStore) Commit(tx store.Txn) error {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if s.fail[n] {
		return errors.New("injected commit failure")
	}
	return s.Store.Commit(tx)
}

func TestSourceReturnsUncommittedMessagesAgainAfterAFailedCommit(t *testing.T) {
	f := newSessionFixture(t)
	st := openSourceStore(t)
	// Batches of 4: the 2nd and 3rd commits fail; the bridge seeks to the
	// saved position and the source returns the uncommitted messages again
	// from memory, since the broker does not resend on the same connection.
	fs := &failingStore{Store: st, fail: map[int]bool{2: true, 3: true}}
	src, err := OpenSource(json.RawMessage(f.config()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := src.Seek(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f.publish(t, 0, 12, "a", "b", "c")
	// Wait until the source holds all 12 messages, so one Poll returns
	// them and the bridge commits them in several batches.
	waitUntil(t, "12 messages in memory", func() bool { src.mu.Lock(); defer src.mu.Unlock(); return len(src.buf) == 12 })
	b, err := source.NewBridge(fs, "readings-in", src, "readings", source.Options{MaxBatch: 4, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitUntil(t, "12 messages", func() bool { return b.Stats().Positions[f.clientID] == "12" })
	if s := b.Stats(); s.Errors != 2 {
		t.Fatalf("stats %+v: want the 2 injected failures", s)
	}
	if got, want := streamRecords(t, st), f.want(12, "a", "b", "c"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stream holds\n%v\nwant\n%v", got, want)
	}
}

func TestSourceSkipsRetainedMessagesSentOnSubscribing(t *testing.T) {
	f := newSessionFixture(t)
	tok := f.pub.Publish(f.prefix+"/state", 1, true, "old")
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { f.pub.Publish(f.prefix+"/state", 1, true, "").WaitTimeout(time.Second) })
	f.createSession(t)
	st := openSourceStore(t)
	b := startSourceBridge(t, st, f.config())
	f.publish(t, 0, 1, "x")
	waitUntil(t, "the live message", func() bool { return b.Stats().Copied >= 1 })
	time.Sleep(100 * time.Millisecond)
	b.Close()
	if got := fmt.Sprint(streamRecords(t, st)); got != fmt.Sprintf("[%s/x m-0]", f.prefix) {
		t.Fatalf("stream holds %s, want only the live message", got)
	}
}
