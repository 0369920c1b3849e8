package store

import (
	"time"
)

// Resharding closes parent shards at their last durable counter and opens
// children that name them. A put holds the stream's lock for reading until its
// records are durable, and resharding takes it for writing, so no record can
// land in a parent after its end is fixed.

// reshardable checks that st may be resharded now. Caller holds st.mu.
func (s *Store) reshardable(st *stream) error {
	if st.meta.Status != StatusActive {
		return errf(CodeResourceInUse, "Stream %s under account %s not ACTIVE, instead in state %s", st.meta.Name, s.opts.AccountID, st.meta.Status)
	}
	return nil
}

func (s *Store) closeShard(sh *shard, nowMs int64) {
	sh.meta.Closed = true
	sh.meta.EndCounter = sh.committed.Load()
	sh.meta.ClosedMs = nowMs
	// Readers asleep on the shard learn it closed (and where its children
	// are) on their next read, instead of waiting for a record that never
	// comes. That read waits for the reshard to finish (st.mu).
	sh.wake()
}

func (s *Store) addShard(st *stream, start, end u128, parents []uint32, nowMs int64) *shard {
	sm := &shardMeta{Index: st.meta.NextShard, Parents: parents, StartHash: u128json(start), EndHash: u128json(end), CreatedMs: nowMs}
	st.meta.NextShard++
	st.meta.Shards = append(st.meta.Shards, sm)
	sh := s.newShardState(sm)
	st.shards[sm.Index] = sh
	return sh
}

// SplitShard closes a shard and opens two children: one from its starting
// hash key to newStartingHashKey-1, one from newStartingHashKey to its end.
func (s *Store) SplitShard(streamName, shardID, newStartingHashKey string) error {
	return s.updateStream(streamName, func(st *stream) error {
		if err := s.splitLocked(st, shardID, newStartingHashKey, true); err != nil {
			return err
		}
		return s.transition(st, StatusUpdating)
	})
}

func (s *Store) splitLocked(st *stream, shardID, newStartingHashKey string, byUser bool) error {
	if byUser {
		if st.meta.Mode == ModeOnDemand {
			return errf(CodeValidation, "SplitShard is not supported for stream %s because it is in ON_DEMAND mode.", st.meta.Name)
		}
		if err := s.reshardable(st); err != nil {
			return err
		}
	}
	sh, err := s.shardOf(st, shardID)
	if err != nil {
		return err
	}
	if sh.meta.Closed {
		return errf(CodeResourceInUse, "Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", shardID, st.meta.Name, s.opts.AccountID)
	}
	key, ok := parseU128(newStartingHashKey)
	start, end := u128(sh.meta.StartHash), u128(sh.meta.EndHash)
	if !ok || key.cmp(start.add64(1)) <= 0 || key.cmp(end) >= 0 {
		return errf(CodeInvalidArgument, "NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
			newStartingHashKey, shardID, st.meta.Name, s.opts.AccountID, start, end)
	}
	if s.openShardsWith(st)+1 > s.opts.ShardLimit {
		return errf(CodeLimitExceeded, "This request would exceed the shard limit for the account %s. Limit: %d.", s.opts.AccountID, s.opts.ShardLimit)
	}
	nowMs := s.now().UnixMilli()
	s.closeShard(sh, nowMs)
	s.addShard(st, start, key.sub64(1), []uint32{sh.meta.Index}, nowMs)
	s.addShard(st, key, end, []uint32{sh.meta.Index}, nowMs)
	st.rebuildRouting()
	st.meta.PeakOpenShards = max(st.meta.PeakOpenShards, len(st.open))
	return s.saveMeta(st)
}

// openShardsWith counts open shards across streams, with st's lock
// already held by the caller.
func (s *Store) openShardsWith(st *stream) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, o := range s.byName {
		if o == st {
			n += len(st.open)
			continue
		}
		o.mu.RLock()
		n += len(o.open)
		o.mu.RUnlock()
	}
	return n
}

// MergeShards closes two adjacent open shards and opens one child covering
// both ranges, whose parents are shardID and adjacentShardID.
func (s *Store) MergeShards(streamName, shardID, adjacentShardID string) error {
	return s.updateStream(streamName, func(st *stream) error {
		if st.meta.Mode == ModeOnDemand {
			return errf(CodeValidation, "MergeShards is not supported for stream %s because it is in ON_DEMAND mode.", st.meta.Name)
		}
		if err := s.reshardable(st); err != nil {
			return err
		}
		a, err := s.shardOf(st, shardID)
		if err != nil {
			return err
		}
		b, err := s.shardOf(st, adjacentShardID)
		if err != nil {
			return err
		}
		if a.meta.Closed || b.meta.Closed {
			return errf(CodeResourceInUse, "Shards %s and %s in stream %s under account %s have already been merged or split, and thus are not eligible for merging.", shardID, adjacentShardID, st.meta.Name, s.opts.AccountID)
		}
		lo, hi := a, b
		if u128(b.meta.StartHash).cmp(u128(a.meta.StartHash)) < 0 {
			lo, hi = b, a
		}
		if a == b || u128(lo.meta.EndHash).add64(1) != u128(hi.meta.StartHash) {
			return errf(CodeInvalidArgument, "Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging", shardID, adjacentShardID, st.meta.Name, s.opts.AccountID)
		}
		nowMs := s.now().UnixMilli()
		s.closeShard(a, nowMs)
		s.closeShard(b, nowMs)
		s.addShard(st, u128(lo.meta.StartHash), u128(hi.meta.EndHash), []uint32{a.meta.Index, b.meta.Index}, nowMs)
		st.rebuildRouting()
		if err := s.saveMeta(st); err != nil {
			return err
		}
		return s.transition(st, StatusUpdating)
	})
}

// UpdateShardCount rescales a PROVISIONED stream to target shards of equal
// width (UNIFORM_SCALING). Every open shard closes; each new shard names as
// parents the old shards its range overlaps (the first two appear as
// ParentShardId and AdjacentParentShardId; ChildShards lists all of them).
// As on AWS: at most 10 calls in 24 hours, at most double, at least half.
func (s *Store) UpdateShardCount(streamName string, target int) (UpdateShardCountOutput, error) {
	done, err := s.begin()
	if err != nil {
		return UpdateShardCountOutput{}, err
	}
	defer done()
	st, err := s.lookup(streamName)
	if err != nil {
		return UpdateShardCountOutput{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.meta.Mode == ModeOnDemand {
		return UpdateShardCountOutput{}, errf(CodeValidation, "UpdateShardCount is not supported for stream %s because it is in ON_DEMAND mode.", st.meta.Name)
	}
	if err := s.reshardable(st); err != nil {
		return UpdateShardCountOutput{}, err
	}
	cur := len(st.open)
	if target < 1 {
		return UpdateShardCountOutput{}, errf(CodeValidation, "1 validation error detected: Value '%d' at 'targetShardCount' failed to satisfy constraint: Member must have value greater than or equal to 1", target)
	}
	if target > 2*cur {
		return UpdateShardCountOutput{}, errf(CodeLimitExceeded, "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: %d Target shard count: %d", cur, target)
	}
	if 2*target < cur {
		return UpdateShardCountOutput{}, errf(CodeLimitExceeded, "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: %d Target shard count: %d", cur, target)
	}
	if s.openShardsWith(st)-cur+target > s.opts.ShardLimit {
		return UpdateShardCountOutput{}, errf(CodeLimitExceeded, "This request would exceed the shard limit for the account %s. Limit: %d.", s.opts.AccountID, s.opts.ShardLimit)
	}
	now := s.now()
	recent := st.meta.ScaleEventsMs[:0]
	for _, t := range st.meta.ScaleEventsMs {
		if now.Sub(time.UnixMilli(t)) < 24*time.Hour {
			recent = append(recent, t)
		}
	}
	st.meta.ScaleEventsMs = recent
	if len(recent) >= 10 {
		return UpdateShardCountOutput{}, errf(CodeLimitExceeded, "Stream %s under account %s has already been rescaled 10 times in the last 24 hours.", st.meta.Name, s.opts.AccountID)
	}
	out := UpdateShardCountOutput{StreamName: st.meta.Name, StreamARN: s.streamARN(st.meta.Name), CurrentShardCount: cur, TargetShardCount: target}
	if target == cur {
		return out, nil
	}
	nowMs := now.UnixMilli()
	old := append([]*shard(nil), st.open...)
	for _, sh := range old {
		s.closeShard(sh, nowMs)
	}
	for _, r := range uniformRanges(target) {
		var parents []uint32
		for _, p := range old {
			if u128(p.meta.StartHash).cmp(r[1]) <= 0 && r[0].cmp(u128(p.meta.EndHash)) <= 0 {
				parents = append(parents, p.meta.Index)
			}
		}
		s.addShard(st, r[0], r[1], parents, nowMs)
	}
	st.rebuildRouting()
	st.meta.ScaleEventsMs = append(st.meta.ScaleEventsMs, nowMs)
	st.meta.PeakOpenShards = max(st.meta.PeakOpenShards, target)
	if err := s.saveMeta(st); err != nil {
		return UpdateShardCountOutput{}, err
	}
	return out, s.transition(st, StatusUpdating)
}

// UpdateStreamMode switches a stream between PROVISIONED and ON_DEMAND.
func (s *Store) UpdateStreamMode(streamName string, mode StreamMode) error {
	if mode != ModeProvisioned && mode != ModeOnDemand {
		return errf(CodeValidation, "1 validation error detected: Value '%s' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]", mode)
	}
	return s.updateStream(streamName, func(st *stream) error {
		if err := s.reshardable(st); err != nil {
			return err
		}
		if st.meta.Mode == mode {
			return errf(CodeInvalidArgument, "Stream %s under account %s is already in %s mode.", st.meta.Name, s.opts.AccountID, mode)
		}
		st.meta.Mode = mode
		if err := s.saveMeta(st); err != nil {
			return err
		}
		return s.transition(st, StatusUpdating)
	})
}
