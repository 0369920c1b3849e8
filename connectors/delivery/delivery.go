// Package delivery runs delivery streams, kda's counterpart of Kinesis
// Data Firehose: records put into a delivery stream (by the Firehose API,
// `kda put`, the Go API or an application's output) are made durable in a
// spill stream of the shard store first, then read back by a worker that
// buffers them (by size and by time, whichever comes first), optionally
// transforms them with JavaScript, converts and compresses them, and hands
// them to a destination. The worker moves its read position only after the
// destination has acknowledged a batch, so an outage of any length loses
// nothing (within the spill's retention) and delivery resumes in order.
//
// Destinations come in two families:
//
//   - object stores (a local directory, S3-compatible storage) receive
//     whole objects under Firehose-style keys: ObjectStore;
//   - record sinks (PostgreSQL, Redis, webhooks, message brokers) receive
//     batches of records: RecordSink.
//
// Connectors declare themselves with a Connector value and are registered
// in a Registry that the engine builds; nothing registers itself through
// package state.
package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kdaproject/kda/connectors/internal/registry"
)

// Record is one record on its way to a destination.
type Record struct {
	// Data is the record's payload after transformation, as the producer
	// (or the transformation) wrote it; Firehose adds no delimiter.
	Data []byte
	// PartitionKey is the key it was put with (ordering is kept per key).
	PartitionKey string
	// Arrival is when the delivery stream accepted it.
	Arrival time.Time
	// ID identifies the record uniquely and stably across redeliveries
	// (the spill stream's shard and sequence number), so that sinks can
	// deduplicate or upsert.
	ID string
}

// ObjectStore is a destination that stores whole objects.
type ObjectStore interface {
	// PutObject stores body under bucket/key, replacing any object there.
	// It returns nil only once the object is durable.
	PutObject(ctx context.Context, bucket, key string, body []byte, contentType, contentEncoding string) error
	Close() error
}

// RecordSink is a destination that takes batches of records.
type RecordSink interface {
	// Deliver writes records, in order. It returns nil only when every
	// record is durable at the destination. A batch may be delivered
	// again after a failure or a restart (at least once); sinks that can
	// (upserts on a key) make redelivery harmless.
	Deliver(ctx context.Context, records []Record) error
	Close() error
}

// Permanent marks an error that retrying cannot fix (bad credentials, a
// record the destination rejects): the records go to the error output
// instead of being retried forever.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return "permanent: " + p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

// RecordError is a record a sink refused, by its position in the batch.
type RecordError struct {
	Index int    // position in the records passed to Deliver
	ID    string // Record.ID
	Err   error
}

// RecordErrors lists the refused records of a batch of Total records. A
// sink that checks every record before writing any returns it, wrapped in
// a *Permanent, having written nothing: the records not listed can be
// delivered again on their own.
type RecordErrors struct {
	Total   int
	Records []RecordError
}

func (e *RecordErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d records refused", len(e.Records), e.Total)
	for i, r := range e.Records {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Records)-3)
			break
		}
		fmt.Fprintf(&b, "; record %d (%s): %v", r.Index, r.ID, r.Err)
	}
	return b.String()
}

// Connector declares a kind of destination: its name in configurations,
// what its configuration looks like, and how to open it.
type Connector struct {
	// Kind is the destination type as configurations name it, e.g.
	// "postgres", "redis", "webhook", "s3", "directory".
	Kind string
	// Doc is a one-line description for help texts.
	Doc string
	// Example is an example configuration, shown by help and docs.
	Example json.RawMessage
	// OpenSink opens a record sink from a configuration (nil for object
	// stores). It validates the configuration and names the wrong field.
	OpenSink func(ctx context.Context, config json.RawMessage) (RecordSink, error)
	// OpenStore opens an object store (nil for record sinks).
	OpenStore func(ctx context.Context, config json.RawMessage) (ObjectStore, error)
}

// Registry holds the connectors an engine knows. It is safe for
// concurrent use.
type Registry struct {
	kinds registry.Kinds[Connector]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds a connector; a kind can be registered once.
func (r *Registry) Register(c Connector) error {
	if c.Kind == "" || (c.OpenSink == nil) == (c.OpenStore == nil) {
		return fmt.Errorf("register connector %q: a kind and exactly one of OpenSink and OpenStore are required", c.Kind)
	}
	return r.kinds.Add("connector", c.Kind, c)
}

// Lookup finds a connector by kind.
func (r *Registry) Lookup(kind string) (Connector, bool) { return r.kinds.Lookup(kind) }

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string { return r.kinds.Names() }
