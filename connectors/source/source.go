// Package source lets kda applications read other systems (Kafka, and
// later others): a Bridge copies the messages of a Source into an
// ordinary kda stream, and applications read that stream as they read any
// stream: with the Kinesis API, by naming it as an application input, or
// with a delivery stream. Nothing downstream knows the data came from
// elsewhere; the stream is the replayable, retained copy.
//
// Data flow:
//
//	external system ──Poll──▶ Bridge ──store.Commit(records + positions)──▶ kda stream ──▶ applications
//	      ▲                     │
//	      └────Committed────────┘ (optional: acknowledge what is durable)
//
// Exactly once into the stream: every commit of the bridge is ONE atomic
// store transaction holding both the copied records and the source
// positions after them (application state key "source/<name>/positions").
// After a crash, a restart or any error, the bridge reads the positions
// back from the store and seeks the source there before polling again, so
// the stream holds every message up to the saved positions exactly once
// and nothing after them. See Bridge for the full argument and its
// preconditions.
//
// Source kinds declare themselves with a Connector and are registered in a
// Registry that the engine builds; nothing registers itself through
// package state.
package source

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kdaproject/kda/connectors/internal/registry"
)

// Message is one message read from a source.
type Message struct {
	// Key is the message's key, if the source has keys (may be nil).
	Key []byte
	// Value is the payload; it becomes the kda record's data unchanged.
	Value []byte
	// Timestamp is the source's time for the message (zero if unknown).
	Timestamp time.Time
	// Partition names the source partition the message came from, e.g.
	// "3" for Kafka partition 3. Order is kept within a partition.
	Partition string
	// Position is an opaque token, meaningful to the source only: after
	// Seek with Positions{Partition: Position}, the next message Poll
	// returns for that partition is the one right after this message.
	Position string
}

// Positions maps a source partition to the Position of the last message
// copied from it. Partitions that are absent start where the source's
// configuration says (e.g. Kafka's "startOffset").
type Positions map[string]string

// Clone returns a copy.
func (p Positions) Clone() Positions {
	out := make(Positions, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// Source is a system kda reads messages from. A Source is used by one
// goroutine at a time (the bridge's); methods are not called concurrently,
// except Lag (see Lagger) from the same goroutine.
type Source interface {
	// Seek makes the next Poll return, for every partition, the messages
	// after the given position, and for partitions not in from, the
	// messages from the configured start. The bridge calls it before the
	// first Poll and again after every error, always with positions read
	// back from the store (so durably committed), so it must discard
	// anything read ahead and not yet returned, and may reconnect.
	Seek(ctx context.Context, from Positions) error
	// Poll waits for messages (up to a short, source-chosen time, so an
	// empty result is normal) and returns them, in order within each
	// partition. It returns an error when the source cannot be read
	// (for example every broker is unreachable); the bridge then backs
	// off, and seeks again before the next Poll.
	Poll(ctx context.Context) ([]Message, error)
	// Close releases the source's connections.
	Close() error
}

// Committer is implemented by sources that must act once messages are
// durably in the stream, typically a source that cannot seek back and so
// acknowledges a message to its broker only when kda can no longer lose
// it (MQTT). Sources that seek (Kafka, JetStream) need not implement it.
type Committer interface {
	// Committed tells the source that the messages up to p are durably
	// committed to the stream. p is the whole set of positions that the
	// commit saved (a copy), not only the partitions it moved. The bridge
	// calls it from its goroutine, never concurrently with Seek or Poll,
	// after every successful commit (a large poll may be committed in
	// several transactions and reported after each) and before it polls
	// again. It is also called when the bridge is closing and ctx is
	// already done, since the commit is durable anyway; a source should
	// do its (cheap) acknowledging then too.
	//
	// A commit whose outcome is unknown (it failed, possibly after being
	// written) is not reported; the bridge instead seeks to the positions
	// it reads back from the store, and those are durable too, so a
	// Committer may treat the positions given to Seek as committed.
	//
	// An error does not undo the commit: the bridge counts and logs it,
	// backs off and seeks again to the saved positions, as after a poll
	// error.
	Committed(ctx context.Context, p Positions) error
}

// Lagger is implemented by sources that know how far behind the end of
// their partitions the last Poll left them.
type Lagger interface {
	// Lag returns the number of messages not yet polled, summed over the
	// partitions, and false if the source does not know it (yet).
	Lag() (int64, bool)
}

// Connector declares a kind of source: its name in configurations, what
// its configuration looks like, and how to open it.
type Connector struct {
	// Kind is the source type as configurations name it, e.g. "kafka".
	Kind string
	// Doc is a one-line description for help texts.
	Doc string
	// Example is an example configuration, shown by help and docs.
	Example json.RawMessage
	// Open validates a configuration, naming the wrong field, and returns
	// a source. It need not connect: the bridge's first Seek does.
	Open func(ctx context.Context, config json.RawMessage) (Source, error)
}

// Registry holds the source kinds an engine knows. It is safe for
// concurrent use.
type Registry struct {
	kinds registry.Kinds[Connector]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds a source kind; a kind can be registered once.
func (r *Registry) Register(c Connector) error {
	if c.Kind == "" || c.Open == nil {
		return fmt.Errorf("register source %q: a kind and Open are required", c.Kind)
	}
	return r.kinds.Add("source", c.Kind, c)
}

// Lookup finds a source kind.
func (r *Registry) Lookup(kind string) (Connector, bool) { return r.kinds.Lookup(kind) }

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string { return r.kinds.Names() }

// Open looks up kind and opens a source from config.
func (r *Registry) Open(ctx context.Context, kind string, config json.RawMessage) (Source, error) {
	c, ok := r.Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("source kind %q is unknown (known kinds: %v)", kind, r.Kinds())
	}
	return c.Open(ctx, config)
}
