package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/engine/store"
)

// The outage tests run a bridge from a persistent session, connected
// through a proxy that the test cuts, into a real store; messages are
// published at QoS 1 straight to the broker, before, during and after the
// cut. MQTT gives at least once, so the checks are: every message is in
// the stream, the first copies are in publication order per topic, and
// duplicates are only those the source's documentation allows.

var outageTopics = []string{"a", "b", "c"}

// copies parses the stream's "<topic> m-<i>" records into message numbers
// and checks that each is on its topic.
func (f *sessionFixture) copies(t *testing.T, recs []string) []int {
	t.Helper()
	out := make([]int, len(recs))
	for k, r := range recs {
		topic, data, _ := strings.Cut(r, " ")
		i, err := strconv.Atoi(strings.TrimPrefix(data, "m-"))
		if err != nil || topic != f.prefix+"/"+outageTopics[i%len(outageTopics)] {
			t.Fatalf("record %d %q is no test message on its topic", k, r)
		}
		out[k] = i
	}
	return out
}

// distinct counts the different messages in the stream.
func distinct(msgs []int) int {
	seen := map[int]bool{}
	for _, i := range msgs {
		seen[i] = true
	}
	return len(seen)
}

// waitAllCopied waits until the stream holds each of messages 0..n-1 at
// least once and returns the message numbers in stream order.
func (f *sessionFixture) waitAllCopied(t *testing.T, st *store.Store, n int) []int {
	t.Helper()
	var msgs []int
	waitUntil(t, fmt.Sprintf("all %d messages in the stream", n), func() bool {
		msgs = f.copies(t, streamRecords(t, st))
		return distinct(msgs) == n
	})
	return msgs
}

// checkAtLeastOnceInOrder checks that msgs holds each of 0..n-1 and
// nothing else, that per topic the first copies come in publication
// order, and returns the stream indexes of the repeated copies with the
// index of the first copy of each.
func checkAtLeastOnceInOrder(t *testing.T, msgs []int, n int) (dups map[int]int) {
	t.Helper()
	first := map[int]int{}
	dups = map[int]int{}
	last := map[int]int{} // topic -> last message number first copied
	for k, i := range msgs {
		if i < 0 || i >= n {
			t.Fatalf("record %d is message %d, never published", k, i)
		}
		if at, ok := first[i]; ok {
			dups[k] = at
			continue
		}
		first[i] = k
		topic := i % len(outageTopics)
		if prev, ok := last[topic]; ok && i < prev {
			t.Fatalf("record %d: message %d first copied after message %d of the same topic: out of order\n%v", k, i, prev, msgs)
		}
		last[topic] = i
	}
	if len(first) != n {
		t.Fatalf("%d of %d messages in the stream: lost some\n%v", len(first), n, msgs)
	}
	return dups
}

// publishAll publishes "m-<i>" for i in [from, from+n) at QoS 1 on the
// outage topics, straight to the broker.
func (f *sessionFixture) publishAll(t *testing.T, from, n int) {
	t.Helper()
	f.publish(t, from, n, outageTopics...)
}

func TestSourceCopiesEveryMessageAtLeastOnceInOrderAcrossAnOutage(t *testing.T) {
	f := newSessionFixture(t)
	f.createSession(t)
	proxy := testproxy.Start(t, brokerAddr)
	st := openSourceStore(t)
	b := startSourceBridge(t, st, f.configVia(proxy.Addr))

	f.publishAll(t, 0, 30)
	f.waitAllCopied(t, st, 30)

	proxy.Cut()
	errs := b.Stats().Errors
	f.publishAll(t, 30, 30) // the broker queues these in the session
	waitUntil(t, "the bridge to notice the outage", func() bool { return b.Stats().Errors >= errs+2 })
	proxy.Restore()

	f.publishAll(t, 60, 30)
	msgs := f.waitAllCopied(t, st, 90)
	time.Sleep(200 * time.Millisecond) // let any resent message arrive
	b.Close()
	msgs = f.copies(t, streamRecords(t, st))
	dups := checkAtLeastOnceInOrder(t, msgs, 90)
	// Only messages committed but not acknowledged when the connection was
	// cut can come twice: at most the broker's in-flight window of 20.
	if len(dups) > 20 {
		t.Fatalf("%d duplicates, more than the in-flight window: %v", len(dups), msgs)
	}
	t.Logf("%d records for 90 messages, %d duplicated", len(msgs), len(dups))
}

// cutStore cuts the proxy right after its at-th commit is written, before
// the bridge can report it to the source: the commit's messages are in the
// stream but their acknowledgements cannot reach the broker.
type cutStore struct {
	*store.Store
	proxy *testproxy.Proxy
	at    int

	mu      sync.Mutex
	commits int
	records int // records written so far
	// The at-th commit wrote the records at stream indexes [cutFrom, cutTo).
	cutFrom, cutTo int
	cut            chan struct{}
}

func (s *cutStore) Commit(tx store.Txn) error {
	if err := s.Store.Commit(tx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	from := s.records
	for _, r := range tx.Records {
		s.records += len(r.Records)
	}
	if s.commits == s.at {
		s.cutFrom, s.cutTo = from, s.records
		s.proxy.Cut()
		close(s.cut)
	}
	return nil
}

func TestSourceCopiesAgainNotLosesAMessageCommittedButNotAcknowledged(t *testing.T) {
	f := newSessionFixture(t)
	f.createSession(t)
	proxy := testproxy.Start(t, brokerAddr)
	st := openSourceStore(t)
	cs := &cutStore{Store: st, proxy: proxy, at: 3, cut: make(chan struct{})}
	b := startSourceBridge(t, cs, f.configVia(proxy.Addr))

	f.publishAll(t, 0, 30)
	<-cs.cut
	f.publishAll(t, 30, 10)
	time.Sleep(100 * time.Millisecond)
	proxy.Restore()
	f.publishAll(t, 40, 10)
	f.waitAllCopied(t, st, 50)
	time.Sleep(200 * time.Millisecond)
	b.Close()
	msgs := f.copies(t, streamRecords(t, st))
	dups := checkAtLeastOnceInOrder(t, msgs, 50)
	cs.mu.Lock()
	from, to := cs.cutFrom, cs.cutTo
	cs.mu.Unlock()
	// The 3rd commit's messages were never acknowledged: the broker sends
	// them again on the next connection and they are copied twice.
	repeated := map[int]bool{}
	for _, at := range dups {
		repeated[at] = true
	}
	for at := from; at < to; at++ {
		if !repeated[at] {
			t.Fatalf("message %d (record %d) was committed by the cut commit, never acknowledged, yet not sent again\n%v", msgs[at], at, msgs)
		}
	}
	// Only messages the cut connection delivered can repeat: those
	// committed by then, or later from the same poll, within the broker's
	// in-flight window (Mosquitto's max_inflight_messages, 20). Mosquitto
	// 2.0.11 was seen, about 1 run in 40, to have 25 out: the bound allows
	// twice the window, which still catches a source that acknowledges
	// nothing (every message would repeat).
	for k, at := range dups {
		if at >= from+2*20 {
			t.Fatalf("record %d repeats message %d first copied at %d, beyond the in-flight window of the cut connection (commit at records %d..%d)\n%v", k, msgs[k], at, from, to, msgs)
		}
	}
	t.Logf("%d records for 50 messages; the cut commit wrote records %d..%d; %d duplicated", len(msgs), from, to, len(dups))
}

func TestSourceLosesNothingWhenTheBridgeRestartsWhilePublishingAndDuringAnOutage(t *testing.T) {
	const n = 150
	f := newSessionFixture(t)
	f.createSession(t)
	proxy := testproxy.Start(t, brokerAddr)
	st := openSourceStore(t)

	// A publisher publishes all along, straight to the broker.
	published := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			tok := f.pub.Publish(f.prefix+"/"+outageTopics[i%len(outageTopics)], 1, false, fmt.Sprintf("m-%d", i))
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				published <- fmt.Errorf("publish %d: %v", i, tok.Error())
				return
			}
			if i%10 == 9 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		published <- nil
	}()

	// The first bridge is closed cleanly in the middle of the stream.
	b1 := startSourceBridge(t, st, f.configVia(proxy.Addr))
	waitUntil(t, "the first bridge to copy some", func() bool { return b1.Stats().Copied >= 20 })
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	byFirst := int(b1.Stats().Copied)
	if byFirst >= n {
		t.Fatalf("the first bridge copied all %d messages before it was closed: the restart is not in the middle", byFirst)
	}

	// The second starts and is cut off, and closed during the outage.
	b2 := startSourceBridge(t, st, f.configVia(proxy.Addr))
	waitUntil(t, "the second bridge to copy some", func() bool { return b2.Stats().Copied > 0 })
	proxy.Cut()
	errs := b2.Stats().Errors
	waitUntil(t, "the second bridge to notice the outage", func() bool { return b2.Stats().Errors > errs })
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}

	// The third starts during the outage, which then ends.
	b3 := startSourceBridge(t, st, f.configVia(proxy.Addr))
	waitUntil(t, "the third bridge to fail to connect", func() bool { return b3.Stats().Errors > 0 })
	proxy.Restore()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	f.waitAllCopied(t, st, n)
	time.Sleep(200 * time.Millisecond)
	b3.Close()
	msgs := f.copies(t, streamRecords(t, st))
	dups := checkAtLeastOnceInOrder(t, msgs, n)
	// A clean Close acknowledges everything committed: nothing the first
	// bridge copied comes again.
	for k, at := range dups {
		if at < byFirst {
			t.Fatalf("record %d repeats message %d that the first bridge committed before a clean Close\n%v", k, msgs[k], msgs)
		}
	}
	t.Logf("copied: %d by the first bridge, %d by the second, %d by the third; %d duplicated", byFirst, b2.Stats().Copied, b3.Stats().Copied, len(dups))
}

// holdProxy forwards one client's connections to the broker, and can hold
// what the client sends instead of forwarding it. While it holds, a client
// that closes its connection loses what is held, as when a network path
// drops the bytes in flight at the end of a connection.
type holdProxy struct {
	Addr string
	ln   net.Listener

	mu      sync.Mutex
	holding bool
	held    [][]byte
	up      net.Conn // the current connection to the broker
}

func startHoldProxy(t *testing.T) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{Addr: ln.Addr().String(), ln: ln}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", brokerAddr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.up = up
			p.mu.Unlock()
			wg.Add(2)
			go func() { // broker to client, as is
				defer wg.Done()
				_, _ = io.Copy(c, up)
				c.Close()
			}()
			go func() { // client to broker, unless held
				defer wg.Done()
				defer up.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					p.mu.Lock()
					if n > 0 {
						if p.holding {
							p.held = append(p.held, bytes.Clone(buf[:n]))
						} else if _, werr := up.Write(buf[:n]); werr != nil {
							err = werr
						}
					}
					if err != nil {
						p.held = nil // the client left: what is held is lost
						p.mu.Unlock()
						c.Close()
						return
					}
					p.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		if p.up != nil {
			p.up.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	return p
}

// hold keeps what clients send from now on.
func (p *holdProxy) hold() {
	p.mu.Lock()
	p.holding = true
	p.mu.Unlock()
}

// release forwards what is held, in order, and stops holding.
func (p *holdProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.held {
		p.up.Write(b)
	}
	p.held, p.holding = nil, false
}

// The acknowledgements of the last commit are still on their way when a
// clean Close begins (here held by a proxy). Close must not disconnect
// before the broker has them: if it did, they would be lost with the
// connection, and the next start would get the committed messages again.
func TestSourceCleanCloseWaitsUntilTheBrokerHasTheAcknowledgements(t *testing.T) {
	f := newSessionFixture(t)
	f.createSession(t)
	proxy := startHoldProxy(t)
	ctx := context.Background()
	src, err := OpenSource(json.RawMessage(f.configVia(proxy.Addr)))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Seek(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f.publish(t, 0, 5, "a")
	var got []source.Message
	waitUntil(t, "5 messages", func() bool {
		msgs, err := src.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
		return len(got) >= 5
	})

	proxy.hold()
	if err := src.Committed(ctx, source.Positions{f.clientID: "5"}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- src.Close() }()
	select {
	case err = <-closed:
		// Close returned while the PUBACKs were held, so they are lost.
	case <-time.After(500 * time.Millisecond):
		proxy.release() // Close waits for the broker: let the PUBACKs through
		err = <-closed
	}
	if err != nil {
		t.Fatal(err)
	}

	// The next start, straight to the broker, gets nothing again.
	next, err := OpenSource(json.RawMessage(f.config()))
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if err := next.Seek(ctx, source.Positions{f.clientID: "5"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		msgs, err := next.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			t.Errorf("the broker sent %s %s again after a clean Close acknowledged it", m.Key, m.Value)
		}
	}
}
