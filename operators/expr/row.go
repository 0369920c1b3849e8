package expr

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// ROW values. A ROW (types.Row) travels as an Arrow struct array with one
// child per field. Arrays built here keep a field NULL wherever its row is
// NULL; Field still masks the child with the row's validity, so a struct
// from elsewhere reads the same.

// ArgError is a planning error about one argument of a call (a pattern
// that is not a literal, an invalid log format): the planner reports it at
// that argument rather than at the call.
type ArgError struct {
	Arg     int // 0-based
	Message string
	Err     error // the cause, such as a *JavaRegexError, or nil
}

func (e *ArgError) Error() string { return e.Message }

func (e *ArgError) Unwrap() error { return e.Err }

func argErr(arg int, format string, args ...any) error {
	return &ArgError{Arg: arg, Message: fmt.Sprintf(format, args...)}
}

// argWrap is an ArgError "prefix: err" that keeps err as its cause.
func argWrap(arg int, prefix string, err error) error {
	return &ArgError{Arg: arg, Message: prefix + ": " + err.Error(), Err: err}
}

// fieldNode reads one field of a ROW expression.
type fieldNode struct {
	row   Expr
	index int
	t     types.Type
}

// Field returns field name of the ROW expression row (matched exactly;
// the planner folds unquoted names to upper case before).
func Field(row Expr, name string) (Expr, error) {
	rt := row.Type()
	if rt.Kind != types.Row {
		return nil, typeErr("%s is %s, not a ROW: it has no field %s", row, rt, name)
	}
	i := rt.FieldIndex(name)
	if i < 0 {
		return nil, typeErr("the ROW %s has no field %s (it has %s)", row, name, fieldNames(rt))
	}
	return &fieldNode{row: row, index: i, t: rt.Row.Fields[i].Type.Nullable()}, nil
}

func fieldNames(t types.Type) string {
	s := ""
	for i, f := range t.Row.Fields {
		if i > 0 {
			s += ", "
		}
		s += f.Name
	}
	return s
}

func (f *fieldNode) Type() types.Type { return f.t }

func (f *fieldNode) String() string {
	return f.row.String() + "." + f.row.Type().Row.Fields[f.index].Name
}

func (f *fieldNode) Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
	a, err := f.row.Eval(ec, rec)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	st, ok := a.(*array.Struct)
	if !ok {
		if a.DataType().ID() == arrow.NULL {
			return nullArray(ec.Mem, f.t, a.Len()), nil
		}
		return nil, fmt.Errorf("field %s: the row is %s, not a struct", f, a.DataType())
	}
	child := st.Field(f.index)
	if st.NullN() == 0 {
		child.Retain()
		return child, nil
	}
	return maskNulls(ec.Mem, child, st), nil
}

// maskNulls returns child with NULL wherever parent is NULL.
func maskNulls(mem memory.Allocator, child, parent arrow.Array) arrow.Array {
	if child.DataType().ID() == arrow.NULL {
		child.Retain()
		return child
	}
	d := child.Data()
	off, n := d.Offset(), d.Len()
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(off + n))))
	bits := buf.Bytes()
	clear(bits)
	nulls := 0
	for i := 0; i < n; i++ {
		if child.IsValid(i) && parent.IsValid(i) {
			bitutil.SetBit(bits, off+i)
		} else {
			nulls++
		}
	}
	bufs := append([]*memory.Buffer{buf}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), n, bufs, d.Children(), nulls, off)
	buf.Release()
	defer nd.Release()
	return array.MakeFromData(nd)
}

// rowArray assembles a ROW array of type t from its field arrays (one per
// field, n values each) and the rows' validity (nil: every row valid). It
// takes ownership of nothing; the caller releases fields.
func rowArray(mem memory.Allocator, t types.Type, fields []arrow.Array, valid []bool, n int) arrow.Array {
	children := make([]arrow.ArrayData, len(fields))
	for i, f := range fields {
		children[i] = f.Data()
	}
	var bufs []*memory.Buffer
	nulls := 0
	if valid != nil {
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := buf.Bytes()
		clear(bits)
		for i, v := range valid {
			if v {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
		bufs = []*memory.Buffer{buf}
		defer buf.Release()
	} else {
		bufs = []*memory.Buffer{nil}
	}
	d := array.NewData(t.Arrow(), n, bufs, children, nulls, 0)
	defer d.Release()
	return array.NewStructData(d)
}
