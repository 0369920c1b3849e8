// Package nats is the "nats" destination of delivery streams: it
// publishes each record as a message to NATS JetStream, on a subject
// rendered from the record's fields.
//
// Configuration (JSON, unknown fields are an error):
//
//	{
//	  "url": "nats://127.0.0.1:4222", // required; credentials may be in the URL, several URLs comma-separated
//	  "subject": "alerts.{TICKER}",   // required; {FIELD} takes a field of the record
//	  "stream": "KDA_ALERTS",         // optional: create this stream if it is missing
//	  "timeout": "5s"                 // connecting, and waiting for each acknowledgement
//	}
//
// The message body is the record's bytes, unchanged. A subject without
// {FIELD} references accepts any bytes; one with references needs
// records that are JSON objects (as application output rows are), and
// field names are matched exactly first, then ignoring case. A record
// without the field, or whose field makes an invalid subject (empty, with
// white space, or with a * or > token), is a *delivery.Permanent error,
// as is a record larger than the server's max_payload.
//
// With "stream" set, the sink creates that stream (file storage, the
// server's default limits and two-minute duplicate window) if it does not
// exist, capturing the subject's fixed leading tokens followed by ">":
// "alerts.{TICKER}" is captured by "alerts.>", so that a field value with
// a dot (BRK.B) still lands in the stream. An existing stream is used as
// it is. Without "stream", some stream must already capture the subjects.
//
// Acknowledgement: every message is published with JetStream and Deliver
// waits for every PubAck; it returns nil only when the stream stored all
// records of the batch. A missing acknowledgement within timeout, a lost
// connection or "no responders" (no stream captures the subject) is an
// error the delivery stream retries; the connection is made again by the
// next Deliver.
//
// Delivery guarantee: at least once, with an exactly-once effect within
// the stream's duplicate window. Each message carries the record ID in
// the header Kda-Record-Id and as Nats-Msg-Id, so JetStream drops a
// redelivered record it has seen within the window (two minutes unless
// the stream's "duplicate_window" says otherwise); consumers that must be
// exact beyond the window deduplicate by Kda-Record-Id.
//
// The connection is opened by the first Deliver, not by OpenSink, so a
// server that is down when the delivery stream starts is an outage like
// any other. nats.go's own reconnection and its buffer are off: a
// message is either acknowledged or reported as failed.
package nats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kdaproject/kda/connectors/delivery"
	connconf "github.com/kdaproject/kda/connectors/internal/config"
	"github.com/kdaproject/kda/connectors/internal/fields"
)

// Kind is the destination type in configurations.
const Kind = "nats"

// DefaultTimeout bounds connecting and each acknowledgement.
const DefaultTimeout = 5 * time.Second

// RecordIDHeader carries the record ID on every message.
const RecordIDHeader = "Kda-Record-Id"

// maxPending bounds the messages of a batch awaiting their PubAck.
const maxPending = 4096

// Config is the NATS destination's configuration.
type Config struct {
	URL     string `json:"url"`
	Subject string `json:"subject"`
	Stream  string `json:"stream,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

// Connector declares the NATS JetStream destination.
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind:    Kind,
		Doc:     "publish records to NATS JetStream on a subject made from their fields, waiting for every PubAck",
		Example: json.RawMessage(`{"url": "nats://127.0.0.1:4222", "subject": "alerts.{TICKER}", "stream": "KDA_ALERTS", "timeout": "5s"}`),
		OpenSink: func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
			return Open(config)
		},
	}
}

// Sink publishes to one JetStream subject template. Deliver must not be
// called concurrently.
type Sink struct {
	url      string
	subject  *fields.Template
	stream   string
	wildcard string // the stream's subject, if the sink creates it
	timeout  time.Duration

	nc     *natsgo.Conn
	js     jetstream.JetStream
	closed chan struct{} // closed when nc closes
}

// Open validates a configuration and returns a sink; it does not connect.
func Open(config json.RawMessage) (*Sink, error) {
	var c Config
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("nats config: %w", err)
	}
	if c.URL == "" {
		return nil, errors.New("nats config: url is required, e.g. nats://127.0.0.1:4222")
	}
	for _, u := range strings.Split(c.URL, ",") {
		if u = strings.TrimSpace(u); !strings.Contains(u, "://") && strings.ContainsAny(u, " /") {
			return nil, fmt.Errorf("nats config: url %q: want nats://host:port", u)
		}
	}
	s := &Sink{url: c.URL, stream: c.Stream, timeout: DefaultTimeout}
	if c.Subject == "" {
		return nil, errors.New("nats config: subject is required, e.g. alerts.{TICKER}")
	}
	t, err := fields.ParseTemplate(c.Subject)
	if err != nil {
		return nil, fmt.Errorf("nats config: subject: %w", err)
	}
	s.subject = t
	// The fixed parts must make a valid subject whatever the fields hold.
	if skeleton, _ := t.Render(t.Fill("x")); validSubject(skeleton) != nil {
		return nil, fmt.Errorf("nats config: subject %q: %v", c.Subject, validSubject(skeleton))
	}
	if c.Stream != "" {
		if strings.ContainsAny(c.Stream, " \t\r\n.*>/\\") {
			return nil, fmt.Errorf("nats config: stream %q: a stream name cannot contain white space, '.', '*', '>', '/' or '\\'", c.Stream)
		}
		if s.wildcard, err = streamSubject(t); err != nil {
			return nil, fmt.Errorf("nats config: subject %q with stream set: %w", c.Subject, err)
		}
	}
	if c.Timeout != "" {
		if s.timeout, err = connconf.PositiveDuration("nats", "timeout", c.Timeout); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// streamSubject is the subject a created stream captures: the template's
// fixed leading tokens and ">" (or the subject itself without fields).
func streamSubject(t *fields.Template) (string, error) {
	const mark = "\x00"
	skeleton, _ := t.Render(t.Fill(mark))
	if !strings.Contains(skeleton, mark) {
		return skeleton, nil
	}
	var fixed []string
	for _, tok := range strings.Split(skeleton, ".") {
		if strings.Contains(tok, mark) {
			break
		}
		fixed = append(fixed, tok)
	}
	if len(fixed) == 0 {
		return "", errors.New("the subject must begin with a fixed token, e.g. alerts.{TICKER}, for the stream to capture it")
	}
	return strings.Join(fixed, ".") + ".>", nil
}

// validSubject checks a subject to publish on.
func validSubject(s string) error {
	if s == "" {
		return errors.New("the subject is empty")
	}
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return fmt.Errorf("subject %q contains white space", s)
	}
	for _, tok := range strings.Split(s, ".") {
		switch tok {
		case "":
			return fmt.Errorf("subject %q has an empty token", s)
		case "*", ">":
			return fmt.Errorf("subject %q has a wildcard token; messages are published on concrete subjects", s)
		}
	}
	return nil
}

// connect (re)opens the connection and, if configured, the stream.
func (s *Sink) connect(ctx context.Context) error {
	if s.nc != nil && s.nc.IsConnected() {
		return nil
	}
	s.disconnect()
	closed := make(chan struct{})
	var once sync.Once
	nc, err := natsgo.Connect(s.url,
		natsgo.ClosedHandler(func(*natsgo.Conn) { once.Do(func() { close(closed) }) }),
		natsgo.Name("kda delivery"),
		natsgo.Timeout(s.timeout),
		natsgo.NoReconnect(),
		natsgo.ReconnectBufSize(-1),
	)
	if err != nil {
		return fmt.Errorf("nats: connect to %s: %w", s.url, err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(s.timeout),
		jetstream.WithPublishAsyncMaxPending(maxPending),
	)
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	if s.stream != "" {
		if err := s.ensureStream(ctx, js); err != nil {
			nc.Close()
			return err
		}
	}
	s.nc, s.js, s.closed = nc, js, closed
	return nil
}

func (s *Sink) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := js.Stream(ctx, s.stream)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("nats: look up stream %s: %w", s.stream, err)
	}
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        s.stream,
		Description: "created by kda for delivery stream records",
		Subjects:    []string{s.wildcard},
		Storage:     jetstream.FileStorage,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("nats: create stream %s on %s: %w", s.stream, s.wildcard, err)
	}
	return nil
}

func (s *Sink) disconnect() {
	if s.nc != nil {
		s.nc.Close()
	}
	s.nc, s.js, s.closed = nil, nil, nil
}

// Deliver publishes the records in order and waits for every PubAck.
func (s *Sink) Deliver(ctx context.Context, records []delivery.Record) error {
	if len(records) == 0 {
		return nil
	}
	subjects, err := s.subjects(records)
	if err != nil {
		return err
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	err = s.publish(ctx, records, subjects)
	var perm *delivery.Permanent
	if err != nil && !errors.As(err, &perm) {
		// Start afresh next time: the connection may be half dead.
		s.disconnect()
	}
	return err
}

// subjects renders every record's subject before anything is sent.
func (s *Sink) subjects(records []delivery.Record) ([]string, error) {
	out := make([]string, len(records))
	if len(s.subject.Fields()) == 0 {
		subj, _ := s.subject.Render(nil)
		for i := range out {
			out[i] = subj
		}
		return out, nil
	}
	for i, r := range records {
		obj, err := fields.Object(r.Data)
		if err != nil {
			return nil, &delivery.Permanent{Err: fmt.Errorf("nats: record %s: %w (the subject template needs its fields)", r.ID, err)}
		}
		subj, err := s.subject.Render(obj)
		if err == nil {
			err = validSubject(subj)
		}
		if err != nil {
			return nil, &delivery.Permanent{Err: fmt.Errorf("nats: record %s: subject: %w", r.ID, err)}
		}
		out[i] = subj
	}
	return out, nil
}

func (s *Sink) publish(ctx context.Context, records []delivery.Record, subjects []string) error {
	futures := make([]jetstream.PubAckFuture, 0, len(records))
	for i, r := range records {
		m := natsgo.NewMsg(subjects[i])
		m.Data = r.Data
		m.Header.Set(RecordIDHeader, r.ID)
		f, err := s.js.PublishMsgAsync(m, jetstream.WithMsgID(r.ID))
		if err != nil {
			if errors.Is(err, natsgo.ErrMaxPayload) {
				return &delivery.Permanent{Err: fmt.Errorf("nats: record %s (%d bytes): %w", r.ID, len(r.Data), err)}
			}
			return fmt.Errorf("nats: publish record %s on %s: %w", r.ID, subjects[i], err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, natsgo.ErrNoResponders) {
				return fmt.Errorf("nats: record %s: no JetStream stream captures subject %s: create one, or set stream in the configuration: %w", records[i].ID, subjects[i], err)
			}
			return fmt.Errorf("nats: record %s on %s not acknowledged: %w", records[i].ID, subjects[i], err)
		case <-s.closed:
			err := s.nc.LastError()
			if err == nil {
				err = natsgo.ErrConnectionClosed
			}
			return fmt.Errorf("nats: record %s on %s: connection lost before its acknowledgement: %w", records[i].ID, subjects[i], err)
		case <-ctx.Done():
			return fmt.Errorf("nats: record %s on %s: waiting for its acknowledgement: %w", records[i].ID, subjects[i], ctx.Err())
		}
	}
	return nil
}

// Close closes the connection.
func (s *Sink) Close() error {
	s.disconnect()
	return nil
}
