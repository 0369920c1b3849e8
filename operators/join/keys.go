package join

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
)

// keyCodec turns the equi-join key columns of a batch into map keys: a
// single integer-like key is its int64 (ints, datetimes, booleans), any
// other combination an encoded string. A row with a NULL key matches
// nothing (SQL's = is never true for NULL) and gets ok = false.
type keyCodec struct {
	exprs []expr.Expr
	ints  bool // one integer-like key: use I
	errs  expr.RowErrors
	buf   []byte
}

// keyCols are a batch's evaluated keys.
type keyCols struct {
	I  []int64
	S  []string
	OK []bool
}

func newKeyCodec(exprs []expr.Expr) *keyCodec {
	k := &keyCodec{exprs: exprs, ints: len(exprs) == 0}
	if len(exprs) == 1 {
		t := exprs[0].Type()
		k.ints = t.IsInteger() || t.IsDatetime()
	}
	return k
}

// eval computes the keys of rec's rows. Rows whose key fails to evaluate
// are reported to ctx's error sink and get ok = false.
func (k *keyCodec) eval(ctx *operators.Context, rec arrow.Record, out *keyCols) error {
	n := int(rec.NumRows())
	out.OK = resize(out.OK, n)
	for i := range out.OK {
		out.OK[i] = true
	}
	if k.ints {
		out.I = resize(out.I, n)
	} else {
		out.S = resize(out.S, n)
	}
	if len(k.exprs) == 0 {
		for i := range out.I {
			out.I[i] = 0 // no keys: every row is in the one bucket
		}
		return nil
	}
	k.errs.Reset()
	ec := ctx.Eval(&k.errs)
	cols := make([]arrow.Array, len(k.exprs))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, e := range k.exprs {
		a, err := e.Eval(ec, rec)
		if err != nil {
			return fmt.Errorf("join key %s: %w", e, err)
		}
		cols[i] = a
	}
	if k.errs.Len() > 0 {
		k.errs.Each(func(i int, _ expr.RowError) { out.OK[i] = false })
		relational.ReportFailed(ctx, rec, &k.errs)
	}
	for _, c := range cols {
		if c.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if c.IsNull(i) {
				out.OK[i] = false
			}
		}
	}
	if k.ints {
		intsOf(cols[0], out.I)
		return nil
	}
	for i := 0; i < n; i++ {
		if !out.OK[i] {
			out.S[i] = ""
			continue
		}
		b := k.buf[:0]
		for _, c := range cols {
			b = appendKey(b, c, i)
		}
		k.buf = b
		out.S[i] = string(b)
	}
	return nil
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// intsOf widens an integer-like column to int64 (nulls are left as 0).
func intsOf(a arrow.Array, out []int64) {
	switch c := a.(type) {
	case *array.Int8:
		widen(c.Int8Values(), out)
	case *array.Int16:
		widen(c.Int16Values(), out)
	case *array.Int32:
		widen(c.Int32Values(), out)
	case *array.Int64:
		copy(out, c.Int64Values())
	case *array.Timestamp:
		widen(c.TimestampValues(), out)
	case *array.Date32:
		widen(c.Date32Values(), out)
	case *array.Time32:
		widen(c.Time32Values(), out)
	case *array.Duration:
		widen(c.DurationValues(), out)
	case *array.Boolean:
		for i := range out {
			if c.Value(i) {
				out[i] = 1
			} else {
				out[i] = 0
			}
		}
	}
}

// widen copies integers of a narrower or named type into out.
func widen[T ~int8 | ~int16 | ~int32 | ~int64](in []T, out []int64) {
	for i := range out {
		out[i] = int64(in[i])
	}
}

// appendKey appends an unambiguous encoding of value i of a.
func appendKey(b []byte, a arrow.Array, i int) []byte {
	switch c := a.(type) {
	case *array.String:
		s := c.Value(i)
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	case *array.Binary:
		s := c.Value(i)
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	case *array.Float32:
		return binary.LittleEndian.AppendUint64(b, floatBits(float64(c.Value(i))))
	case *array.Float64:
		return binary.LittleEndian.AppendUint64(b, floatBits(c.Value(i)))
	case *array.Decimal128:
		v := c.Value(i)
		b = binary.LittleEndian.AppendUint64(b, v.LowBits())
		return binary.LittleEndian.AppendUint64(b, uint64(v.HighBits()))
	}
	if v, ok := intAt(a, i); ok {
		return binary.AppendVarint(b, v)
	}
	str := a.ValueStr(i) // anything else compares by its text
	b = binary.AppendUvarint(b, uint64(len(str)))
	return append(b, str...)
}

// intAt reads value i of an integer-like column as an int64.
func intAt(a arrow.Array, i int) (int64, bool) {
	switch c := a.(type) {
	case *array.Int8:
		return int64(c.Value(i)), true
	case *array.Int16:
		return int64(c.Value(i)), true
	case *array.Int32:
		return int64(c.Value(i)), true
	case *array.Int64:
		return c.Value(i), true
	case *array.Timestamp:
		return int64(c.Value(i)), true
	case *array.Date32:
		return int64(c.Value(i)), true
	case *array.Time32:
		return int64(c.Value(i)), true
	case *array.Duration:
		return int64(c.Value(i)), true
	case *array.Boolean:
		if c.Value(i) {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// floatBits makes -0 and 0 the same key, and every NaN one key.
func floatBits(f float64) uint64 {
	if f == 0 {
		return 0
	}
	if math.IsNaN(f) {
		return math.Float64bits(math.NaN())
	}
	return math.Float64bits(f)
}
