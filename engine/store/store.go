package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"
)

// Store is the durable shard store. It is safe for concurrent use.
type Store struct {
	db   *pebble.DB
	opts Options

	mu     sync.RWMutex
	byName map[string]*stream
	byID   map[uint32]*stream
	nextID uint32

	iterKey []byte // HMAC key that signs shard iterators

	commits chan *commitRequest
	quit    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.RWMutex // held for reading by every operation that writes
	closed  bool
}

// Open opens (or creates) the store in dir and starts its background work:
// the group committer, retention trimming and on-demand scaling.
func Open(dir string, opts Options) (*Store, error) {
	opts.EnsureDefaults()
	db, err := pebble.Open(dir, &pebble.Options{
		// Record values are written once and read sequentially; a larger
		// memtable keeps flushes rare under heavy ingest.
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               256 << 20,
		Logger:                      quietLogger{},
	})
	if err != nil {
		return nil, fmt.Errorf("open pebble store in %s: %w", dir, err)
	}
	s := &Store{
		db: db, opts: opts,
		byName:  map[string]*stream{},
		byID:    map[uint32]*stream{},
		commits: make(chan *commitRequest, 1024),
		quit:    make(chan struct{}),
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	s.wg.Add(3)
	go s.commitLoop()
	go s.retentionLoop()
	go s.autoscaleLoop()
	return s, nil
}

// Close stops background work, waits for in-flight puts and closes Pebble.
// Everything acknowledged is already synced.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.quit)
	s.wg.Wait()
	s.mu.Lock()
	for _, st := range s.byName {
		if st.statusTimer != nil {
			st.statusTimer.Stop()
		}
		for _, sh := range st.shards {
			sh.wake() // waiters see the close on their next read
		}
	}
	s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close pebble store: %w", err)
	}
	return nil
}

// begin guards an operation against a concurrent Close.
func (s *Store) begin() (func(), error) {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, errf(CodeInternalFailure, "the store is closed")
	}
	return s.closeMu.RUnlock, nil
}

func (s *Store) now() time.Time { return s.opts.Now() }

// load reads global values and every stream's metadata, recovers each shard's
// last counter from its newest record value, and finishes transitions a
// crash interrupted.
func (s *Store) load() error {
	if v, closer, err := s.db.Get(keyIteratorKey); err == nil {
		s.iterKey = append([]byte(nil), v...)
		closer.Close()
	} else if err == pebble.ErrNotFound {
		s.iterKey = make([]byte, 32)
		if _, err := rand.Read(s.iterKey); err != nil {
			return fmt.Errorf("make iterator key: %w", err)
		}
		if err := s.db.Set(keyIteratorKey, s.iterKey, pebble.Sync); err != nil {
			return fmt.Errorf("save iterator key: %w", err)
		}
	} else {
		return fmt.Errorf("read iterator key: %w", err)
	}
	if v, closer, err := s.db.Get(keyNextStreamID); err == nil {
		s.nextID = binary.BigEndian.Uint32(v)
		closer.Close()
	} else if err != pebble.ErrNotFound {
		return fmt.Errorf("read next stream id: %w", err)
	}
	if s.nextID == 0 {
		s.nextID = 1
	}

	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixMeta}, UpperBound: []byte{prefixMeta + 1}})
	if err != nil {
		return fmt.Errorf("scan stream metadata: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		var m streamMeta
		if err := json.Unmarshal(it.Value(), &m); err != nil {
			return fmt.Errorf("decode metadata of stream %q: %w", it.Key()[1:], err)
		}
		st := s.newStreamState(m)
		for _, sh := range st.shards {
			last, err := s.lastCounter(m.ID, sh.meta.Index)
			if err != nil {
				return err
			}
			sh.committed.Store(max(last, sh.meta.TrimmedThrough))
		}
		if m.ID >= s.nextID {
			s.nextID = m.ID + 1
		}
		switch st.meta.Status {
		case StatusDeleting:
			if err := s.purgeStream(st); err != nil {
				return err
			}
			continue
		case StatusCreating, StatusUpdating:
			st.meta.Status = StatusActive
			for _, c := range st.meta.Consumers {
				c.Status = ConsumerActive
			}
			if err := s.saveMeta(st); err != nil {
				return err
			}
		}
		s.byName[m.Name] = st
		s.byID[m.ID] = st
	}
	return nil
}

// lastCounter finds the newest counter written to a shard.
func (s *Store) lastCounter(sid, shard uint32) (uint64, error) {
	p := shardPrefix(prefixRecords, sid, shard)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return 0, fmt.Errorf("scan shard %d of stream %d: %w", shard, sid, err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, nil
	}
	k := it.Key()
	return binary.BigEndian.Uint64(k[len(k)-8:]), nil
}

func (s *Store) newStreamState(m streamMeta) *stream {
	st := &stream{meta: m, shards: map[uint32]*shard{}}
	for _, sm := range m.Shards {
		st.shards[sm.Index] = s.newShardState(sm)
	}
	st.rebuildRouting()
	return st
}

func (s *Store) newShardState(sm *shardMeta) *shard {
	t := s.opts.Throughput
	return &shard{
		meta:       sm,
		writeLimit: newTokenBuckets(t.WriteRecordsPerSecond, t.WriteBytesPerSecond, t.BurstSeconds),
		readLimit:  newTokenBuckets(t.ReadCallsPerSecond, t.ReadBytesPerSecond, t.BurstSeconds),
	}
}

// rebuildRouting recomputes the sorted table of open shards.
func (st *stream) rebuildRouting() {
	st.open = st.open[:0]
	for _, sm := range st.meta.Shards {
		if !sm.Closed {
			st.open = append(st.open, st.shards[sm.Index])
		}
	}
	sort.Slice(st.open, func(i, j int) bool {
		return u128(st.open[i].meta.StartHash).cmp(u128(st.open[j].meta.StartHash)) < 0
	})
}

// route finds the open shard holding hash key h.
func (st *stream) route(h u128) *shard {
	i := sort.Search(len(st.open), func(i int) bool { return u128(st.open[i].meta.EndHash).cmp(h) >= 0 })
	if i < len(st.open) && st.open[i].contains(h) {
		return st.open[i]
	}
	return nil
}

func jsonMeta(st *stream) ([]byte, error) {
	b, err := json.Marshal(&st.meta)
	if err != nil {
		return nil, fmt.Errorf("encode metadata of stream %s: %w", st.meta.Name, err)
	}
	return b, nil
}

func (s *Store) saveMeta(st *stream) error {
	b, err := jsonMeta(st)
	if err != nil {
		return err
	}
	if err := s.db.Set(metaKey(st.meta.Name), b, pebble.Sync); err != nil {
		return fmt.Errorf("save metadata of stream %s: %w", st.meta.Name, err)
	}
	return nil
}

func (s *Store) streamARN(name string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", s.opts.Region, s.opts.AccountID, name)
}

var streamNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

func validateStreamName(name string) error {
	if name == "" {
		return errf(CodeValidation, "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null")
	}
	if len(name) > 128 {
		return errf(CodeValidation, "1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128", name)
	}
	if !streamNameRE.MatchString(name) {
		return errf(CodeValidation, "1 validation error detected: Value '%s' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name)
	}
	return nil
}

// updateStream runs fn with the named stream locked for writing, guarded
// against a concurrent Close.
func (s *Store) updateStream(name string, fn func(st *stream) error) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	st, err := s.lookup(name)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return fn(st)
}

// lookup returns a stream by name for reading or writing its metadata.
func (s *Store) lookup(name string) (*stream, error) {
	if err := validateStreamName(name); err != nil {
		return nil, err
	}
	s.mu.RLock()
	st := s.byName[name]
	s.mu.RUnlock()
	if st == nil {
		return nil, errf(CodeResourceNotFound, "Stream %s under account %s not found.", name, s.opts.AccountID)
	}
	return st, nil
}

// StreamNameFromARN returns the stream name an ARN of this store names.
func (s *Store) StreamNameFromARN(arn string) (string, error) {
	p := fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/", s.opts.Region, s.opts.AccountID)
	rest, ok := strings.CutPrefix(arn, p)
	if !ok {
		// Accept any region and account: clients often build ARNs themselves.
		parts := strings.SplitN(arn, ":", 6)
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kinesis" || !strings.HasPrefix(parts[5], "stream/") {
			return "", errf(CodeInvalidArgument, "%q is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)", arn)
		}
		rest = strings.TrimPrefix(parts[5], "stream/")
	}
	name, _, _ := strings.Cut(rest, "/")
	if err := validateStreamName(name); err != nil {
		return "", err
	}
	return name, nil
}

// transition puts st in a transitional status and completes it after
// Options.TransitionDelay (at once when the delay is 0). Caller holds st.mu.
func (s *Store) transition(st *stream, during StreamStatus) error {
	if s.opts.TransitionDelay <= 0 {
		st.meta.Status = StatusActive
		return s.saveMeta(st)
	}
	st.meta.Status = during
	if err := s.saveMeta(st); err != nil {
		return err
	}
	st.statusTimer = time.AfterFunc(s.opts.TransitionDelay, func() {
		done, err := s.begin()
		if err != nil {
			return
		}
		defer done()
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.meta.Status != during {
			return
		}
		st.meta.Status = StatusActive
		for _, c := range st.meta.Consumers {
			if c.Status == ConsumerCreating {
				c.Status = ConsumerActive
			}
		}
		if err := s.saveMeta(st); err != nil {
			s.opts.Logger.Error("complete stream transition", "stream", st.meta.Name, "err", err)
		}
	})
	return nil
}

func (s *Store) openShardCount() int {
	n := 0
	for _, st := range s.byName {
		st.mu.RLock()
		n += len(st.open)
		st.mu.RUnlock()
	}
	return n
}

// CreateStream creates a stream. With a TransitionDelay it is CREATING until
// the delay passes, then ACTIVE.
func (s *Store) CreateStream(in CreateStreamInput) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if err := validateStreamName(in.StreamName); err != nil {
		return err
	}
	mode := in.Mode
	if mode == "" {
		mode = ModeProvisioned
	}
	n := in.ShardCount
	switch mode {
	case ModeProvisioned:
		if n < 1 {
			return errf(CodeValidation, "1 validation error detected: Value '%d' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		}
	case ModeOnDemand:
		if n == 0 {
			n = s.opts.OnDemand.InitialShards
		}
		if n < 1 {
			return errf(CodeValidation, "1 validation error detected: Value '%d' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		}
	default:
		return errf(CodeValidation, "1 validation error detected: Value '%s' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]", mode)
	}
	if err := validateTags(in.Tags, 0); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byName[in.StreamName]; ok {
		return errf(CodeResourceInUse, "Stream %s under account %s already exists.", in.StreamName, s.opts.AccountID)
	}
	if open := s.openShardCount(); open+n > s.opts.ShardLimit {
		return errf(CodeLimitExceeded, "This request would exceed the shard limit for the account %s. Current shard count for the account: %d. Limit: %d. Number of additional shards that would have resulted from this request: %d.", s.opts.AccountID, open, s.opts.ShardLimit, n)
	}
	id := s.nextID
	nowMs := s.now().UnixMilli()
	m := streamMeta{
		Name: in.StreamName, ID: id, Status: StatusCreating, Mode: mode,
		RetentionHours: defaultRetentionHours, CreatedMs: nowMs,
		Tags: copyTags(in.Tags), PeakOpenShards: n,
	}
	for i, r := range uniformRanges(n) {
		m.Shards = append(m.Shards, &shardMeta{Index: uint32(i), StartHash: u128json(r[0]), EndHash: u128json(r[1]), CreatedMs: nowMs})
	}
	m.NextShard = uint32(n)
	var idb [4]byte
	binary.BigEndian.PutUint32(idb[:], id+1)
	if err := s.db.Set(keyNextStreamID, idb[:], pebble.Sync); err != nil {
		return fmt.Errorf("save next stream id: %w", err)
	}
	s.nextID = id + 1
	st := s.newStreamState(m)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := s.transition(st, StatusCreating); err != nil {
		return err
	}
	s.byName[m.Name] = st
	s.byID[id] = st
	return nil
}

// DeleteStream deletes a stream and all its data. A stream with registered
// consumers is deleted only with enforceConsumerDeletion.
func (s *Store) DeleteStream(name string, enforceConsumerDeletion bool) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	st, err := s.lookup(name)
	if err != nil {
		return err
	}
	st.mu.Lock()
	if len(st.meta.Consumers) > 0 && !enforceConsumerDeletion {
		st.mu.Unlock()
		return errf(CodeResourceInUse, "Stream %s under account %s has registered consumers; set EnforceConsumerDeletion to delete it with them.", name, s.opts.AccountID)
	}
	if st.meta.Status == StatusDeleting {
		st.mu.Unlock()
		return errf(CodeResourceNotFound, "Stream %s under account %s not found.", name, s.opts.AccountID)
	}
	if st.statusTimer != nil {
		st.statusTimer.Stop()
	}
	st.meta.Status = StatusDeleting
	if err := s.saveMeta(st); err != nil {
		st.mu.Unlock()
		return err
	}
	st.mu.Unlock()

	finish := func() error {
		s.mu.Lock()
		if s.byName[name] == st {
			delete(s.byName, name)
		}
		delete(s.byID, st.meta.ID)
		s.mu.Unlock()
		st.mu.Lock()
		defer st.mu.Unlock()
		return s.purgeStream(st)
	}
	if s.opts.TransitionDelay <= 0 {
		return finish()
	}
	st.statusTimer = time.AfterFunc(s.opts.TransitionDelay, func() {
		done, err := s.begin()
		if err != nil {
			return
		}
		defer done()
		if err := finish(); err != nil {
			s.opts.Logger.Error("delete stream", "stream", name, "err", err)
		}
	})
	return nil
}

// purgeStream removes every key a stream owns, in one synced batch.
func (s *Store) purgeStream(st *stream) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, p := range []byte{prefixRecords, prefixTimeIndex, prefixCheckpoint} {
		sp := streamPrefix(p, st.meta.ID)
		if err := b.DeleteRange(sp, prefixEnd(sp), nil); err != nil {
			return fmt.Errorf("delete data of stream %s: %w", st.meta.Name, err)
		}
	}
	if err := b.Delete(metaKey(st.meta.Name), nil); err != nil {
		return fmt.Errorf("delete metadata of stream %s: %w", st.meta.Name, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete stream %s: %w", st.meta.Name, err)
	}
	return nil
}

// DescribeStream describes a stream and every shard it still lists.
func (s *Store) DescribeStream(name string) (StreamDescription, error) {
	st, err := s.lookup(name)
	if err != nil {
		return StreamDescription{}, err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	m := &st.meta
	d := StreamDescription{
		StreamName: m.Name, StreamARN: s.streamARN(m.Name), StreamStatus: m.Status, StreamMode: m.Mode,
		RetentionHours: m.RetentionHours, CreatedAt: time.UnixMilli(m.CreatedMs),
		OpenShardCount: len(st.open), ConsumerCount: len(m.Consumers),
	}
	for _, sm := range m.Shards {
		d.Shards = append(d.Shards, s.describeShard(st, sm))
	}
	return d, nil
}

func (s *Store) describeShard(st *stream, sm *shardMeta) Shard {
	out := Shard{
		ShardID:      shardIDString(sm.Index),
		HashKeyRange: HashKeyRange{u128(sm.StartHash).String(), u128(sm.EndHash).String()},
		SequenceNumberRange: SequenceNumberRange{
			StartingSequenceNumber: seqString(st.meta.ID, sm.Index, 0),
		},
	}
	if len(sm.Parents) > 0 {
		out.ParentShardID = shardIDString(sm.Parents[0])
	}
	if len(sm.Parents) > 1 {
		out.AdjacentParentShardID = shardIDString(sm.Parents[1])
	}
	out.CreatedAt = time.UnixMilli(sm.CreatedMs)
	if sm.Closed {
		out.SequenceNumberRange.EndingSequenceNumber = seqString(st.meta.ID, sm.Index, sm.EndCounter)
		out.ClosedAt = time.UnixMilli(sm.ClosedMs)
	}
	return out
}

// ListStreams lists every stream by name.
func (s *Store) ListStreams() []StreamSummary {
	s.mu.RLock()
	out := make([]StreamSummary, 0, len(s.byName))
	for _, st := range s.byName {
		st.mu.RLock()
		out = append(out, StreamSummary{
			StreamName: st.meta.Name, StreamARN: s.streamARN(st.meta.Name), StreamStatus: st.meta.Status,
			StreamMode: st.meta.Mode, CreatedAt: time.UnixMilli(st.meta.CreatedMs),
		})
		st.mu.RUnlock()
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].StreamName < out[j].StreamName })
	return out
}

// DescribeLimits reports the account-level shard limits.
func (s *Store) DescribeLimits() AccountLimits {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := AccountLimits{ShardLimit: s.opts.ShardLimit, OnDemandStreamCountLimit: 50}
	for _, st := range s.byName {
		st.mu.RLock()
		l.OpenShardCount += len(st.open)
		if st.meta.Mode == ModeOnDemand {
			l.OnDemandStreamCount++
		}
		st.mu.RUnlock()
	}
	return l
}

// Stats returns each stream's counters, by stream name.
func (s *Store) Stats() []StreamStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]StreamStats, 0, len(s.byName))
	for _, st := range s.byName {
		st.mu.RLock()
		ss := StreamStats{
			StreamName: st.meta.Name,
			RecordsIn:  st.recordsIn.Load(), BytesIn: st.bytesIn.Load(),
			RecordsOut: st.recordsOut.Load(), BytesOut: st.bytesOut.Load(),
			WriteThrottles: st.writeThrottles.Load(), ReadThrottles: st.readThrottles.Load(),
			OpenShards: len(st.open),
		}
		for _, sh := range st.shards {
			ss.MaxIteratorAgeMilli = max(ss.MaxIteratorAgeMilli, sh.lastReadBehindMs.Load())
		}
		st.mu.RUnlock()
		out = append(out, ss)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StreamName < out[j].StreamName })
	return out
}

// quietLogger keeps Pebble's informational chatter out of kda's output.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
