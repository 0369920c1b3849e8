package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// streamMeta is a stream's persisted description (JSON under m/<name>).
type streamMeta struct {
	Name           string            `json:"name"`
	ID             uint32            `json:"id"`
	Status         StreamStatus      `json:"status"`
	Mode           StreamMode        `json:"mode"`
	RetentionHours int               `json:"retentionHours"`
	CreatedMs      int64             `json:"createdMs"`
	Shards         []*shardMeta      `json:"shards"`
	NextShard      uint32            `json:"nextShard"`
	Tags           map[string]string `json:"tags,omitempty"`
	Consumers      []*consumerMeta   `json:"consumers,omitempty"`
	// ScaleEventsMs are the times of recent UpdateShardCount calls (24 h limit).
	ScaleEventsMs []int64 `json:"scaleEventsMs,omitempty"`
	// PeakOpenShards is the most open shards the stream has had (on-demand cap).
	PeakOpenShards int `json:"peakOpenShards,omitempty"`
}

// shardMeta is one shard's persisted description.
type shardMeta struct {
	Index     uint32   `json:"index"`
	Parents   []uint32 `json:"parents,omitempty"`
	StartHash u128json `json:"startHash"`
	EndHash   u128json `json:"endHash"`
	CreatedMs int64    `json:"createdMs"`
	// Closed shards accept no records; EndCounter is their last counter.
	Closed     bool   `json:"closed,omitempty"`
	EndCounter uint64 `json:"endCounter,omitempty"`
	ClosedMs   int64  `json:"closedMs,omitempty"`
	// TrimmedThrough is the highest counter retention has removed, so the
	// counter is never reused even when every record value is gone.
	TrimmedThrough uint64 `json:"trimmedThrough,omitempty"`
}

type consumerMeta struct {
	Name      string         `json:"name"`
	CreatedMs int64          `json:"createdMs"`
	Status    ConsumerStatus `json:"status"`
}

// u128json stores a u128 as its decimal string.
type u128json u128

func (u u128json) MarshalText() ([]byte, error) { return []byte(u128(u).String()), nil }

func (u *u128json) UnmarshalText(b []byte) error {
	v, ok := parseU128(string(b))
	if !ok {
		return errCorruptBatch
	}
	*u = u128json(v)
	return nil
}

// stream is a stream's in-memory state.
type stream struct {
	// mu guards meta and the shard tables. PutRecords holds it for reading
	// from routing until its records are durable, so a reshard (which holds
	// it for writing) sees every parent's final counter.
	mu     sync.RWMutex
	meta   streamMeta
	shards map[uint32]*shard
	open   []*shard // open shards by StartHash, for routing

	// statusTimer completes a delayed lifecycle transition.
	statusTimer *time.Timer

	recordsIn, bytesIn, recordsOut, bytesOut atomic.Uint64
	writeThrottles, readThrottles            atomic.Uint64
}

// shard is a shard's in-memory state.
type shard struct {
	meta *shardMeta
	// committed is the last durable counter; readers never go past it.
	committed atomic.Uint64
	// lastArrivalMs keeps arrival times monotonic within the shard.
	lastArrivalMs atomic.Int64
	// lastReadBehindMs is the MillisBehindLatest of the last GetRecords.
	lastReadBehindMs atomic.Int64

	writeLimit, readLimit tokenBuckets

	// signal is closed, and replaced, whenever new records become readable.
	signal atomic.Pointer[chan struct{}]

	// window counters for the on-demand autoscaler.
	winBytes, winRecords atomic.Uint64
}

func (s *shard) id() string { return shardIDString(s.meta.Index) }

func (s *shard) contains(h u128) bool {
	return u128(s.meta.StartHash).cmp(h) <= 0 && h.cmp(u128(s.meta.EndHash)) <= 0
}

// wake tells every waiter that new records are readable.
func (s *shard) wake() {
	ch := make(chan struct{})
	if old := s.signal.Swap(&ch); old != nil {
		close(*old)
	}
}

// waitChan returns a channel closed when records after the current tip arrive.
func (s *shard) waitChan() <-chan struct{} {
	for {
		if p := s.signal.Load(); p != nil {
			return *p
		}
		ch := make(chan struct{})
		if s.signal.CompareAndSwap(nil, &ch) {
			return ch
		}
	}
}
