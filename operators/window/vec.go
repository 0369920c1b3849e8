package window

import (
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// phys is how the operators of this package hold a SQL value in memory:
// every integer, temporal and boolean type as an int64, REAL and DOUBLE as a
// float64, character and binary types as a string.
type phys uint8

const (
	pInt phys = iota
	pFloat
	pStr
	pDec // decimal128, unscaled; the scale is the SQL type's
)

// physOf maps a SQL type to its in-memory representation.
func physOf(t types.Type) (phys, error) {
	switch {
	case t.IsInteger(), t.IsDatetime(), t.Kind == types.Boolean, t.Kind == types.Interval, t.Kind == types.Null:
		return pInt, nil
	case t.Kind == types.Real || t.Kind == types.Double:
		return pFloat, nil
	case t.IsString(), t.IsBinary():
		return pStr, nil
	case t.Kind == types.Decimal:
		return pDec, nil
	}
	return 0, fmt.Errorf("type %s is not supported by window operators", t)
}

// vec is a column of values in their physical representation with a
// validity flag per value. Only the slice matching p is used.
type vec struct {
	p  phys
	i  []int64
	f  []float64
	s  []string
	d  []decimal128.Num
	ok []bool

	// For batch columns filled by load: i, f and ok may alias an Arrow
	// buffer or the all-true trues, so load switches to the owned buffers
	// below before converting into them. State vectors never use these.
	ownI  []int64
	ownF  []float64
	ownOK []bool
	trues []bool
	nulls bool        // some value is NULL
	src   arrow.Array // the loaded array, retained while values alias it
}

func (v *vec) len() int { return len(v.ok) }

func (v *vec) reset() {
	v.i, v.f, v.s, v.d, v.ok = v.i[:0], v.f[:0], v.s[:0], v.d[:0], v.ok[:0]
}

// appendNull appends a NULL.
func (v *vec) appendNull() {
	switch v.p {
	case pInt:
		v.i = append(v.i, 0)
	case pFloat:
		v.f = append(v.f, 0)
	case pStr:
		v.s = append(v.s, "")
	case pDec:
		v.d = append(v.d, decimal128.Num{})
	}
	v.ok = append(v.ok, false)
}

// appendFrom appends row j of o (same phys). Strings are cloned so the
// value outlives the batch it came from.
func (v *vec) appendFrom(o *vec, j int) {
	switch v.p {
	case pInt:
		v.i = append(v.i, o.i[j])
	case pFloat:
		v.f = append(v.f, o.f[j])
	case pStr:
		v.s = append(v.s, strings.Clone(o.s[j]))
	case pDec:
		v.d = append(v.d, o.d[j])
	}
	v.ok = append(v.ok, o.ok[j])
}

// set overwrites slot i with row j of o (strings cloned).
func (v *vec) set(i int, o *vec, j int) {
	switch v.p {
	case pInt:
		v.i[i] = o.i[j]
	case pFloat:
		v.f[i] = o.f[j]
	case pStr:
		if o.ok[j] {
			v.s[i] = strings.Clone(o.s[j])
		} else {
			v.s[i] = ""
		}
	case pDec:
		v.d[i] = o.d[j]
	}
	v.ok[i] = o.ok[j]
}

// resize makes the vector n long, new slots NULL.
func (v *vec) resize(n int) {
	for v.len() < n {
		v.appendNull()
	}
	switch v.p {
	case pInt:
		v.i = v.i[:n]
	case pFloat:
		v.f = v.f[:n]
	case pStr:
		v.s = v.s[:n]
	case pDec:
		v.d = v.d[:n]
	}
	v.ok = v.ok[:n]
}

// cmp orders row i of v against row j of o (both valid, same phys).
func (v *vec) cmp(i int, o *vec, j int) int {
	switch v.p {
	case pInt:
		a, b := v.i[i], o.i[j]
		if a < b {
			return -1
		} else if a > b {
			return 1
		}
	case pFloat:
		a, b := v.f[i], o.f[j]
		if a < b {
			return -1
		} else if a > b {
			return 1
		}
	case pStr:
		return strings.Compare(v.s[i], o.s[j])
	case pDec:
		return v.d[i].Cmp(o.d[j])
	}
	return 0
}

// cmpNullsFirst is cmp with NULL before every value, for deterministic
// ordering of group keys.
func (v *vec) cmpNullsFirst(i int, o *vec, j int) int {
	switch {
	case !v.ok[i] && !o.ok[j]:
		return 0
	case !v.ok[i]:
		return -1
	case !o.ok[j]:
		return 1
	}
	return v.cmp(i, o, j)
}

// key encodes row i as a string usable as a map key (valid rows only).
func (v *vec) key(i int) string {
	switch v.p {
	case pInt:
		var b [8]byte
		putU64(b[:], uint64(v.i[i]))
		return string(b[:])
	case pFloat:
		f := v.f[i]
		if f == 0 {
			f = 0 // -0 and +0 are the same value
		}
		var b [8]byte
		putU64(b[:], math.Float64bits(f))
		return string(b[:])
	case pDec:
		var b [16]byte
		putU64(b[:8], v.d[i].LowBits())
		putU64(b[8:], uint64(v.d[i].HighBits()))
		return string(b[:])
	}
	return v.s[i]
}

func putU64(b []byte, u uint64) {
	for k := 0; k < 8; k++ {
		b[k] = byte(u >> (8 * k))
	}
}

// load replaces the contents of v with the values of arr. Values may alias
// the array's buffers, so v keeps arr retained until the next load.
func (v *vec) load(arr arrow.Array) error {
	arr.Retain()
	if v.src != nil {
		v.src.Release()
	}
	v.src = arr
	n := arr.Len()
	v.nulls = arr.NullN() > 0
	if !v.nulls {
		if len(v.trues) < n {
			v.trues = make([]bool, n)
			for k := range v.trues {
				v.trues[k] = true
			}
		}
		v.ok = v.trues[:n]
	} else {
		v.ownOK = grow(v.ownOK, n)
		for k := range v.ownOK {
			v.ownOK[k] = arr.IsValid(k)
		}
		v.ok = v.ownOK
	}
	switch a := arr.(type) {
	case *array.Int64:
		v.p, v.i = pInt, a.Int64Values() // read only: aliasing is safe
	case *array.Timestamp:
		v.p, v.i = pInt, asInt64s(a.TimestampValues())
	case *array.Duration:
		v.p, v.i = pInt, asInt64s(a.DurationValues())
	case *array.Int32:
		v.p, v.ownI = pInt, widen(v.ownI, a.Int32Values())
		v.i = v.ownI
	case *array.Int16:
		v.p, v.ownI = pInt, widen(v.ownI, a.Int16Values())
		v.i = v.ownI
	case *array.Int8:
		v.p, v.ownI = pInt, widen(v.ownI, a.Int8Values())
		v.i = v.ownI
	case *array.Date32:
		v.p, v.ownI = pInt, widen(v.ownI, a.Date32Values())
		v.i = v.ownI
	case *array.Time32:
		v.p, v.ownI = pInt, widen(v.ownI, a.Time32Values())
		v.i = v.ownI
	case *array.Boolean:
		v.p, v.ownI = pInt, grow(v.ownI, n)
		for k := range v.ownI {
			v.ownI[k] = b2i(a.Value(k))
		}
		v.i = v.ownI
	case *array.Null:
		v.p, v.ownI = pInt, grow(v.ownI, n)
		v.i = v.ownI
	case *array.Decimal128:
		v.p, v.d = pDec, a.Values() // read only: aliasing is safe
	case *array.Float64:
		v.p, v.f = pFloat, a.Float64Values()
	case *array.Float32:
		v.p, v.ownF = pFloat, grow(v.ownF, n)
		for k, x := range a.Float32Values() {
			v.ownF[k] = float64(x)
		}
		v.f = v.ownF
	case *array.String:
		v.p, v.s = pStr, grow(v.s, n)
		for k := range v.s {
			v.s[k] = a.Value(k)
		}
	case *array.Binary:
		v.p, v.s = pStr, grow(v.s, n)
		for k := range v.s {
			v.s[k] = a.ValueString(k)
		}
	default:
		return fmt.Errorf("arrow type %s is not supported by window operators", arr.DataType())
	}
	return nil
}

// asInt64s views a slice of an int64-based Arrow type as []int64.
func asInt64s[T ~int64](s []T) []int64 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&s[0])), len(s))
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func widen[T ~int8 | ~int16 | ~int32 | ~int64](dst []int64, src []T) []int64 {
	dst = grow(dst, len(src))
	for k, x := range src {
		dst[k] = int64(x)
	}
	return dst
}

// toArrow builds an Arrow array of SQL type t from v.
func (v *vec) toArrow(mem memory.Allocator, t types.Type) arrow.Array {
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	n := v.len()
	b.Reserve(n)
	valid := v.ok
	switch bb := b.(type) {
	case *array.Int64Builder:
		bb.AppendValues(v.i, valid)
	case *array.Int32Builder:
		bb.AppendValues(narrow[int32](v.i), valid)
	case *array.Int16Builder:
		bb.AppendValues(narrow[int16](v.i), valid)
	case *array.Int8Builder:
		bb.AppendValues(narrow[int8](v.i), valid)
	case *array.TimestampBuilder:
		bb.AppendValues(narrow[arrow.Timestamp](v.i), valid)
	case *array.Date32Builder:
		bb.AppendValues(narrow[arrow.Date32](v.i), valid)
	case *array.Time32Builder:
		bb.AppendValues(narrow[arrow.Time32](v.i), valid)
	case *array.DurationBuilder:
		bb.AppendValues(narrow[arrow.Duration](v.i), valid)
	case *array.BooleanBuilder:
		for k := 0; k < n; k++ {
			if valid[k] {
				bb.Append(v.i[k] != 0)
			} else {
				bb.AppendNull()
			}
		}
	case *array.Float64Builder:
		bb.AppendValues(v.f, valid)
	case *array.Float32Builder:
		f := make([]float32, n)
		for k := range f {
			f[k] = float32(v.f[k])
		}
		bb.AppendValues(f, valid)
	case *array.StringBuilder:
		bb.AppendValues(v.s, valid)
	case *array.Decimal128Builder:
		bb.AppendValues(v.d, valid)
	case *array.BinaryBuilder:
		bb.AppendStringValues(v.s, valid)
	case *array.NullBuilder:
		bb.AppendEmptyValues(n)
	default:
		for k := 0; k < n; k++ {
			bb.AppendNull()
		}
	}
	return b.NewArray()
}

func narrow[T ~int8 | ~int16 | ~int32 | ~int64](src []int64) []T {
	out := make([]T, len(src))
	for k, x := range src {
		out[k] = T(x)
	}
	return out
}
