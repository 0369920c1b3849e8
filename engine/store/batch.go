package store

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// A record value holds the records that one put wrote to one shard, with
// consecutive counters ending at the counter in its key:
//
//	version:1 | arrivalMs:8 | count:uvarint | count × (keyLen:uvarint key dataLen:uvarint data)
//
// One value per put per shard keeps Pebble's per-key overhead off the hot path.
const batchVersion = 1

func encodeBatch(dst []byte, arrivalMs int64, recs []PutRecordInput, idx []int) []byte {
	dst = append(dst, batchVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(arrivalMs))
	dst = binary.AppendUvarint(dst, uint64(len(idx)))
	for _, i := range idx {
		r := &recs[i]
		dst = binary.AppendUvarint(dst, uint64(len(r.PartitionKey)))
		dst = append(dst, r.PartitionKey...)
		dst = binary.AppendUvarint(dst, uint64(len(r.Data)))
		dst = append(dst, r.Data...)
	}
	return dst
}

var errCorruptBatch = errors.New("corrupt record value")

// batchReader walks a record value. The strings and slices it yields point
// into buf, which the caller must own and never modify.
type batchReader struct {
	buf       []byte
	arrivalMs int64
	count     uint64
	off       int
	read      uint64
}

func newBatchReader(buf []byte) (batchReader, error) {
	if len(buf) < 10 || buf[0] != batchVersion {
		return batchReader{}, errCorruptBatch
	}
	arrival := int64(binary.BigEndian.Uint64(buf[1:9]))
	count, n := binary.Uvarint(buf[9:])
	if n <= 0 {
		return batchReader{}, errCorruptBatch
	}
	return batchReader{buf: buf, arrivalMs: arrival, count: count, off: 9 + n}, nil
}

// next returns the next record's key and data; ok is false at the end.
func (b *batchReader) next() (key string, data []byte, ok bool, err error) {
	if b.read >= b.count {
		return "", nil, false, nil
	}
	kl, n := binary.Uvarint(b.buf[b.off:])
	if n <= 0 || uint64(len(b.buf)-b.off-n) < kl {
		return "", nil, false, errCorruptBatch
	}
	b.off += n
	kb := b.buf[b.off : b.off+int(kl)]
	b.off += int(kl)
	dl, n := binary.Uvarint(b.buf[b.off:])
	if n <= 0 || uint64(len(b.buf)-b.off-n) < dl {
		return "", nil, false, errCorruptBatch
	}
	b.off += n
	data = b.buf[b.off : b.off+int(dl) : b.off+int(dl)]
	b.off += int(dl)
	b.read++
	if len(kb) > 0 {
		key = unsafe.String(&kb[0], len(kb))
	}
	return key, data, true, nil
}
