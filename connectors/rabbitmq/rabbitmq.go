// Package rabbitmq is the "rabbitmq" destination of delivery streams: it
// publishes each record as an AMQP 0-9-1 message to a RabbitMQ exchange,
// with a routing key rendered from the record's fields, and waits for
// RabbitMQ's publisher confirms.
//
// Configuration (JSON, unknown fields are an error):
//
//	{
//	  "url": "amqp://guest:guest@127.0.0.1:5672/", // required: amqp:// or amqps://, vhost in the path
//	  "exchange": "kda.alerts",  // "" is the default exchange (routing key = queue name)
//	  "declare": true,           // declare the exchange (topic, durable) if it is missing
//	  "routingKey": "{TICKER}",  // {FIELD} takes a field of the record; may be fixed text
//	  "persistent": true,        // delivery mode 2 (default): durable queues keep the message on disk
//	  "timeout": "10s"           // connecting, and waiting for each confirmation
//	}
//
// The message body is the record's bytes, unchanged, with content type
// application/json when they are valid JSON and application/octet-stream
// otherwise; MessageId is the record ID, Timestamp its arrival, AppId
// "kda". A routing key without {FIELD} references accepts any bytes; one
// with references needs records that are JSON objects (application
// output rows are), and field names are matched exactly first, then
// ignoring case. A record without the field, or whose key is longer than
// AMQP's 255 bytes, is a *delivery.Permanent error.
//
// Without declare, the exchange must exist: the sink checks it when it
// connects and says so otherwise. With declare, an exchange of the same
// name but another type or durability is an error (RabbitMQ's
// PRECONDITION_FAILED), never redeclared.
//
// Acknowledgement: the channel is in confirm mode and Deliver waits for
// the confirmation of every message; it returns nil only when RabbitMQ
// confirmed all records of the batch. A nack (RabbitMQ could not take the
// message, e.g. a queue with overflow reject-publish is full), a
// confirmation missing within timeout, or a lost connection or channel is
// an error the delivery stream retries; the next Deliver connects again.
// Note that RabbitMQ confirms a message that no queue is bound to take
// (it is dropped, as for any unroutable publish): bind a queue, or give
// the exchange an alternate exchange, before sending records.
//
// Delivery guarantee: at least once. A batch is published again from its
// first record after an error, so consumers deduplicate by the message's
// MessageId (the record ID).
//
// The connection is opened by the first Deliver, not by OpenSink, so a
// broker that is down when the delivery stream starts is an outage like
// any other.
package rabbitmq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kdaproject/kda/connectors/delivery"
	connconf "github.com/kdaproject/kda/connectors/internal/config"
	"github.com/kdaproject/kda/connectors/internal/fields"
)

// Kind is the destination type in configurations.
const Kind = "rabbitmq"

// DefaultTimeout bounds connecting and each confirmation.
const DefaultTimeout = 10 * time.Second

// maxRoutingKey is AMQP's limit on a routing key (a short string).
const maxRoutingKey = 255

// Config is the RabbitMQ destination's configuration.
type Config struct {
	URL        string `json:"url"`
	Exchange   string `json:"exchange"`
	Declare    bool   `json:"declare,omitempty"`
	RoutingKey string `json:"routingKey"`
	Persistent *bool  `json:"persistent,omitempty"`
	Timeout    string `json:"timeout,omitempty"`
}

// Connector declares the RabbitMQ destination.
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind:    Kind,
		Doc:     "publish records to a RabbitMQ exchange with a routing key made from their fields, waiting for every publisher confirm",
		Example: json.RawMessage(`{"url": "amqp://guest:guest@127.0.0.1:5672/", "exchange": "kda.alerts", "declare": true, "routingKey": "{TICKER}", "persistent": true}`),
		OpenSink: func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
			return Open(config)
		},
	}
}

// Sink publishes to one exchange. Deliver must not be called
// concurrently.
type Sink struct {
	url        string
	exchange   string
	declare    bool
	key        *fields.Template
	persistent bool
	timeout    time.Duration

	conn   *amqp.Connection
	ch     *amqp.Channel
	closed chan *amqp.Error // the channel's close notification
}

// Open validates a configuration and returns a sink; it does not connect.
func Open(config json.RawMessage) (*Sink, error) {
	var c Config
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("rabbitmq config: %w", err)
	}
	s := &Sink{exchange: c.Exchange, declare: c.Declare, persistent: true, timeout: DefaultTimeout}
	if c.URL == "" {
		return nil, errors.New("rabbitmq config: url is required, e.g. amqp://guest:guest@127.0.0.1:5672/")
	}
	if _, err := amqp.ParseURI(c.URL); err != nil {
		u, _ := url.Parse(c.URL)
		shown := c.URL
		if u != nil {
			shown = u.Redacted()
		}
		return nil, fmt.Errorf("rabbitmq config: url %q: %v", shown, err)
	}
	s.url = c.URL
	if c.Declare && c.Exchange == "" {
		return nil, errors.New("rabbitmq config: declare is true but exchange is empty: the default exchange cannot be declared; name an exchange")
	}
	if len(c.Exchange) > 255 {
		return nil, errors.New("rabbitmq config: exchange is longer than 255 bytes")
	}
	t, err := fields.ParseTemplate(c.RoutingKey)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq config: routingKey: %w", err)
	}
	if c.RoutingKey == "" && c.Exchange == "" {
		return nil, errors.New("rabbitmq config: routingKey is required with the default exchange (it names the queue)")
	}
	if skeleton, _ := t.Render(t.Fill("")); len(skeleton) > maxRoutingKey {
		return nil, fmt.Errorf("rabbitmq config: routingKey is longer than %d bytes", maxRoutingKey)
	}
	s.key = t
	if c.Persistent != nil {
		s.persistent = *c.Persistent
	}
	if c.Timeout != "" {
		if s.timeout, err = connconf.PositiveDuration("rabbitmq", "timeout", c.Timeout); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// connect (re)opens the connection and a channel in confirm mode.
func (s *Sink) connect() error {
	if s.ch != nil && !s.ch.IsClosed() && !s.conn.IsClosed() {
		return nil
	}
	s.disconnect()
	conn, err := amqp.DialConfig(s.url, amqp.Config{
		Dial:       amqp.DefaultDial(s.timeout),
		Properties: amqp.Table{"connection_name": "kda delivery"},
	})
	if err != nil {
		return fmt.Errorf("rabbitmq: connect: %w", err)
	}
	ch, err := s.channel(conn)
	if err != nil {
		conn.Close()
		return err
	}
	s.conn, s.ch = conn, ch
	s.closed = ch.NotifyClose(make(chan *amqp.Error, 1))
	return nil
}

func (s *Sink) channel(conn *amqp.Connection) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: open channel: %w", err)
	}
	switch {
	case s.exchange == "":
	case s.declare:
		if err := ch.ExchangeDeclare(s.exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			return nil, fmt.Errorf("rabbitmq: declare topic exchange %s: %w", s.exchange, err)
		}
	default:
		if err := ch.ExchangeDeclarePassive(s.exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			var ae *amqp.Error
			if errors.As(err, &ae) && ae.Code == amqp.NotFound {
				return nil, fmt.Errorf("rabbitmq: exchange %s does not exist: create it, or set declare to true: %w", s.exchange, err)
			}
			return nil, fmt.Errorf("rabbitmq: check exchange %s: %w", s.exchange, err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("rabbitmq: confirm mode: %w", err)
	}
	return ch, nil
}

func (s *Sink) disconnect() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn, s.ch, s.closed = nil, nil, nil
}

// Deliver publishes the records in order and waits for every
// confirmation.
func (s *Sink) Deliver(ctx context.Context, records []delivery.Record) error {
	if len(records) == 0 {
		return nil
	}
	keys, err := s.keys(records)
	if err != nil {
		return err
	}
	if err := s.connect(); err != nil {
		return err
	}
	if err := s.publish(ctx, records, keys); err != nil {
		s.disconnect() // start afresh next time
		return err
	}
	return nil
}

// keys renders every record's routing key before anything is sent.
func (s *Sink) keys(records []delivery.Record) ([]string, error) {
	out := make([]string, len(records))
	if len(s.key.Fields()) == 0 {
		k, _ := s.key.Render(nil)
		for i := range out {
			out[i] = k
		}
		return out, nil
	}
	for i, r := range records {
		obj, err := fields.Object(r.Data)
		if err != nil {
			return nil, &delivery.Permanent{Err: fmt.Errorf("rabbitmq: record %s: %w (the routing key template needs its fields)", r.ID, err)}
		}
		k, err := s.key.Render(obj)
		if err == nil && len(k) > maxRoutingKey {
			err = fmt.Errorf("%d bytes, more than AMQP's %d", len(k), maxRoutingKey)
		}
		if err != nil {
			return nil, &delivery.Permanent{Err: fmt.Errorf("rabbitmq: record %s: routing key: %w", r.ID, err)}
		}
		out[i] = k
	}
	return out, nil
}

func (s *Sink) publish(ctx context.Context, records []delivery.Record, keys []string) error {
	mode := amqp.Transient
	if s.persistent {
		mode = amqp.Persistent
	}
	confirms := make([]*amqp.DeferredConfirmation, len(records))
	for i, r := range records {
		p := amqp.Publishing{
			ContentType:  "application/octet-stream",
			DeliveryMode: mode,
			MessageId:    r.ID,
			AppId:        "kda",
			Body:         r.Data,
		}
		if json.Valid(r.Data) {
			p.ContentType = "application/json"
		}
		if !r.Arrival.IsZero() {
			p.Timestamp = r.Arrival
		}
		pctx, cancel := context.WithTimeout(ctx, s.timeout)
		dc, err := s.ch.PublishWithDeferredConfirmWithContext(pctx, s.exchange, keys[i], false, false, p)
		cancel()
		if err != nil {
			return fmt.Errorf("rabbitmq: publish record %s to %s with key %q: %w", r.ID, s.exchangeName(), keys[i], s.reason(err))
		}
		confirms[i] = dc
	}
	for i, dc := range confirms {
		t := time.NewTimer(s.timeout)
		select {
		case <-dc.Done():
			t.Stop()
		case <-t.C:
			return fmt.Errorf("rabbitmq: record %s: no confirmation within %v", records[i].ID, s.timeout)
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("rabbitmq: record %s: waiting for its confirmation: %w", records[i].ID, ctx.Err())
		}
		if !dc.Acked() {
			if s.ch.IsClosed() {
				return fmt.Errorf("rabbitmq: record %s: channel closed before its confirmation: %w", records[i].ID, s.reason(amqp.ErrClosed))
			}
			return fmt.Errorf("rabbitmq: record %s to %s with key %q: RabbitMQ refused it (nack)", records[i].ID, s.exchangeName(), keys[i])
		}
	}
	return nil
}

// reason prefers the channel's close reason, when it has one, to err.
func (s *Sink) reason(err error) error {
	select {
	case ae, ok := <-s.closed:
		if ok && ae != nil {
			return ae
		}
	default:
	}
	return err
}

func (s *Sink) exchangeName() string {
	if s.exchange == "" {
		return "the default exchange"
	}
	return "exchange " + s.exchange
}

// Close closes the connection.
func (s *Sink) Close() error {
	s.disconnect()
	return nil
}
