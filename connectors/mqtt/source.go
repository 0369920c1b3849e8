package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"

	connconf "github.com/kdaproject/kda/connectors/internal/config"
	"github.com/kdaproject/kda/connectors/source"
)

// SourceConfig is the MQTT source's configuration.
type SourceConfig struct {
	Broker   string   `json:"broker"`
	Topics   []string `json:"topics"`
	QoS      *int     `json:"qos,omitempty"`
	ClientID string   `json:"clientId"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	Timeout  string   `json:"timeout,omitempty"`
}

// Bounds of one Poll of the MQTT source.
const (
	sourcePollWait = time.Second
	sourceMaxPoll  = 5000
)

// SourceConnector declares the MQTT source.
func SourceConnector() source.Connector {
	return source.Connector{
		Kind:    Kind,
		Doc:     "subscribe to MQTT topics in a persistent session and copy the messages, at least once",
		Example: json.RawMessage(`{"broker": "tcp://127.0.0.1:1883", "topics": ["sensors/#"], "qos": 1, "clientId": "kda-sensors", "timeout": "10s"}`),
		Open: func(ctx context.Context, config json.RawMessage) (source.Source, error) {
			return OpenSource(config)
		},
	}
}

// Source subscribes to topic filters in a persistent MQTT 3.1.1 session
// and returns the messages it receives. Configuration (JSON, unknown
// fields are an error):
//
//	{
//	  "broker": "tcp://127.0.0.1:1883", // required: tcp://, ssl://, ws:// or wss://
//	  "topics": ["sensors/#"],          // required: topic filters, + and # allowed
//	  "qos": 1,                         // 1 (default) or 2; 0 is refused, see below
//	  "clientId": "kda-sensors",        // required and stable: it names the session on the broker
//	  "username": "", "password": "",
//	  "timeout": "10s"                  // connecting and subscribing
//	}
//
// Guarantee: at least once, not exactly once. MQTT cannot replay: a
// message exists only until its subscriber acknowledges it, so kda cannot
// seek back to a position the way it does with Kafka or JetStream. What
// this source does to lose nothing it can avoid:
//
//   - The session is persistent (CleanSession false, under the stable
//     clientId), so the broker keeps the subscription and queues QoS 1
//     and 2 messages while kda is down or disconnected, and sends again,
//     on the next connection, every message it sent but got no PUBACK
//     (QoS 1) or PUBREC (QoS 2) for.
//   - paho's automatic acknowledgement is off (SetAutoAckDisabled). By
//     default paho sends the PUBACK/PUBREC as soon as the message handler
//     returns, that is on receipt into memory, so a crash loses whatever
//     was received but not yet committed. Here a message is acknowledged
//     only once the bridge committed it durably to the kda stream: the
//     source implements source.Committer, and the bridge calls Committed
//     right after each store commit with the positions it saved. Seek,
//     whose positions the bridge reads back from the store, acknowledges
//     up to them too (that covers a commit that was written but reported
//     failed). Acknowledgements go out in the order the messages came,
//     as MQTT requires.
//
// A position is a count of the messages copied in the session (partition
// = clientId), continued across restarts from the saved one. When the
// bridge seeks on a live connection (after a failed commit), the source
// returns again, in order, the messages it returned but that were not
// committed, then whatever it still buffers; the broker would not send
// them again on the same connection.
//
// So the guarantee is at least once, in the broker's order per topic:
//
//   - Nothing the broker delivered is lost by kda: a message is
//     acknowledged only after it is durable in the stream, so if kda
//     crashes, is closed, or loses the connection before that, the broker
//     still holds it and sends it again on the next connection.
//   - A message is copied twice only if it was committed but its
//     acknowledgement did not reach the broker: kda crashed between the
//     store commit and the PUBACK, or the connection dropped (or the
//     PUBACK was lost on it) in that window. The broker then sends it
//     again, flagged DUP, and it gets a new position and a second record.
//     At most the messages in flight at that moment are duplicated, which
//     the broker's in-flight window bounds (max_inflight_messages, 20 in
//     Mosquitto). A clean Close acknowledges everything committed and,
//     before it disconnects, waits (up to timeout) until the broker
//     confirms it processed those acknowledgements, so a planned restart
//     copies nothing twice; Close returns an error when the broker does
//     not confirm.
//   - Order: the first copies of a topic's messages are in the order the
//     broker delivered them (for QoS 1 and 2 from one publisher, the
//     order of publication). A duplicate repeats a stretch already copied
//     right after a reconnection: committed m1..m10 with m6 onwards not
//     acknowledged, then a connection drop, gives m1..m10 m6..m10 m11...
//
// Messages are lost only where the broker drops them: QoS 0 publications
// (delivered at QoS 0 whatever the subscription's QoS, never
// acknowledged, not queued while kda is away), queued messages beyond the
// broker's limit (max_queued_messages, 1000 in Mosquitto), a broker
// restart without persistence, and anything published before the
// session's first subscription. qos 0 is refused for the same reason as
// in the sink. A connection loss makes Poll fail; the bridge then seeks,
// which reconnects and drops what the old connection buffered (the broker
// sends it again).
//
// Retained messages that the broker sends because of a (re)subscription
// (RETAIN flag set) are acknowledged and skipped: every reconnection
// subscribes again and would copy them again. Messages that match an
// established subscription arrive without the flag and are copied.
//
// A message's key is its topic, its value the payload unchanged, and its
// timestamp the time kda received it (MQTT 3.1.1 carries none).
type Source struct {
	broker   string
	topics   []string
	qos      byte
	clientID string
	username string
	password string
	timeout  time.Duration

	mu      sync.Mutex
	client  paho.Client
	gen     int     // connection generation; messages of older ones are dropped
	lost    error   // set when the current connection is lost
	buf     []inMsg // received, not yet returned by Poll
	pending []inMsg // returned by Poll, not yet acknowledged
	next    uint64  // position of the next message returned
	arrived chan struct{}
}

type inMsg struct {
	m   paho.Message
	at  time.Time
	pos uint64 // the position Poll gave it; 0 while buffered
}

// OpenSource validates a configuration and returns a source; it does not
// connect (the first Seek does).
func OpenSource(config json.RawMessage) (*Source, error) {
	var c SourceConfig
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("mqtt source config: %w", err)
	}
	u, err := url.Parse(c.Broker)
	switch {
	case c.Broker == "":
		return nil, errors.New("mqtt source config: broker is required, e.g. tcp://127.0.0.1:1883")
	case err != nil:
		return nil, fmt.Errorf("mqtt source config: broker: %w", err)
	case u.Host == "":
		return nil, fmt.Errorf("mqtt source config: broker %q: want scheme://host:port, e.g. tcp://127.0.0.1:1883", c.Broker)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return nil, fmt.Errorf("mqtt source config: broker %q: the scheme must be tcp, ssl, ws or wss", c.Broker)
	}
	if len(c.Topics) == 0 {
		return nil, errors.New(`mqtt source config: topics is required, e.g. ["sensors/#"]`)
	}
	for _, t := range c.Topics {
		if err := validFilter(t); err != nil {
			return nil, fmt.Errorf("mqtt source config: topics: %v", err)
		}
	}
	s := &Source{broker: c.Broker, topics: c.Topics, clientID: c.ClientID, username: c.Username, password: c.Password,
		timeout: DefaultTimeout, next: 1, arrived: make(chan struct{}, 1)}
	switch {
	case c.QoS == nil:
		s.qos = DefaultQoS
	case *c.QoS == 0:
		return nil, errors.New("mqtt source config: qos 0: the broker neither queues nor sends again QoS 0 messages, so kda could lose them silently: use 1 (or 2)")
	case *c.QoS == 1 || *c.QoS == 2:
		s.qos = byte(*c.QoS)
	default:
		return nil, fmt.Errorf("mqtt source config: qos %d: use 1 or 2", *c.QoS)
	}
	switch {
	case c.ClientID == "":
		return nil, errors.New("mqtt source config: clientId is required: a stable id, unique on the broker, that names the persistent session keeping messages while kda is down, e.g. \"kda-sensors\"")
	case len(c.ClientID) > 65535 || !utf8.ValidString(c.ClientID):
		return nil, errors.New("mqtt source config: clientId must be UTF-8 and shorter than 65536 bytes")
	}
	if c.Password != "" && c.Username == "" {
		return nil, errors.New("mqtt source config: password is set but username is empty")
	}
	if c.Timeout != "" {
		if s.timeout, err = connconf.PositiveDuration("mqtt source", "timeout", c.Timeout); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// validFilter checks a topic filter: + stands for a whole level, # for
// the last level(s).
func validFilter(f string) error {
	switch {
	case f == "":
		return errors.New("a topic filter is empty")
	case len(f) > maxTopic:
		return fmt.Errorf("topic filter %q is longer than MQTT's %d bytes", f, maxTopic)
	case strings.ContainsRune(f, 0) || !utf8.ValidString(f):
		return fmt.Errorf("topic filter %q is not valid UTF-8 without NUL", f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("topic filter %q: # must be the last level", f)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return fmt.Errorf("topic filter %q: + and # must be a whole level", f)
		}
	}
	return nil
}

// Seek acknowledges the messages committed up to from's position (the
// bridge reads it back from the store, so it is durable) and makes the
// next Poll return the others again, or, when the connection is gone,
// reconnects (the broker sends again what was not acknowledged).
func (s *Source) Seek(ctx context.Context, from source.Positions) error {
	committed, _, err := s.position(from)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.client != nil && s.lost == nil && s.client.IsConnectionOpen() {
		done := s.takeCommitted(committed)
		again := s.pending
		for i := range again {
			again[i].pos = 0
		}
		s.buf = append(again, s.buf...)
		s.pending = nil
		s.next = committed + 1
		s.mu.Unlock()
		ack(done)
		return nil
	}
	s.buf, s.pending, s.next = nil, nil, committed+1
	s.mu.Unlock()
	s.disconnect()
	return s.connect(ctx)
}

// connect opens a persistent session and subscribes.
func (s *Source) connect(ctx context.Context) error {
	s.mu.Lock()
	s.gen++
	gen := s.gen
	s.lost = nil
	s.mu.Unlock()
	o := paho.NewClientOptions().
		AddBroker(s.broker).
		SetClientID(s.clientID).
		SetUsername(s.username).
		SetPassword(s.password).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		SetConnectTimeout(s.timeout).
		SetWriteTimeout(s.timeout).
		// Queued messages may arrive before SUBSCRIBE is answered, and
		// the broker's stored subscriptions need no route: everything
		// goes to one handler.
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { s.receive(gen, m) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.mu.Lock()
			if s.gen == gen {
				s.lost = err
			}
			s.mu.Unlock()
			s.wake() // a waiting Poll reports the loss at once
		})
	c := paho.NewClient(o)
	if err := wait(ctx, c.Connect(), s.timeout); err != nil {
		c.Disconnect(0)
		return fmt.Errorf("mqtt: connect to %s as %s: %w", s.broker, s.clientID, err)
	}
	filters := make(map[string]byte, len(s.topics))
	for _, t := range s.topics {
		filters[t] = s.qos
	}
	tok := c.SubscribeMultiple(filters, nil)
	if err := wait(ctx, tok, s.timeout); err != nil {
		c.Disconnect(0)
		return fmt.Errorf("mqtt: subscribe to %v on %s: %w", s.topics, s.broker, err)
	}
	for t, q := range tok.(*paho.SubscribeToken).Result() {
		if q == 0x80 {
			c.Disconnect(0)
			return fmt.Errorf("mqtt: %s refused the subscription to %s (not allowed for this user?)", s.broker, t)
		}
	}
	s.mu.Lock()
	s.client = c
	s.mu.Unlock()
	return nil
}

// receive buffers a message of connection gen without acknowledging it.
func (s *Source) receive(gen int, m paho.Message) {
	if m.Retained() {
		m.Ack() // sent because of a (re)subscription: see Source
		return
	}
	s.mu.Lock()
	if gen == s.gen {
		s.buf = append(s.buf, inMsg{m: m, at: time.Now()})
	}
	s.mu.Unlock()
	s.wake()
}

// wake ends the wait of a Poll, if one waits.
func (s *Source) wake() {
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// Committed implements source.Committer: it acknowledges the messages
// the bridge committed durably, up to p's position, so the broker
// forgets them only now.
func (s *Source) Committed(_ context.Context, p source.Positions) error {
	committed, ok, err := s.position(p)
	if err != nil || !ok {
		return err
	}
	s.mu.Lock()
	done := s.takeCommitted(committed)
	s.mu.Unlock()
	ack(done)
	return nil
}

// position reads the session's position (a message count) in p, and
// whether it is there.
func (s *Source) position(p source.Positions) (uint64, bool, error) {
	pos, ok := p[s.clientID]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(pos, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("mqtt: saved position %q of session %s is not a message count", pos, s.clientID)
	}
	return n, true, nil
}

// takeCommitted removes from pending and returns the messages at
// positions up to committed. Call it holding s.mu.
func (s *Source) takeCommitted(committed uint64) []inMsg {
	i := 0
	for i < len(s.pending) && s.pending[i].pos <= committed {
		i++
	}
	done := append([]inMsg(nil), s.pending[:i]...)
	s.pending = append([]inMsg(nil), s.pending[i:]...)
	return done
}

// Poll returns the messages received since the previous Poll, waiting up
// to a second for one. It acknowledges nothing: Committed does, once the
// bridge committed them.
func (s *Source) Poll(ctx context.Context) ([]source.Message, error) {
	s.mu.Lock()
	if s.client == nil {
		s.mu.Unlock()
		return nil, errors.New("mqtt: Poll before Seek")
	}
	empty := len(s.buf) == 0
	s.mu.Unlock()
	if empty {
		t := time.NewTimer(sourcePollWait)
		select {
		case <-s.arrived:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost != nil {
		return nil, fmt.Errorf("mqtt: connection to %s lost: %w", s.broker, s.lost)
	}
	n := min(len(s.buf), sourceMaxPoll)
	out := make([]source.Message, n)
	for i := range s.buf[:n] {
		s.buf[i].pos = s.next
		m := s.buf[i]
		out[i] = source.Message{
			Key:       []byte(m.m.Topic()),
			Value:     m.m.Payload(),
			Timestamp: m.at,
			Partition: s.clientID,
			Position:  strconv.FormatUint(s.next, 10),
		}
		s.next++
	}
	s.pending = append(s.pending, s.buf[:n]...)
	s.buf = append([]inMsg(nil), s.buf[n:]...)
	return out, nil
}

// ack acknowledges messages. Never call it holding s.mu: paho's ack
// waits for the goroutine that also hands new messages to receive,
// which takes s.mu.
func ack(msgs []inMsg) {
	for _, m := range msgs {
		m.m.Ack()
	}
}

func (s *Source) disconnect() {
	s.mu.Lock()
	c := s.client
	s.client = nil
	s.gen++ // drop whatever the old connection still delivers
	s.mu.Unlock()
	if c != nil {
		c.Disconnect(250)
	}
}

// Close makes sure the broker has the acknowledgements sent so far (see
// flushAcks), then disconnects; the session and its unacknowledged
// messages stay on the broker for the next start. It returns an error,
// after disconnecting, when the connection is up but the broker did not
// confirm: then the last committed messages may be copied again.
func (s *Source) Close() error {
	s.mu.Lock()
	c := s.client
	live := c != nil && s.lost == nil && c.IsConnectionOpen()
	s.mu.Unlock()
	var err error
	if live {
		err = s.flushAcks(c)
	}
	s.disconnect()
	return err
}

// flushAcks returns once the broker has processed every acknowledgement
// written so far on c's connection, or fails after the timeout.
//
// paho's Ack only hands the PUBACK to its writer (there is no token), and
// Disconnect writes DISCONNECT after it and closes the socket at once:
// neither waits for the broker to read the PUBACK. If the next
// connection under the same clientId reaches the broker first (a proxy
// or a busy broker still holds the old connection's bytes), the broker
// hands the session over, drops the old connection with the PUBACKs
// unread, and sends the last commit's messages again; a proxy that closes
// both sides when the client leaves loses them outright. MQTT 3.1.1 has
// no reply to a PUBACK, so this sends, behind the PUBACKs on the same
// connection, an UNSUBSCRIBE of a filter the source never subscribes to
// and waits for the UNSUBACK (the broker must answer even when nothing
// was subscribed, and handles a connection's packets in order).
func (s *Source) flushAcks(c paho.Client) error {
	filter := "$kda/ack-barrier"
	for slices.Contains(s.topics, filter) {
		filter += "/x"
	}
	if err := wait(context.Background(), c.Unsubscribe(filter), s.timeout); err != nil {
		return fmt.Errorf("mqtt: close: %s did not confirm the acknowledgements of session %s, so it may send the last committed messages again: %w", s.broker, s.clientID, err)
	}
	return nil
}
