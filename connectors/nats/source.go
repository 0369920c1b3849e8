package nats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	connconf "github.com/kdaproject/kda/connectors/internal/config"
	"github.com/kdaproject/kda/connectors/source"
)

// SourceConfig is the NATS JetStream source's configuration.
type SourceConfig struct {
	URL           string `json:"url"`
	Stream        string `json:"stream"`
	Subject       string `json:"subject,omitempty"`
	StartSequence string `json:"startSequence,omitempty"`
	Timeout       string `json:"timeout,omitempty"`
}

// Start points of SourceConfig.StartSequence.
const (
	StartFirst = "first"
	StartNew   = "new"
)

// KeyHeader is the message header whose value, when present, becomes the
// message key instead of the subject.
const KeyHeader = "Kda-Key"

// Bounds of one Poll of the NATS source.
const (
	sourcePollWait = time.Second
	sourceMaxPoll  = 1000
)

// SourceConnector declares the NATS JetStream source.
func SourceConnector() source.Connector {
	return source.Connector{
		Kind:    Kind,
		Doc:     "read a NATS JetStream stream from a sequence kda keeps",
		Example: json.RawMessage(`{"url": "nats://127.0.0.1:4222", "stream": "ORDERS", "subject": "orders.>", "startSequence": "first", "timeout": "10s"}`),
		Open: func(ctx context.Context, config json.RawMessage) (source.Source, error) {
			return OpenSource(config)
		},
	}
}

// Source reads one JetStream stream, optionally filtered by subject.
// Configuration (JSON, unknown fields are an error):
//
//	{
//	  "url": "nats://127.0.0.1:4222", // required; credentials may be in the URL, several URLs comma-separated
//	  "stream": "ORDERS",             // required: the JetStream stream to read
//	  "subject": "orders.>",          // optional filter; wildcards allowed; default every subject of the stream
//	  "startSequence": "first",       // "first" (default) or "new": where to start without a saved position
//	  "timeout": "10s"                // connecting and each JetStream request (default 5s)
//	}
//
// The stream is one source partition, named by the stream ("ORDERS"), and
// its position is the stream sequence of the last message copied
// ("ORDERS": "41"). Nothing is kept on the server: Seek creates an
// ephemeral pull consumer (AckNone, in memory, deleted by Seek and Close
// and by the server after a minute of inactivity) that delivers from the
// saved sequence + 1. The consumer sequence of every message is checked:
// a gap (a pull response lost on the way) is an error, and the bridge
// seeks again to what it committed, so nothing is skipped. Since the
// consumer acknowledges nothing, the server forgets nothing on kda's
// behalf, and the source needs no source.Committer: the saved sequence
// is the whole of its state.
//
// "new" is resolved to the stream's last sequence + 1 when the bridge
// first seeks, so a re-seek after an error does not skip messages; after a
// restart without a saved position it is resolved again. If the messages
// after a saved sequence were removed (limits, purge), reading resumes at
// the first message the stream still has. A saved sequence beyond the
// stream's last one means the stream was deleted and created again: Seek
// fails, saying so, rather than skip the new stream's messages silently.
//
// A message's key is the value of its Kda-Key header when present, else
// its subject; its value is the payload unchanged, and its timestamp the
// time the stream stored it. Lag is the consumer's num_pending: messages
// matching the filter after the last one polled.
type Source struct {
	url      string
	stream   string
	subject  string
	new      bool
	timeout  time.Duration
	resolved uint64 // "new" resolved at the first Seek, 0 before

	nc       *natsgo.Conn
	closed   chan struct{} // closed when nc is
	js       jetstream.JetStream
	cons     jetstream.Consumer
	consName string
	lastCons uint64 // the consumer sequence of the last message polled
	lag      int64
	lagKnown bool
}

// OpenSource validates a configuration and returns a source; it does not
// connect (the first Seek does).
func OpenSource(config json.RawMessage) (*Source, error) {
	var c SourceConfig
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("nats source config: %w", err)
	}
	if c.URL == "" {
		return nil, errors.New("nats source config: url is required, e.g. nats://127.0.0.1:4222")
	}
	for _, u := range strings.Split(c.URL, ",") {
		if u = strings.TrimSpace(u); !strings.Contains(u, "://") && strings.ContainsAny(u, " /") {
			return nil, fmt.Errorf("nats source config: url %q: want nats://host:port", u)
		}
	}
	if c.Stream == "" {
		return nil, errors.New("nats source config: stream is required, e.g. ORDERS")
	}
	if strings.ContainsAny(c.Stream, " \t\r\n.*>/\\") {
		return nil, fmt.Errorf("nats source config: stream %q: a stream name cannot contain white space, '.', '*', '>', '/' or '\\'", c.Stream)
	}
	if c.Subject != "" {
		if err := validFilter(c.Subject); err != nil {
			return nil, fmt.Errorf("nats source config: subject: %v", err)
		}
	}
	s := &Source{url: c.URL, stream: c.Stream, subject: c.Subject, timeout: DefaultTimeout}
	switch c.StartSequence {
	case "", StartFirst:
	case StartNew:
		s.new = true
	default:
		return nil, fmt.Errorf("nats source config: startSequence %q: want %q or %q", c.StartSequence, StartFirst, StartNew)
	}
	if c.Timeout != "" {
		var err error
		if s.timeout, err = connconf.PositiveDuration("nats source", "timeout", c.Timeout); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// validFilter checks a subject filter: wildcards are allowed, '>' only
// as the last token.
func validFilter(s string) error {
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return fmt.Errorf("%q contains white space", s)
	}
	toks := strings.Split(s, ".")
	for i, tok := range toks {
		switch {
		case tok == "":
			return fmt.Errorf("%q has an empty token", s)
		case tok == ">" && i != len(toks)-1:
			return fmt.Errorf("%q: '>' must be the last token", s)
		case tok != "*" && tok != ">" && strings.ContainsAny(tok, "*>"):
			return fmt.Errorf("%q: a wildcard must be a whole token", s)
		}
	}
	return nil
}

// Seek (re)connects if needed and creates a consumer that delivers the
// messages after the position in from (or from the configured start).
func (s *Source) Seek(ctx context.Context, from source.Positions) error {
	s.deleteConsumer()
	s.lagKnown = false
	var after uint64 // deliver from after+1 when set
	hasPos := false
	if pos, ok := from[s.stream]; ok {
		n, err := strconv.ParseUint(pos, 10, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("nats: saved position %q of stream %s is not a stream sequence", pos, s.stream)
		}
		after, hasPos = n, true
	}
	if err := s.connect(); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	st, err := s.js.Stream(rctx, s.stream)
	if err != nil {
		s.disconnect()
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("nats: stream %s does not exist on %s: create it (kda retries until it exists)", s.stream, s.url)
		}
		return fmt.Errorf("nats: look up stream %s on %s: %w", s.stream, s.url, err)
	}
	last := st.CachedInfo().State.LastSeq
	cfg := jetstream.ConsumerConfig{
		Description:       "kda source (ephemeral; kda keeps the position)",
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     s.subject,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	}
	switch {
	case hasPos:
		if after > last {
			return fmt.Errorf("nats: the saved position of stream %s is sequence %d but the stream ends at %d: it was deleted and created again; delete the source's saved positions (source/<name>/) to read it from its start", s.stream, after, last)
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	case s.new:
		if s.resolved == 0 {
			s.resolved = last + 1
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, s.resolved
	default:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	cons, err := st.CreateConsumer(rctx, cfg)
	if err != nil {
		s.disconnect()
		return fmt.Errorf("nats: create a consumer on stream %s: %w", s.stream, err)
	}
	s.cons, s.consName, s.lastCons = cons, cons.CachedInfo().Name, 0
	return nil
}

func (s *Source) connect() error {
	if s.nc != nil && s.nc.IsConnected() {
		return nil
	}
	s.disconnect()
	closed, once := make(chan struct{}), new(sync.Once)
	nc, err := natsgo.Connect(s.url,
		natsgo.Name("kda source"),
		natsgo.Timeout(s.timeout),
		natsgo.NoReconnect(),
		// A lost connection ends a waiting fetch at once, not when its
		// wait runs out.
		natsgo.ClosedHandler(func(*natsgo.Conn) { once.Do(func() { close(closed) }) }),
	)
	if err != nil {
		return fmt.Errorf("nats: connect to %s: %w", s.url, err)
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(s.timeout))
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	s.nc, s.js, s.closed = nc, js, closed
	return nil
}

// Poll returns the messages the consumer has ready, or, when it has
// none, waits up to a second for the first and returns it with those that
// came with it. It returns as soon as it has messages: a fetch for a full
// batch would wait out its whole expiry whenever fewer are pending.
func (s *Source) Poll(ctx context.Context) ([]source.Message, error) {
	if s.cons == nil {
		return nil, errors.New("nats: Poll before Seek")
	}
	out, pending, err := s.fetch(ctx, sourceMaxPoll, false)
	if err == nil && len(out) == 0 {
		// Nothing ready: wait for one message, then take what followed it.
		out, pending, err = s.fetch(ctx, 1, true)
		if err == nil && len(out) == 1 {
			var more []source.Message
			var p uint64
			if more, p, err = s.fetch(ctx, sourceMaxPoll-1, false); len(more) > 0 {
				out, pending = append(out, more...), p
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if s.nc == nil || !s.nc.IsConnected() {
		return nil, fmt.Errorf("nats: connection to %s lost", s.url)
	}
	// A fetch that ran its full wait and got nothing means nothing was
	// pending.
	s.lag, s.lagKnown = int64(pending), true
	return out, nil
}

// fetch pulls up to n messages: those ready now, or, if wait is set, those
// arriving within sourcePollWait. It checks that consumer sequences follow
// on from the last message polled, and returns the consumer's pending
// count after the last message (0 if none came).
func (s *Source) fetch(ctx context.Context, n int, wait bool) ([]source.Message, uint64, error) {
	var batch jetstream.MessageBatch
	var err error
	if wait {
		pctx, cancel := context.WithTimeout(ctx, sourcePollWait)
		defer cancel()
		go func(closed <-chan struct{}) {
			select {
			case <-closed:
				cancel()
			case <-pctx.Done():
			}
		}(s.closed)
		batch, err = s.cons.Fetch(n, jetstream.FetchContext(pctx))
	} else {
		batch, err = s.cons.FetchNoWait(n)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("nats: fetch from stream %s: %w", s.stream, err)
	}
	var out []source.Message
	var pending uint64
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			return nil, 0, fmt.Errorf("nats: message of stream %s without JetStream metadata: %w", s.stream, err)
		}
		if meta.Sequence.Consumer != s.lastCons+1 {
			return nil, 0, fmt.Errorf("nats: stream %s: consumer sequence %d after %d: a delivery was lost; seeking again", s.stream, meta.Sequence.Consumer, s.lastCons)
		}
		s.lastCons = meta.Sequence.Consumer
		key := []byte(m.Subject())
		if h := m.Headers(); h != nil {
			if k := h.Get(KeyHeader); k != "" {
				key = []byte(k)
			}
		}
		out = append(out, source.Message{
			Key:       key,
			Value:     m.Data(),
			Timestamp: meta.Timestamp,
			Partition: s.stream,
			Position:  strconv.FormatUint(meta.Sequence.Stream, 10),
		})
		pending = meta.NumPending
	}
	if err := batch.Error(); err != nil && !errors.Is(err, natsgo.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return nil, 0, fmt.Errorf("nats: fetch from stream %s: %w", s.stream, err)
	}
	return out, pending, nil
}

// Lag implements source.Lagger.
func (s *Source) Lag() (int64, bool) { return s.lag, s.lagKnown }

// deleteConsumer removes the current consumer, best effort: the server
// removes it anyway after a minute of inactivity.
func (s *Source) deleteConsumer() {
	if s.cons != nil && s.js != nil && s.nc != nil && s.nc.IsConnected() {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		s.js.DeleteConsumer(ctx, s.stream, s.consName)
		cancel()
	}
	s.cons, s.consName = nil, ""
}

func (s *Source) disconnect() {
	if s.nc != nil {
		s.nc.Close()
	}
	s.nc, s.js, s.closed, s.cons, s.consName = nil, nil, nil, nil, ""
}

// Close deletes the consumer and closes the connection.
func (s *Source) Close() error {
	s.deleteConsumer()
	s.disconnect()
	return nil
}
