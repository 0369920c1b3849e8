package expr

import (
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// This file holds the low-level helpers every kernel shares: typed views of
// Arrow buffers, validity bitmaps aligned at bit 0, and output arrays built
// directly from buffers (no per-value builder calls on hot paths).

// fixed is every Go type that backs a fixed-width Arrow array kda uses.
type fixed interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64 | decimal128.Num
}

// sint is the signed integer types (and the Arrow time types that are
// integers underneath).
type sint interface {
	~int8 | ~int16 | ~int32 | ~int64
}

// ordered is what the comparison kernels compare with < and ==.
type ordered interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

// valuesOf returns the values of a fixed-width array as a []T of a.Len()
// elements, honouring the array's offset. T must match the array's width.
func valuesOf[T fixed](a arrow.Array) []T {
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) < 2 || bufs[1] == nil || bufs[1].Len() == 0 {
		return nil
	}
	b := bufs[1].Bytes()
	var zero T
	n := len(b) / int(unsafe.Sizeof(zero))
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
	return all[d.Offset() : d.Offset()+d.Len()]
}

// validity returns a's validity bitmap aligned at bit 0, or nil when every
// value is valid. The slice is shared with a when a's offset is a multiple
// of 8, copied otherwise; callers must not modify it.
func validity(a arrow.Array) []byte {
	if a.NullN() == 0 {
		return nil
	}
	if a.DataType().ID() == arrow.NULL {
		return make([]byte, bitutil.BytesForBits(int64(a.Len())))
	}
	d := a.Data()
	bm := d.Buffers()[0].Bytes()
	off := d.Offset()
	n := d.Len()
	if off%8 == 0 {
		return bm[off/8 : off/8+int(bitutil.BytesForBits(int64(n)))]
	}
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	bitutil.CopyBitmap(bm, off, n, out, 0)
	return out
}

// isValid reads bit i of a validity bitmap from validity (nil: all valid).
func isValid(v []byte, i int) bool {
	return v == nil || v[i>>3]&(1<<(uint(i)&7)) != 0
}

// boolBits returns the value bits of a boolean array aligned at bit 0.
func boolBits(a *array.Boolean) []byte {
	d := a.Data()
	bm := d.Buffers()[1].Bytes()
	off := d.Offset()
	n := d.Len()
	if off%8 == 0 {
		return bm[off/8 : off/8+int(bitutil.BytesForBits(int64(n)))]
	}
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	bitutil.CopyBitmap(bm, off, n, out, 0)
	return out
}

// bitmap is an output validity or boolean-value bitmap under construction.
type bitmap struct {
	buf  *memory.Buffer
	bits []byte
}

// newBitmap allocates a zeroed bitmap of n bits.
func newBitmap(mem memory.Allocator, n int) bitmap {
	buf := memory.NewResizableBuffer(mem)
	nb := int(bitutil.BytesForBits(int64(n)))
	buf.Resize(nb)
	bits := buf.Bytes()
	clear(bits)
	return bitmap{buf: buf, bits: bits}
}

// newBitmapFrom allocates a bitmap holding a copy of v (nil: all ones).
func newBitmapFrom(mem memory.Allocator, v []byte, n int) bitmap {
	b := newBitmap(mem, n)
	if v == nil {
		for i := range b.bits {
			b.bits[i] = 0xff
		}
	} else {
		copy(b.bits, v)
	}
	return b
}

// andValidity returns the AND of validity bitmaps (nil entries are all
// valid) as a new bitmap, or a nil buffer if every input is nil.
func andValidity(mem memory.Allocator, n int, vs ...[]byte) bitmap {
	var out bitmap
	for _, v := range vs {
		if v == nil {
			continue
		}
		if out.buf == nil {
			out = newBitmapFrom(mem, v, n)
			continue
		}
		for i := range out.bits {
			out.bits[i] &= v[i]
		}
	}
	return out
}

// clearBit marks row i null in a validity bitmap.
func (b *bitmap) clearBit(mem memory.Allocator, n, i int) {
	if b.buf == nil {
		*b = newBitmapFrom(mem, nil, n)
	}
	b.bits[i>>3] &^= 1 << (uint(i) & 7)
}

// setBit sets bit i.
func (b bitmap) setBit(i int) { b.bits[i>>3] |= 1 << (uint(i) & 7) }

// nulls counts the unset bits of the first n bits (0 for a nil bitmap).
func (b bitmap) nulls(n int) int {
	if b.buf == nil {
		return 0
	}
	return n - bitutil.CountSetBits(b.bits, 0, n)
}

// fixedOut is a fixed-width output array under construction.
type fixedOut[T fixed] struct {
	buf  *memory.Buffer
	vals []T
}

func newFixed[T fixed](mem memory.Allocator, n int) fixedOut[T] {
	var zero T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(zero)))
	var vals []T
	if n > 0 {
		vals = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(buf.Bytes()))), n)
	}
	return fixedOut[T]{buf: buf, vals: vals}
}

// finish wraps the values and validity into an array of type dt, releasing
// the builder's references.
func (o fixedOut[T]) finish(dt arrow.DataType, valid bitmap) arrow.Array {
	return finishBuffers(dt, len(o.vals), valid, o.buf)
}

// finishBuffers builds an array from a validity bitmap and data buffers and
// releases the local references to them.
func finishBuffers(dt arrow.DataType, n int, valid bitmap, data ...*memory.Buffer) arrow.Array {
	bufs := append([]*memory.Buffer{valid.buf}, data...)
	d := array.NewData(dt, n, bufs, nil, valid.nulls(n), 0)
	a := array.MakeFromData(d)
	d.Release()
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	return a
}

// boolOut builds a boolean array from value bits and validity.
func boolOut(vals, valid bitmap, n int) arrow.Array {
	return finishBuffers(arrow.FixedWidthTypes.Boolean, n, valid, vals.buf)
}

// rowErrs collects failing rows inside a kernel; flush records them and
// nulls them in the output validity.
type rowErrs struct {
	rows []int
	name string
	msg  string
	// src, when set, is the input whose value the message quotes.
	src arrow.Array
}

func (r *rowErrs) add(i int) { r.rows = append(r.rows, i) }

// report records row i's error, quoting the input value when src is set.
func (r *rowErrs) report(ec *EvalContext, i int) {
	if r.src != nil && r.src.IsValid(i) {
		ec.Errors.Add(i, r.name, "%s: %s", r.msg, r.src.ValueStr(i))
		return
	}
	ec.Errors.Add(i, r.name, "%s", r.msg)
}

func (r *rowErrs) flush(ec *EvalContext, valid *bitmap, n int) {
	for _, i := range r.rows {
		r.report(ec, i)
		valid.clearBit(ec.Mem, n, i)
	}
	r.rows = r.rows[:0]
}

// release frees a bitmap that will not be used in an output array.
func (b bitmap) release() {
	if b.buf != nil {
		b.buf.Release()
	}
}
