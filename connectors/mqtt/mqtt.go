// Package mqtt is the "mqtt" destination of delivery streams: it
// publishes each record as an MQTT 3.1.1 message (Mosquitto, EMQX,
// HiveMQ, …) on a topic rendered from the record's fields.
//
// Configuration (JSON, unknown fields are an error):
//
//	{
//	  "broker": "tcp://127.0.0.1:1883", // required: tcp://, ssl://, ws:// or wss://
//	  "topic": "kda/alerts/{TICKER}",   // required; {FIELD} takes a field of the record
//	  "qos": 1,                         // 1 (default) or 2; 0 is refused, see below
//	  "retained": false,                // the broker keeps the last message per topic
//	  "clientId": "",                   // default kda-<random>; must be unique per broker
//	  "username": "", "password": "",
//	  "timeout": "10s"                  // connecting, and waiting for each acknowledgement
//	}
//
// The message payload is the record's bytes, unchanged. A topic without
// {FIELD} references accepts any bytes; one with references needs
// records that are JSON objects (application output rows are), and
// field names are matched exactly first, then ignoring case. A record
// without the field, or whose field puts a wildcard (+ or #) or a NUL
// into the topic, is a *delivery.Permanent error.
//
// Acknowledgement: at QoS 1 Deliver waits for the broker's PUBACK of
// every message, at QoS 2 for its PUBCOMP, and returns nil only when all
// records of the batch were acknowledged. QoS 0 is refused: the broker
// acknowledges nothing at QoS 0, so a sink could not know that a record
// arrived, which is what a nil from Deliver promises. A missing
// acknowledgement within timeout or a lost connection is an error the
// delivery stream retries; the next Deliver connects again.
//
// Delivery guarantee: at least once (also at QoS 2, which is exactly
// once only between one connection and the broker: a batch sent again
// after an error is a new publication). MQTT 3.1.1 has no message
// headers, so the record ID cannot travel beside the payload: this is a
// limitation of the sink. Consumers that must not act twice deduplicate
// by a key inside the payload (for example the row's own key and event
// time columns), or use another destination that carries the ID.
//
// The session is clean (no state kept on the broker between
// connections), and the connection is opened by the first Deliver, not
// by OpenSink, so a broker that is down when the delivery stream starts
// is an outage like any other. The client's own automatic reconnection
// is off: a message is either acknowledged or reported as failed.
package mqtt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/kdaproject/kda/connectors/delivery"
	connconf "github.com/kdaproject/kda/connectors/internal/config"
	"github.com/kdaproject/kda/connectors/internal/fields"
)

// Kind is the destination type in configurations.
const Kind = "mqtt"

// Defaults of the optional settings.
const (
	DefaultQoS     = 1
	DefaultTimeout = 10 * time.Second
)

// maxTopic is MQTT's limit on a topic's length in bytes.
const maxTopic = 65535

// Config is the MQTT destination's configuration.
type Config struct {
	Broker   string `json:"broker"`
	Topic    string `json:"topic"`
	QoS      *int   `json:"qos,omitempty"`
	Retained bool   `json:"retained,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
}

// Connector declares the MQTT destination.
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind:    Kind,
		Doc:     "publish records to an MQTT broker on a topic made from their fields, waiting for every PUBACK (QoS 1) or PUBCOMP (QoS 2)",
		Example: json.RawMessage(`{"broker": "tcp://127.0.0.1:1883", "topic": "kda/alerts/{TICKER}", "qos": 1, "retained": false, "timeout": "10s"}`),
		OpenSink: func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
			return Open(config)
		},
	}
}

// Sink publishes to one broker. Deliver must not be called concurrently.
type Sink struct {
	broker   string
	topic    *fields.Template
	qos      byte
	retained bool
	clientID string
	username string
	password string
	timeout  time.Duration

	client paho.Client
}

// Open validates a configuration and returns a sink; it does not connect.
func Open(config json.RawMessage) (*Sink, error) {
	var c Config
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("mqtt config: %w", err)
	}
	s := &Sink{retained: c.Retained, clientID: c.ClientID, username: c.Username, password: c.Password, timeout: DefaultTimeout}
	u, err := url.Parse(c.Broker)
	switch {
	case c.Broker == "":
		return nil, errors.New("mqtt config: broker is required, e.g. tcp://127.0.0.1:1883")
	case err != nil:
		return nil, fmt.Errorf("mqtt config: broker: %w", err)
	case u.Host == "":
		return nil, fmt.Errorf("mqtt config: broker %q: want scheme://host:port, e.g. tcp://127.0.0.1:1883", c.Broker)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return nil, fmt.Errorf("mqtt config: broker %q: the scheme must be tcp, ssl, ws or wss", c.Broker)
	}
	s.broker = c.Broker
	if c.Topic == "" {
		return nil, errors.New("mqtt config: topic is required, e.g. kda/alerts/{TICKER}")
	}
	if s.topic, err = fields.ParseTemplate(c.Topic); err != nil {
		return nil, fmt.Errorf("mqtt config: topic: %w", err)
	}
	skeleton, _ := s.topic.Render(s.topic.Fill("x"))
	if err := validTopic(skeleton); err != nil {
		return nil, fmt.Errorf("mqtt config: topic %q: %v", c.Topic, err)
	}
	if strings.HasPrefix(skeleton, "$") {
		return nil, fmt.Errorf("mqtt config: topic %q: topics beginning with $ are the broker's own", c.Topic)
	}
	switch {
	case c.QoS == nil:
		s.qos = DefaultQoS
	case *c.QoS == 0:
		return nil, errors.New("mqtt config: qos 0 is not acknowledged by the broker, so kda could not know a record arrived: use 1 (or 2)")
	case *c.QoS == 1 || *c.QoS == 2:
		s.qos = byte(*c.QoS)
	default:
		return nil, fmt.Errorf("mqtt config: qos %d: use 1 or 2", *c.QoS)
	}
	if len(c.ClientID) > 65535 {
		return nil, errors.New("mqtt config: clientId is too long")
	}
	if s.clientID == "" {
		b := make([]byte, 8)
		rand.Read(b)
		s.clientID = "kda-" + hex.EncodeToString(b)
	}
	if c.Password != "" && c.Username == "" {
		return nil, errors.New("mqtt config: password is set but username is empty")
	}
	if c.Timeout != "" {
		if s.timeout, err = connconf.PositiveDuration("mqtt", "timeout", c.Timeout); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// validTopic checks a topic to publish on.
func validTopic(t string) error {
	switch {
	case t == "":
		return errors.New("the topic is empty")
	case len(t) > maxTopic:
		return fmt.Errorf("the topic is %d bytes long, more than MQTT's %d", len(t), maxTopic)
	case strings.ContainsAny(t, "+#"):
		return fmt.Errorf("topic %q contains a wildcard (+ or #); messages are published on concrete topics", t)
	case strings.ContainsRune(t, 0) || !utf8.ValidString(t):
		return fmt.Errorf("topic %q is not valid UTF-8 without NUL", t)
	}
	return nil
}

// connect (re)opens the connection.
func (s *Sink) connect(ctx context.Context) error {
	if s.client != nil && s.client.IsConnectionOpen() {
		return nil
	}
	s.disconnect()
	o := paho.NewClientOptions().
		AddBroker(s.broker).
		SetClientID(s.clientID).
		SetUsername(s.username).
		SetPassword(s.password).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(s.timeout).
		SetWriteTimeout(s.timeout).
		SetOrderMatters(false)
	c := paho.NewClient(o)
	if err := wait(ctx, c.Connect(), s.timeout); err != nil {
		c.Disconnect(0)
		return fmt.Errorf("mqtt: connect to %s as %s: %w", s.broker, s.clientID, err)
	}
	s.client = c
	return nil
}

func (s *Sink) disconnect() {
	if s.client != nil {
		s.client.Disconnect(0)
	}
	s.client = nil
}

// wait waits for a token within timeout and ctx.
func wait(ctx context.Context, tok paho.Token, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-t.C:
		return fmt.Errorf("no acknowledgement within %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deliver publishes the records in order and waits for every
// acknowledgement.
func (s *Sink) Deliver(ctx context.Context, records []delivery.Record) error {
	if len(records) == 0 {
		return nil
	}
	topics, err := s.topics(records)
	if err != nil {
		return err
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	tokens := make([]paho.Token, len(records))
	for i, r := range records {
		tokens[i] = s.client.Publish(topics[i], s.qos, s.retained, r.Data)
	}
	for i, tok := range tokens {
		if err := wait(ctx, tok, s.timeout); err != nil {
			s.disconnect() // the connection may be half dead: start afresh next time
			return fmt.Errorf("mqtt: record %s on %s: %w", records[i].ID, topics[i], err)
		}
	}
	return nil
}

// topics renders every record's topic before anything is sent.
func (s *Sink) topics(records []delivery.Record) ([]string, error) {
	out := make([]string, len(records))
	if len(s.topic.Fields()) == 0 {
		t, _ := s.topic.Render(nil)
		for i := range out {
			out[i] = t
		}
		return out, nil
	}
	for i, r := range records {
		obj, err := fields.Object(r.Data)
		if err != nil {
			return nil, &delivery.Permanent{Err: fmt.Errorf("mqtt: record %s: %w (the topic template needs its fields)", r.ID, err)}
		}
		t, err := s.topic.Render(obj)
		if err == nil {
			err = validTopic(t)
		}
		if err != nil {
			return nil, &delivery.Permanent{Err: fmt.Errorf("mqtt: record %s: topic: %w", r.ID, err)}
		}
		out[i] = t
	}
	return out, nil
}

// Close disconnects.
func (s *Sink) Close() error {
	s.disconnect()
	return nil
}
