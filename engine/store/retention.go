package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
)

// IncreaseRetention raises a stream's retention period (hours, up to 8,760).
func (s *Store) IncreaseRetention(streamName string, hours int) error {
	return s.setRetention(streamName, hours, true)
}

// DecreaseRetention lowers a stream's retention period (hours, at least 24).
// Data older than the new period is trimmed on the next retention pass.
func (s *Store) DecreaseRetention(streamName string, hours int) error {
	return s.setRetention(streamName, hours, false)
}

func (s *Store) setRetention(streamName string, hours int, increase bool) error {
	if hours < minRetentionHours {
		return errf(CodeInvalidArgument, "Minimum allowed retention period is %d hours. Requested retention period (%d hours) is too short.", minRetentionHours, hours)
	}
	if hours > maxRetentionHours {
		return errf(CodeInvalidArgument, "Maximum allowed retention period is %d hours. Requested retention period (%d hours) is too long.", maxRetentionHours, hours)
	}
	return s.updateStream(streamName, func(st *stream) error {
		if err := s.reshardable(st); err != nil {
			return err
		}
		cur := st.meta.RetentionHours
		if increase && hours < cur {
			return errf(CodeInvalidArgument, "Requested retention period (%d hours) for stream %s can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.", hours, streamName, cur)
		}
		if !increase && hours > cur {
			return errf(CodeInvalidArgument, "Requested retention period (%d hours) for stream %s can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.", hours, streamName, cur)
		}
		st.meta.RetentionHours = hours
		if err := s.saveMeta(st); err != nil {
			return err
		}
		return s.transition(st, StatusUpdating)
	})
}

func (s *Store) retentionLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.RetentionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.TrimExpired(); err != nil {
				s.opts.Logger.Error("retention trim", "err", err)
			}
		case <-s.quit:
			return
		}
	}
}

// TrimExpired removes every record older than its stream's retention period,
// and drops closed shards whose data has all expired. It runs in the
// background every Options.RetentionCheckInterval; tests call it directly.
func (s *Store) TrimExpired() error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	s.mu.RLock()
	streams := make([]*stream, 0, len(s.byName))
	for _, st := range s.byName {
		streams = append(streams, st)
	}
	s.mu.RUnlock()
	for _, st := range streams {
		if err := s.trimStream(st); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) trimStream(st *stream) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.meta.Status == StatusDeleting {
		return nil
	}
	cutoff := s.now().Add(-time.Duration(st.meta.RetentionHours) * time.Hour).UnixMilli()
	b := s.db.NewBatch()
	defer b.Close()
	changed := false
	kept := st.meta.Shards[:0:0]
	for _, sm := range st.meta.Shards {
		sh := st.shards[sm.Index]
		through, err := s.expiredThrough(st.meta.ID, sm.Index, cutoff)
		if err != nil {
			return err
		}
		if through > sm.TrimmedThrough {
			rp := shardPrefix(prefixRecords, st.meta.ID, sm.Index)
			tp := shardPrefix(prefixTimeIndex, st.meta.ID, sm.Index)
			if err := b.DeleteRange(rp, recordKey(st.meta.ID, sm.Index, through+1), nil); err != nil {
				return fmt.Errorf("trim shard %s: %w", sh.id(), err)
			}
			if err := b.DeleteRange(tp, timeKey(st.meta.ID, sm.Index, cutoff, 0), nil); err != nil {
				return fmt.Errorf("trim time index of shard %s: %w", sh.id(), err)
			}
			sm.TrimmedThrough = through
			changed = true
		}
		if sm.Closed && sm.ClosedMs < cutoff && sm.TrimmedThrough >= sm.EndCounter {
			delete(st.shards, sm.Index)
			changed = true
			continue
		}
		kept = append(kept, sm)
	}
	if !changed {
		return nil
	}
	st.meta.Shards = kept
	mb, err := jsonMeta(st)
	if err != nil {
		return err
	}
	if err := b.Set(metaKey(st.meta.Name), mb, nil); err != nil {
		return fmt.Errorf("save metadata of stream %s: %w", st.meta.Name, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("trim stream %s: %w", st.meta.Name, err)
	}
	s.opts.Logger.Debug("trimmed expired records", "stream", st.meta.Name)
	return nil
}

// expiredThrough returns the last counter of the newest record value that
// arrived before cutoffMs (0 when none did).
func (s *Store) expiredThrough(sid, shard uint32, cutoffMs int64) (uint64, error) {
	p := shardPrefix(prefixTimeIndex, sid, shard)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: timeKey(sid, shard, cutoffMs, 0)})
	if err != nil {
		return 0, fmt.Errorf("scan time index: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, nil
	}
	k := it.Key()
	return binary.BigEndian.Uint64(k[len(k)-8:]), nil
}
