package relational

import (
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Gather builds one column of type dt from rows of several source arrays:
// value k is srcs[seg[k]] at row[k], or NULL when seg[k] < 0. With seg nil,
// every value comes from srcs[0]. Take and the joins assemble their output
// batches with it; the buffers are Go memory, released by the collector.
func Gather(mem memory.Allocator, dt arrow.DataType, srcs []arrow.Array, seg, row []int32) arrow.Array {
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
		return array.NewNull(len(row))
	}
	return gatherSlices(mem, dt, srcs, seg, row)
}

// gatherSlices serves the other types (ROW values, which are rare here):
// it concatenates one-row slices.
func gatherSlices(mem memory.Allocator, dt arrow.DataType, srcs []arrow.Array, seg, row []int32) arrow.Array {
	n := len(row)
	if n == 0 {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		return b.NewArray()
	}
	parts := make([]arrow.Array, n)
	var nullArr arrow.Array
	for k := range row {
		s := segOf(seg, k)
		if s < 0 {
			if nullArr == nil {
				b := array.NewBuilder(mem, dt)
				b.AppendNull()
				nullArr = b.NewArray()
				b.Release()
			}
			parts[k] = nullArr
			continue
		}
		parts[k] = array.NewSlice(srcs[s], int64(row[k]), int64(row[k])+1)
	}
	out, err := array.Concatenate(parts, mem)
	for k, p := range parts {
		if segOf(seg, k) >= 0 {
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

func segOf(seg []int32, k int) int32 {
	if seg == nil {
		return 0
	}
	return seg[k]
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
	n := len(row)
	vals := make([][]byte, len(srcs))
	offs := make([]int, len(srcs))
	anyNull := false
	for i, s := range srcs {
		vals[i], offs[i] = validityOf(s)
		if vals[i] != nil {
			anyNull = true
		}
	}
	if !anyNull {
		for _, s := range seg {
			if s < 0 {
				anyNull = true
				break
			}
		}
		if !anyNull {
			return nil, 0
		}
	}
	bits := make([]byte, bitutil.BytesForBits(int64(n)))
	nulls := 0
	for k := range row {
		s := segOf(seg, k)
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
	n := len(row)
	out := make([]T, n)
	if seg == nil {
		vals := fixedValues[T](srcs[0])
		for k, r := range row {
			out[k] = vals[r]
		}
	} else {
		vals := make([][]T, len(srcs))
		for i, s := range srcs {
			vals[i] = fixedValues[T](s)
		}
		for k, s := range seg {
			if s >= 0 {
				out[k] = vals[s][row[k]]
			}
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
	n := len(row)
	bits := make([]byte, bitutil.BytesForBits(int64(n)))
	for k := range row {
		if s := segOf(seg, k); s >= 0 && srcs[s].(*array.Boolean).Value(int(row[k])) {
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
	if seg == nil {
		return takeBytes(dt, srcs[0], row)
	}
	n := len(row)
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
	for k := range row {
		if s := segOf(seg, k); s >= 0 {
			o := offs[s]
			a, b := o[row[k]]-o[0], o[row[k]+1]-o[0]
			lo[k], ln[k] = a, b-a
			total += int(b - a)
		}
	}
	outOffs := make([]int32, n+1)
	outData := make([]byte, total)
	pos := 0
	for k := range row {
		outOffs[k] = int32(pos)
		if s := segOf(seg, k); s >= 0 {
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

// takeBytes is gatherBytes from one source, the case of a filter: a run
// of consecutive rows is one copy of their bytes, its offsets shifted.
func takeBytes(dt arrow.DataType, src arrow.Array, row []int32) arrow.Array {
	n := len(row)
	offs, data := bytesOf(src)
	base := offs[0]
	total := 0
	for _, r := range row {
		total += int(offs[r+1] - offs[r])
	}
	outOffs := make([]int32, n+1)
	outData := make([]byte, 0, total)
	for k := 0; k < n; {
		end := k + 1
		for end < n && row[end] == row[end-1]+1 {
			end++
		}
		lo, hi := offs[row[k]], offs[row[end-1]+1]
		shift := int32(len(outData)) - lo
		for i := k; i < end; i++ {
			outOffs[i] = offs[row[i]] + shift
		}
		outData = append(outData, data[lo-base:hi-base]...)
		k = end
	}
	outOffs[n] = int32(len(outData))
	valid, nulls := gatherValidity([]arrow.Array{src}, nil, row)
	ob := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(outOffs))), 4*(n+1))
	d := array.NewData(dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(ob), memory.NewBufferBytes(outData)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
