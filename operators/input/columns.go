package input

import (
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// The decoder builds each output column of a batch in a column: Go slices
// of the column's values, a validity bitmap made only once a NULL comes,
// and for strings the offsets and bytes. finish hands the slices to Arrow
// as the array's buffers (Go memory, released by the collector) and starts
// the next batch with fresh ones of the same size. Compared with Arrow's
// builders, a value costs one store, and no buffer is cleared twice (the
// allocator, then the builder).
type column interface {
	// reserve makes room for n more values.
	reserve(n int)
	appendCell(c *cell)
	appendNull()
	// dropLast removes the value appended last.
	dropLast()
	// finish returns the values appended since the last finish.
	finish() arrow.Array
}

// newColumn returns the column for a field of kind k and Arrow type dt.
func newColumn(k types.Kind, dt arrow.DataType) column {
	switch k {
	case types.Boolean:
		return &boolColumn{}
	case types.TinyInt:
		return &intColumn[int8]{fixedColumn[int8]{dt: dt}}
	case types.SmallInt:
		return &intColumn[int16]{fixedColumn[int16]{dt: dt}}
	case types.Integer, types.Date, types.Time:
		return &intColumn[int32]{fixedColumn[int32]{dt: dt}}
	case types.BigInt, types.Timestamp:
		return &intColumn[int64]{fixedColumn[int64]{dt: dt}}
	case types.Real:
		return &floatColumn[float32]{fixedColumn[float32]{dt: dt}}
	case types.Double:
		return &floatColumn[float64]{fixedColumn[float64]{dt: dt}}
	case types.Decimal:
		return &decimalColumn{fixedColumn[decimal128.Num]{dt: dt}}
	case types.Char, types.Varchar, types.Binary, types.Varbinary:
		return &bytesColumn{dt: dt, offs: []int32{0}}
	}
	return &nullColumn{dt: dt}
}

// validity is a column's validity bitmap, nil while every value is valid.
type validity struct {
	bits  []byte
	nulls int
}

// set records whether value k (the k+1-th of the batch) is valid.
func (v *validity) set(k int, valid bool) {
	if valid {
		if v.bits != nil {
			v.grow(k)
			bitutil.SetBit(v.bits, k)
		}
		return
	}
	if v.bits == nil {
		// The first NULL: every value before it was valid.
		v.bits = make([]byte, bitutil.BytesForBits(int64(k+1)), bitutil.BytesForBits(int64(2*k+64)))
		for i := range k {
			bitutil.SetBit(v.bits, i)
		}
	}
	v.grow(k)
	v.nulls++
}

// drop forgets value k, the last one set.
func (v *validity) drop(k int) {
	if v.bits == nil {
		return
	}
	if bitutil.BitIsSet(v.bits, k) {
		bitutil.ClearBit(v.bits, k)
	} else {
		v.nulls--
	}
}

func (v *validity) grow(k int) {
	for len(v.bits) <= k/8 {
		v.bits = append(v.bits, 0)
	}
}

// take returns the bitmap as a buffer (nil when all valid) and the null
// count, and starts over.
func (v *validity) take() (*memory.Buffer, int) {
	if v.bits == nil {
		return nil, 0
	}
	b, n := memory.NewBufferBytes(v.bits), v.nulls
	*v = validity{}
	return b, n
}

// fixedColumn holds fixed-width values of Go type T.
type fixedColumn[T any] struct {
	dt    arrow.DataType
	vals  []T
	valid validity
	size  int // values in the last batch: the next one's first allocation
}

func (f *fixedColumn[T]) reserve(n int) {
	if cap(f.vals)-len(f.vals) < n {
		grown := make([]T, len(f.vals), len(f.vals)+max(n, f.size))
		copy(grown, f.vals)
		f.vals = grown
	}
}

// intColumn, floatColumn and decimalColumn take a cell's value from the
// field their kind uses.
type intColumn[T int8 | int16 | int32 | int64] struct{ fixedColumn[T] }

func (c *intColumn[T]) appendCell(x *cell) { c.appendValue(T(x.i)) }

type floatColumn[T float32 | float64] struct{ fixedColumn[T] }

func (c *floatColumn[T]) appendCell(x *cell) { c.appendValue(T(x.f)) }

type decimalColumn struct{ fixedColumn[decimal128.Num] }

func (c *decimalColumn) appendCell(x *cell) { c.appendValue(x.d) }

func (f *fixedColumn[T]) appendValue(v T) {
	f.valid.set(len(f.vals), true)
	f.vals = append(f.vals, v)
}

func (f *fixedColumn[T]) appendNull() {
	f.valid.set(len(f.vals), false)
	var zero T
	f.vals = append(f.vals, zero)
}

func (f *fixedColumn[T]) dropLast() {
	k := len(f.vals) - 1
	f.valid.drop(k)
	f.vals = f.vals[:k]
}

func (f *fixedColumn[T]) finish() arrow.Array {
	n := len(f.vals)
	var zero T
	var raw []byte
	if n > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f.vals))), n*int(unsafe.Sizeof(zero)))
	}
	valid, nulls := f.valid.take()
	f.vals, f.size = nil, n
	return makeArray(f.dt, n, nulls, valid, memory.NewBufferBytes(raw))
}

// boolColumn holds BOOLEAN values as a bitmap.
type boolColumn struct {
	bits  []byte
	n     int
	valid validity
}

func (b *boolColumn) reserve(n int) {
	if need := int(bitutil.BytesForBits(int64(b.n + n))); cap(b.bits) < need {
		grown := make([]byte, len(b.bits), need)
		copy(grown, b.bits)
		b.bits = grown
	}
}

func (b *boolColumn) push(v bool) {
	if b.n%8 == 0 {
		b.bits = append(b.bits, 0)
	}
	if v {
		bitutil.SetBit(b.bits, b.n)
	}
	b.n++
}

func (b *boolColumn) appendCell(c *cell) {
	b.valid.set(b.n, true)
	b.push(c.i != 0)
}

func (b *boolColumn) appendNull() {
	b.valid.set(b.n, false)
	b.push(false)
}

func (b *boolColumn) dropLast() {
	b.n--
	b.valid.drop(b.n)
	bitutil.ClearBit(b.bits, b.n)
	if b.n%8 == 0 {
		b.bits = b.bits[:len(b.bits)-1]
	}
}

func (b *boolColumn) finish() arrow.Array {
	valid, nulls := b.valid.take()
	n, bits := b.n, b.bits
	b.bits, b.n = nil, 0
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, valid, memory.NewBufferBytes(bits))
}

// bytesColumn holds CHAR, VARCHAR, BINARY and VARBINARY values.
type bytesColumn struct {
	dt    arrow.DataType
	offs  []int32 // offs[0] = 0; value k is data[offs[k]:offs[k+1]]
	data  []byte
	valid validity
	// perValue is the bytes per value of the last batch, to size the next
	// batch's data in one allocation.
	perValue float64
}

func (b *bytesColumn) reserve(n int) {
	if cap(b.offs)-len(b.offs) < n {
		grown := make([]int32, len(b.offs), len(b.offs)+n)
		copy(grown, b.offs)
		b.offs = grown
	}
	if want := int(b.perValue*float64(n)*1.125) + 64; cap(b.data)-len(b.data) < want {
		grown := make([]byte, len(b.data), len(b.data)+want)
		copy(grown, b.data)
		b.data = grown
	}
}

func (b *bytesColumn) appendCell(c *cell) { b.appendBytes(c.s) }

func (b *bytesColumn) appendBytes(v []byte) {
	b.valid.set(len(b.offs)-1, true)
	b.data = append(b.data, v...)
	b.offs = append(b.offs, int32(len(b.data)))
}

func (b *bytesColumn) appendString(v string) {
	b.valid.set(len(b.offs)-1, true)
	b.data = append(b.data, v...)
	b.offs = append(b.offs, int32(len(b.data)))
}

func (b *bytesColumn) appendNull() {
	b.valid.set(len(b.offs)-1, false)
	b.offs = append(b.offs, int32(len(b.data)))
}

func (b *bytesColumn) dropLast() {
	k := len(b.offs) - 2
	b.valid.drop(k)
	b.offs = b.offs[:k+1]
	b.data = b.data[:b.offs[k]]
}

func (b *bytesColumn) finish() arrow.Array {
	n := len(b.offs) - 1
	if n > 0 {
		b.perValue = float64(len(b.data)) / float64(n)
	}
	valid, nulls := b.valid.take()
	offs := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b.offs))), 4*len(b.offs))
	data := b.data
	b.offs, b.data = []int32{0}, nil
	d := array.NewData(b.dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(offs), memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// nullColumn is a column of a type the mapping never fills: all NULL.
type nullColumn struct {
	dt arrow.DataType
	n  int
}

func (c *nullColumn) reserve(int)        {}
func (c *nullColumn) appendCell(_ *cell) { c.n++ }
func (c *nullColumn) appendNull()        { c.n++ }
func (c *nullColumn) dropLast()          { c.n-- }

func (c *nullColumn) finish() arrow.Array {
	n := c.n
	c.n = 0
	return array.MakeArrayOfNull(memory.DefaultAllocator, c.dt, n)
}

// makeArray wraps the buffers of a fixed-width array.
func makeArray(dt arrow.DataType, n, nulls int, valid, values *memory.Buffer) arrow.Array {
	d := array.NewData(dt, n, []*memory.Buffer{valid, values}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
