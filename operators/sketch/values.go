package sketch

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/sql/types"
)

// Items are kept as byte strings whose byte order is the SQL order of the
// values: integers and datetimes as big-endian int64 with the sign bit
// flipped, floats as their IEEE bits made order-preserving (-0 folded into
// 0, every NaN into one), DECIMAL as its 128 bits (same scale throughout a
// column, so the order holds), BOOLEAN as one byte, strings and binaries as
// their bytes. Ties of "count desc, then item" compare these strings.

// keyable reports whether values of t can be counted.
func keyable(t types.Type) error {
	switch t.Kind {
	case types.Boolean, types.TinyInt, types.SmallInt, types.Integer, types.BigInt, types.Real, types.Double,
		types.Decimal, types.Char, types.Varchar, types.Binary, types.Varbinary, types.Date, types.Time,
		types.Timestamp, types.Interval:
		return nil
	}
	return fmt.Errorf("values of type %s cannot be counted", t)
}

func putInt(buf []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(buf[:0], uint64(v)^(1<<63))
}

func getInt(k string) int64 { return int64(binary.BigEndian.Uint64([]byte(k)) ^ (1 << 63)) }

func putFloat(buf []byte, f float64) []byte {
	switch {
	case f == 0:
		f = 0
	case math.IsNaN(f):
		f = math.NaN()
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(buf[:0], b)
}

func getFloat(k string) float64 {
	b := binary.BigEndian.Uint64([]byte(k))
	if b>>63 == 1 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// keyAt encodes row i of col into buf and reports false for NULL.
func keyAt(col arrow.Array, i int, buf []byte) ([]byte, bool, error) {
	if col.IsNull(i) {
		return buf[:0], false, nil
	}
	switch a := col.(type) {
	case *array.Boolean:
		if a.Value(i) {
			return append(buf[:0], 1), true, nil
		}
		return append(buf[:0], 0), true, nil
	case *array.Int8:
		return putInt(buf, int64(a.Value(i))), true, nil
	case *array.Int16:
		return putInt(buf, int64(a.Value(i))), true, nil
	case *array.Int32:
		return putInt(buf, int64(a.Value(i))), true, nil
	case *array.Int64:
		return putInt(buf, a.Value(i)), true, nil
	case *array.Date32:
		return putInt(buf, int64(a.Value(i))), true, nil
	case *array.Time32:
		return putInt(buf, int64(a.Value(i))), true, nil
	case *array.Timestamp:
		return putInt(buf, int64(a.Value(i))), true, nil
	case *array.Duration:
		return putInt(buf, int64(a.Value(i))), true, nil
	case *array.Float32:
		return putFloat(buf, float64(a.Value(i))), true, nil
	case *array.Float64:
		return putFloat(buf, a.Value(i)), true, nil
	case *array.Decimal128:
		d := a.Value(i)
		buf = binary.BigEndian.AppendUint64(buf[:0], uint64(d.HighBits())^(1<<63))
		return binary.BigEndian.AppendUint64(buf, d.LowBits()), true, nil
	case *array.String:
		return append(buf[:0], a.Value(i)...), true, nil
	case *array.Binary:
		return append(buf[:0], a.Value(i)...), true, nil
	}
	return buf[:0], false, fmt.Errorf("cannot count values of arrow type %s", col.DataType())
}

// appendKey appends the value k encodes (as keyAt wrote it for type t) to b.
func appendKey(b array.Builder, t types.Type, k string) error {
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(k == "\x01")
	case *array.Int8Builder:
		bb.Append(int8(getInt(k)))
	case *array.Int16Builder:
		bb.Append(int16(getInt(k)))
	case *array.Int32Builder:
		bb.Append(int32(getInt(k)))
	case *array.Int64Builder:
		bb.Append(getInt(k))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(getInt(k)))
	case *array.Time32Builder:
		bb.Append(arrow.Time32(getInt(k)))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(getInt(k)))
	case *array.DurationBuilder:
		bb.Append(arrow.Duration(getInt(k)))
	case *array.Float32Builder:
		bb.Append(float32(getFloat(k)))
	case *array.Float64Builder:
		bb.Append(getFloat(k))
	case *array.Decimal128Builder:
		hi := int64(binary.BigEndian.Uint64([]byte(k[:8])) ^ (1 << 63))
		bb.Append(decimal128.New(hi, binary.BigEndian.Uint64([]byte(k[8:16]))))
	case *array.StringBuilder:
		bb.Append(k)
	case *array.BinaryBuilder:
		bb.Append([]byte(k))
	default:
		return fmt.Errorf("cannot output a %s item", t)
	}
	return nil
}

// hashKey is FNV-1a over the key's bytes followed by a 64-bit finalizer
// (the MurmurHash3 fmix64 constants), so that short keys such as 8-byte
// integers spread over all 64 bits. It is stable across runs: snapshots
// of hashes stay valid.
func hashKey(k []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range k {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
