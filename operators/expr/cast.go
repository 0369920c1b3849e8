package expr

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// CAST follows KDA's conversion table (KDA-SQL.md §4, Conversion):
//
//	numeric            -> numeric, CHAR, VARCHAR
//	CHAR, VARCHAR      -> every type (parsed; a failure is a row error)
//	DATE               -> DATE, CHAR, VARCHAR, TIMESTAMP
//	TIME               -> TIME, CHAR, VARCHAR, TIMESTAMP (on the query's start date)
//	TIMESTAMP          -> TIMESTAMP, DATE, TIME, CHAR, VARCHAR
//	INTERVAL           -> INTERVAL, BIGINT and DECIMAL (milliseconds), CHAR, VARCHAR
//	BOOLEAN            -> BOOLEAN, CHAR, VARCHAR
//	BINARY, VARBINARY  -> BINARY, VARBINARY
//
// Numeric narrowing that overflows is a row error; DOUBLE/REAL/DECIMAL to an
// integer truncates toward zero; DECIMAL to a smaller scale rounds half up.
// VARCHAR(n) and VARBINARY(n) truncate silently; CHAR(n) also pads with
// spaces. Strings are trimmed of surrounding blanks before parsing.

const msPerDay = 86_400_000

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// castable reports whether KDA's table allows CAST(from AS to).
func castable(from, to types.Type) bool {
	f, t := from.Kind, to.Kind
	switch {
	case f == types.Null || f == t:
		return true
	case from.IsNumeric():
		return to.IsNumeric() || to.IsString()
	case from.IsString():
		return t != types.Null
	case f == types.Date:
		return to.IsString() || t == types.Timestamp
	case f == types.Time:
		return to.IsString() || t == types.Timestamp
	case f == types.Timestamp:
		return to.IsString() || t == types.Date || t == types.Time
	case f == types.Interval:
		return to.IsString() || t == types.BigInt || t == types.Decimal
	case f == types.Boolean:
		return to.IsString()
	case from.IsBinary():
		return to.IsBinary()
	}
	return false
}

type castExpr struct {
	x  Expr
	to types.Type
}

// Cast converts x to type to; a conversion KDA does not allow is a
// *TypeError. A CAST of a literal is folded when it succeeds.
func Cast(x Expr, to types.Type) (Expr, error) {
	if to.Kind == types.Null || to.Kind == types.Interval && !x.Type().IsString() && x.Type().Kind != types.Interval && x.Type().Kind != types.Null {
		return nil, typeErr("cannot CAST %s to %s", x.Type(), to)
	}
	if !castable(x.Type(), to) {
		return nil, typeErr("cannot CAST %s to %s", x.Type(), to)
	}
	return castNode(x, to), nil
}

// castNode builds a conversion without checking the table (coercions the
// operators insert use it too).
func castNode(x Expr, to types.Type) Expr {
	c := &castExpr{x: x, to: to}
	if _, ok := asLiteral(x); ok {
		return fold(c)
	}
	return c
}

func registerCast(r *Registry) {
	r.add("CAST", "CAST(x AS type)", "conversion", "conversion per KDA's table; built with Cast, not Call",
		func(name string, args []Expr) (Expr, error) {
			return nil, typeErr("CAST is built with expr.Cast(x, type)")
		})
}

func (c *castExpr) Type() types.Type { return c.to }

func (c *castExpr) String() string { return fmt.Sprintf("CAST(%s AS %s)", c.x, c.to) }

func (c *castExpr) Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
	a, err := c.x.Eval(ec, rec)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	return castArray(ec, a, c.x.Type(), c.to), nil
}

// castArray converts every value of a (SQL type from) to type to.
func castArray(ec *EvalContext, a arrow.Array, from, to types.Type) arrow.Array {
	n := a.Len()
	if from.Kind == types.Null || a.DataType().ID() == arrow.NULL {
		return nullArray(ec.Mem, to, n)
	}
	switch {
	case from.IsString():
		return castFromString(ec, a.(*array.String), to)
	case to.IsString():
		return castToString(ec, a, from, to)
	case from.IsNumeric() && to.IsNumeric():
		return castNumeric(ec, a, from, to)
	}
	mem := ec.Mem
	switch from.Kind {
	case types.Date:
		src := valuesOf[int32](a)
		switch to.Kind {
		case types.Date:
			a.Retain()
			return a
		case types.Timestamp:
			out := newFixed[int64](mem, n)
			for i, d := range src {
				out.vals[i] = int64(d) * msPerDay
			}
			return out.finish(to.Arrow(), andValidity(mem, n, validity(a)))
		}
	case types.Time:
		src := valuesOf[int32](a)
		switch to.Kind {
		case types.Time:
			a.Retain()
			return a
		case types.Timestamp:
			day := floorDiv(ec.QueryStart.UnixMilli(), msPerDay) * msPerDay
			out := newFixed[int64](mem, n)
			for i, t := range src {
				out.vals[i] = day + int64(t)
			}
			return out.finish(to.Arrow(), andValidity(mem, n, validity(a)))
		}
	case types.Timestamp:
		src := valuesOf[int64](a)
		switch to.Kind {
		case types.Timestamp:
			a.Retain()
			return a
		case types.Date:
			out := newFixed[int32](mem, n)
			for i, t := range src {
				out.vals[i] = int32(floorDiv(t, msPerDay))
			}
			return out.finish(to.Arrow(), andValidity(mem, n, validity(a)))
		case types.Time:
			out := newFixed[int32](mem, n)
			for i, t := range src {
				out.vals[i] = int32(floorMod(t, msPerDay))
			}
			return out.finish(to.Arrow(), andValidity(mem, n, validity(a)))
		}
	case types.Interval:
		src := valuesOf[int64](a)
		switch to.Kind {
		case types.Interval:
			a.Retain()
			return a
		case types.BigInt:
			out := newFixed[int64](mem, n)
			copy(out.vals, src)
			return out.finish(to.Arrow(), andValidity(mem, n, validity(a)))
		case types.Decimal:
			return castNumeric(ec, castArray(ec, a, from, types.TBigInt), types.TBigInt, to)
		}
	case types.Boolean:
		a.Retain()
		return a
	case types.Binary, types.Varbinary:
		src := a.(*array.Binary)
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		for i := range n {
			if src.IsNull(i) {
				b.AppendNull()
				continue
			}
			v := src.Value(i)
			if to.Length > 0 && len(v) > to.Length {
				v = v[:to.Length]
			}
			b.Append(v)
		}
		return b.NewArray()
	}
	return nullArray(mem, to, n)
}

// castNumeric converts between the numeric types through int64, float64
// or decimal128.
func castNumeric(ec *EvalContext, a arrow.Array, from, to types.Type) arrow.Array {
	n := a.Len()
	mem := ec.Mem
	if from.Kind == types.Decimal || to.Kind == types.Decimal {
		return castDecimal(ec, a, from, to)
	}
	if from.Kind == to.Kind {
		a.Retain()
		return a
	}
	valid := andValidity(mem, n, validity(a))
	errs := rowErrs{name: "CAST", msg: fmt.Sprintf("value out of range of %s", to), src: a}
	var iv []int64
	var fv []float64
	switch from.Kind {
	case types.TinyInt:
		iv = widen[int8, int64](valuesOf[int8](a))
	case types.SmallInt:
		iv = widen[int16, int64](valuesOf[int16](a))
	case types.Integer:
		iv = widen[int32, int64](valuesOf[int32](a))
	case types.BigInt:
		iv = valuesOf[int64](a)
	case types.Real:
		fv = widen[float32, float64](valuesOf[float32](a))
	case types.Double:
		fv = valuesOf[float64](a)
	}
	if fv != nil && to.IsInteger() {
		iv = make([]int64, n)
		for i, f := range fv {
			t := math.Trunc(f)
			if math.IsNaN(t) || t < -9.223372036854775808e18 || t >= 9.223372036854775808e18 {
				errs.add(i)
				continue
			}
			iv[i] = int64(t)
		}
	}
	var out arrow.Array
	switch to.Kind {
	case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
		out = narrowTo(mem, iv, to, &errs)
	case types.Real:
		o := newFixed[float32](mem, n)
		for i := range o.vals {
			if fv != nil {
				o.vals[i] = float32(fv[i])
			} else {
				o.vals[i] = float32(iv[i])
			}
		}
		out = o.finish(to.Arrow(), bitmap{})
	case types.Double:
		o := newFixed[float64](mem, n)
		for i := range o.vals {
			if fv != nil {
				o.vals[i] = fv[i]
			} else {
				o.vals[i] = float64(iv[i])
			}
		}
		out = o.finish(to.Arrow(), bitmap{})
	}
	return withValidity(ec, out, valid, &errs)
}

// withValidity re-wraps out (built without validity) with valid, after
// recording the collected row errors.
func withValidity(ec *EvalContext, out arrow.Array, valid bitmap, errs *rowErrs) arrow.Array {
	n := out.Len()
	errs.flushValid(ec, &valid, n)
	if valid.buf == nil {
		return out
	}
	d := out.Data()
	data := d.Buffers()
	nd := array.NewData(d.DataType(), n, append(append(data[:0:0], valid.buf), data[1:]...), nil, valid.nulls(n), 0)
	res := array.MakeFromData(nd)
	nd.Release()
	valid.buf.Release()
	out.Release()
	return res
}

func widen[F int8 | int16 | int32 | float32, T int64 | float64](src []F) []T {
	out := make([]T, len(src))
	for i, v := range src {
		out[i] = T(v)
	}
	return out
}

func narrowInt[T sint](mem memory.Allocator, iv []int64, to types.Type, errs *rowErrs) arrow.Array {
	o := newFixed[T](mem, len(iv))
	for i, v := range iv {
		if int64(T(v)) != v {
			errs.add(i)
			continue
		}
		o.vals[i] = T(v)
	}
	return o.finish(to.Arrow(), bitmap{})
}

// castDecimal converts to or from DECIMAL.
func castDecimal(ec *EvalContext, a arrow.Array, from, to types.Type) arrow.Array {
	n := a.Len()
	mem := ec.Mem
	valid := andValidity(mem, n, validity(a))
	errs := rowErrs{name: "CAST", msg: fmt.Sprintf("value out of range of %s", to), src: a}
	// Read every value as a decimal of scale fs.
	var fs int32
	dec := make([]decimal128.Num, n)
	var fv []float64
	switch from.Kind {
	case types.Decimal:
		_, fs = decPS(from)
		copy(dec, valuesOf[decimal128.Num](a))
	case types.Real, types.Double:
		if from.Kind == types.Real {
			fv = widen[float32, float64](valuesOf[float32](a))
		} else {
			fv = valuesOf[float64](a)
		}
	default:
		i64 := castNumeric(ec, a, from, types.TBigInt)
		for i, v := range valuesOf[int64](i64) {
			dec[i] = decimal128.FromI64(v)
		}
		i64.Release()
	}
	switch {
	case to.Kind == types.Decimal:
		tp, ts := decPS(to)
		out := newFixed[decimal128.Num](mem, n)
		for i := range out.vals {
			if valid.buf != nil && !isValid(valid.bits, i) {
				continue
			}
			var v decimal128.Num
			var err error
			if fv != nil {
				v, err = decimal128.FromFloat64(fv[i], tp, ts)
			} else if ts >= fs {
				v = dec[i].IncreaseScaleBy(ts - fs)
			} else {
				v = dec[i].ReduceScaleBy(fs-ts, true)
			}
			if err != nil || !v.FitsInPrecision(tp) {
				errs.add(i)
				continue
			}
			out.vals[i] = v
		}
		errs.flushValid(ec, &valid, n)
		return out.finish(to.Arrow(), valid)
	case to.Kind == types.Real || to.Kind == types.Double:
		f := newFixed[float64](mem, n)
		for i := range f.vals {
			f.vals[i] = dec[i].ToFloat64(fs)
		}
		d := f.finish(types.TDouble.Arrow(), valid)
		if to.Kind == types.Double {
			return d
		}
		defer d.Release()
		return castNumeric(ec, d, types.TDouble, to)
	default: // integer: truncate toward zero
		iv := make([]int64, n)
		for i := range iv {
			v := dec[i]
			if fs > 0 {
				v = v.ReduceScaleBy(fs, false)
			}
			if !v.FitsInPrecision(18) && (v.HighBits() != 0 && v.HighBits() != -1 || (v.HighBits() == 0) != (int64(v.LowBits()) >= 0)) {
				if valid.buf == nil || isValid(valid.bits, i) {
					errs.add(i)
				}
				continue
			}
			iv[i] = int64(v.LowBits())
		}
		return withValidity(ec, narrowTo(mem, iv, to, &errs), valid, &errs)
	}
}

// castToString formats every value of a as CHAR/VARCHAR.
func castToString(ec *EvalContext, a arrow.Array, from, to types.Type) arrow.Array {
	n := a.Len()
	b := array.NewStringBuilder(ec.Mem)
	defer b.Release()
	var buf []byte
	for i := range n {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		buf = appendValue(buf[:0], a, i, from)
		b.Append(fitLength(string(buf), to))
	}
	return b.NewArray()
}

// fitLength truncates to VARCHAR(n)/CHAR(n) and pads CHAR(n).
func fitLength(s string, t types.Type) string {
	if t.Length <= 0 {
		return s
	}
	if len(s) > t.Length { // only then can the rune count exceed it
		if c := utf8.RuneCountInString(s); c > t.Length {
			k := 0
			for i := range s {
				if k == t.Length {
					s = s[:i]
					break
				}
				k++
			}
		}
	}
	if t.Kind == types.Char {
		if c := utf8.RuneCountInString(s); c < t.Length {
			s += strings.Repeat(" ", t.Length-c)
		}
	}
	return s
}

// appendValue formats row i of a (of type t) as CAST(... AS VARCHAR) does.
func appendValue(buf []byte, a arrow.Array, i int, t types.Type) []byte {
	switch t.Kind {
	case types.Boolean:
		if a.(*array.Boolean).Value(i) {
			return append(buf, "TRUE"...)
		}
		return append(buf, "FALSE"...)
	case types.TinyInt:
		return strconv.AppendInt(buf, int64(a.(*array.Int8).Value(i)), 10)
	case types.SmallInt:
		return strconv.AppendInt(buf, int64(a.(*array.Int16).Value(i)), 10)
	case types.Integer:
		return strconv.AppendInt(buf, int64(a.(*array.Int32).Value(i)), 10)
	case types.BigInt:
		return strconv.AppendInt(buf, a.(*array.Int64).Value(i), 10)
	case types.Real:
		return append(buf, formatFloat(float64(a.(*array.Float32).Value(i)), 32)...)
	case types.Double:
		return append(buf, formatDouble(a.(*array.Float64).Value(i))...)
	case types.Decimal:
		_, s := decPS(t)
		return append(buf, a.(*array.Decimal128).Value(i).ToString(s)...)
	case types.Char, types.Varchar:
		return append(buf, a.(*array.String).Value(i)...)
	case types.Binary, types.Varbinary:
		return append(buf, a.(*array.Binary).Value(i)...)
	case types.Date:
		return append(buf, formatDate(int32(a.(*array.Date32).Value(i)))...)
	case types.Time:
		return append(buf, formatTime(int32(a.(*array.Time32).Value(i)))...)
	case types.Timestamp:
		return append(buf, formatTimestamp(int64(a.(*array.Timestamp).Value(i)))...)
	case types.Interval:
		return append(buf, formatInterval(int64(a.(*array.Duration).Value(i)))...)
	}
	return buf
}

// formatDouble writes a DOUBLE the way Java's Double.toString does:
// 2.0, 0.001, 1.0E7, 1.5E-4.
func formatDouble(f float64) string { return formatFloat(f, 64) }

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, bits) // 1.5E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

func formatDate(days int32) string {
	return time.UnixMilli(int64(days) * msPerDay).UTC().Format("2006-01-02")
}

func formatTime(ms int32) string {
	// Like formatTimestamp: TIME has millisecond precision, so the
	// milliseconds are written when they are not zero (a TIME cast to
	// VARCHAR and back keeps its value).
	t := time.UnixMilli(int64(ms)).UTC()
	if ms%1000 != 0 {
		return t.Format("15:04:05.000")
	}
	return t.Format("15:04:05")
}

// formatTimestamp writes 'yyyy-MM-dd HH:mm:ss' with '.SSS' when the
// milliseconds are not zero.
func formatTimestamp(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	if ms%1000 != 0 {
		return t.Format("2006-01-02 15:04:05.000")
	}
	return t.Format("2006-01-02 15:04:05")
}

// formatInterval writes a day-time interval as '[-]D HH:MM:SS.fff'.
func formatInterval(ms int64) string {
	sign := ""
	if ms < 0 {
		sign = "-"
		ms = -ms
	}
	d := ms / msPerDay
	ms %= msPerDay
	return fmt.Sprintf("%s%d %02d:%02d:%02d.%03d", sign, d, ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}

// castFromString parses every value of a as type to.
func castFromString(ec *EvalContext, a *array.String, to types.Type) arrow.Array {
	n := a.Len()
	mem := ec.Mem
	valid := andValidity(mem, n, validity(a))
	errs := rowErrs{name: "CAST"}
	bad := func(i int, err error) {
		if valid.buf != nil && !isValid(valid.bits, i) {
			return
		}
		ec.Errors.Add(i, "CAST", "cannot CAST '%s' to %s: %v", a.Value(i), to, err)
		valid.clearBit(mem, n, i)
	}
	parseFixed := func(dt arrow.DataType, parse func(s string) (int64, error), put func(i int, v int64)) {
		for i := range n {
			if valid.buf != nil && !isValid(valid.bits, i) {
				continue
			}
			v, err := parse(strings.TrimSpace(a.Value(i)))
			if err != nil {
				bad(i, err)
				continue
			}
			put(i, v)
		}
	}
	switch to.Kind {
	case types.Char, types.Varchar, types.Binary, types.Varbinary:
		valid.release()
	}
	switch to.Kind {
	case types.Char, types.Varchar:
		if to.Length <= 0 {
			a.Retain()
			return a
		}
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i := range n {
			if a.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(fitLength(a.Value(i), to))
			}
		}
		return b.NewArray()
	case types.Binary, types.Varbinary:
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		for i := range n {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			v := []byte(a.Value(i))
			if to.Length > 0 && len(v) > to.Length {
				v = v[:to.Length]
			}
			b.Append(v)
		}
		return b.NewArray()
	case types.Boolean:
		vals := newBitmap(mem, n)
		parseFixed(nil, parseBool, func(i int, v int64) {
			if v != 0 {
				vals.setBit(i)
			}
		})
		return boolOut(vals, valid, n)
	case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
		iv := make([]int64, n)
		parseFixed(nil, func(s string) (int64, error) {
			v, err := strconv.ParseInt(s, 10, 64)
			switch {
			case errors.Is(err, strconv.ErrRange):
				err = fmt.Errorf("out of range")
			case err != nil:
				err = fmt.Errorf("not an integer")
			case !fitsKind(v, to.Kind):
				err = fmt.Errorf("out of range")
			}
			return v, err
		}, func(i int, v int64) { iv[i] = v })
		return withValidity(ec, narrowTo(mem, iv, to, &errs), valid, &errs)
	case types.Real, types.Double:
		o := newFixed[float64](mem, n)
		for i := range n {
			if valid.buf != nil && !isValid(valid.bits, i) {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(a.Value(i)), 64)
			if err != nil {
				bad(i, fmt.Errorf("not a number"))
				continue
			}
			o.vals[i] = v
		}
		d := o.finish(types.TDouble.Arrow(), valid)
		if to.Kind == types.Double {
			return d
		}
		defer d.Release()
		return castNumeric(ec, d, types.TDouble, to)
	case types.Decimal:
		p, s := decPS(to)
		o := newFixed[decimal128.Num](mem, n)
		for i := range n {
			if valid.buf != nil && !isValid(valid.bits, i) {
				continue
			}
			v, err := decimal128.FromString(strings.TrimSpace(a.Value(i)), p, s)
			if err == nil && !v.FitsInPrecision(p) {
				err = fmt.Errorf("more than %d digits", p)
			}
			if err != nil {
				bad(i, err)
				continue
			}
			o.vals[i] = v
		}
		return o.finish(to.Arrow(), valid)
	case types.Date, types.Time:
		o := newFixed[int32](mem, n)
		parse := parseDate
		if to.Kind == types.Time {
			parse = parseTime
		}
		parseFixed(nil, parse, func(i int, v int64) { o.vals[i] = int32(v) })
		return o.finish(to.Arrow(), valid)
	case types.Timestamp, types.Interval:
		o := newFixed[int64](mem, n)
		parse := parseTimestamp
		if to.Kind == types.Interval {
			parse = parseInterval
		}
		parseFixed(nil, parse, func(i int, v int64) { o.vals[i] = v })
		return o.finish(to.Arrow(), valid)
	}
	return nullArray(mem, to, n)
}

func parseBool(s string) (int64, error) {
	switch {
	case strings.EqualFold(s, "true"):
		return 1, nil
	case strings.EqualFold(s, "false"):
		return 0, nil
	}
	return 0, fmt.Errorf("not TRUE or FALSE")
}

// digits reads exactly n decimal digits at s[i:].
func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

var errDateFormat = fmt.Errorf("want yyyy-MM-dd")

// parseDate reads 'yyyy-MM-dd' into days since the epoch.
func parseDate(s string) (int64, error) {
	ms, rest, err := parseDatePart(s)
	if err != nil {
		return 0, err
	}
	if rest != "" {
		return 0, errDateFormat
	}
	return ms / msPerDay, nil
}

func parseDatePart(s string) (int64, string, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	dash := strings.IndexByte(s, '-')
	if dash < 4 {
		return 0, "", errDateFormat
	}
	y, ok1 := digits(s, 0, dash)
	m, ok2 := digits(s, dash+1, 2)
	d, ok3 := digits(s, dash+4, 2)
	if !ok1 || !ok2 || !ok3 || len(s) < dash+6 || s[dash+3] != '-' {
		return 0, "", errDateFormat
	}
	if neg {
		y = -y
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m {
		return 0, "", fmt.Errorf("no such date")
	}
	return t.UnixMilli(), s[dash+6:], nil
}

// parseTime reads 'HH:mm:ss[.SSS]' into milliseconds since midnight.
func parseTime(s string) (int64, error) {
	h, ok1 := digits(s, 0, 2)
	m, ok2 := digits(s, 3, 2)
	sec, ok3 := digits(s, 6, 2)
	if len(s) == 5 && ok1 && ok2 && s[2] == ':' { // HH:mm
		sec, ok3 = 0, true
		s += ":00"
	}
	if !ok1 || !ok2 || !ok3 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 || sec > 59 {
		return 0, fmt.Errorf("want HH:mm:ss[.SSS]")
	}
	ms, err := fraction(s[8:])
	if err != nil {
		return 0, err
	}
	return int64(((h*60+m)*60+sec)*1000 + ms), nil
}

// fraction reads ” or '.S', '.SS', '.SSS…' (beyond milliseconds is dropped).
func fraction(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if s[0] != '.' || len(s) == 1 {
		return 0, fmt.Errorf("bad fraction of a second %q", s)
	}
	ms := 0
	for k, c := range []byte(s[1:]) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad fraction of a second %q", s)
		}
		if k < 3 {
			ms = ms*10 + int(c-'0')
		}
	}
	for k := len(s) - 1; k < 3; k++ {
		ms *= 10
	}
	return ms, nil
}

// parseTimestamp reads 'yyyy-MM-dd[ HH:mm:ss[.SSS]]' or the ISO form with
// 'T' and an optional 'Z', into epoch milliseconds.
func parseTimestamp(s string) (int64, error) {
	day, rest, err := parseDatePart(s)
	if err != nil {
		return 0, fmt.Errorf("want yyyy-MM-dd HH:mm:ss[.SSS]")
	}
	if rest == "" {
		return day, nil
	}
	if rest[0] != ' ' && rest[0] != 'T' {
		return 0, fmt.Errorf("want yyyy-MM-dd HH:mm:ss[.SSS]")
	}
	rest = strings.TrimSuffix(rest[1:], "Z")
	t, err := parseTime(rest)
	if err != nil {
		return 0, err
	}
	return day + t, nil
}

// parseInterval reads a day-time interval: '[-]D HH:mm:ss[.SSS]',
// '[-]HH:mm:ss[.SSS]' or a number of seconds ('90', '1.5').
func parseInterval(s string) (int64, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	var ms int64
	if !strings.Contains(s, ":") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || strings.ContainsAny(s, "eEnN") {
			return 0, fmt.Errorf("want D HH:mm:ss[.SSS] or seconds")
		}
		ms = int64(math.Round(f * 1000))
	} else {
		var days int64
		if d, rest, ok := strings.Cut(s, " "); ok {
			v, err := strconv.ParseInt(d, 10, 32)
			if err != nil {
				return 0, fmt.Errorf("want D HH:mm:ss[.SSS]")
			}
			days, s = v, rest
		}
		t, err := parseTime(s)
		if err != nil {
			return 0, err
		}
		ms = days*msPerDay + t
	}
	if neg {
		ms = -ms
	}
	return ms, nil
}

// narrowTo builds the integer array of type to from int64 values, recording
// the values that do not fit as row errors.
func narrowTo(mem memory.Allocator, iv []int64, to types.Type, errs *rowErrs) arrow.Array {
	switch to.Kind {
	case types.TinyInt:
		return narrowInt[int8](mem, iv, to, errs)
	case types.SmallInt:
		return narrowInt[int16](mem, iv, to, errs)
	case types.Integer:
		return narrowInt[int32](mem, iv, to, errs)
	}
	return narrowInt[int64](mem, iv, to, errs)
}
