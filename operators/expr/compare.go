package expr

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/sql/types"
)

// Comparisons = <> < <= > >= and the forms built on them: IS [NOT]
// DISTINCT FROM, BETWEEN and IN.

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpNe
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

var cmpNames = map[string]cmpOp{"=": cmpEq, "<>": cmpNe, "<": cmpLt, "<=": cmpLe, ">": cmpGt, ">=": cmpGe}

// flip is the operator with its operands swapped (a < b  ⇔  b > a).
func (o cmpOp) flip() cmpOp {
	switch o {
	case cmpLt:
		return cmpGt
	case cmpLe:
		return cmpGe
	case cmpGt:
		return cmpLt
	case cmpGe:
		return cmpLe
	}
	return o
}

func (o cmpOp) test(c int) bool {
	switch o {
	case cmpEq:
		return c == 0
	case cmpNe:
		return c != 0
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	}
	return c >= 0
}

// comparable returns the type both sides are compared as, and the
// operands coerced to it.
func comparable(a, b Expr) (types.Type, Expr, Expr, error) {
	ta, tb := a.Type(), b.Type()
	if rt, ok := promoteNumeric(ta, tb); ok {
		return rt, coerce(a, rt), coerce(b, rt), nil
	}
	switch {
	case ta.Kind == types.Null && tb.Kind == types.Null:
		return types.TBoolean, coerce(a, types.TBoolean), coerce(b, types.TBoolean), nil
	case ta.Kind == types.Null:
		return tb, coerce(a, tb), b, nil
	case tb.Kind == types.Null:
		return ta, a, coerce(b, ta), nil
	case ta.IsString() && tb.IsString():
		return types.Type{Kind: types.Varchar}, a, b, nil
	case ta.IsBinary() && tb.IsBinary():
		return types.Type{Kind: types.Varbinary}, a, b, nil
	case ta.Kind == tb.Kind && (ta.Kind == types.Boolean || ta.IsDatetime() || ta.Kind == types.Interval):
		return ta.Nullable(), a, b, nil
	case ta.Kind == types.Date && tb.Kind == types.Timestamp, ta.Kind == types.Timestamp && tb.Kind == types.Date:
		return types.TTimestamp, coerce(a, types.TTimestamp), coerce(b, types.TTimestamp), nil
	case ta.IsString() && !tb.IsString() && castable(ta, tb):
		// An implicit cast of the string side: ts > '2024-01-01 00:00:00'.
		return tb.Nullable(), coerce(a, tb), b, nil
	case tb.IsString() && !ta.IsString() && castable(tb, ta):
		return ta.Nullable(), a, coerce(b, ta), nil
	}
	return types.Type{}, nil, nil, typeErr("cannot compare %s with %s", ta, tb)
}

func registerCompare(r *Registry) {
	for name, op := range cmpNames {
		op := op
		r.add(name, "x "+name+" y", "comparison", "comparison; NULL if either side is NULL",
			func(name string, args []Expr) (Expr, error) {
				if err := arity(name, args, 2, 2); err != nil {
					return nil, err
				}
				ct, x, y, err := comparable(args[0], args[1])
				if err != nil {
					return nil, err
				}
				return &callNode{name: name, infix: true, args: args, t: types.TBoolean, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
					vals, valid, err := compareExprs(ec, rec, op, ct, x, y)
					if err != nil {
						return nil, err
					}
					return boolOut(vals, valid, int(rec.NumRows())), nil
				}}, nil
			})
	}
	for _, name := range []string{"IS_DISTINCT_FROM", "IS_NOT_DISTINCT_FROM"} {
		distinct := name == "IS_DISTINCT_FROM"
		r.add(name, name+"(x, y)", "comparison", "equality where NULL equals NULL; never NULL",
			func(name string, args []Expr) (Expr, error) {
				if err := arity(name, args, 2, 2); err != nil {
					return nil, err
				}
				ct, x, y, err := comparable(args[0], args[1])
				if err != nil {
					return nil, err
				}
				return &callNode{name: name, args: args, t: types.TBoolean.Nullable(), eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
					n := int(rec.NumRows())
					xa, err := x.Eval(ec, rec)
					if err != nil {
						return nil, err
					}
					defer xa.Release()
					ya, err := y.Eval(ec, rec)
					if err != nil {
						return nil, err
					}
					defer ya.Release()
					vals, valid := compareArrays(ec, cmpEq, ct, operand{arr: xa}, operand{arr: ya}, n)
					if valid.buf != nil {
						valid.buf.Release()
					}
					vx, vy := validity(xa), validity(ya)
					for i := range n {
						ax, ay := isValid(vx, i), isValid(vy, i)
						eq := (ax && ay && vals.bits[i>>3]&(1<<(uint(i)&7)) != 0) || (!ax && !ay)
						if eq == distinct {
							vals.bits[i>>3] &^= 1 << (uint(i) & 7)
						} else {
							vals.setBit(i)
						}
					}
					return boolOut(vals, bitmap{}, n), nil
				}}, nil
			})
	}
	r.add("BETWEEN", "BETWEEN(x, lo, hi)", "comparison", "lo <= x AND x <= hi", func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 3, 3); err != nil {
			return nil, err
		}
		ge, err := Call(">=", args[0], args[1])
		if err != nil {
			return nil, err
		}
		le, err := Call("<=", args[0], args[2])
		if err != nil {
			return nil, err
		}
		and, _ := Call("AND", ge, le)
		c := and.(*callNode)
		c.name, c.infix, c.args = "BETWEEN", false, args
		return c, nil
	})
	r.add("IN", "IN(x, v1, v2, ...)", "comparison", "x = v1 OR x = v2 ... with three-valued logic", func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 2, -1); err != nil {
			return nil, err
		}
		var acc Expr
		for _, v := range args[1:] {
			eq, err := Call("=", args[0], v)
			if err != nil {
				return nil, err
			}
			if acc == nil {
				acc = eq
				continue
			}
			acc, _ = Call("OR", acc, eq)
		}
		if c, ok := acc.(*callNode); ok {
			return &callNode{name: "IN", args: args, t: types.TBoolean, eval: c.eval}, nil
		}
		return acc, nil
	})
}

// compareExprs evaluates x op y for every row.
func compareExprs(ec *EvalContext, rec arrow.Record, op cmpOp, ct types.Type, x, y Expr) (bitmap, bitmap, error) {
	ox, err := evalOperand(ec, rec, x)
	if err != nil {
		return bitmap{}, bitmap{}, err
	}
	defer ox.release()
	oy, err := evalOperand(ec, rec, y)
	if err != nil {
		return bitmap{}, bitmap{}, err
	}
	defer oy.release()
	vals, valid := compareArrays(ec, op, ct, ox, oy, int(rec.NumRows()))
	return vals, valid, nil
}

// compareArrays compares two operands of type ct and returns the result
// bits and validity.
func compareArrays(ec *EvalContext, op cmpOp, ct types.Type, x, y operand, n int) (bitmap, bitmap) {
	vals := newBitmap(ec.Mem, n)
	if x.isNullLit() || y.isNullLit() {
		return vals, newBitmap(ec.Mem, n)
	}
	if x.lit != nil && y.lit == nil {
		x, y, op = y, x, op.flip()
	}
	if x.lit != nil { // both literals
		xa := x.array(ec, n)
		defer xa.Release()
		x = operand{arr: xa}
	}
	valid := andValidity(ec.Mem, n, validity(x.arr), validityOp(y))
	o := vals.bits
	switch ct.Kind {
	case types.TinyInt:
		cmpFixed[int8](op, x.arr, y, int8(litI(y)), o)
	case types.SmallInt:
		cmpFixed[int16](op, x.arr, y, int16(litI(y)), o)
	case types.Integer, types.Date, types.Time:
		cmpFixed[int32](op, x.arr, y, int32(litI(y)), o)
	case types.BigInt, types.Timestamp, types.Interval:
		cmpFixed[int64](op, x.arr, y, litI(y), o)
	case types.Real:
		cmpFixed[float32](op, x.arr, y, float32(litF(y)), o)
	case types.Double:
		cmpFixed[float64](op, x.arr, y, litF(y), o)
	case types.Decimal:
		xv := valuesOf[decimal128.Num](x.arr)
		if y.lit != nil {
			for i, a := range xv {
				if op.test(a.Cmp(y.lit.d)) {
					vals.setBit(i)
				}
			}
		} else {
			yv := valuesOf[decimal128.Num](y.arr)
			for i, a := range xv {
				if op.test(a.Cmp(yv[i])) {
					vals.setBit(i)
				}
			}
		}
	case types.Char, types.Varchar:
		xs := x.arr.(*array.String)
		if y.lit != nil {
			c := y.lit.s
			for i := range n {
				if op.test(strings.Compare(xs.Value(i), c)) {
					vals.setBit(i)
				}
			}
		} else {
			ys := y.arr.(*array.String)
			for i := range n {
				if op.test(strings.Compare(xs.Value(i), ys.Value(i))) {
					vals.setBit(i)
				}
			}
		}
	case types.Binary, types.Varbinary:
		xs := x.arr.(*array.Binary)
		for i := range n {
			var c []byte
			if y.lit != nil {
				c = y.lit.bin
			} else {
				c = y.arr.(*array.Binary).Value(i)
			}
			if op.test(bytes.Compare(xs.Value(i), c)) {
				vals.setBit(i)
			}
		}
	case types.Boolean:
		xb := x.arr.(*array.Boolean)
		for i := range n {
			var c bool
			if y.lit != nil {
				c = y.lit.b
			} else {
				c = y.arr.(*array.Boolean).Value(i)
			}
			if op.test(b2i(xb.Value(i)) - b2i(c)) {
				vals.setBit(i)
			}
		}
	}
	return vals, valid
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func litI(o operand) int64 {
	if o.lit == nil {
		return 0
	}
	return o.lit.i
}

func litF(o operand) float64 {
	if o.lit == nil {
		return 0
	}
	return o.lit.f
}

// bit converts a bool to 0 or 1 without a branch.
func bit(b bool) byte { return *(*byte)(unsafe.Pointer(&b)) }

// cmpFixed sets bit i of out when x[i] op y[i] (or x[i] op c when y is a
// literal). out must be zeroed.
func cmpFixed[T ordered](op cmpOp, xa arrow.Array, y operand, c T, out []byte) {
	xv := valuesOf[T](xa)
	if y.lit != nil {
		switch op {
		case cmpEq:
			for i, a := range xv {
				out[i>>3] |= bit(a == c) << (uint(i) & 7)
			}
		case cmpNe:
			for i, a := range xv {
				out[i>>3] |= bit(a != c) << (uint(i) & 7)
			}
		case cmpLt:
			for i, a := range xv {
				out[i>>3] |= bit(a < c) << (uint(i) & 7)
			}
		case cmpLe:
			for i, a := range xv {
				out[i>>3] |= bit(a <= c) << (uint(i) & 7)
			}
		case cmpGt:
			for i, a := range xv {
				out[i>>3] |= bit(a > c) << (uint(i) & 7)
			}
		case cmpGe:
			for i, a := range xv {
				out[i>>3] |= bit(a >= c) << (uint(i) & 7)
			}
		}
		return
	}
	yv := valuesOf[T](y.arr)
	yv = yv[:len(xv)]
	switch op {
	case cmpEq:
		for i, a := range xv {
			out[i>>3] |= bit(a == yv[i]) << (uint(i) & 7)
		}
	case cmpNe:
		for i, a := range xv {
			out[i>>3] |= bit(a != yv[i]) << (uint(i) & 7)
		}
	case cmpLt:
		for i, a := range xv {
			out[i>>3] |= bit(a < yv[i]) << (uint(i) & 7)
		}
	case cmpLe:
		for i, a := range xv {
			out[i>>3] |= bit(a <= yv[i]) << (uint(i) & 7)
		}
	case cmpGt:
		for i, a := range xv {
			out[i>>3] |= bit(a > yv[i]) << (uint(i) & 7)
		}
	case cmpGe:
		for i, a := range xv {
			out[i>>3] |= bit(a >= yv[i]) << (uint(i) & 7)
		}
	}
}
