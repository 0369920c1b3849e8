package store

import (
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble"
)

// Transactions let kda's own applications make their progress durable in
// one step: the records an application emitted into kda streams, and its
// opaque state (operator snapshot, source positions, status), are written in
// ONE Pebble batch with one WAL sync. Either a reader can see all of it after
// a crash, or none of it; that is what makes application output exactly-once.
//
// A transaction goes through the same group committer as puts, so sequence
// numbers, the committed tip readers stop at, and the reshard lock behave as
// for any put. Application state lives under its own key prefix and is never
// visible through the Kinesis API.

// StreamRecords is the records a transaction puts into one stream.
type StreamRecords struct {
	Stream  string
	Records []PutRecordInput
}

// Txn is one atomic write: records for any number of streams plus
// application state. A nil value in State deletes that key.
type Txn struct {
	Records []StreamRecords
	State   map[string][]byte
}

// Commit writes a transaction atomically and returns once it is durable.
// Records are routed to shards as PutRecords routes them but are never
// throttled (an application's output must not be turned away half-way),
// and there is no count limit; each record obeys the usual size limits.
// A stream that does not exist (or is being created or deleted) fails the
// whole transaction and nothing is written.
func (s *Store) Commit(tx Txn) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	for k := range tx.State {
		if k == "" {
			return errf(CodeInvalidArgument, "application state keys must not be empty")
		}
	}
	// Streams are locked in name order so two transactions over the same
	// streams cannot deadlock behind a waiting reshard.
	byName := map[string][]PutRecordInput{}
	for _, sr := range tx.Records {
		if len(sr.Records) > 0 {
			byName[sr.Stream] = append(byName[sr.Stream], sr.Records...)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)

	top := &commitRequest{done: make(chan error, 1), state: tx.State}
	for _, name := range names {
		recs := byName[name]
		if err := validateStreamName(name); err != nil {
			return err
		}
		hashes, total, err := validatePut(recs, "")
		if err != nil {
			return fmt.Errorf("records for stream %s: %w", name, err)
		}
		st, err := s.lookup(name)
		if err != nil {
			return err
		}
		st.mu.RLock()
		defer st.mu.RUnlock()
		if st.meta.Status != StatusActive && st.meta.Status != StatusUpdating {
			return errf(CodeResourceNotFound, "Stream %s under account %s not found.", name, s.opts.AccountID)
		}
		part := &commitRequest{st: st, recs: recs, bytes: total}
		byShard := make(map[*shard]int, len(st.open))
		for i := range recs {
			sh := st.route(hashes[i])
			if sh == nil {
				return errf(CodeInternalFailure, "no open shard holds hash key %s", hashes[i])
			}
			g, ok := byShard[sh]
			if !ok {
				g = len(part.groups)
				byShard[sh] = g
				part.groups = append(part.groups, shardGroup{sh: sh})
			}
			part.groups[g].idx = append(part.groups[g].idx, i)
			part.groups[g].bytes += len(recs[i].Data) + len(recs[i].PartitionKey)
		}
		top.parts = append(top.parts, part)
		top.bytes += total
	}
	if len(top.parts) == 0 && len(top.state) == 0 {
		return nil
	}
	select {
	case s.commits <- top:
	case <-s.quit:
		return errf(CodeInternalFailure, "the store is closing")
	}
	if err := <-top.done; err != nil {
		return errf(CodeInternalFailure, "commit transaction: %v", err)
	}
	return nil
}

// writeAppState adds a transaction's state to the group commit's batch.
func writeAppState(b *pebble.Batch, state map[string][]byte) error {
	for k, v := range state {
		var err error
		if v == nil {
			err = b.Delete(appStateKey(k), nil)
		} else {
			err = b.Set(appStateKey(k), v, nil)
		}
		if err != nil {
			return fmt.Errorf("write application state %s: %w", k, err)
		}
	}
	return nil
}

// AppState returns the application state stored under key, or nil when
// there is none.
func (s *Store) AppState(key string) ([]byte, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	v, closer, err := s.db.Get(appStateKey(key))
	if err == pebble.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read application state %s: %w", key, err)
	}
	defer closer.Close()
	return append([]byte{}, v...), nil
}

// AppStateKeys lists the application state keys that start with prefix,
// in order.
func (s *Store) AppStateKeys(prefix string) ([]string, error) {
	done, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	p := appStateKey(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, fmt.Errorf("list application state %s*: %w", prefix, err)
	}
	defer it.Close()
	var out []string
	for it.First(); it.Valid(); it.Next() {
		out = append(out, string(it.Key()[1:]))
	}
	return out, it.Error()
}

// DeleteAppState deletes every application state key that starts with
// prefix (which must not be empty), durably.
func (s *Store) DeleteAppState(prefix string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	if prefix == "" {
		return errf(CodeInvalidArgument, "refusing to delete all application state: give a prefix")
	}
	p := appStateKey(prefix)
	if err := s.db.DeleteRange(p, prefixEnd(p), pebble.Sync); err != nil {
		return fmt.Errorf("delete application state %s*: %w", prefix, err)
	}
	return nil
}
