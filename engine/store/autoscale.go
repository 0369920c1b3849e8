package store

import (
	"time"
)

// autoscaleLoop splits the busy shards of ON_DEMAND streams: a shard whose
// write load over one interval reached Options.OnDemand.ScaleUpUtilisation of
// its capacity is split at the middle of its hash range. A stream grows to at
// most twice its previous peak of open shards in one step, as AWS allows.
func (s *Store) autoscaleLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.OnDemand.ScaleCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.ScaleOnDemand(s.opts.OnDemand.ScaleCheckInterval)
		case <-s.quit:
			return
		}
	}
}

// ScaleOnDemand evaluates the write load since the last call (window long)
// and splits busy shards of ON_DEMAND streams. It runs in the background;
// tests call it directly.
func (s *Store) ScaleOnDemand(window time.Duration) {
	done, err := s.begin()
	if err != nil {
		return
	}
	defer done()
	s.mu.RLock()
	streams := make([]*stream, 0, len(s.byName))
	for _, st := range s.byName {
		streams = append(streams, st)
	}
	s.mu.RUnlock()
	t := s.opts.Throughput
	secs := window.Seconds()
	for _, st := range streams {
		st.mu.Lock()
		var busy []*shard
		for _, sh := range st.open {
			b, r := sh.winBytes.Swap(0), sh.winRecords.Swap(0)
			u := max(float64(b)/(float64(t.WriteBytesPerSecond)*secs), float64(r)/(float64(t.WriteRecordsPerSecond)*secs))
			if st.meta.Mode == ModeOnDemand && st.meta.Status == StatusActive && u >= s.opts.OnDemand.ScaleUpUtilisation {
				busy = append(busy, sh)
			}
		}
		limit := 2 * max(st.meta.PeakOpenShards, len(st.open))
		for _, sh := range busy {
			if len(st.open)+1 > limit {
				break
			}
			start, end := u128(sh.meta.StartHash), u128(sh.meta.EndHash)
			if end.sub(start).cmp(u128{0, 3}) < 0 {
				continue
			}
			mid := start.add(end.sub(start).rsh1()).add64(1)
			if err := s.splitLocked(st, sh.id(), mid.String(), false); err != nil {
				s.opts.Logger.Error("on-demand split", "stream", st.meta.Name, "shard", sh.id(), "err", err)
				continue
			}
			s.opts.Logger.Info("on-demand split", "stream", st.meta.Name, "shard", sh.id(), "open_shards", len(st.open))
		}
		st.mu.Unlock()
	}
}
