package expr

import (
	"math"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/sql/types"
)

// Arithmetic: + - * / % and NEG over the numeric types, with
// TINYINT < SMALLINT < INTEGER < BIGINT < DECIMAL < REAL < DOUBLE promotion,
// and the datetime/interval forms (timestamp ± interval, timestamp -
// timestamp, interval ± interval, interval * integer, interval / integer).

// operand is an evaluated argument: an array, or a literal left unexpanded
// so kernels can take their array-constant fast paths.
type operand struct {
	arr arrow.Array
	lit *literal
}

func evalOperand(ec *EvalContext, rec arrow.Record, e Expr) (operand, error) {
	if l, ok := asLiteral(e); ok {
		return operand{lit: l}, nil
	}
	a, err := e.Eval(ec, rec)
	if err != nil {
		return operand{}, err
	}
	return operand{arr: a}, nil
}

// array returns the operand as an array of n rows (broadcasting a
// literal); the caller releases it.
func (o operand) array(ec *EvalContext, n int) arrow.Array {
	if o.lit != nil {
		return o.lit.broadcast(ec.Mem, n)
	}
	o.arr.Retain()
	return o.arr
}

func (o operand) release() {
	if o.arr != nil {
		o.arr.Release()
	}
}

func (o operand) isNullLit() bool { return o.lit != nil && o.lit.null }

// intKinds orders the integer kinds for promotion.
func integerFor(k types.Kind) types.Type { return types.Type{Kind: k} }

// decOfInt is the DECIMAL that holds every value of an integer type.
func decOfInt(t types.Type) types.Type {
	p := map[types.Kind]int{types.TinyInt: 3, types.SmallInt: 5, types.Integer: 10, types.BigInt: 19}[t.Kind]
	return types.Type{Kind: types.Decimal, Precision: p}
}

// decType normalises a DECIMAL type to explicit precision and scale.
func decType(t types.Type) types.Type {
	if t.IsInteger() {
		return decOfInt(t)
	}
	p, s := decPS(t)
	return types.Type{Kind: types.Decimal, Precision: int(p), Scale: int(s)}
}

// promoteNumeric is the common type of two numeric types (or NULL and a
// numeric type) for comparison and +/-; ok is false when either is not
// numeric.
func promoteNumeric(a, b types.Type) (types.Type, bool) {
	if a.Kind == types.Null {
		a = b
	}
	if b.Kind == types.Null {
		b = a
	}
	if !a.IsNumeric() || !b.IsNumeric() {
		return types.Type{}, false
	}
	switch {
	case a.Kind == types.Double || b.Kind == types.Double:
		return types.TDouble, true
	case a.Kind == types.Real || b.Kind == types.Real:
		return types.TReal, true
	case a.Kind == types.Decimal || b.Kind == types.Decimal:
		da, db := decType(a), decType(b)
		s := max(da.Scale, db.Scale)
		p := min(38, max(da.Precision-da.Scale, db.Precision-db.Scale)+s)
		return types.Type{Kind: types.Decimal, Precision: p, Scale: s}, true
	}
	return integerFor(max(a.Kind, b.Kind)), true
}

// coerce converts e to t when its type differs (folding literals).
func coerce(e Expr, t types.Type) Expr {
	et := e.Type()
	if et.Kind == t.Kind && (t.Kind != types.Decimal || sameDec(et, t)) {
		return e
	}
	return castNode(e, t.Nullable())
}

func sameDec(a, b types.Type) bool {
	pa, sa := decPS(a)
	pb, sb := decPS(b)
	return pa == pb && sa == sb
}

const (
	opAdd = '+'
	opSub = '-'
	opMul = '*'
	opDiv = '/'
	opMod = '%'
)

func registerArith(r *Registry) {
	for _, op := range []byte{opAdd, opSub, opMul, opDiv, opMod} {
		op := op
		r.add(string(op), "x "+string(op)+" y", "operator",
			"numeric arithmetic (integer division truncates; overflow and division by zero are row errors)",
			func(name string, args []Expr) (Expr, error) {
				if err := arity(name, args, 2, 2); err != nil {
					return nil, err
				}
				return bindArith(op, args[0], args[1])
			})
	}
	r.add("MOD", "MOD(x, y)", "numeric", "remainder of integer division; MOD(x, 0) is a row error",
		func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 2, 2); err != nil {
				return nil, err
			}
			n, err := bindArith(opMod, args[0], args[1])
			if c, ok := n.(*callNode); ok {
				c.name, c.infix = "MOD", false
			}
			return n, err
		})
	r.add("NEG", "NEG(x)", "operator", "unary minus", func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		return bindNeg(args[0])
	})
}

func bindArith(op byte, a, b Expr) (Expr, error) {
	ta, tb := a.Type(), b.Type()
	name := string(op)
	mk := func(rt types.Type, x, y Expr, k func(ec *EvalContext, x, y operand, n int) arrow.Array) Expr {
		return &callNode{name: name, infix: true, args: []Expr{a, b}, t: rt.Nullable(), eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
			ox, err := evalOperand(ec, rec, x)
			if err != nil {
				return nil, err
			}
			defer ox.release()
			oy, err := evalOperand(ec, rec, y)
			if err != nil {
				return nil, err
			}
			defer oy.release()
			n := int(rec.NumRows())
			if ox.isNullLit() || oy.isNullLit() {
				return nullArray(ec.Mem, rt, n), nil
			}
			return k(ec, ox, oy, n), nil
		}}
	}
	if rt, ok := promoteNumeric(ta, tb); ok {
		if rt.Kind == types.Decimal {
			rt = decResult(op, decType(orSelf(ta, tb)), decType(orSelf(tb, ta)))
			da, db := decType(orSelf(ta, tb)), decType(orSelf(tb, ta))
			x, y := coerce(a, da), coerce(b, db)
			return mk(rt, x, y, func(ec *EvalContext, x, y operand, n int) arrow.Array {
				return decArith(ec, op, x, y, n, da, db, rt)
			}), nil
		}
		x, y := coerce(a, rt), coerce(b, rt)
		return mk(rt, x, y, func(ec *EvalContext, x, y operand, n int) arrow.Array {
			return numArith(ec, op, x, y, n, rt)
		}), nil
	}
	// Datetime and interval arithmetic.
	ka, kb := ta.Kind, tb.Kind
	switch {
	case (ka == types.Timestamp && kb == types.Interval && (op == opAdd || op == opSub)) ||
		(ka == types.Interval && kb == types.Timestamp && op == opAdd) ||
		(ka == types.Interval && kb == types.Interval && (op == opAdd || op == opSub)):
		rt := types.TTimestamp
		if ka == types.Interval && kb == types.Interval {
			rt = types.TInterval
		}
		return mk(rt, a, b, func(ec *EvalContext, x, y operand, n int) arrow.Array {
			return intArith[int64](ec, op, x, y, n, rt.Arrow())
		}), nil
	case ka == types.Timestamp && kb == types.Timestamp && op == opSub:
		return mk(types.TInterval, a, b, func(ec *EvalContext, x, y operand, n int) arrow.Array {
			return intArith[int64](ec, op, x, y, n, types.TInterval.Arrow())
		}), nil
	case ka == types.Date && kb == types.Date && op == opSub:
		x, y := coerce(a, types.TTimestamp), coerce(b, types.TTimestamp)
		return mk(types.TInterval, x, y, func(ec *EvalContext, x, y operand, n int) arrow.Array {
			return intArith[int64](ec, op, x, y, n, types.TInterval.Arrow())
		}), nil
	case ka == types.Date && kb == types.Interval && (op == opAdd || op == opSub),
		ka == types.Interval && kb == types.Date && op == opAdd:
		// Computed on timestamps, then floored back to a day.
		x, y := a, b
		if ka == types.Date {
			x = coerce(a, types.TTimestamp)
		} else {
			y = coerce(b, types.TTimestamp)
		}
		ts := mk(types.TTimestamp, x, y, func(ec *EvalContext, x, y operand, n int) arrow.Array {
			return intArith[int64](ec, op, x, y, n, types.TTimestamp.Arrow())
		})
		c := castNode(ts, types.TDate)
		return c, nil
	case ka == types.Time && kb == types.Interval && (op == opAdd || op == opSub):
		return mk(types.TTime, a, b, func(ec *EvalContext, x, y operand, n int) arrow.Array {
			return timePlus(ec, op, x, y, n)
		}), nil
	case ka == types.Interval && tb.IsInteger() && (op == opMul || op == opDiv),
		ta.IsInteger() && kb == types.Interval && op == opMul:
		x, y := a, b
		if ta.IsInteger() {
			x = coerce(a, types.TBigInt)
		} else {
			y = coerce(b, types.TBigInt)
		}
		return mk(types.TInterval, x, y, func(ec *EvalContext, x, y operand, n int) arrow.Array {
			return intArith[int64](ec, op, x, y, n, types.TInterval.Arrow())
		}), nil
	}
	return nil, typeErr("cannot apply %s to %s and %s", name, ta, tb)
}

func orSelf(a, b types.Type) types.Type {
	if a.Kind == types.Null {
		return b
	}
	return a
}

// decResult is the DECIMAL result type of a op b.
func decResult(op byte, a, b types.Type) types.Type {
	var p, s int
	switch op {
	case opAdd, opSub:
		s = max(a.Scale, b.Scale)
		p = max(a.Precision-a.Scale, b.Precision-b.Scale) + s + 1
	case opMul:
		s = a.Scale + b.Scale
		p = a.Precision + b.Precision
	case opDiv:
		s = max(6, a.Scale+b.Precision+1)
		p = a.Precision - a.Scale + b.Scale + s
	case opMod:
		s = max(a.Scale, b.Scale)
		p = min(a.Precision-a.Scale, b.Precision-b.Scale) + s
	}
	if p > 38 {
		s = max(0, s-(p-38))
		p = 38
	}
	s = min(s, p)
	return types.Type{Kind: types.Decimal, Precision: p, Scale: s}
}

// numArith dispatches on the physical type of rt.
func numArith(ec *EvalContext, op byte, x, y operand, n int, rt types.Type) arrow.Array {
	dt := rt.Arrow()
	switch rt.Kind {
	case types.TinyInt:
		return intArith[int8](ec, op, x, y, n, dt)
	case types.SmallInt:
		return intArith[int16](ec, op, x, y, n, dt)
	case types.Integer:
		return intArith[int32](ec, op, x, y, n, dt)
	case types.BigInt:
		return intArith[int64](ec, op, x, y, n, dt)
	case types.Real:
		return floatArith[float32](ec, op, x, y, n, dt)
	default:
		return floatArith[float64](ec, op, x, y, n, dt)
	}
}

// intArith computes x op y over signed integers of type T, with overflow
// and division by zero as row errors.
func intArith[T sint](ec *EvalContext, op byte, x, y operand, n int, dt arrow.DataType) arrow.Array {
	if x.lit != nil && (op == opAdd || op == opMul) {
		x, y = y, x // commutative: keep the constant on the right
	}
	var xa arrow.Array
	if x.lit != nil {
		xa = x.array(ec, n)
	} else {
		xa = x.arr
		xa.Retain()
	}
	defer xa.Release()
	out := newFixed[T](ec.Mem, n)
	var yv []T
	if y.arr != nil {
		yv = valuesOf[T](y.arr)
	}
	valid := andValidity(ec.Mem, n, validity(xa), validityOp(y))
	xv := valuesOf[T](xa)
	o := out.vals
	errs := rowErrs{name: "ARITHMETIC_OVERFLOW", msg: "integer overflow in " + string(op)}
	if y.lit != nil {
		c := T(y.lit.i)
		switch op {
		case opAdd:
			for i, a := range xv {
				r := a + c
				if (r > a) != (c > 0) {
					errs.add(i)
				}
				o[i] = r
			}
		case opSub:
			for i, a := range xv {
				r := a - c
				if (r < a) != (c > 0) {
					errs.add(i)
				}
				o[i] = r
			}
		case opMul:
			for i, a := range xv {
				r, bad := mulChk(a, c)
				if bad {
					errs.add(i)
				}
				o[i] = r
			}
		case opDiv, opMod:
			if c == 0 {
				errs.name, errs.msg = "DIVISION_BY_ZERO", "division by zero"
				for i := range o {
					errs.add(i)
				}
				break
			}
			if op == opMod {
				for i, a := range xv {
					o[i] = a % c
				}
				break
			}
			for i, a := range xv {
				r := a / c
				if a < 0 && c < 0 && r < 0 {
					errs.add(i)
				}
				o[i] = r
			}
		}
	} else {
		switch op {
		case opAdd:
			for i, a := range xv {
				b := yv[i]
				r := a + b
				if (r > a) != (b > 0) {
					errs.add(i)
				}
				o[i] = r
			}
		case opSub:
			for i, a := range xv {
				b := yv[i]
				r := a - b
				if (r < a) != (b > 0) {
					errs.add(i)
				}
				o[i] = r
			}
		case opMul:
			for i, a := range xv {
				r, bad := mulChk(a, yv[i])
				if bad {
					errs.add(i)
				}
				o[i] = r
			}
		case opDiv, opMod:
			var zero rowErrs
			zero.name, zero.msg = "DIVISION_BY_ZERO", "division by zero"
			for i, a := range xv {
				b := yv[i]
				if b == 0 {
					zero.add(i)
					o[i] = 0
					continue
				}
				if op == opMod {
					o[i] = a % b
					continue
				}
				r := a / b
				if a < 0 && b < 0 && r < 0 {
					errs.add(i)
				}
				o[i] = r
			}
			zero.flushValid(ec, &valid, n)
		}
	}
	errs.flushValid(ec, &valid, n)
	return out.finish(dt, valid)
}

// mulChk multiplies with overflow detection.
func mulChk[T sint](a, b T) (T, bool) {
	if unsafe.Sizeof(a) < 8 {
		p := int64(a) * int64(b)
		return T(p), int64(T(p)) != p
	}
	r := a * b
	return r, a != 0 && (r/a != b || (a == -1 && b < 0 && r < 0))
}

func validityOp(o operand) []byte {
	if o.arr == nil {
		return nil
	}
	return validity(o.arr)
}

// flushValid records the collected rows that are not already NULL.
func (r *rowErrs) flushValid(ec *EvalContext, valid *bitmap, n int) {
	for _, i := range r.rows {
		if valid.buf != nil && !isValid(valid.bits, i) {
			continue
		}
		r.report(ec, i)
		valid.clearBit(ec.Mem, n, i)
	}
	r.rows = r.rows[:0]
}

// floatArith computes x op y over REAL or DOUBLE; division by zero is a row
// error (as for integers) rather than an infinity.
func floatArith[T float32 | float64](ec *EvalContext, op byte, x, y operand, n int, dt arrow.DataType) arrow.Array {
	if x.lit != nil && (op == opAdd || op == opMul) {
		x, y = y, x
	}
	xa := x.array(ec, n)
	defer xa.Release()
	out := newFixed[T](ec.Mem, n)
	valid := andValidity(ec.Mem, n, validity(xa), validityOp(y))
	xv := valuesOf[T](xa)
	o := out.vals
	errs := rowErrs{name: "DIVISION_BY_ZERO", msg: "division by zero"}
	if y.lit != nil {
		c := T(y.lit.f)
		switch op {
		case opAdd:
			for i, a := range xv {
				o[i] = a + c
			}
		case opSub:
			for i, a := range xv {
				o[i] = a - c
			}
		case opMul:
			for i, a := range xv {
				o[i] = a * c
			}
		case opDiv, opMod:
			if c == 0 {
				for i := range o {
					errs.add(i)
				}
				break
			}
			for i, a := range xv {
				if op == opDiv {
					o[i] = a / c
				} else {
					o[i] = T(math.Mod(float64(a), float64(c)))
				}
			}
		}
	} else {
		yv := valuesOf[T](y.arr)
		switch op {
		case opAdd:
			for i, a := range xv {
				o[i] = a + yv[i]
			}
		case opSub:
			for i, a := range xv {
				o[i] = a - yv[i]
			}
		case opMul:
			for i, a := range xv {
				o[i] = a * yv[i]
			}
		case opDiv, opMod:
			for i, a := range xv {
				b := yv[i]
				switch {
				case b == 0:
					errs.add(i)
				case op == opDiv:
					o[i] = a / b
				default:
					o[i] = T(math.Mod(float64(a), float64(b)))
				}
			}
		}
	}
	errs.flushValid(ec, &valid, n)
	return out.finish(dt, valid)
}

// decArith computes DECIMAL arithmetic with decimal128 (x has type da, y
// type db, the result rt); results that do not fit rt are row errors.
func decArith(ec *EvalContext, op byte, x, y operand, n int, da, db, rt types.Type) arrow.Array {
	xa, ya := x.array(ec, n), y.array(ec, n)
	defer xa.Release()
	defer ya.Release()
	xv, yv := valuesOf[decimal128.Num](xa), valuesOf[decimal128.Num](ya)
	valid := andValidity(ec.Mem, n, validity(xa), validity(ya))
	out := newFixed[decimal128.Num](ec.Mem, n)
	sa, sb, s, p := int32(da.Scale), int32(db.Scale), int32(rt.Scale), int32(rt.Precision)
	ovf := rowErrs{name: "ARITHMETIC_OVERFLOW", msg: "DECIMAL overflow in " + string(op)}
	zero := rowErrs{name: "DIVISION_BY_ZERO", msg: "division by zero"}
	for i := range out.vals {
		if !isValid(valid.bits, i) && valid.buf != nil {
			continue
		}
		a, b := xv[i], yv[i]
		var r decimal128.Num
		var err error
		switch op {
		case opAdd, opSub, opMod:
			c := max(sa, sb)
			a, err = a.Rescale(sa, c)
			if err == nil {
				b, err = b.Rescale(sb, c)
			}
			switch {
			case err != nil:
			case op == opAdd:
				r = a.Add(b)
			case op == opSub:
				r = a.Sub(b)
			case b.Sign() == 0:
				zero.add(i)
				continue
			default:
				_, r = a.Div(b)
			}
			if err == nil && c != s {
				r, err = r.Rescale(c, s)
			}
		case opMul:
			r = a.Mul(b) // scale sa+sb
			if sa+sb != s {
				r = r.ReduceScaleBy(sa+sb-s, true)
			}
		case opDiv:
			if b.Sign() == 0 {
				zero.add(i)
				continue
			}
			// a*10^(s-sa+sb) / b has scale s.
			shift := s - sa + sb
			if shift >= 0 {
				a, err = a.Rescale(0, shift)
			} else {
				a = a.ReduceScaleBy(-shift, false)
			}
			r, _ = a.Div(b)
		}
		if err != nil || !r.FitsInPrecision(p) {
			ovf.add(i)
			continue
		}
		out.vals[i] = r
	}
	zero.flushValid(ec, &valid, n)
	ovf.flushValid(ec, &valid, n)
	return out.finish(rt.Arrow(), valid)
}

// timePlus adds an interval to a TIME, wrapping around midnight.
func timePlus(ec *EvalContext, op byte, x, y operand, n int) arrow.Array {
	xa, ya := x.array(ec, n), y.array(ec, n)
	defer xa.Release()
	defer ya.Release()
	xv, yv := valuesOf[int32](xa), valuesOf[int64](ya)
	valid := andValidity(ec.Mem, n, validity(xa), validity(ya))
	out := newFixed[int32](ec.Mem, n)
	for i := range out.vals {
		d := yv[i]
		if op == opSub {
			d = -d
		}
		out.vals[i] = int32(floorMod(int64(xv[i])+floorMod(d, msPerDay), msPerDay))
	}
	return out.finish(types.TTime.Arrow(), valid)
}

func bindNeg(a Expr) (Expr, error) {
	t := a.Type()
	if !t.IsNumeric() && t.Kind != types.Interval && t.Kind != types.Null {
		return nil, typeErr("cannot negate %s", t)
	}
	if t.Kind == types.Null {
		t = types.TInteger
	}
	zero, _ := Lit(int64(0), types.TTinyInt)
	if t.Kind == types.Interval {
		zero, _ = Lit(int64(0), types.TInterval)
	}
	sub, err := bindArith(opSub, coerce(zero, rtOrDec(t)), a)
	if err != nil {
		return nil, err
	}
	c := sub.(*callNode)
	c.name, c.infix, c.args = "NEG", false, []Expr{a}
	return c, nil
}

func rtOrDec(t types.Type) types.Type {
	if t.Kind == types.Decimal {
		return decType(t)
	}
	return t
}
