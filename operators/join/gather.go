package join

import (
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators/relational"
)

// gather builds one output column from rows of several source arrays of
// type dt: value k is srcs[seg[k]] at row[k], or NULL when seg[k] < 0.
// Joins use it to assemble output batches from the rows they hold.
func gather(mem memory.Allocator, dt arrow.DataType, srcs []arrow.Array, seg, row []int32) arrow.Array {
	n := len(seg)
	switch dt.ID() {
	case arrow.INT8:
		return gatherFixed[int8](dt, srcs, seg, row)
	case arrow.INT16:
		return gatherFixed[int16](dt, srcs, seg, row)
	case arrow.INT32, arrow.DATE32, arrow.TIME32:
		return gatherFixed[int32](dt, srcs, seg, row)
	case arrow.INT64, arrow.TIMESTAMP, arrow.DURATION:
		return gatherFixed[int64](dt, srcs, seg, row)
	case arrow.FLOAT32:
		return gatherFixed[float32](dt, srcs, seg, row)
	case arrow.FLOAT64:
		return gatherFixed[float64](dt, srcs, seg, row)
	case arrow.DECIMAL128:
		return gatherFixed[decimal128.Num](dt, srcs, seg, row)
	case arrow.BOOL:
		return gatherBool(srcs, seg, row)
	case arrow.STRING, arrow.BINARY:
		return gatherBytes(dt, srcs, seg, row)
	case arrow.NULL:
		return array.NewNull(n)
	}
	// Other types (ROW values) are rare in joins: concatenate one-row slices.
	parts := make([]arrow.Array, n)
	var nullArr arrow.Array
	for k := range seg {
		if seg[k] < 0 {
			if nullArr == nil {
				b := array.NewBuilder(mem, dt)
				b.AppendNull()
				nullArr = b.NewArray()
				b.Release()
			}
			parts[k] = nullArr
			continue
		}
		parts[k] = array.NewSlice(srcs[seg[k]], int64(row[k]), int64(row[k])+1)
	}
	if n == 0 {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		return b.NewArray()
	}
	out, err := array.Concatenate(parts, mem)
	for k, p := range parts {
		if seg[k] >= 0 {
			p.Release()
		}
	}
	if nullArr != nil {
		nullArr.Release()
	}
	if err != nil {
		panic(err) // same type everywhere: cannot fail
	}
	return out
}

// validityOf returns a's validity bitmap and its bit offset, or nil when
// every value is valid.
func validityOf(a arrow.Array) ([]byte, int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	b := a.Data().Buffers()[0]
	if b == nil {
		return nil, 0
	}
	return b.Bytes(), a.Data().Offset()
}

// gatherValidity builds the output validity bitmap (nil when all valid)
// and the null count.
func gatherValidity(srcs []arrow.Array, seg, row []int32) (*memory.Buffer, int) {
	n := len(seg)
	vals := make([][]byte, len(srcs))
	offs := make([]int, len(srcs))
	any := false
	for i, s := range srcs {
		vals[i], offs[i] = validityOf(s)
		if vals[i] != nil {
			any = true
		}
	}
	if !any {
		for _, s := range seg {
			if s < 0 {
				any = true
				break
			}
		}
		if !any {
			return nil, 0
		}
	}
	bits := make([]byte, bitutil.BytesForBits(int64(n)))
	nulls := 0
	for k := range seg {
		s := seg[k]
		ok := s >= 0
		if ok {
			if v := vals[s]; v != nil {
				ok = bitutil.BitIsSet(v, offs[s]+int(row[k]))
			}
		}
		if ok {
			bitutil.SetBit(bits, k)
		} else {
			nulls++
		}
	}
	return memory.NewBufferBytes(bits), nulls
}

func fixedValues[T any](a arrow.Array) []T {
	d := a.Data()
	buf := d.Buffers()[1]
	if buf == nil || buf.Len() == 0 {
		return nil
	}
	var zero T
	all := unsafe.Slice((*T)(unsafe.Pointer(&buf.Bytes()[0])), buf.Len()/int(unsafe.Sizeof(zero)))
	return all[d.Offset() : d.Offset()+d.Len()]
}

func gatherFixed[T any](dt arrow.DataType, srcs []arrow.Array, seg, row []int32) arrow.Array {
	n := len(seg)
	vals := make([][]T, len(srcs))
	for i, s := range srcs {
		vals[i] = fixedValues[T](s)
	}
	out := make([]T, n)
	for k := range seg {
		if s := seg[k]; s >= 0 {
			out[k] = vals[s][row[k]]
		}
	}
	valid, nulls := gatherValidity(srcs, seg, row)
	var zero T
	bytes := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), n*int(unsafe.Sizeof(zero)))
	data := array.NewData(dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(bytes)}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

func gatherBool(srcs []arrow.Array, seg, row []int32) arrow.Array {
	n := len(seg)
	bits := make([]byte, bitutil.BytesForBits(int64(n)))
	for k := range seg {
		if s := seg[k]; s >= 0 && srcs[s].(*array.Boolean).Value(int(row[k])) {
			bitutil.SetBit(bits, k)
		}
	}
	valid, nulls := gatherValidity(srcs, seg, row)
	data := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{valid, memory.NewBufferBytes(bits)}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// bytesOf returns the offsets and value bytes of a string or binary array.
func bytesOf(a arrow.Array) ([]int32, []byte) {
	switch s := a.(type) {
	case *array.String:
		return s.ValueOffsets(), s.ValueBytes()
	case *array.Binary:
		return s.ValueOffsets(), s.ValueBytes()
	}
	return nil, nil
}

func gatherBytes(dt arrow.DataType, srcs []arrow.Array, seg, row []int32) arrow.Array {
	n := len(seg)
	offs := make([][]int32, len(srcs))
	data := make([][]byte, len(srcs))
	for i, s := range srcs {
		offs[i], data[i] = bytesOf(s)
	}
	// One pass reads each value's bounds (a random access into a large
	// table is a cache miss), the second copies.
	lo := make([]int32, n)
	ln := make([]int32, n)
	total := 0
	for k := range seg {
		if s := seg[k]; s >= 0 {
			o := offs[s]
			a, b := o[row[k]]-o[0], o[row[k]+1]-o[0]
			lo[k], ln[k] = a, b-a
			total += int(b - a)
		}
	}
	outOffs := make([]int32, n+1)
	outData := make([]byte, total)
	pos := 0
	for k := range seg {
		outOffs[k] = int32(pos)
		if s := seg[k]; s >= 0 {
			src := data[s][lo[k] : lo[k]+ln[k]]
			if len(src) <= 16 { // short values: a loop beats a memmove call
				dst := outData[pos : pos+len(src)]
				for i := range src {
					dst[i] = src[i]
				}
			} else {
				copy(outData[pos:], src)
			}
			pos += len(src)
		}
	}
	outOffs[n] = int32(pos)
	valid, nulls := gatherValidity(srcs, seg, row)
	ob := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(outOffs))), 4*(n+1))
	d := array.NewData(dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(ob), memory.NewBufferBytes(outData)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// sendKept sends the rows k of rec for which keep(k) holds, if there are
// any.
func sendKept(mem memory.Allocator, send func(arrow.Record) error, rec arrow.Record, keep func(k int) bool) error {
	var rows []int
	for k := range int(rec.NumRows()) {
		if keep(k) {
			rows = append(rows, k)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	kept, err := relational.Take(mem, rec, rows)
	if err != nil {
		return err
	}
	defer kept.Release()
	return send(kept)
}
