package expr

import (
	"math/bits"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Filter returns the rows of rec where mask is TRUE (NULL counts as FALSE,
// as in WHERE). mask must have rec.NumRows() values. When every row is kept
// rec itself is returned, retained; the caller releases the result.
//
// It selects the row indices once from the mask's bitmap words and then
// copies column by column; on kda's batches it is several times faster
// than compute.FilterRecordBatch (see BenchmarkFilter).
func Filter(mem memory.Allocator, rec arrow.Record, mask *array.Boolean) arrow.Record {
	n := int(rec.NumRows())
	sel := selection(mask, n)
	if len(sel) == n {
		rec.Retain()
		return rec
	}
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		cols[c] = take(mem, rec.Column(c), sel)
	}
	out := array.NewRecord(rec.Schema(), cols, int64(len(sel)))
	releaseAll(cols)
	return out
}

// selection lists the rows where mask is valid and true.
func selection(mask *array.Boolean, n int) []int32 {
	vals := boolBits(mask)
	valid := validity(mask)
	sel := make([]int32, 0, n)
	for w := 0; w < len(vals); w += 8 {
		// Eight bytes at a time; the tail is masked below.
		var word uint64
		end := min(w+8, len(vals))
		for k := end - 1; k >= w; k-- {
			b := vals[k]
			if valid != nil {
				b &= valid[k]
			}
			word = word<<8 | uint64(b)
		}
		base := w * 8
		for word != 0 {
			i := base + bits.TrailingZeros64(word)
			if i >= n {
				break
			}
			sel = append(sel, int32(i))
			word &= word - 1
		}
	}
	return sel
}

// take copies the rows sel of a into a new array.
func take(mem memory.Allocator, a arrow.Array, sel []int32) arrow.Array {
	dt := a.DataType()
	switch dt.ID() {
	case arrow.INT8:
		return takeFixed[int8](mem, a, sel)
	case arrow.INT16:
		return takeFixed[int16](mem, a, sel)
	case arrow.INT32, arrow.DATE32, arrow.TIME32:
		return takeFixed[int32](mem, a, sel)
	case arrow.INT64, arrow.TIMESTAMP, arrow.DURATION:
		return takeFixed[int64](mem, a, sel)
	case arrow.FLOAT32:
		return takeFixed[float32](mem, a, sel)
	case arrow.FLOAT64:
		return takeFixed[float64](mem, a, sel)
	case arrow.DECIMAL128:
		return takeFixed[decimal128.Num](mem, a, sel)
	case arrow.BOOL:
		return takeBool(mem, a.(*array.Boolean), sel)
	case arrow.STRING:
		s := a.(*array.String)
		return takeBytes(mem, a, sel, s.ValueOffsets(), s.ValueBytes())
	case arrow.BINARY:
		s := a.(*array.Binary)
		return takeBytes(mem, a, sel, s.ValueOffsets(), s.ValueBytes())
	case arrow.NULL:
		return array.NewNull(len(sel))
	}
	// Other types do not flow between kda operators; fall back to slicing
	// row by row through a builder.
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, i := range sel {
		if err := b.AppendValueFromString(a.ValueStr(int(i))); err != nil {
			b.AppendNull()
		}
	}
	return b.NewArray()
}

func takeValidity(mem memory.Allocator, a arrow.Array, sel []int32) bitmap {
	v := validity(a)
	if v == nil {
		return bitmap{}
	}
	out := newBitmap(mem, len(sel))
	for k, i := range sel {
		out.bits[k>>3] |= (v[i>>3] >> (uint(i) & 7) & 1) << (uint(k) & 7)
	}
	return out
}

func takeFixed[T fixed](mem memory.Allocator, a arrow.Array, sel []int32) arrow.Array {
	src := valuesOf[T](a)
	out := newFixed[T](mem, len(sel))
	o := out.vals
	for k, i := range sel {
		o[k] = src[i]
	}
	return out.finish(a.DataType(), takeValidity(mem, a, sel))
}

func takeBool(mem memory.Allocator, a *array.Boolean, sel []int32) arrow.Array {
	src := boolBits(a)
	out := newBitmap(mem, len(sel))
	for k, i := range sel {
		out.bits[k>>3] |= (src[i>>3] >> (uint(i) & 7) & 1) << (uint(k) & 7)
	}
	return boolOut(out, takeValidity(mem, a, sel), len(sel))
}

func takeBytes(mem memory.Allocator, a arrow.Array, sel []int32, offsets []int32, bytes []byte) arrow.Array {
	total := 0
	for _, i := range sel {
		total += int(offsets[i+1] - offsets[i])
	}
	offs := newFixed[int32](mem, len(sel)+1)
	data := memory.NewResizableBuffer(mem)
	data.Resize(total)
	d := data.Bytes()
	base := offsets[0]
	pos := int32(0)
	o := offs.vals
	for k, i := range sel {
		o[k] = pos
		pos += int32(copy(d[pos:], bytes[offsets[i]-base:offsets[i+1]-base]))
	}
	o[len(sel)] = pos
	return finishBuffers(a.DataType(), len(sel), takeValidity(mem, a, sel), offs.buf, data)
}
