package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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
//     only once the bridge committed it to the kda stream.
//
// The source.Source interface has no "committed" call, so the source
// reads commits from the bridge's protocol: the Bridge polls again only
// after it committed every message of the previous Poll, and after any
// failure it calls Seek with the positions read back from the store. So
// Poll acknowledges the previous Poll's messages, and Seek acknowledges
// those up to the saved position and returns the others (and everything
// still buffered) again, in order, from the next Poll. A position is a
// count of the messages copied in the session (partition = clientId),
// continued across restarts from the saved one.
//
// The gap, where a message can be copied twice: a message committed but
// not yet acknowledged when kda stops (a crash, or a Close between the
// commit and the next Poll) or when the connection drops is sent again by
// the broker and copied again: at most the messages of one Poll, which
// the broker's in-flight window bounds (max_inflight_messages, 20 in
// Mosquitto). Messages the source buffered but never committed are not
// lost: they were not acknowledged, so the broker sends them again.
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
	m  paho.Message
	at time.Time
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

// Seek acknowledges the messages committed up to from's position and
// makes the next Poll return the others again, or, when the connection
// is gone, reconnects (the broker sends again what was not acknowledged).
func (s *Source) Seek(ctx context.Context, from source.Positions) error {
	var committed uint64
	if pos, ok := from[s.clientID]; ok {
		n, err := strconv.ParseUint(pos, 10, 64)
		if err != nil {
			return fmt.Errorf("mqtt: saved position %q of session %s is not a message count", pos, s.clientID)
		}
		committed = n
	}
	s.mu.Lock()
	if s.client != nil && s.lost == nil && s.client.IsConnectionOpen() {
		first := s.next - uint64(len(s.pending)) // position of pending[0]
		var done, again []inMsg
		for i, m := range s.pending {
			if first+uint64(i) <= committed {
				done = append(done, m)
			} else {
				again = append(again, m)
			}
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
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// Poll acknowledges the messages the previous Poll returned (the bridge
// committed them before polling again) and returns those received since,
// waiting up to a second for one.
func (s *Source) Poll(ctx context.Context) ([]source.Message, error) {
	s.mu.Lock()
	if s.client == nil {
		s.mu.Unlock()
		return nil, errors.New("mqtt: Poll before Seek")
	}
	done := s.pending
	s.pending = nil
	empty := len(s.buf) == 0
	s.mu.Unlock()
	ack(done)
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
	for i, m := range s.buf[:n] {
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

// Close disconnects; the session and its unacknowledged messages stay on
// the broker for the next start.
func (s *Source) Close() error {
	s.disconnect()
	return nil
}
