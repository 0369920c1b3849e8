package expr

import (
	"fmt"
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/sql/types"
)

// Numeric functions. EXP, LN, LOG10, SQRT and POWER compute in DOUBLE; ABS,
// CEIL, FLOOR and ROUND keep their argument's type (DECIMAL included).

func registerNumeric(r *Registry) {
	keep := func(name string, f func(v float64) float64, fi func(v int64) (int64, error), fd func(v decimal128.Num, scale int32) decimal128.Num) rowBind {
		return func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := need(name, args, 0, "numeric", isNum); err != nil {
				return types.Type{}, nil, nil, err
			}
			t := args[0].Type()
			if t.Kind == types.Null {
				t = types.TDouble
			}
			t = t.Nullable()
			switch {
			case t.IsInteger():
				return t, args, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					v, err := fi(argInt(a[0], i))
					if err != nil {
						return err
					}
					return out.Int(v)
				}, nil
			case t.Kind == types.Decimal:
				_, s := decPS(t)
				return t, args, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					return out.Dec(fd(argDec(a[0], i), s))
				}, nil
			}
			return t, []Expr{coerce(args[0], types.TDouble)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				return out.Float(f(argF64(a[0], i)))
			}, nil
		}
	}
	ident := func(v int64) (int64, error) { return v, nil }
	r.rowFunc("ABS", "ABS(x numeric) -> same type", "numeric", "absolute value", 1, 1, rowOpts{},
		keep("ABS", math.Abs, func(v int64) (int64, error) {
			if v == math.MinInt64 {
				return 0, fmt.Errorf("overflow")
			}
			if v < 0 {
				v = -v
			}
			return v, nil
		}, func(v decimal128.Num, _ int32) decimal128.Num { return v.Abs() }))
	floorDec := func(up bool) func(v decimal128.Num, s int32) decimal128.Num {
		return func(v decimal128.Num, s int32) decimal128.Num {
			if s == 0 {
				return v
			}
			q := v.ReduceScaleBy(s, false) // toward zero
			back := q.IncreaseScaleBy(s)
			if back != v {
				if up && v.Sign() > 0 {
					q = q.Add(decimal128.FromI64(1))
				} else if !up && v.Sign() < 0 {
					q = q.Sub(decimal128.FromI64(1))
				}
			}
			return q.IncreaseScaleBy(s)
		}
	}
	for _, name := range []string{"CEIL", "CEILING"} {
		r.rowFunc(name, name+"(x numeric) -> same type", "numeric", "smallest integral value not less than x", 1, 1, rowOpts{},
			keep(name, math.Ceil, ident, floorDec(true)))
	}
	r.rowFunc("FLOOR", "FLOOR(x numeric) -> same type", "numeric", "largest integral value not greater than x (FLOOR(ts TO unit) is KDA_FLOOR_TO)", 1, 1, rowOpts{},
		keep("FLOOR", math.Floor, ident, floorDec(false)))

	dbl := func(name string, f func(x float64) (float64, error)) {
		r.rowFunc(name, name+"(x numeric) -> DOUBLE", "numeric", "", 1, 1, rowOpts{},
			func(args []Expr) (types.Type, []Expr, rowFn, error) {
				if err := need(name, args, 0, "numeric", isNum); err != nil {
					return types.Type{}, nil, nil, err
				}
				return types.TDouble, []Expr{coerce(args[0], types.TDouble)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					v, err := f(argF64(a[0], i))
					if err != nil {
						return err
					}
					return out.Float(v)
				}, nil
			})
	}
	dbl("EXP", func(x float64) (float64, error) { return math.Exp(x), nil })
	positive := func(f func(float64) float64) func(float64) (float64, error) {
		return func(x float64) (float64, error) {
			if x <= 0 {
				return 0, fmt.Errorf("argument %s is not positive", formatDouble(x))
			}
			return f(x), nil
		}
	}
	dbl("LN", positive(math.Log))
	dbl("LOG10", positive(math.Log10))
	dbl("SQRT", func(x float64) (float64, error) {
		if x < 0 {
			return 0, fmt.Errorf("argument %s is negative", formatDouble(x))
		}
		return math.Sqrt(x), nil
	})
	r.rowFunc("POWER", "POWER(x numeric, y numeric) -> DOUBLE", "numeric", "x raised to y", 2, 2, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			for k := range args {
				if err := need("POWER", args, k, "numeric", isNum); err != nil {
					return types.Type{}, nil, nil, err
				}
			}
			return types.TDouble, []Expr{coerce(args[0], types.TDouble), coerce(args[1], types.TDouble)},
				func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					v := math.Pow(argF64(a[0], i), argF64(a[1], i))
					if math.IsNaN(v) {
						return fmt.Errorf("result is not a number")
					}
					return out.Float(v)
				}, nil
		})
	r.rowFunc("ROUND", "ROUND(x numeric[, digits INTEGER]) -> same type", "numeric", "round half away from zero to digits decimals (default 0)", 1, 2, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := need("ROUND", args, 0, "numeric", isNum); err != nil {
				return types.Type{}, nil, nil, err
			}
			cargs := []Expr{args[0]}
			if len(args) == 2 {
				if err := need("ROUND", args, 1, "an integer", isInt); err != nil {
					return types.Type{}, nil, nil, err
				}
				cargs = append(cargs, coerce(args[1], types.TInteger))
			}
			digits := func(a []arrow.Array, i int) int64 {
				if len(a) == 2 {
					return argInt(a[1], i)
				}
				return 0
			}
			t := args[0].Type().Nullable()
			switch {
			case t.IsInteger():
				return t, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					v, d := argInt(a[0], i), digits(a, i)
					if d >= 0 {
						return out.Int(v)
					}
					if d < -18 {
						return out.Int(0)
					}
					p := int64(math.Pow10(int(-d)))
					q := v / p * p
					if r := v - q; 2*abs64(r) >= p {
						if v < 0 {
							q -= p
						} else {
							q += p
						}
					}
					return out.Int(q)
				}, nil
			case t.Kind == types.Decimal:
				_, s := decPS(t)
				return t, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					v, d := argDec(a[0], i), int32(digits(a, i))
					if d >= s {
						return out.Dec(v)
					}
					drop := s - d
					if drop > 38 {
						return out.Dec(decimal128.Num{})
					}
					return out.Dec(v.ReduceScaleBy(drop, true).IncreaseScaleBy(drop))
				}, nil
			}
			if t.Kind == types.Null {
				t = types.TDouble
			}
			cargs[0] = coerce(args[0], t)
			return t, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				var v float64
				if t.Kind == types.Real {
					v = float64(a[0].(interface{ Value(int) float32 }).Value(i))
				} else {
					v = argF64(a[0], i)
				}
				p := math.Pow10(int(digits(a, i)))
				return out.Float(math.Round(v*p) / p)
			}, nil
		})
	r.rowFunc("STEP", "STEP(ts TIMESTAMP, width INTERVAL) -> TIMESTAMP | STEP(i integer, k integer) -> integer", "numeric",
		"floor to a multiple of width (timestamps: aligned on the epoch)", 2, 2, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			t0, t1 := args[0].Type(), args[1].Type()
			var rt types.Type
			switch {
			case isTS(t0) && (t1.Kind == types.Interval || t1.Kind == types.Null):
				rt = types.TTimestamp
				args = []Expr{coerce(args[0], types.TTimestamp), args[1]}
			case (t0.IsInteger() || t0.Kind == types.Null) && (t1.IsInteger() || t1.Kind == types.Null):
				rt = t0.Nullable()
				if rt.Kind == types.Null {
					rt = types.TBigInt
				}
				args = []Expr{coerce(args[0], rt), coerce(args[1], types.TBigInt)}
			default:
				return types.Type{}, nil, nil, typeErr("STEP takes (TIMESTAMP, INTERVAL) or (integer, integer), got (%s, %s)", t0, t1)
			}
			return rt, args, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				v, w := argInt(a[0], i), argInt(a[1], i)
				if w <= 0 {
					return fmt.Errorf("step width must be positive")
				}
				return out.Int(floorDiv(v, w) * w)
			}, nil
		})
	r.rowFunc("MONOTONIC", "MONOTONIC(x) -> x", "numeric", "identity; tells the planner x is monotonic", 1, 1, rowOpts{seeNulls: true},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			return args[0].Type(), args, nil, nil
		})
	// MONOTONIC is an identity: bind it as its argument's own node.
	r.funcs["MONOTONIC"].bind = func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return nil, err
		}
		x := args[0]
		return &callNode{name: name, args: args, t: x.Type(), eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
			return x.Eval(ec, rec)
		}}, nil
	}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
