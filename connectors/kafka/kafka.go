// Package kafka connects kda to Apache Kafka (and Kafka-compatible
// brokers such as Redpanda) in both directions, with franz-go:
//
//   - the "kafka" destination of delivery streams (Connector, Sink)
//     produces each record as a message on a topic;
//   - the "kafka" source (SourceConnector, Source) reads a topic's
//     partitions so that a source.Bridge copies them into a kda stream
//     that applications read.
//
// # Destination
//
// Configuration (JSON, unknown fields are an error):
//
//	{
//	  "brokers": ["127.0.0.1:9092"], // required: seed brokers, host:port
//	  "topic": "trades",             // required; {FIELD} takes a field of the record
//	  "key": "{TICKER}",             // optional message key template; default: the record's partition key
//	  "acks": "all",                 // "all" (default) or "leader"; "none" is refused
//	  "timeout": "10s",              // bound on one Deliver (connecting, producing, every ack)
//	  "idempotent": true             // default true; needs acks "all"
//	}
//
// The message value is the record's bytes unchanged; its timestamp is
// the record's arrival time; the header kda-record-id carries Record.ID.
// A topic or key with {FIELD} references needs records that are JSON
// objects (application output rows are); field names match exactly, then
// ignoring case. Kafka picks the partition from the key with its default
// partitioner (murmur2, as the Java client), so records with one key stay
// in order on one partition. Topics must exist (kda does not create them).
//
// Acknowledgement: Deliver produces the whole batch and waits until Kafka
// acknowledged every message (with acks "all": every in-sync replica);
// only then does it return nil and the delivery stream move on. A record
// that cannot be rendered (missing field, invalid topic name), a message
// too large for the broker, an invalid or unauthorized topic is a
// *delivery.Permanent error for the batch; anything else (brokers down,
// timeout, unknown topic) is retried by the delivery stream. After a failed
// Deliver the producer is closed, so nothing of the failed batch is sent
// behind the retry's back; the next Deliver connects again.
//
// Delivery guarantee: at least once. The idempotent producer (the default)
// makes franz-go's own retries within one Deliver free of duplicates and
// of reordering; a batch the delivery stream delivers again (after a
// failed Deliver whose messages Kafka had in fact stored, or after a
// restart between Kafka's ack and the delivery stream's checkpoint) is
// produced again. Consumers that must be exact deduplicate by the
// kda-record-id header, which is stable across redeliveries.
//
// # Source
//
// See Source.
package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/fields"
)

// Kind is the destination and source type in configurations.
const Kind = "kafka"

// DefaultTimeout bounds one Deliver, and connecting for the source.
const DefaultTimeout = 10 * time.Second

// RecordIDHeader is the message header carrying the record ID.
const RecordIDHeader = "kda-record-id"

// SinkConfig is the Kafka destination's configuration.
type SinkConfig struct {
	Brokers    []string `json:"brokers"`
	Topic      string   `json:"topic"`
	Key        string   `json:"key,omitempty"`
	Acks       string   `json:"acks,omitempty"`
	Timeout    string   `json:"timeout,omitempty"`
	Idempotent *bool    `json:"idempotent,omitempty"`
}

// Connector declares the Kafka destination.
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind:    Kind,
		Doc:     "produce records to a Kafka topic (made from their fields), waiting for every ack",
		Example: json.RawMessage(`{"brokers": ["127.0.0.1:9092"], "topic": "trades", "key": "{TICKER}", "acks": "all", "timeout": "10s", "idempotent": true}`),
		OpenSink: func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
			return OpenSink(config)
		},
	}
}

// Sink produces records to Kafka. Deliver must not be called
// concurrently.
type Sink struct {
	brokers    []string
	topic      *fields.Template
	key        *fields.Template // nil: the record's partition key
	acks       kgo.Acks
	idempotent bool
	timeout    time.Duration

	cl *kgo.Client
}

// decodeStrict decodes one JSON object into v, refusing unknown fields.
func decodeStrict(config json.RawMessage, v any) error {
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: want %s, not a JSON %s", te.Field, te.Type, te.Value)
		}
		return err
	}
	if d.More() {
		return errors.New("text after the configuration object")
	}
	return nil
}

// checkBrokers validates the brokers field.
func checkBrokers(brokers []string) error {
	if len(brokers) == 0 {
		return errors.New(`brokers is required, e.g. ["127.0.0.1:9092"]`)
	}
	for _, b := range brokers {
		if i := strings.LastIndexByte(b, ':'); i <= 0 || i == len(b)-1 || strings.Contains(b, "://") || strings.ContainsAny(b, " /") {
			return fmt.Errorf("brokers: %q: want host:port, e.g. 127.0.0.1:9092", b)
		}
	}
	return nil
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q: want a positive duration such as \"10s\"", s)
	}
	return d, nil
}

// OpenSink validates a configuration and returns a sink; it does not
// connect.
func OpenSink(config json.RawMessage) (*Sink, error) {
	var c SinkConfig
	if err := decodeStrict(config, &c); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	if err := checkBrokers(c.Brokers); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	s := &Sink{brokers: c.Brokers, idempotent: true}
	if c.Topic == "" {
		return nil, errors.New("kafka config: topic is required, e.g. \"trades\" or \"alerts-{TICKER}\"")
	}
	t, err := fields.ParseTemplate(c.Topic)
	if err != nil {
		return nil, fmt.Errorf("kafka config: topic: %w", err)
	}
	skeleton, _ := t.Render(t.Fill("x"))
	if err := validTopic(skeleton); err != nil {
		return nil, fmt.Errorf("kafka config: topic %q: %v", c.Topic, err)
	}
	s.topic = t
	if c.Key != "" {
		if s.key, err = fields.ParseTemplate(c.Key); err != nil {
			return nil, fmt.Errorf("kafka config: key: %w", err)
		}
	}
	switch c.Acks {
	case "", "all":
		s.acks = kgo.AllISRAcks()
	case "leader":
		s.acks = kgo.LeaderAck()
	case "none":
		return nil, errors.New(`kafka config: acks "none" is refused: a delivery stream moves on only after the destination confirmed a batch; use "all" or "leader"`)
	default:
		return nil, fmt.Errorf(`kafka config: acks %q: want "all" or "leader"`, c.Acks)
	}
	if c.Idempotent != nil {
		s.idempotent = *c.Idempotent
	}
	if s.idempotent && c.Acks == "leader" {
		return nil, errors.New(`kafka config: idempotent needs acks "all"; set "idempotent": false to use acks "leader"`)
	}
	if s.timeout, err = parseTimeout(c.Timeout); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	return s, nil
}

// validTopic checks a Kafka topic name: 1 to 249 of [a-zA-Z0-9._-], not
// "." or "..".
func validTopic(s string) error {
	if s == "" {
		return errors.New("the topic is empty")
	}
	if len(s) > 249 {
		return fmt.Errorf("topic %q is longer than 249 characters", s)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("topic %q is not allowed", s)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic %q has %q; Kafka topics use letters, digits, '.', '_' and '-'", s, c)
		}
	}
	return nil
}

func (s *Sink) connect() error {
	if s.cl != nil {
		return nil
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.brokers...),
		kgo.ClientID("kda-delivery"),
		kgo.RequiredAcks(s.acks),
		kgo.ProducerLinger(0),
		kgo.DialTimeout(min(s.timeout, DefaultTimeout)),
	}
	if !s.idempotent {
		// Without sequence numbers, only one request in flight keeps order.
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: client for %v: %w", s.brokers, err)
	}
	s.cl = cl
	return nil
}

// message renders one record as a Kafka message.
func (s *Sink) message(r delivery.Record) (*kgo.Record, error) {
	var obj map[string]any
	if len(s.topic.Fields()) > 0 || (s.key != nil && len(s.key.Fields()) > 0) {
		var err error
		if obj, err = fields.Object(r.Data); err != nil {
			return nil, err
		}
	}
	topic, err := s.topic.Render(obj)
	if err != nil {
		return nil, fmt.Errorf("topic: %w", err)
	}
	if err := validTopic(topic); err != nil {
		return nil, err
	}
	key := r.PartitionKey
	if s.key != nil {
		if key, err = s.key.Render(obj); err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
	}
	m := &kgo.Record{
		Topic:   topic,
		Key:     []byte(key),
		Value:   r.Data,
		Headers: []kgo.RecordHeader{{Key: RecordIDHeader, Value: []byte(r.ID)}},
	}
	if !r.Arrival.IsZero() {
		m.Timestamp = r.Arrival
	}
	return m, nil
}

// Deliver produces records in order and returns nil once Kafka
// acknowledged every one.
func (s *Sink) Deliver(ctx context.Context, records []delivery.Record) error {
	if len(records) == 0 {
		return nil
	}
	msgs := make([]*kgo.Record, len(records))
	for i, r := range records {
		m, err := s.message(r)
		if err != nil {
			return &delivery.Permanent{Err: fmt.Errorf("kafka: record %s: %w", r.ID, err)}
		}
		msgs[i] = m
	}
	if err := s.connect(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.produce(ctx, msgs)
	if err == nil {
		return nil
	}
	// Drop whatever is still buffered or in flight: the delivery stream
	// retries the whole batch, in order, on a new producer. Closing waits
	// for franz-go to give up on the records, which it may not do while
	// the brokers are unreachable, so it happens in the background.
	go s.cl.Close()
	s.cl = nil
	err = fmt.Errorf("kafka: produce %d records to %v: %w", len(msgs), s.brokers, err)
	if permanent(err) {
		return &delivery.Permanent{Err: err}
	}
	return err
}

// produce sends msgs and waits for every acknowledgement or for ctx.
// franz-go's ProduceSync may wait past its context for records already
// sent to a broker that went away; Deliver must not.
func (s *Sink) produce(ctx context.Context, msgs []*kgo.Record) error {
	var (
		mu      sync.Mutex
		first   error
		pending = len(msgs)
		done    = make(chan struct{})
	)
	for _, m := range msgs {
		s.cl.Produce(ctx, m, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			if pending--; pending == 0 {
				close(done)
			}
		})
	}
	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return first
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		if first != nil {
			return first
		}
		return fmt.Errorf("%d of %d acknowledgements missing: %w", pending, len(msgs), ctx.Err())
	}
}

// permanent tells the errors that retrying the same batch cannot fix.
func permanent(err error) bool {
	for _, e := range []error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidTopicException, kerr.TopicAuthorizationFailed, kerr.InvalidRecord, kerr.PolicyViolation, kerr.ClusterAuthorizationFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Close closes the producer.
func (s *Sink) Close() error {
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	return nil
}
