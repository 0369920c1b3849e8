package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
)

// GetRecords limits, as Kinesis sets them.
const (
	MaxGetRecordsCount = 10000
	MaxGetRecordsBytes = 10 << 20
)

// A shard iterator is base64(version | sid:4 | shard:4 | counter:8 |
// createdMs:8 | HMAC-SHA256 truncated to 16 bytes). The HMAC key lives in
// the store, so iterators survive restarts and cannot be forged.
const (
	iteratorVersion = 1
	iteratorBody    = 1 + 4 + 4 + 8 + 8
	iteratorMACLen  = 16
)

type iteratorPos struct {
	sid, shard uint32
	counter    uint64 // the next counter to read
	createdMs  int64
}

func (s *Store) encodeIterator(p iteratorPos) string {
	b := make([]byte, iteratorBody, iteratorBody+sha256.Size)
	b[0] = iteratorVersion
	binary.BigEndian.PutUint32(b[1:], p.sid)
	binary.BigEndian.PutUint32(b[5:], p.shard)
	binary.BigEndian.PutUint64(b[9:], p.counter)
	binary.BigEndian.PutUint64(b[17:], uint64(p.createdMs))
	mac := hmac.New(sha256.New, s.iterKey)
	mac.Write(b)
	b = mac.Sum(b)[:iteratorBody+iteratorMACLen]
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Store) decodeIterator(token string) (iteratorPos, error) {
	bad := errf(CodeInvalidArgument, "Invalid ShardIterator.")
	if len(token) == 0 || len(token) > 512 {
		return iteratorPos{}, bad
	}
	b, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(b) != iteratorBody+iteratorMACLen || b[0] != iteratorVersion {
		return iteratorPos{}, bad
	}
	mac := hmac.New(sha256.New, s.iterKey)
	mac.Write(b[:iteratorBody])
	if !hmac.Equal(mac.Sum(nil)[:iteratorMACLen], b[iteratorBody:]) {
		return iteratorPos{}, bad
	}
	return iteratorPos{
		sid:       binary.BigEndian.Uint32(b[1:]),
		shard:     binary.BigEndian.Uint32(b[5:]),
		counter:   binary.BigEndian.Uint64(b[9:]),
		createdMs: int64(binary.BigEndian.Uint64(b[17:])),
	}, nil
}

// shardOf finds a shard of a stream by id. Caller holds st.mu.
func (s *Store) shardOf(st *stream, shardID string) (*shard, error) {
	idx, ok := parseShardID(shardID)
	if ok {
		if sh := st.shards[idx]; sh != nil {
			return sh, nil
		}
	}
	return nil, errf(CodeResourceNotFound, "Shard %s in stream %s under account %s does not exist", shardID, st.meta.Name, s.opts.AccountID)
}

// GetShardIterator returns an iterator that starts where in says.
func (s *Store) GetShardIterator(in GetShardIteratorInput) (string, error) {
	done, err := s.begin()
	if err != nil {
		return "", err
	}
	defer done()
	st, err := s.lookup(in.StreamName)
	if err != nil {
		return "", err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.meta.Status == StatusCreating || st.meta.Status == StatusDeleting {
		return "", errf(CodeResourceNotFound, "Stream %s under account %s not found.", in.StreamName, s.opts.AccountID)
	}
	sh, err := s.shardOf(st, in.ShardID)
	if err != nil {
		return "", err
	}
	sid, idx := st.meta.ID, sh.meta.Index
	pos := iteratorPos{sid: sid, shard: idx, createdMs: s.now().UnixMilli()}
	hasSeq := in.SequenceNumber != ""
	switch in.Type {
	case TrimHorizon, Latest:
		if hasSeq {
			return "", errf(CodeInvalidArgument, "Request should not have a StartingSequenceNumber with iterator type %s.", in.Type)
		}
		if in.Type == TrimHorizon {
			pos.counter = 1
		} else {
			pos.counter = sh.committed.Load() + 1
		}
	case AtSequenceNumber, AfterSequenceNumber:
		if !hasSeq {
			return "", errf(CodeInvalidArgument, "Must specify a StartingSequenceNumber with iterator type %s.", in.Type)
		}
		qsid, qshard, counter, err := parseSeq(in.SequenceNumber)
		if err != nil {
			return "", errf(CodeValidation, "1 validation error detected: Value '%s' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})", in.SequenceNumber)
		}
		if qsid != sid || qshard != idx {
			return "", errf(CodeInvalidArgument, "Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s", shardIDString(qshard), sh.id())
		}
		pos.counter = counter
		if in.Type == AfterSequenceNumber {
			pos.counter++
		}
		if pos.counter == 0 {
			pos.counter = 1
		}
	case AtTimestamp:
		if in.Timestamp.IsZero() {
			return "", errf(CodeInvalidArgument, "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		if in.Timestamp.After(s.now().Add(time.Second)) {
			return "", errf(CodeInvalidArgument, "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d", in.Timestamp.UnixMilli(), s.now().UnixMilli())
		}
		c, err := s.counterAt(sh, sid, in.Timestamp.UnixMilli())
		if err != nil {
			return "", err
		}
		pos.counter = c
	default:
		return "", errf(CodeValidation, "1 validation error detected: Value '%s' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]", in.Type)
	}
	return s.encodeIterator(pos), nil
}

// counterAt returns the first counter whose arrival time is at or after ms.
func (s *Store) counterAt(sh *shard, sid uint32, ms int64) (uint64, error) {
	p := shardPrefix(prefixTimeIndex, sid, sh.meta.Index)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return 0, fmt.Errorf("scan time index: %w", err)
	}
	defer it.Close()
	if !it.SeekGE(timeKey(sid, sh.meta.Index, ms, 0)) {
		return sh.committed.Load() + 1, nil
	}
	k := it.Key()
	last := binary.BigEndian.Uint64(k[len(k)-8:])
	// The time index names the value's last counter; its first is found by
	// reading the value's count.
	v, closer, err := s.db.Get(recordKey(sid, sh.meta.Index, last))
	if err == pebble.ErrNotFound {
		return last, nil // trimmed meanwhile; reading starts at what remains
	}
	if err != nil {
		return 0, fmt.Errorf("read record value: %w", err)
	}
	defer closer.Close()
	br, err := newBatchReader(v)
	if err != nil {
		return 0, err
	}
	return last - br.count + 1, nil
}

// GetRecords reads up to limit records (0 means 10,000) from an iterator.
func (s *Store) GetRecords(iterator string, limit int) (GetRecordsOutput, error) {
	return s.getRecords(iterator, limit, true)
}

// GetRecordsDedicated is GetRecords for a consumer with dedicated read
// throughput (enhanced fan-out, kda's own applications): it is not charged
// against the shard's shared GetRecords limits.
func (s *Store) GetRecordsDedicated(iterator string, limit int) (GetRecordsOutput, error) {
	return s.getRecords(iterator, limit, false)
}

// RecordsSignal returns a channel that is closed when new records become
// readable in the shard of an iterator (or the store closes). Take the signal
// before reading, then wait on it only when the read came back empty, so no
// wake-up is missed.
func (s *Store) RecordsSignal(iterator string) (<-chan struct{}, error) {
	pos, err := s.decodeIterator(iterator)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	st := s.byID[pos.sid]
	s.mu.RUnlock()
	if st == nil {
		return nil, errf(CodeResourceNotFound, "The stream this iterator belongs to no longer exists.")
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	sh := st.shards[pos.shard]
	if sh == nil {
		return nil, errf(CodeResourceNotFound, "Shard %s in stream %s under account %s does not exist", shardIDString(pos.shard), st.meta.Name, s.opts.AccountID)
	}
	return sh.waitChan(), nil
}

func (s *Store) getRecords(iterator string, limit int, throttled bool) (GetRecordsOutput, error) {
	done, err := s.begin()
	if err != nil {
		return GetRecordsOutput{}, err
	}
	defer done()
	if limit == 0 {
		limit = MaxGetRecordsCount
	}
	if limit < 0 || limit > MaxGetRecordsCount {
		return GetRecordsOutput{}, errf(CodeValidation, "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", limit, MaxGetRecordsCount)
	}
	pos, err := s.decodeIterator(iterator)
	if err != nil {
		return GetRecordsOutput{}, err
	}
	now := s.now()
	if age := now.UnixMilli() - pos.createdMs; age > s.opts.IteratorTTL.Milliseconds() {
		return GetRecordsOutput{}, errf(CodeExpiredIterator, "Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
			time.UnixMilli(pos.createdMs).UTC().Format(time.RFC1123), now.UTC().Format(time.RFC1123), s.opts.IteratorTTL.Milliseconds())
	}
	s.mu.RLock()
	st := s.byID[pos.sid]
	s.mu.RUnlock()
	if st == nil {
		return GetRecordsOutput{}, errf(CodeResourceNotFound, "The stream this iterator belongs to no longer exists.")
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	sh := st.shards[pos.shard]
	if sh == nil {
		return GetRecordsOutput{}, errf(CodeResourceNotFound, "Shard %s in stream %s under account %s does not exist", shardIDString(pos.shard), st.meta.Name, s.opts.AccountID)
	}
	throttled = throttled && !s.opts.Throughput.Disabled
	if throttled && !sh.readLimit.takeOpIfPositive(now) {
		st.readThrottles.Add(1)
		return GetRecordsOutput{}, errf(CodeProvisionedThroughputExceeded, "Rate exceeded for Shard - %s in stream %s under account %s.", sh.id(), st.meta.Name, s.opts.AccountID)
	}

	out, next, lastArrivalMs, n, err := s.readShard(st.meta.ID, sh, pos.counter, limit)
	if err != nil {
		return GetRecordsOutput{}, err
	}
	if throttled {
		sh.readLimit.charge(n)
	}
	st.recordsOut.Add(uint64(len(out)))
	st.bytesOut.Add(uint64(n))

	res := GetRecordsOutput{Records: out}
	tip := sh.committed.Load()
	if next <= tip && lastArrivalMs > 0 {
		res.MillisBehindLatest = max(0, now.UnixMilli()-lastArrivalMs)
	}
	sh.lastReadBehindMs.Store(res.MillisBehindLatest)
	if sh.meta.Closed && next > sh.meta.EndCounter {
		res.ChildShards = s.childShards(st, sh.meta.Index)
		return res, nil
	}
	pos.counter = next
	pos.createdMs = now.UnixMilli()
	res.NextShardIterator = s.encodeIterator(pos)
	return res, nil
}

// readShard returns the durable records from counter `from` on, at most
// limit records and about MaxGetRecordsBytes. next is the counter after the
// last one returned.
func (s *Store) readShard(sid uint32, sh *shard, from uint64, limit int) (recs []Record, next uint64, lastArrivalMs int64, bytes int, err error) {
	tip := sh.committed.Load()
	next = from
	if from > tip {
		return nil, next, 0, 0, nil
	}
	p := shardPrefix(prefixRecords, sid, sh.meta.Index)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: recordKey(sid, sh.meta.Index, tip+1)})
	if err != nil {
		return nil, from, 0, 0, fmt.Errorf("read shard %s: %w", sh.id(), err)
	}
	defer it.Close()
	var seqs seqFormatter
	for valid := it.SeekGE(recordKey(sid, sh.meta.Index, from)); valid; valid = it.Next() {
		k := it.Key()
		last := binary.BigEndian.Uint64(k[len(k)-8:])
		val := append([]byte(nil), it.Value()...) // records point into this copy
		br, err := newBatchReader(val)
		if err != nil {
			return nil, from, 0, 0, fmt.Errorf("read shard %s at counter %d: %w", sh.id(), last, err)
		}
		if recs == nil {
			// Size recs once, from what the first value says about record
			// sizes, so that it rarely grows (growing copies and clears it).
			perRecord := uint64(len(val))/max(br.count, 1) + 1
			recs = make([]Record, 0, min(uint64(limit), tip-from+1, MaxGetRecordsBytes/perRecord+1))
		}
		arrival := time.UnixMilli(br.arrivalMs)
		c := last - br.count + 1
		for ; ; c++ {
			key, data, ok, err := br.next()
			if err != nil {
				return nil, from, 0, 0, fmt.Errorf("read shard %s at counter %d: %w", sh.id(), c, err)
			}
			if !ok {
				break
			}
			if c < from {
				continue
			}
			size := len(data) + len(key)
			if len(recs) >= limit || (len(recs) > 0 && bytes+size > MaxGetRecordsBytes) {
				return recs, next, lastArrivalMs, bytes, nil
			}
			recs = append(recs, Record{SequenceNumber: seqs.format(sid, sh.meta.Index, c), PartitionKey: key, Data: data, ArrivalTime: arrival})
			bytes += size
			next = c + 1
			lastArrivalMs = br.arrivalMs
		}
	}
	if recs == nil {
		recs = []Record{} // an empty read is an empty list (JSON [], not null)
	}
	if next < tip+1 && len(recs) == 0 {
		// Everything from `from` was trimmed or never written: skip to the tip.
		next = tip + 1
	}
	return recs, next, lastArrivalMs, bytes, nil
}

// childShards lists the shards that continue shard idx. Caller holds st.mu.
func (s *Store) childShards(st *stream, idx uint32) []ChildShard {
	var out []ChildShard
	for _, sm := range st.meta.Shards {
		for _, p := range sm.Parents {
			if p == idx {
				cs := ChildShard{ShardID: shardIDString(sm.Index), HashKeyRange: HashKeyRange{u128(sm.StartHash).String(), u128(sm.EndHash).String()}}
				for _, pp := range sm.Parents {
					cs.ParentShards = append(cs.ParentShards, shardIDString(pp))
				}
				out = append(out, cs)
				break
			}
		}
	}
	return out
}

// IteratorSequenceNumber returns the sequence number just before an
// iterator's position: reading AFTER_SEQUENCE_NUMBER it resumes exactly
// there. Before a shard's first record it is the shard's starting sequence
// number. Push consumers report it as their continuation point.
func (s *Store) IteratorSequenceNumber(iterator string) (string, error) {
	pos, err := s.decodeIterator(iterator)
	if err != nil {
		return "", err
	}
	c := pos.counter
	if c > 0 {
		c--
	}
	return seqString(pos.sid, pos.shard, c), nil
}
