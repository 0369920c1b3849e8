package expr

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/sql/types"
)

// Row-at-a-time functions. The string, date/time and less common numeric
// functions are not worth a hand-vectorised kernel each; they share this
// frame, which still works on typed Arrow arrays (no boxing per value): the
// arguments are evaluated column by column, a row with a NULL argument is
// NULL without calling the function, and a returned error becomes a row
// error and a NULL.

// rowFn computes row i from the argument arrays into out.
type rowFn func(ec *EvalContext, args []arrow.Array, i int, out *rowOut) error

// rowBind checks and coerces the arguments, and returns the result type and
// the row function (which may capture work done once, such as a compiled
// literal pattern).
type rowBind func(args []Expr) (types.Type, []Expr, rowFn, error)

// rowOpts tunes the frame: seeNulls hands NULL arguments to the function
// instead of returning NULL.
type rowOpts struct {
	seeNulls bool
	errName  string
}

func (r *Registry) rowFunc(name, sig, kind, doc string, min, max int, opts rowOpts, bind rowBind) {
	r.add(name, sig, kind, doc, func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, min, max); err != nil {
			return nil, err
		}
		rt, cargs, fn, err := bind(args)
		if err != nil {
			return nil, err
		}
		errName := opts.errName
		if errName == "" {
			errName = "INVALID_ARGUMENT"
		}
		return &callNode{name: name, args: args, t: rt, eval: func(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
			n := int(rec.NumRows())
			arrs := make([]arrow.Array, len(cargs))
			defer releaseAll(arrs)
			for k, e := range cargs {
				o, err := evalOperand(ec, rec, e)
				if err != nil {
					return nil, err
				}
				arrs[k] = o.array(ec, n)
				o.release()
			}
			out := newRowOut(ec, rt)
			defer out.b.Release()
			out.b.Reserve(n)
		rows:
			for i := range n {
				if !opts.seeNulls {
					for _, a := range arrs {
						if a.IsNull(i) {
							out.Null()
							continue rows
						}
					}
				}
				if err := fn(ec, arrs, i, out); err != nil {
					ec.Errors.Add(i, errName, "%s: %v", name, err)
					out.Null()
				}
			}
			return out.b.NewArray(), nil
		}}, nil
	})
}

// rowOut appends one value per row to a builder of the result type.
type rowOut struct {
	b array.Builder
	t types.Type
}

func newRowOut(ec *EvalContext, t types.Type) *rowOut {
	return &rowOut{b: array.NewBuilder(ec.Mem, t.Arrow()), t: t}
}

func (o *rowOut) Null() { o.b.AppendNull() }

// Int appends an integer, DATE (days), TIME (ms), TIMESTAMP or INTERVAL
// (ms) value; an integer out of the result type's range is an error.
func (o *rowOut) Int(v int64) error {
	switch b := o.b.(type) {
	case *array.Int8Builder:
		if !fitsKind(v, types.TinyInt) {
			return fmt.Errorf("%d is out of range of TINYINT", v)
		}
		b.Append(int8(v))
	case *array.Int16Builder:
		if !fitsKind(v, types.SmallInt) {
			return fmt.Errorf("%d is out of range of SMALLINT", v)
		}
		b.Append(int16(v))
	case *array.Int32Builder:
		if !fitsKind(v, types.Integer) {
			return fmt.Errorf("%d is out of range of INTEGER", v)
		}
		b.Append(int32(v))
	case *array.Int64Builder:
		b.Append(v)
	case *array.Date32Builder:
		b.Append(arrow.Date32(v))
	case *array.Time32Builder:
		b.Append(arrow.Time32(v))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(v))
	case *array.DurationBuilder:
		b.Append(arrow.Duration(v))
	default:
		return fmt.Errorf("internal: integer result for %s", o.t)
	}
	return nil
}

func (o *rowOut) Float(v float64) error {
	switch b := o.b.(type) {
	case *array.Float64Builder:
		b.Append(v)
	case *array.Float32Builder:
		b.Append(float32(v))
	default:
		return fmt.Errorf("internal: float result for %s", o.t)
	}
	return nil
}

func (o *rowOut) Str(s string) error {
	o.b.(*array.StringBuilder).Append(fitLength(s, o.t))
	return nil
}

func (o *rowOut) Bool(v bool) error {
	o.b.(*array.BooleanBuilder).Append(v)
	return nil
}

func (o *rowOut) Dec(v decimal128.Num) error {
	p, _ := decPS(o.t)
	if !v.FitsInPrecision(p) {
		return fmt.Errorf("result does not fit %s", o.t)
	}
	o.b.(*array.Decimal128Builder).Append(v)
	return nil
}

// Typed readers of argument arrays. The binder coerced each argument, so
// the array types are known.

func argStr(a arrow.Array, i int) string { return a.(*array.String).Value(i) }

func argF64(a arrow.Array, i int) float64 { return a.(*array.Float64).Value(i) }

func argDec(a arrow.Array, i int) decimal128.Num { return a.(*array.Decimal128).Value(i) }

// argInt reads any integer-backed array (the integer types, DATE, TIME,
// TIMESTAMP, INTERVAL) as int64.
func argInt(a arrow.Array, i int) int64 {
	switch x := a.(type) {
	case *array.Int8:
		return int64(x.Value(i))
	case *array.Int16:
		return int64(x.Value(i))
	case *array.Int32:
		return int64(x.Value(i))
	case *array.Int64:
		return x.Value(i)
	case *array.Date32:
		return int64(x.Value(i))
	case *array.Time32:
		return int64(x.Value(i))
	case *array.Timestamp:
		return int64(x.Value(i))
	case *array.Duration:
		return int64(x.Value(i))
	}
	return 0
}

// need checks that argument k has a type accepted by ok.
func need(name string, args []Expr, k int, what string, ok func(types.Type) bool) error {
	t := args[k].Type()
	if t.Kind == types.Null || ok(t) {
		return nil
	}
	return typeErr("%s: argument %d must be %s, got %s", name, k+1, what, t)
}

func isStr(t types.Type) bool      { return t.IsString() }
func isInt(t types.Type) bool      { return t.IsInteger() }
func isNum(t types.Type) bool      { return t.IsNumeric() }
func isTS(t types.Type) bool       { return t.Kind == types.Timestamp || t.Kind == types.Date }
func isInterval(t types.Type) bool { return t.Kind == types.Interval }

// literalString returns the value of a CHAR/VARCHAR literal argument.
func literalString(e Expr) (string, bool) {
	l, ok := asLiteral(e)
	if !ok || l.null || !l.t.IsString() {
		return "", false
	}
	return l.s, true
}
