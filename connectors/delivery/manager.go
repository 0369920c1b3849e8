package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kdaproject/kda/engine/store"
)

// Naming: the spill stream of delivery stream <name> is the kda stream
// "kda-delivery-<name>"; a record sink's error stream is "kda-errors-<name>".
// The store lists them like any stream (ListStreams shows them); the
// prefixes are reserved for delivery streams. The worker reads the spill
// as the registered consumer "kda-delivery".
const (
	spillPrefix    = "kda-delivery-"
	errorsPrefix   = "kda-errors-"
	consumerName   = "kda-delivery"
	stateKeyPrefix = "delivery/"
)

// SpillStreamName is the kda stream holding the records put into the
// delivery stream name and not yet delivered. Applications write their
// `delivery` outputs into it.
func SpillStreamName(name string) string { return spillPrefix + name }

// ErrorStreamName is the kda stream a record sink's failed records go to,
// one Firehose error JSON document per record.
func ErrorStreamName(name string) string { return errorsPrefix + name }

func defKey(name string) string { return stateKeyPrefix + name + "/def" }

// Clock is the time a Manager runs on; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// After is time.After on this clock.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ManagerOptions configures a Manager. The zero value is usable except
// for Registry and the object store, which the engine sets.
type ManagerOptions struct {
	// Registry holds the connectors: SinkDestination.Type and
	// ObjectStoreKind are looked up in it.
	Registry *Registry
	// ObjectStoreKind and ObjectStoreConfig open the object store that
	// ExtendedS3 destinations write to: "directory" (the engine's default,
	// <data dir>/s3/<bucket>/<key>) or "s3" once kda has an S3 endpoint.
	ObjectStoreKind   string
	ObjectStoreConfig json.RawMessage
	// Region and AccountID appear in ARNs (defaults us-east-1, 000000000000).
	Region    string
	AccountID string
	// Clock drives buffering intervals and key timestamps (default: real).
	Clock Clock
	// RetryMin and RetryMax bound the exponential backoff between delivery
	// attempts (defaults 100ms and 30s). Retryable errors are retried for
	// ever; the spill keeps the records meanwhile.
	RetryMin, RetryMax time.Duration
	// SpillShards is the shard count of new spill streams (default 1:
	// one worker reads in put order).
	SpillShards int
	// SpillRetentionHours is the retention of spill streams (default
	// 8760, the store's maximum): an outage longer than that loses data.
	SpillRetentionHours int
	// MaxDeliveryStreams is how many delivery streams may exist (default 500).
	MaxDeliveryStreams int
	// Logger receives delivery failures and retries (default: discard).
	Logger *slog.Logger
}

// EnsureDefaults fills unset fields.
func (o *ManagerOptions) EnsureDefaults() {
	if o.Registry == nil {
		o.Registry = NewRegistry()
	}
	if o.ObjectStoreKind == "" {
		o.ObjectStoreKind = "directory"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.SpillShards <= 0 {
		o.SpillShards = 1
	}
	if o.SpillRetentionHours <= 0 {
		o.SpillRetentionHours = 8760
	}
	if o.MaxDeliveryStreams <= 0 {
		o.MaxDeliveryStreams = 500
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager owns the delivery streams of a store: their definitions (in the
// store's application state under "delivery/<name>/def"), their spill
// streams and one worker goroutine each. It is the Go API under the
// Firehose HTTP API and the CLI; all methods are safe for concurrent use.
type Manager struct {
	st   *store.Store
	opts ManagerOptions

	mu      sync.Mutex
	workers map[string]*worker
	closed  bool
	keySeq  atomic.Uint64
}

// stored is what the store keeps per delivery stream.
type stored struct {
	Definition Definition `json:"definition"`
	Version    int        `json:"version"`
	CreatedMs  int64      `json:"createdMs"`
}

// NewManager loads the stored delivery streams and starts their workers.
// A stream whose definition no longer opens (say its sink type is not
// registered in this build) is logged and left stopped; Describe shows why.
func NewManager(st *store.Store, opts ManagerOptions) (*Manager, error) {
	opts.EnsureDefaults()
	m := &Manager{st: st, opts: opts, workers: map[string]*worker{}}
	keys, err := st.AppStateKeys(stateKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("list delivery streams: %w", err)
	}
	for _, k := range keys {
		b, err := st.AppState(k)
		if err != nil {
			return nil, err
		}
		var s stored
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("read delivery stream %s: %w", k, err)
		}
		w := m.newWorker(s)
		m.workers[s.Definition.DeliveryStreamName] = w
		if err := w.start(); err != nil {
			opts.Logger.Error("delivery stream not started", "stream", s.Definition.DeliveryStreamName, "err", err)
		}
	}
	return m, nil
}

func (m *Manager) arn(name string) string {
	return fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", m.opts.Region, m.opts.AccountID, name)
}

// checkConnector verifies that the destination's connector is registered.
func (m *Manager) checkConnector(p *plan) error {
	if p.sink != nil {
		c, ok := m.opts.Registry.Lookup(p.sink.Type)
		if !ok || c.OpenSink == nil {
			return invalid("SinkDestination.Type: %q is not a registered record sink (registered: %v)", p.sink.Type, m.opts.Registry.Kinds())
		}
		return nil
	}
	c, ok := m.opts.Registry.Lookup(m.opts.ObjectStoreKind)
	if !ok || c.OpenStore == nil {
		return fmt.Errorf("the object store %q is not registered: the engine must register it", m.opts.ObjectStoreKind)
	}
	return nil
}

// Create creates a delivery stream and starts delivering. It returns
// ResourceInUseException when the name is taken.
func (m *Manager) Create(def Definition) (Description, error) {
	p, err := compile(def)
	if err != nil {
		return Description{}, err
	}
	if msg := maskedSecret(def); msg != "" {
		return Description{}, invalid("SinkDestination.Config.%s", msg)
	}
	if err := m.checkConnector(p); err != nil {
		return Description{}, err
	}
	name := def.DeliveryStreamName
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Description{}, &Error{Code: CodeServiceUnavailable, Message: "the delivery manager is closed"}
	}
	if _, ok := m.workers[name]; ok {
		return Description{}, &Error{Code: CodeResourceInUse, Message: fmt.Sprintf("Firehose %s under account %s already exists.", name, m.opts.AccountID)}
	}
	if len(m.workers) >= m.opts.MaxDeliveryStreams {
		return Description{}, &Error{Code: CodeLimitExceeded, Message: fmt.Sprintf("You have already consumed your firehose quota of %d hoses.", m.opts.MaxDeliveryStreams)}
	}
	if err := m.ensureStream(SpillStreamName(name), m.opts.SpillShards); err != nil {
		return Description{}, err
	}
	if _, err := m.st.RegisterConsumer(m.streamARN(SpillStreamName(name)), consumerName); err != nil && !store.IsCode(err, store.CodeResourceInUse) {
		return Description{}, fmt.Errorf("register the spill consumer of %s: %w", name, err)
	}
	if p.sink != nil {
		if err := m.ensureStream(ErrorStreamName(name), 1); err != nil {
			return Description{}, err
		}
	}
	s := stored{Definition: def, Version: 1, CreatedMs: m.opts.Clock.Now().UnixMilli()}
	b, err := json.Marshal(s)
	if err != nil {
		return Description{}, err
	}
	if err := m.st.Commit(store.Txn{State: map[string][]byte{defKey(name): b}}); err != nil {
		return Description{}, fmt.Errorf("save delivery stream %s: %w", name, err)
	}
	w := m.newWorker(s)
	m.workers[name] = w
	if err := w.start(); err != nil {
		return Description{}, err
	}
	return w.describe(), nil
}

func (m *Manager) streamARN(stream string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", m.opts.Region, m.opts.AccountID, stream)
}

// ensureStream creates an internal stream, or adopts it when a crash left
// it behind.
func (m *Manager) ensureStream(name string, shards int) error {
	err := m.st.CreateStream(store.CreateStreamInput{StreamName: name, ShardCount: shards})
	if err != nil && !store.IsCode(err, store.CodeResourceInUse) {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	if err := m.st.IncreaseRetention(name, m.opts.SpillRetentionHours); err != nil && !store.IsCode(err, store.CodeInvalidArgument) {
		return fmt.Errorf("set the retention of %s: %w", name, err)
	}
	return nil
}

func (m *Manager) get(name string) (*worker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[name]
	if !ok {
		return nil, &Error{Code: CodeResourceNotFound, Message: fmt.Sprintf("Firehose %s under account %s not found.", name, m.opts.AccountID)}
	}
	return w, nil
}

// Describe describes a delivery stream with its metrics.
func (m *Manager) Describe(name string) (Description, error) {
	w, err := m.get(name)
	if err != nil {
		return Description{}, err
	}
	return w.describe(), nil
}

// List returns the delivery stream names, sorted.
func (m *Manager) List() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.workers))
	for n := range m.workers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Delete stops a delivery stream's worker and deletes its definition and
// spill stream: records not delivered yet are discarded, as Firehose does.
// A sink's error stream is kept (it holds failed records for inspection).
func (m *Manager) Delete(name string) error {
	m.mu.Lock()
	w, ok := m.workers[name]
	if ok {
		delete(m.workers, name)
	}
	m.mu.Unlock()
	if !ok {
		return &Error{Code: CodeResourceNotFound, Message: fmt.Sprintf("Firehose %s under account %s not found.", name, m.opts.AccountID)}
	}
	w.stop()
	if err := m.st.Commit(store.Txn{State: map[string][]byte{defKey(name): nil}}); err != nil {
		return fmt.Errorf("delete delivery stream %s: %w", name, err)
	}
	if err := m.st.DeleteStream(SpillStreamName(name), true); err != nil && !store.IsCode(err, store.CodeResourceNotFound) {
		return fmt.Errorf("delete the spill stream of %s: %w", name, err)
	}
	return nil
}

// PutInput is one record to put.
type PutInput struct {
	Data []byte
	// PartitionKey (kda) orders records: records with one key are
	// delivered in put order. Default: one of 1024 rotating keys.
	PartitionKey string
}

// Put limits, as Firehose's PutRecordBatch.
const (
	MaxPutRecords     = 500
	MaxRecordBytes    = 1000 << 10
	MaxPutBatchBytes  = 4 << 20
	defaultKeyBuckets = 1024
)

// defaultKeys are the rotating partition keys of records put without one.
var defaultKeys = func() (keys [defaultKeyBuckets]string) {
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	return keys
}()

// Put appends records to the delivery stream and returns once they are
// durable in its spill stream (one synced write for the whole batch, all
// or nothing). It returns a RecordId per record (random, as Firehose's
// are opaque).
func (m *Manager) Put(name string, recs []PutInput) ([]string, error) {
	if _, err := m.get(name); err != nil {
		return nil, err
	}
	if len(recs) == 0 || len(recs) > MaxPutRecords {
		return nil, invalid("Records: %d records; send 1 to %d", len(recs), MaxPutRecords)
	}
	in := make([]store.PutRecordInput, len(recs))
	total := 0
	for i, r := range recs {
		if len(r.Data) > MaxRecordBytes {
			return nil, invalid("Records[%d].Data: %d bytes, more than the %d allowed", i, len(r.Data), MaxRecordBytes)
		}
		total += len(r.Data)
		key := r.PartitionKey
		if key == "" {
			key = defaultKeys[m.keySeq.Add(1)%defaultKeyBuckets]
		}
		in[i] = store.PutRecordInput{PartitionKey: key, Data: r.Data}
	}
	if total > MaxPutBatchBytes {
		return nil, invalid("Records: %d bytes in all, more than the %d allowed", total, MaxPutBatchBytes)
	}
	if err := m.st.Commit(store.Txn{Records: []store.StreamRecords{{Stream: SpillStreamName(name), Records: in}}}); err != nil {
		return nil, &Error{Code: CodeServiceUnavailable, Message: fmt.Sprintf("put into %s: %v", name, err)}
	}
	return recordIDs(len(recs)), nil
}

// recordIDs makes n record ids: one random 48-character base per call,
// then the record's index in 8 hex digits, all cut from one buffer.
func recordIDs(n int) []string {
	const baseLen, idLen = 48, 56
	buf := make([]byte, 0, n*idLen)
	base := randomString(baseLen)
	for i := range n {
		buf = append(buf, base...)
		buf = fmt.Appendf(buf, "%08x", i)
	}
	all := string(buf)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = all[i*idLen : (i+1)*idLen]
	}
	return ids
}

// Flush delivers what the delivery stream buffers now, without waiting
// for its buffering hints, and returns once it is acknowledged (or ctx
// ends). Records put before Flush was called are included.
func (m *Manager) Flush(ctx context.Context, name string) error {
	w, err := m.get(name)
	if err != nil {
		return err
	}
	return w.flushNow(ctx)
}

// Close stops every worker. Buffered records stay in the spill streams
// and are delivered after the next start.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	ws := make([]*worker, 0, len(m.workers))
	for _, w := range m.workers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	var errs []error
	for _, w := range ws {
		w.stop()
		errs = append(errs, w.closeDest())
	}
	return errors.Join(errs...)
}

// Description is DescribeDeliveryStream's answer, plus kda's metrics.
type Description struct {
	DeliveryStreamName   string
	DeliveryStreamARN    string
	DeliveryStreamStatus string // ACTIVE, or CREATING_FAILED when the worker could not start
	DeliveryStreamType   string
	VersionID            string
	CreateTimestamp      time.Time
	Definition           Definition
	// SpillStream and ErrorStream name the kda streams behind it.
	SpillStream string
	ErrorStream string `json:",omitempty"`
	Metrics     Metrics
	// FailureDescription says why the worker is not running.
	FailureDescription string `json:",omitempty"`
}

// Metrics are a delivery stream's counters since the manager started.
type Metrics struct {
	// Delivered counts records the destination acknowledged.
	Delivered uint64
	// Retried counts delivery attempts that failed and were retried.
	Retried uint64
	// Failed counts records sent to the error output.
	Failed uint64
	// Dropped counts records the transformation answered Dropped.
	Dropped uint64
	// Spilled is how many records wait in the spill stream (put, not yet
	// delivered or failed).
	Spilled uint64
	// DeliveryAge is the age of the oldest record not delivered yet.
	DeliveryAge time.Duration
	// LastError is the last delivery error, when there was one.
	LastError     string    `json:",omitempty"`
	LastErrorTime time.Time `json:",omitempty"`
}

// seqCounter is the per-shard counter in a kda sequence number: its low
// 64 bits (stream id | shard | counter, see engine/store/keys.go).
func seqCounter(seq string) uint64 {
	v, ok := new(big.Int).SetString(seq, 10)
	if !ok {
		return 0
	}
	return new(big.Int).And(v, new(big.Int).SetUint64(^uint64(0))).Uint64()
}
