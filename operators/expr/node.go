package expr

import (
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

// column is a reference to a column of the batch.
type column struct {
	index int
	t     types.Type
	name  string
}

// Col refers to column index of the batches Eval receives; t is its SQL
// type and name is used only by String.
func Col(index int, t types.Type, name string) Expr {
	return &column{index: index, t: t, name: name}
}

func (c *column) Type() types.Type { return c.t }

func (c *column) String() string {
	if c.name != "" {
		return c.name
	}
	return fmt.Sprintf("$%d", c.index)
}

func (c *column) Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
	if c.index < 0 || c.index >= int(rec.NumCols()) {
		return nil, fmt.Errorf("column %s: index %d out of range of a %d-column batch", c, c.index, rec.NumCols())
	}
	a := rec.Column(c.index)
	if !arrow.TypeEqual(a.DataType(), c.t.Arrow()) && !(c.t.Kind == types.Decimal && a.DataType().ID() == arrow.DECIMAL128) {
		return nil, fmt.Errorf("column %s: batch has %s, expression expects %s (%s)", c, a.DataType(), c.t.Arrow(), c.t)
	}
	a.Retain()
	return a, nil
}

// literal is a constant. Its value is held in the field its type uses:
// i for the integer kinds, DATE (days), TIME (ms of day), TIMESTAMP (epoch
// ms) and INTERVAL (ms); f for REAL and DOUBLE; d for DECIMAL; s for CHAR
// and VARCHAR; bin for BINARY and VARBINARY; b for BOOLEAN.
type literal struct {
	t    types.Type
	null bool
	b    bool
	i    int64
	f    float64
	d    decimal128.Num
	s    string
	bin  []byte
}

// Lit is a constant of type t. v is nil (NULL), bool, an integer, float64,
// string, []byte, time.Time (DATE, TIME, TIMESTAMP; TIME keeps the time of
// day in UTC), time.Duration (INTERVAL) or decimal128.Num (DECIMAL, already
// scaled). Integers and strings are also accepted where they convert
// exactly: an integer or float64 for DECIMAL, a decimal string for DECIMAL.
func Lit(v any, t types.Type) (Expr, error) {
	l := &literal{t: t}
	if v == nil {
		if t.NotNull {
			return nil, &TypeError{Message: fmt.Sprintf("NULL literal of NOT NULL type %s", t)}
		}
		l.null = true
		return l, nil
	}
	bad := func() (Expr, error) {
		return nil, &TypeError{Message: fmt.Sprintf("literal %v (%T) is not a valid %s", v, v, t)}
	}
	switch t.Kind {
	case types.Boolean:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		l.b = b
	case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
		i, ok := toInt64(v)
		if !ok || !fitsKind(i, t.Kind) {
			return bad()
		}
		l.i = i
	case types.Real, types.Double:
		switch x := v.(type) {
		case float64:
			l.f = x
		case float32:
			l.f = float64(x)
		default:
			i, ok := toInt64(v)
			if !ok {
				return bad()
			}
			l.f = float64(i)
		}
		if t.Kind == types.Real {
			l.f = float64(float32(l.f))
		}
	case types.Decimal:
		p, s := decPS(t)
		var (
			n   decimal128.Num
			err error
		)
		switch x := v.(type) {
		case decimal128.Num:
			n = x
		case float64:
			n, err = decimal128.FromFloat64(x, p, s)
		case string:
			n, err = decimal128.FromString(x, p, s)
		default:
			i, ok := toInt64(v)
			if !ok {
				return bad()
			}
			n, err = decimal128.FromI64(i).Rescale(0, s)
		}
		if err != nil || !n.FitsInPrecision(p) {
			return bad()
		}
		l.d = n
	case types.Char, types.Varchar:
		s, ok := v.(string)
		if !ok || !utf8.ValidString(s) {
			return bad()
		}
		if t.Length > 0 && utf8.RuneCountInString(s) > t.Length {
			return bad()
		}
		l.s = s
	case types.Binary, types.Varbinary:
		b, ok := v.([]byte)
		if !ok || (t.Length > 0 && len(b) > t.Length) {
			return bad()
		}
		l.bin = b
	case types.Date:
		tm, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		l.i = floorDiv(tm.UnixMilli(), msPerDay)
	case types.Time:
		tm, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		l.i = floorMod(tm.UnixMilli(), msPerDay)
	case types.Timestamp:
		tm, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		l.i = tm.UnixMilli()
	case types.Interval:
		d, ok := v.(time.Duration)
		if !ok {
			return bad()
		}
		l.i = d.Milliseconds()
	default:
		return bad()
	}
	return l, nil
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

// fitsKind reports whether i is in the range of integer kind k.
func fitsKind(i int64, k types.Kind) bool {
	switch k {
	case types.TinyInt:
		return i >= math.MinInt8 && i <= math.MaxInt8
	case types.SmallInt:
		return i >= math.MinInt16 && i <= math.MaxInt16
	case types.Integer:
		return i >= math.MinInt32 && i <= math.MaxInt32
	}
	return true
}

// decPS returns the precision and scale a DECIMAL type is carried with.
func decPS(t types.Type) (int32, int32) {
	dt := t.Arrow().(*arrow.Decimal128Type)
	return dt.Precision, dt.Scale
}

func (l *literal) Type() types.Type { return l.t }

func (l *literal) String() string {
	if l.null {
		return "NULL"
	}
	switch l.t.Kind {
	case types.Boolean:
		return strings.ToUpper(strconv.FormatBool(l.b))
	case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
		return strconv.FormatInt(l.i, 10)
	case types.Real, types.Double:
		return formatDouble(l.f)
	case types.Decimal:
		_, s := decPS(l.t)
		return l.d.ToString(s)
	case types.Char, types.Varchar:
		return "'" + strings.ReplaceAll(l.s, "'", "''") + "'"
	case types.Binary, types.Varbinary:
		return fmt.Sprintf("X'%X'", l.bin)
	case types.Date:
		return "DATE '" + formatDate(int32(l.i)) + "'"
	case types.Time:
		return "TIME '" + formatTime(int32(l.i)) + "'"
	case types.Timestamp:
		return "TIMESTAMP '" + formatTimestamp(l.i) + "'"
	case types.Interval:
		return "INTERVAL '" + formatInterval(l.i) + "'"
	}
	return "?"
}

func (l *literal) Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
	return l.broadcast(ec.Mem, int(rec.NumRows())), nil
}

// broadcast builds an array holding the literal n times.
func (l *literal) broadcast(mem memory.Allocator, n int) arrow.Array {
	dt := l.t.Arrow()
	if l.null {
		return nullArray(mem, l.t, n)
	}
	switch l.t.Kind {
	case types.Boolean:
		vals := newBitmap(mem, n)
		if l.b {
			for i := range vals.bits {
				vals.bits[i] = 0xff
			}
		}
		return boolOut(vals, bitmap{}, n)
	case types.TinyInt:
		return fill(mem, dt, n, int8(l.i))
	case types.SmallInt:
		return fill(mem, dt, n, int16(l.i))
	case types.Integer, types.Date, types.Time:
		return fill(mem, dt, n, int32(l.i))
	case types.BigInt, types.Timestamp, types.Interval:
		return fill(mem, dt, n, l.i)
	case types.Real:
		return fill(mem, dt, n, float32(l.f))
	case types.Double:
		return fill(mem, dt, n, l.f)
	case types.Decimal:
		return fill(mem, dt, n, l.d)
	case types.Char, types.Varchar:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.ReserveData(n * len(l.s))
		for range n {
			b.Append(l.s)
		}
		return b.NewArray()
	case types.Binary, types.Varbinary:
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		for range n {
			b.Append(l.bin)
		}
		return b.NewArray()
	}
	return nullArray(mem, l.t, n)
}

func fill[T fixed](mem memory.Allocator, dt arrow.DataType, n int, v T) arrow.Array {
	o := newFixed[T](mem, n)
	for i := range o.vals {
		o.vals[i] = v
	}
	return o.finish(dt, bitmap{})
}

// nullArray is n NULLs of type t.
func nullArray(mem memory.Allocator, t types.Type, n int) arrow.Array {
	if t.Kind == types.Null {
		return array.NewNull(n)
	}
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	b.AppendNulls(n)
	return b.NewArray()
}

// asLiteral returns e as a literal when it is one.
func asLiteral(e Expr) (*literal, bool) {
	l, ok := e.(*literal)
	return l, ok
}

// literalAt reads row i of a (of SQL type t) back into a literal.
func literalAt(a arrow.Array, i int, t types.Type) *literal {
	l := &literal{t: t}
	if a.IsNull(i) {
		l.null = true
		return l
	}
	switch x := a.(type) {
	case *array.Boolean:
		l.b = x.Value(i)
	case *array.Int8:
		l.i = int64(x.Value(i))
	case *array.Int16:
		l.i = int64(x.Value(i))
	case *array.Int32:
		l.i = int64(x.Value(i))
	case *array.Int64:
		l.i = x.Value(i)
	case *array.Float32:
		l.f = float64(x.Value(i))
	case *array.Float64:
		l.f = x.Value(i)
	case *array.Decimal128:
		l.d = x.Value(i)
	case *array.String:
		l.s = x.Value(i)
	case *array.Binary:
		l.bin = append([]byte(nil), x.Value(i)...)
	case *array.Date32:
		l.i = int64(x.Value(i))
	case *array.Time32:
		l.i = int64(x.Value(i))
	case *array.Timestamp:
		l.i = int64(x.Value(i))
	case *array.Duration:
		l.i = int64(x.Value(i))
	default:
		l.null = true
	}
	return l
}

// oneRow is an empty batch of one row, for folding constant expressions.
func oneRow() arrow.Record {
	return array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
}

// fold evaluates an expression whose inputs are all literals once, at
// construction, and returns it as a literal. It returns e unchanged when
// the evaluation fails for the row (so that the failure stays a row error).
func fold(e Expr) Expr {
	ec := &EvalContext{Mem: memory.DefaultAllocator, Errors: &RowErrors{}, Now: func() time.Time { return time.Time{} }}
	rec := oneRow()
	defer rec.Release()
	a, err := e.Eval(ec, rec)
	if err != nil || ec.Errors.Len() > 0 {
		if a != nil {
			a.Release()
		}
		return e
	}
	defer a.Release()
	return literalAt(a, 0, e.Type())
}
