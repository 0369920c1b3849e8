package source

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kdaproject/kda/engine/store"
)

// Store is what a bridge needs of the shard store; *store.Store has it.
type Store interface {
	// Commit writes records and application state in one atomic,
	// durable write.
	Commit(tx store.Txn) error
	// AppState reads application state back (nil when absent).
	AppState(key string) ([]byte, error)
}

// StatePrefix is the application state prefix of a bridge's keys; delete
// it (store.DeleteAppState) when the source is removed for good.
func StatePrefix(name string) string { return "source/" + name + "/" }

// StateKey is the application state key holding a bridge's positions, as
// a JSON object from partition to position.
func StateKey(name string) string { return StatePrefix(name) + "positions" }

// SavedPositions reads the positions a bridge named name committed last
// (empty when it never committed).
func SavedPositions(st Store, name string) (Positions, error) {
	b, err := st.AppState(StateKey(name))
	if err != nil {
		return nil, fmt.Errorf("source %s: read positions: %w", name, err)
	}
	pos := Positions{}
	if len(b) == 0 {
		return pos, nil
	}
	if err := json.Unmarshal(b, &pos); err != nil {
		return nil, fmt.Errorf("source %s: positions under %s are not a JSON object of strings: %w", name, StateKey(name), err)
	}
	return pos, nil
}

// Partition key modes of Options.PartitionKey.
const (
	// KeyByMessageKey uses the message key as the record's partition key,
	// and the source partition when the key is empty, longer than 256
	// characters or not UTF-8. Order is kept per message key.
	KeyByMessageKey = "key"
	// KeyBySourcePartition uses the source partition as the partition
	// key, so all messages of a source partition land in one shard in
	// source order.
	KeyBySourcePartition = "partition"
)

// Options tune a bridge. The zero value is usable.
type Options struct {
	// PartitionKey is KeyByMessageKey (the default) or
	// KeyBySourcePartition.
	PartitionKey string
	// MaxBatch bounds the records of one commit (default 1000); a larger
	// poll is committed in several transactions, each with its positions.
	MaxBatch int
	// MinBackoff and MaxBackoff bound the wait after an error; it doubles
	// from MinBackoff (default 100ms) up to MaxBackoff (default 30s) and
	// starts again at MinBackoff after a successful poll.
	MinBackoff, MaxBackoff time.Duration
	// Logf, if set, receives a line for each error.
	Logf func(format string, args ...any)
}

// EnsureDefaults fills in the defaults.
func (o *Options) EnsureDefaults() {
	if o.PartitionKey == "" {
		o.PartitionKey = KeyByMessageKey
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = 30 * time.Second
		if o.MaxBackoff < o.MinBackoff {
			o.MaxBackoff = o.MinBackoff
		}
	}
}

// Stats is a snapshot of a bridge's progress.
type Stats struct {
	// Copied is the number of messages committed to the stream since Start.
	Copied int64
	// Commits is the number of transactions committed since Start.
	Commits int64
	// Errors counts source and store errors since Start.
	Errors int64
	// LastError is the latest error ("" if none since the last success).
	LastError   string
	LastErrorAt time.Time
	// LastCopyAt is when the last commit became durable.
	LastCopyAt time.Time
	// Lag is the messages the source has beyond the positions polled, or
	// -1 if the source does not say.
	Lag int64
	// Positions are the committed positions.
	Positions Positions
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

// Bridge copies the messages of one Source into one kda stream, exactly
// once.
//
// The argument: the bridge alone writes the stream's records coming from
// this source and the state key StateKey(name), and it only ever writes
// them together, in one store.Commit. Let P be the positions in the store.
// Invariant: the records the bridge put into the stream are exactly the
// source's messages up to P, each once. A commit appends the messages
// that come right after P (because the source was sought to P and polled
// in order) and moves P past them in the same atomic write, so the
// invariant holds after it, and a crash leaves either both or neither.
// The in-memory positions and the source's read position are never
// trusted after a failure: after any error (poll, seek or commit, even a
// commit whose outcome is unknown because it failed after being written),
// the bridge reads P back from the store and seeks the source to P before
// polling again; a restart does the same. Messages polled but not
// committed are therefore polled again, and messages committed are never
// polled again.
//
// A source that implements Committer is told, after each commit returned
// success, the positions that commit wrote, so it learns what is durable
// without guessing from the order of calls. The hook is outside the
// argument: it runs only after the atomic write, it never changes P, and
// an error from it is handled like a poll error (read P back, seek). A
// commit whose outcome is unknown is not reported; the next Seek, with P
// read back from the store, tells the source instead.
//
// Preconditions: one bridge per name runs at a time against a store (the
// engine starts one per application source), nothing else writes
// StateKey(name), and the source honours Seek (Kafka does, by offset, as
// long as retention has not deleted the messages after P; JetStream does,
// by stream sequence). A source that cannot seek back breaks the last
// precondition and gets at least once instead: MQTT returns again from
// memory what it still holds and relies on the broker to send again what
// it did not acknowledge (it acknowledges in Committed), so a message
// committed but not yet acknowledged when the connection or kda goes
// down is copied twice; see the MQTT source.
type Bridge struct {
	st     Store
	name   string
	src    Source
	stream string
	opts   Options

	mu      sync.Mutex
	stats   Stats
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	closed  bool
}

// NewBridge prepares a bridge named name (letters, digits, _ . -; it
// names the saved positions, so it must stay the same across restarts)
// from src into stream. It does not start it; the stream must exist by
// the time messages arrive (until then commits fail and are retried).
func NewBridge(st Store, name string, src Source, stream string, opts Options) (*Bridge, error) {
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("source name %q: use 1 to 128 letters, digits, '_', '.' or '-'", name)
	}
	if st == nil || src == nil || stream == "" {
		return nil, fmt.Errorf("source %s: a store, a source and a stream name are required", name)
	}
	opts.EnsureDefaults()
	if opts.PartitionKey != KeyByMessageKey && opts.PartitionKey != KeyBySourcePartition {
		return nil, fmt.Errorf("source %s: partition key mode %q: want %q or %q", name, opts.PartitionKey, KeyByMessageKey, KeyBySourcePartition)
	}
	return &Bridge{st: st, name: name, src: src, stream: stream, opts: opts, stats: Stats{Lag: -1}}, nil
}

// Name returns the bridge's name.
func (b *Bridge) Name() string { return b.name }

// Start starts copying in a goroutine; it returns at once. The saved
// positions are read and the source sought there before the first poll.
func (b *Bridge) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("source %s: the bridge is closed", b.name)
	}
	if b.started {
		return fmt.Errorf("source %s: already started", b.name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.started, b.cancel, b.done = true, cancel, make(chan struct{})
	go b.run(ctx)
	return nil
}

// Close stops copying, waits for an in-flight commit to finish (and for
// the Committed call that reports it to a Committer), and closes
// the source. Everything committed stays committed; a restarted bridge
// continues after it.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cancel, done := b.cancel, b.done
	b.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return b.src.Close()
}

// Stats returns a snapshot of the bridge's progress.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Positions = s.Positions.Clone()
	return s
}

func (b *Bridge) run(ctx context.Context) {
	defer close(b.done)
	backoff := b.opts.MinBackoff
	var pos Positions // nil: seek before the next poll
	fail := func(err error) bool {
		if ctx.Err() != nil {
			return false
		}
		b.noteError(err)
		pos = nil
		t := time.NewTimer(backoff)
		defer t.Stop()
		if backoff *= 2; backoff > b.opts.MaxBackoff {
			backoff = b.opts.MaxBackoff
		}
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		if pos == nil {
			p, err := SavedPositions(b.st, b.name)
			if err == nil {
				if err = b.src.Seek(ctx, p.Clone()); err != nil {
					err = fmt.Errorf("source %s: seek: %w", b.name, err)
				}
			}
			if err != nil {
				fail(err)
				continue
			}
			pos = p
			b.mu.Lock()
			b.stats.Positions = p.Clone()
			b.mu.Unlock()
		}
		msgs, err := b.src.Poll(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fail(fmt.Errorf("source %s: poll: %w", b.name, err))
			continue
		}
		backoff = b.opts.MinBackoff
		if lg, ok := b.src.(Lagger); ok {
			if n, ok := lg.Lag(); ok {
				b.mu.Lock()
				b.stats.Lag = n
				b.mu.Unlock()
			}
		}
		if len(msgs) == 0 {
			continue
		}
		if pos, err = b.commit(ctx, pos, msgs); err != nil {
			fail(err)
		}
	}
}

// commit writes msgs in transactions of at most MaxBatch records, each
// with the positions after its last message, tells a Committer source
// after each, and returns the positions committed.
func (b *Bridge) commit(ctx context.Context, pos Positions, msgs []Message) (Positions, error) {
	committer, _ := b.src.(Committer)
	for len(msgs) > 0 {
		n := min(len(msgs), b.opts.MaxBatch)
		next := pos.Clone()
		recs := make([]store.PutRecordInput, 0, n)
		var tooBig error
		for i, m := range msgs[:n] {
			pk := b.partitionKey(m)
			if size := len(m.Value) + len(pk); size > store.MaxRecordBytes {
				tooBig = fmt.Errorf("source %s: the message at partition %s position %s is %d bytes, more than a kda record holds (%d): the bridge cannot pass it and stops here; raise the limit at the source or skip the message there", b.name, m.Partition, m.Position, size, store.MaxRecordBytes)
				n = i
				break
			}
			recs = append(recs, store.PutRecordInput{PartitionKey: pk, Data: m.Value})
			next[m.Partition] = m.Position
		}
		if n > 0 {
			state, err := json.Marshal(next)
			if err != nil {
				return nil, err
			}
			err = b.st.Commit(store.Txn{
				Records: []store.StreamRecords{{Stream: b.stream, Records: recs}},
				State:   map[string][]byte{StateKey(b.name): state},
			})
			if err != nil {
				return nil, fmt.Errorf("source %s: commit %d records to stream %s: %w", b.name, n, b.stream, err)
			}
			pos = next
			b.mu.Lock()
			b.stats.Copied += int64(n)
			b.stats.Commits++
			b.stats.LastCopyAt = time.Now()
			b.stats.LastError = ""
			b.stats.Positions = next.Clone()
			b.mu.Unlock()
			if committer != nil {
				if err := committer.Committed(ctx, next.Clone()); err != nil {
					return nil, fmt.Errorf("source %s: after committing up to %v: %w", b.name, next, err)
				}
			}
		}
		if tooBig != nil {
			return nil, tooBig
		}
		msgs = msgs[n:]
	}
	return pos, nil
}

func (b *Bridge) partitionKey(m Message) string {
	if b.opts.PartitionKey == KeyByMessageKey && len(m.Key) > 0 && utf8.Valid(m.Key) && utf8.RuneCount(m.Key) <= 256 {
		return string(m.Key)
	}
	if m.Partition == "" {
		return "-"
	}
	return m.Partition
}

func (b *Bridge) noteError(err error) {
	b.mu.Lock()
	b.stats.Errors++
	b.stats.LastError = err.Error()
	b.stats.LastErrorAt = time.Now()
	b.mu.Unlock()
	if b.opts.Logf != nil {
		b.opts.Logf("%v", err)
	}
}
