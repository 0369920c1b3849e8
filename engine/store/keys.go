package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// Pebble key layout. Everything a stream owns sits under its numeric id (an
// incarnation number never reused), so deleting a stream is a few range
// deletes and a re-created stream never sees its predecessor's data.
//
//	g/<name>                             global values (next stream id, iterator key)
//	m/<stream name>                      stream metadata (JSON)
//	r<sid:4><shard:4><lastCounter:8>     one put's records for one shard (see batch.go)
//	t<sid:4><shard:4><arrivalMs:8><lastCounter:8>   time index, one entry per record value
//	c<sid:4><consumer>\x00<shard:4>      a consumer's checkpoint (sequence number)
//	a<key>                               application state (see txn.go), opaque to the store
const (
	prefixGlobal     = 'g'
	prefixMeta       = 'm'
	prefixRecords    = 'r'
	prefixTimeIndex  = 't'
	prefixCheckpoint = 'c'
	prefixAppState   = 'a'
)

var (
	keyNextStreamID = []byte("g/next-stream-id")
	keyIteratorKey  = []byte("g/iterator-key")
)

func metaKey(name string) []byte { return append([]byte{prefixMeta}, name...) }

func shardPrefix(prefix byte, sid, shard uint32) []byte {
	k := make([]byte, 9, 33)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], sid)
	binary.BigEndian.PutUint32(k[5:], shard)
	return k
}

func streamPrefix(prefix byte, sid uint32) []byte {
	k := make([]byte, 5)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], sid)
	return k
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func appStateKey(key string) []byte { return append([]byte{prefixAppState}, key...) }

func recordKey(sid, shard uint32, lastCounter uint64) []byte {
	return binary.BigEndian.AppendUint64(shardPrefix(prefixRecords, sid, shard), lastCounter)
}

func timeKey(sid, shard uint32, arrivalMs int64, lastCounter uint64) []byte {
	k := binary.BigEndian.AppendUint64(shardPrefix(prefixTimeIndex, sid, shard), uint64(arrivalMs))
	return binary.BigEndian.AppendUint64(k, lastCounter)
}

func checkpointKey(sid uint32, consumer string, shard uint32) []byte {
	k := append(streamPrefix(prefixCheckpoint, sid), consumer...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, shard)
}

// Sequence numbers are 128-bit integers written in decimal:
// stream id (32 bits) | shard index (32 bits) | per-shard counter (64 bits).
// Counter 0 is the shard's starting sequence number; records start at 1.
func seqNum(sid, shard uint32, counter uint64) u128 {
	return u128{uint64(sid)<<32 | uint64(shard), counter}
}

func seqString(sid, shard uint32, counter uint64) string { return seqNum(sid, shard, counter).String() }

// seqFormatter writes the sequence numbers of a read, which are mostly
// consecutive, faster than seqString: it adds one to the previous number's
// decimal digits instead of dividing a 128-bit number again, and carves
// the strings out of shared chunks instead of allocating each. The zero
// value is ready to use.
type seqFormatter struct {
	sid, shard uint32
	counter    uint64
	digits     []byte // the decimal of the last number formatted; nil before the first
	chunk      []byte // free space for strings
}

// seqChunk is how much string space seqFormatter allocates at a time.
const seqChunk = 16 << 10

func (f *seqFormatter) format(sid, shard uint32, counter uint64) string {
	if f.digits != nil && sid == f.sid && shard == f.shard && counter == f.counter+1 && increment(f.digits) {
		f.counter = counter
	} else {
		f.sid, f.shard, f.counter = sid, shard, counter
		f.digits = append(f.digits[:0], seqString(sid, shard, counter)...)
	}
	if len(f.chunk) < len(f.digits) {
		f.chunk = make([]byte, max(seqChunk, len(f.digits)))
	}
	n := copy(f.chunk, f.digits)
	s := unsafe.String(&f.chunk[0], n)
	f.chunk = f.chunk[n:]
	return s
}

// increment adds one to a decimal number in place. It returns false,
// leaving d unspecified, when the result needs one more digit.
func increment(d []byte) bool {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] != '9' {
			d[i]++
			return true
		}
		d[i] = '0'
	}
	return false
}

var errBadSequence = errors.New("not a kda sequence number")

// parseSeq splits a decimal sequence number into its parts.
func parseSeq(s string) (sid, shard uint32, counter uint64, err error) {
	v, ok := parseU128(s)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%q: %w", s, errBadSequence)
	}
	return uint32(v.hi >> 32), uint32(v.hi), v.lo, nil
}

func shardIDString(idx uint32) string { return fmt.Sprintf("shardId-%012d", idx) }

// parseShardID accepts "shardId-000000000007" and, as AWS does, a bare "7"
// is not accepted; the index must fit 32 bits.
func parseShardID(id string) (uint32, bool) {
	const p = "shardId-"
	if len(id) <= len(p) || id[:len(p)] != p || len(id) > len(p)+12 {
		return 0, false
	}
	var n uint64
	for _, c := range id[len(p):] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 0xffffffff {
		return 0, false
	}
	return uint32(n), true
}
