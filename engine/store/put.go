package store

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/cockroachdb/pebble"
)

// Put limits, as Kinesis sets them.
const (
	MaxRecordBytes       = 1 << 20 // data plus partition key
	MaxPutRecordsCount   = 500
	MaxPutRecordsBytes   = 5 << 20
	maxPartitionKeyRunes = 256
	// maxGroupCommitBytes bounds how much one group commit gathers.
	maxGroupCommitBytes = 32 << 20
)

// commitRequest is one put waiting for the group committer.
type commitRequest struct {
	st     *stream
	recs   []PutRecordInput
	groups []shardGroup
	bytes  int
	done   chan error
	// A transaction (Store.Commit) carries its streams' records as parts and
	// its application state as state; st is nil then. All of it goes into
	// the same Pebble batch.
	parts []*commitRequest
	state map[string][]byte
}

// each calls f for every part of a request that carries records.
func (r *commitRequest) each(f func(p *commitRequest)) {
	if r.st != nil {
		f(r)
	}
	for _, p := range r.parts {
		f(p)
	}
}

// shardGroup is the records of one put that go to one shard, in order.
type shardGroup struct {
	sh    *shard
	idx   []int // indexes into recs
	bytes int
	first uint64 // first counter, set by the committer
}

// PutRecord stores one record. Unlike PutRecords, throttling fails the call
// with ProvisionedThroughputExceededException.
func (s *Store) PutRecord(streamName string, rec PutRecordInput) (PutRecordResult, error) {
	out, err := s.putRecords(streamName, []PutRecordInput{rec}, "")
	if err != nil {
		return PutRecordResult{}, err
	}
	r := out.Records[0]
	if r.ErrorCode != "" {
		return PutRecordResult{}, &Error{Code: r.ErrorCode, Message: r.ErrorMessage}
	}
	return r, nil
}

// PutRecords stores up to 500 records (5 MiB in all) and returns once they
// are durable. Records that a shard's throughput limit turns away carry
// ProvisionedThroughputExceededException in their result and are not stored;
// all the others are stored together in one write.
func (s *Store) PutRecords(streamName string, recs []PutRecordInput) (PutRecordsOutput, error) {
	return s.putRecords(streamName, recs, "records")
}

func (s *Store) putRecords(streamName string, recs []PutRecordInput, field string) (PutRecordsOutput, error) {
	done, err := s.begin()
	if err != nil {
		return PutRecordsOutput{}, err
	}
	defer done()
	if err := validateStreamName(streamName); err != nil {
		return PutRecordsOutput{}, err
	}
	hashes, total, err := validatePut(recs, field)
	if err != nil {
		return PutRecordsOutput{}, err
	}
	st, err := s.lookup(streamName)
	if err != nil {
		return PutRecordsOutput{}, err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.meta.Status != StatusActive && st.meta.Status != StatusUpdating {
		return PutRecordsOutput{}, errf(CodeResourceNotFound, "Stream %s under account %s not found.", streamName, s.opts.AccountID)
	}

	out := PutRecordsOutput{Records: make([]PutRecordResult, len(recs))}
	req := &commitRequest{st: st, recs: recs, done: make(chan error, 1), bytes: total}
	limited := !s.opts.Throughput.Disabled
	now := s.now()
	byShard := make(map[*shard]int, len(st.open))
	for i := range recs {
		sh := st.route(hashes[i])
		if sh == nil {
			return PutRecordsOutput{}, errf(CodeInternalFailure, "no open shard holds hash key %s", hashes[i])
		}
		size := len(recs[i].Data) + len(recs[i].PartitionKey)
		if limited && !sh.writeLimit.take(now, 1, size) {
			st.writeThrottles.Add(1)
			out.FailedRecordCount++
			out.Records[i] = PutRecordResult{
				ErrorCode:    CodeProvisionedThroughputExceeded,
				ErrorMessage: fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", sh.id(), streamName, s.opts.AccountID),
			}
			continue
		}
		g, ok := byShard[sh]
		if !ok {
			g = len(req.groups)
			byShard[sh] = g
			req.groups = append(req.groups, shardGroup{sh: sh})
		}
		req.groups[g].idx = append(req.groups[g].idx, i)
		req.groups[g].bytes += size
	}
	if len(req.groups) == 0 {
		return out, nil
	}
	select {
	case s.commits <- req:
	case <-s.quit:
		return PutRecordsOutput{}, errf(CodeInternalFailure, "the store is closing")
	}
	if err := <-req.done; err != nil {
		return PutRecordsOutput{}, errf(CodeInternalFailure, "write records to stream %s: %v", streamName, err)
	}
	for _, g := range req.groups {
		for j, i := range g.idx {
			out.Records[i] = PutRecordResult{ShardID: g.sh.id(), SequenceNumber: seqString(st.meta.ID, g.sh.meta.Index, g.first+uint64(j))}
		}
	}
	return out, nil
}

// validatePut checks a put's records and returns their hash keys and size.
func validatePut(recs []PutRecordInput, field string) ([]u128, int, error) {
	if field != "" {
		if len(recs) == 0 {
			return nil, 0, errf(CodeValidation, "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		if len(recs) > MaxPutRecordsCount {
			return nil, 0, errf(CodeValidation, "1 validation error detected: Value '[%d records]' at 'records' failed to satisfy constraint: Member must have length less than or equal to %d", len(recs), MaxPutRecordsCount)
		}
	}
	at := func(i int, name string) string {
		if field == "" {
			return name
		}
		return fmt.Sprintf("records.%d.member.%s", i+1, name)
	}
	hashes := make([]u128, len(recs))
	total := 0
	for i := range recs {
		r := &recs[i]
		n := utf8.RuneCountInString(r.PartitionKey)
		if n < 1 || n > maxPartitionKeyRunes {
			return nil, 0, errf(CodeValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length between 1 and %d", r.PartitionKey, at(i, "partitionKey"), maxPartitionKeyRunes)
		}
		size := len(r.Data) + len(r.PartitionKey)
		if size > MaxRecordBytes {
			return nil, 0, errf(CodeValidation, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d (data plus partition key is %d bytes)", at(i, "data"), MaxRecordBytes, size)
		}
		total += size
		if r.ExplicitHashKey != "" {
			h, ok := parseU128(r.ExplicitHashKey)
			if !ok {
				return nil, 0, errf(CodeInvalidArgument, "Invalid ExplicitHashKey at %s. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", at(i, "explicitHashKey"), r.ExplicitHashKey)
			}
			hashes[i] = h
		} else {
			hashes[i] = hashPartitionKey(r.PartitionKey)
		}
	}
	if field != "" && total > MaxPutRecordsBytes {
		return nil, 0, errf(CodeInvalidArgument, "Records size exceeds 5 MB limit: %d bytes", total)
	}
	return hashes, total, nil
}

// commitLoop is the group committer: it takes every put waiting, assigns
// counters in arrival order, writes them all in one Pebble batch with one
// WAL sync, then publishes the new counters to readers and answers the puts.
func (s *Store) commitLoop() {
	defer s.wg.Done()
	var reqs []*commitRequest
	for {
		select {
		case r := <-s.commits:
			reqs = append(reqs[:0], r)
			size := r.bytes
		gather:
			for size < maxGroupCommitBytes {
				select {
				case r := <-s.commits:
					reqs = append(reqs, r)
					size += r.bytes
				default:
					break gather
				}
			}
			s.commitGroup(reqs)
		case <-s.quit:
			return
		}
	}
}

type shardTip struct {
	last      uint64
	arrivalMs int64
}

func (s *Store) commitGroup(reqs []*commitRequest) {
	nowMs := s.now().UnixMilli()
	tips := make(map[*shard]shardTip, 8)
	b := s.db.NewBatch()
	defer b.Close()
	var err error
	for _, top := range reqs {
		if e := writeAppState(b, top.state); e != nil && err == nil {
			err = e
		}
		top.each(func(r *commitRequest) {
			for gi := range r.groups {
				g := &r.groups[gi]
				tip, ok := tips[g.sh]
				if !ok {
					tip = shardTip{last: g.sh.committed.Load(), arrivalMs: g.sh.lastArrivalMs.Load()}
				}
				arrival := max(nowMs, tip.arrivalMs)
				g.first = tip.last + 1
				last := tip.last + uint64(len(g.idx))
				tips[g.sh] = shardTip{last: last, arrivalMs: arrival}
				sid, idx := r.st.meta.ID, g.sh.meta.Index
				key := recordKey(sid, idx, last)
				op := b.SetDeferred(len(key), exactBatchSize(r.recs, g.idx))
				copy(op.Key, key)
				encodeBatch(op.Value[:0], arrival, r.recs, g.idx)
				if e := op.Finish(); e != nil && err == nil {
					err = e
				}
				if e := b.Set(timeKey(sid, idx, arrival, last), nil, nil); e != nil && err == nil {
					err = e
				}
			}
		})
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err == nil {
		for sh, tip := range tips {
			sh.lastArrivalMs.Store(tip.arrivalMs)
			sh.committed.Store(tip.last)
			sh.wake()
		}
		for _, top := range reqs {
			top.each(func(r *commitRequest) {
				n := 0
				for _, g := range r.groups {
					n += len(g.idx)
					g.sh.winRecords.Add(uint64(len(g.idx)))
					g.sh.winBytes.Add(uint64(g.bytes))
				}
				r.st.recordsIn.Add(uint64(n))
				r.st.bytesIn.Add(uint64(r.bytes))
			})
		}
	}
	for _, r := range reqs {
		r.done <- err
	}
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// exactBatchSize is the encoded size of encodeBatch's output.
func exactBatchSize(recs []PutRecordInput, idx []int) int {
	n := 1 + 8 + uvarintLen(uint64(len(idx)))
	for _, i := range idx {
		kl, dl := len(recs[i].PartitionKey), len(recs[i].Data)
		n += uvarintLen(uint64(kl)) + kl + uvarintLen(uint64(dl)) + dl
	}
	return n
}

var _ = binary.MaxVarintLen64
