package store

import (
	"sync"
	"time"
)

// tokenBuckets holds two token buckets that are taken from together — bytes
// and operations — so a request is either admitted against both or neither.
// (golang.org/x/time/rate limits one quantity at a time; admitting a record
// needs both at once.)
type tokenBuckets struct {
	mu             sync.Mutex
	ops, bytes     float64
	opRate, byRate float64
	opCap, byCap   float64
	last           time.Time
}

func newTokenBuckets(opsPerSec, bytesPerSec int, burstSeconds float64) tokenBuckets {
	return tokenBuckets{
		opRate: float64(opsPerSec), byRate: float64(bytesPerSec),
		opCap: float64(opsPerSec) * burstSeconds, byCap: float64(bytesPerSec) * burstSeconds,
		ops: float64(opsPerSec) * burstSeconds, bytes: float64(bytesPerSec) * burstSeconds,
	}
}

func (b *tokenBuckets) refill(now time.Time) {
	if !b.last.IsZero() {
		dt := now.Sub(b.last).Seconds()
		if dt > 0 {
			b.ops = min(b.opCap, b.ops+dt*b.opRate)
			b.bytes = min(b.byCap, b.bytes+dt*b.byRate)
		}
	}
	b.last = now
}

// take admits ops operations of n bytes if both buckets hold enough.
func (b *tokenBuckets) take(now time.Time, ops, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.ops < float64(ops) || b.bytes < float64(n) {
		return false
	}
	b.ops -= float64(ops)
	b.bytes -= float64(n)
	return true
}

// takeOpIfPositive admits one operation when the byte bucket is not in debt;
// the bytes are charged afterwards with charge, since a read's size is known
// only once it is done (as Kinesis does for GetRecords).
func (b *tokenBuckets) takeOpIfPositive(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.ops < 1 || b.bytes <= 0 {
		return false
	}
	b.ops--
	return true
}

func (b *tokenBuckets) charge(n int) {
	b.mu.Lock()
	b.bytes -= float64(n)
	b.mu.Unlock()
}
