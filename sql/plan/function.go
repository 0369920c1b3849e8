package plan

// CREATE FUNCTION ... LANGUAGE SQL ... RETURN <expression> (KDA-SQL.md §1.3).
//
// A SQL function is planned once, when its statement is reached: the RETURN
// expression is bound with the parameters as its only names, its type is
// checked against RETURNS, and the function joins the planner's registry,
// where later statements find it like a built-in. At run time a call
// evaluates its arguments over the batch, builds a record whose columns are
// those arguments (one per parameter) and evaluates the bound body over it,
// so a function costs what its inlined expression would.
//
// Types. KDA does not convert a function's arguments or its result
// implicitly. kda accepts a value only from the same type family as the
// declared type, and only where the conversion cannot lose anything:
//
//	TINYINT..BIGINT      from an integer type no wider than the declared one
//	REAL, DOUBLE         from REAL, or DOUBLE to DOUBLE
//	DECIMAL(p,s)         from a DECIMAL with no more integer digits and no
//	                     more decimals
//	CHAR, VARCHAR        from CHAR or VARCHAR of any length (passed as is;
//	                     a result is cut to the RETURNS length like a CAST)
//	other types          from the same type
//	any type             from the NULL literal
//
// Anything else is an error that asks for an explicit CAST: an INTEGER
// argument for a DOUBLE parameter, a DOUBLE body in a function RETURNS
// INTEGER. Lossless widenings are applied as casts.
//
// RETURNS NULL ON NULL INPUT makes the result NULL for every row where an
// argument is NULL, without a row error from the body for that row; the
// default, CALLED ON NULL INPUT, evaluates the body on NULLs too.
//
// Definitions are read in order: a function must be created before the
// statements that call it, a body cannot call its own function (there is
// no recursion), and CREATE OR REPLACE FUNCTION affects only the statements
// after it — pumps and functions planned earlier keep the body they were
// planned with. Built-in functions and aggregates cannot be redefined.

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// sqlFunction is a planned LANGUAGE SQL function.
type sqlFunction struct {
	name   string
	params types.Schema // the parameters, in order; no ROWTIME
	body   expr.Expr    // over a record of the parameters; of type returns
	// returns is the declared result type, nullable.
	returns types.Type
	strict  bool // RETURNS NULL ON NULL INPUT
}

func (p *planner) createFunction(s *dialect.CreateFunction) error {
	name := strings.ToUpper(s.Name)
	if aggregateNames[name] {
		return p.errAt(s.Pos, "%s is an aggregate function and cannot be redefined", name)
	}
	if strings.HasPrefix(name, "KDA_") {
		return p.errAt(s.Pos, "function names starting with KDA_ are reserved")
	}
	if old, ok := p.opts.Functions.Lookup(name); ok {
		if old.Kind != "user" {
			return p.errAt(s.Pos, "%s is a built-in function and cannot be redefined", name)
		}
		if !s.OrReplace {
			return p.errAt(s.Pos, "function %s already exists: use CREATE OR REPLACE FUNCTION to redefine it", quoteName(s.Name))
		}
	}
	f := &sqlFunction{name: name, returns: s.Returns.Nullable(), strict: s.ReturnsNullOnNullInput}
	for _, c := range s.Params {
		if c.Type.Kind == types.Interval {
			return p.errAt(c.Pos, "parameter %s: INTERVAL values cannot be passed to a function", quoteName(c.Name))
		}
		f.params.Fields = append(f.params.Fields, types.Field{Name: c.Name, Type: c.Type.Nullable()})
	}
	if s.Returns.Kind == types.Interval {
		return p.errAt(s.Pos, "a function cannot return INTERVAL")
	}
	if s.Language == "JAVASCRIPT" {
		return p.createJSFunction(s, f)
	}
	body, err := p.bindFunctionBody(s, f)
	if err != nil {
		return err
	}
	f.body = body
	err = p.opts.Functions.Replace(expr.ScalarFunc{
		Name:      name,
		Signature: f.signature(),
		Doc:       "user function: RETURN " + s.Body,
		Check:     f.check,
		Eval:      f.eval,
	})
	if err != nil {
		return p.errAt(s.Pos, "CREATE FUNCTION %s: %v", quoteName(s.Name), err)
	}
	return nil
}

// bindFunctionBody binds the RETURN expression over the parameters and
// converts it to the declared result type.
func (p *planner) bindFunctionBody(s *dialect.CreateFunction, f *sqlFunction) (expr.Expr, error) {
	q := &dialect.Query{Pos: s.Pos, Locations: s.Locations}
	b := &binder{p: p, q: q, sc: &scope{schema: f.params}}
	b.column = func(b *binder, c *sqlparser.ColName) (expr.Expr, error) {
		if !c.Qualifier.IsEmpty() {
			return nil, b.errAt(c, "%s: a function body can use only its parameters, not columns of a stream", sqlparser.String(c))
		}
		n := c.Name.String()
		if i := f.params.Index(n); i >= 0 {
			return expr.Col(i, f.params.Fields[i].Type, n), nil
		}
		if n == types.RowtimeName {
			return nil, b.errAt(c, "a function body cannot read ROWTIME: pass it as an argument")
		}
		if j := indexFold(f.params, n); j >= 0 {
			return nil, b.errAt(c, "unknown name %s in function %s: did you mean the parameter %s? (quoted names keep their case, unquoted ones are upper-cased)",
				quoteName(n), quoteName(s.Name), quoteName(f.params.Fields[j].Name))
		}
		if len(f.params.Fields) == 0 {
			return nil, b.errAt(c, "unknown name %s: function %s has no parameters", quoteName(n), quoteName(s.Name))
		}
		return nil, b.errAt(c, "unknown name %s: function %s can use only its parameters (%s)", quoteName(n), quoteName(s.Name), columnList(f.params))
	}
	var selfCall sqlparser.SQLNode
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if fn, ok := n.(*sqlparser.FuncExpr); ok && fn.Qualifier.IsEmpty() && strings.EqualFold(fn.Name.String(), f.name) && selfCall == nil {
			selfCall = fn
		}
		return true, nil
	}, s.BodyExpr)
	if selfCall != nil {
		return nil, b.errAt(selfCall, "function %s cannot call itself: recursion is not supported", quoteName(s.Name))
	}
	body, err := b.bind(s.BodyExpr)
	if err != nil {
		return nil, err
	}
	cast, ok := implicit(body.Type(), f.returns)
	if !ok {
		return nil, b.errAt(s.BodyExpr, "function %s RETURNS %s but its RETURN expression is %s: CAST it (KDA does not convert a function's result implicitly)",
			quoteName(s.Name), f.returns, body.Type())
	}
	if cast {
		if body, err = expr.Cast(body, f.returns); err != nil {
			return nil, b.wrap(s.BodyExpr, err)
		}
	}
	return body, nil
}

// implicit reports whether a value of type from is accepted where to is
// declared (see the file comment), and whether it must be cast.
func implicit(from, to types.Type) (cast, ok bool) {
	switch {
	case from.Kind == types.Null:
		return true, true
	case from.IsInteger() && to.IsInteger():
		return from.Kind != to.Kind, from.Kind <= to.Kind
	case from.Kind == types.Real && to.Kind == types.Double:
		return true, true
	case from.Kind == types.Decimal && to.Kind == types.Decimal:
		fp, fs := decimalPS(from)
		tp, ts := decimalPS(to)
		return fp != tp || fs != ts, fs <= ts && fp-fs <= tp-ts
	case from.IsString() && to.IsString():
		// Arguments pass as they are; a result is cut to the declared
		// length (a cast that does nothing when it fits).
		return to.Length > 0 && (from.Length == 0 || from.Length > to.Length || to.Kind == types.Char), true
	case from.IsBinary() && to.IsBinary():
		return to.Length > 0 && (from.Length == 0 || from.Length > to.Length), true
	}
	return false, from.Kind == to.Kind
}

func decimalPS(t types.Type) (int, int) {
	dt := t.Arrow().(*arrow.Decimal128Type)
	return int(dt.Precision), int(dt.Scale)
}

func (f *sqlFunction) signature() string {
	parts := make([]string, len(f.params.Fields))
	for i, p := range f.params.Fields {
		parts[i] = p.Name + " " + p.Type.String()
	}
	return fmt.Sprintf("%s(%s) -> %s", f.name, strings.Join(parts, ", "), f.returns)
}

// check accepts the argument types of a call.
func (f *sqlFunction) check(args []types.Type) (types.Type, error) {
	if len(args) != len(f.params.Fields) {
		return types.Type{}, &expr.TypeError{Message: fmt.Sprintf("%s takes %d arguments, got %d: %s", f.name, len(f.params.Fields), len(args), f.signature())}
	}
	for i, a := range args {
		p := f.params.Fields[i]
		if _, ok := implicit(a, p.Type); !ok {
			return types.Type{}, &expr.TypeError{Message: fmt.Sprintf("%s: argument %d is %s but parameter %s is %s: CAST it (KDA does not convert function arguments implicitly)",
				f.name, i+1, a, quoteName(p.Name), p.Type)}
		}
	}
	return f.returns, nil
}

// eval computes the function for n rows from its argument arrays.
func (f *sqlFunction) eval(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
	cols, err := f.arguments(ec, args)
	defer releaseArrays(cols)
	if err != nil {
		return nil, err
	}
	rec := array.NewRecord(f.params.Arrow(), cols, int64(n))
	defer rec.Release()
	// The body's row errors are collected apart so that rows nulled by
	// RETURNS NULL ON NULL INPUT do not report them.
	sub := *ec
	sub.Errors = &expr.RowErrors{}
	out, err := f.body.Eval(&sub, rec)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", f.name, err)
	}
	var nullIn []bool
	if f.strict {
		nullIn = nullRows(args, n)
	}
	sub.Errors.Each(func(row int, e expr.RowError) {
		if nullIn == nil || !nullIn[row] {
			ec.Errors.Add(row, e.Name, "%s", e.Message)
		}
	})
	if nullIn == nil {
		return out, nil
	}
	defer out.Release()
	return withNulls(ec.Mem, out, nullIn), nil
}

// arguments converts every argument with argument. The caller releases
// the arrays (with releaseArrays), also after an error.
func (f *sqlFunction) arguments(ec *expr.EvalContext, args []arrow.Array) ([]arrow.Array, error) {
	cols := make([]arrow.Array, len(args))
	for i, a := range args {
		c, err := f.argument(ec, i, a)
		if err != nil {
			return cols, err
		}
		cols[i] = c
	}
	return cols, nil
}

func releaseArrays(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// argument converts argument i to its parameter's Arrow type: a NULL
// literal becomes a NULL column, a narrower number is widened.
func (f *sqlFunction) argument(ec *expr.EvalContext, i int, a arrow.Array) (arrow.Array, error) {
	want := f.params.Fields[i].Type
	if arrow.TypeEqual(a.DataType(), want.Arrow()) {
		a.Retain()
		return a, nil
	}
	from, ok := sqlTypeOf(a.DataType())
	if !ok {
		return nil, fmt.Errorf("function %s: argument %d has Arrow type %s, not %s", f.name, i+1, a.DataType(), want)
	}
	conv, err := expr.Cast(expr.Col(0, from, ""), want)
	if err != nil {
		return nil, fmt.Errorf("function %s: argument %d: %w", f.name, i+1, err)
	}
	one := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "a", Type: a.DataType(), Nullable: true}}, nil), []arrow.Array{a}, int64(a.Len()))
	defer one.Release()
	return conv.Eval(ec, one)
}

// sqlTypeOf is the SQL type of the Arrow arrays check lets through with a
// type other than the parameter's.
func sqlTypeOf(dt arrow.DataType) (types.Type, bool) {
	switch dt.ID() {
	case arrow.NULL:
		return types.TNull, true
	case arrow.INT8:
		return types.TTinyInt, true
	case arrow.INT16:
		return types.TSmallInt, true
	case arrow.INT32:
		return types.TInteger, true
	case arrow.INT64:
		return types.TBigInt, true
	case arrow.FLOAT32:
		return types.TReal, true
	case arrow.FLOAT64:
		return types.TDouble, true
	case arrow.DECIMAL128:
		d := dt.(*arrow.Decimal128Type)
		return types.Type{Kind: types.Decimal, Precision: int(d.Precision), Scale: int(d.Scale)}, true
	}
	return types.Type{}, false
}

// nullRows marks the rows where some argument is NULL.
func nullRows(args []arrow.Array, n int) []bool {
	out := make([]bool, n)
	for _, a := range args {
		if a.NullN() == 0 {
			continue
		}
		for i := range n {
			if a.IsNull(i) {
				out[i] = true
			}
		}
	}
	return out
}

// withNulls returns a copy of a (sharing its value buffers) where the
// marked rows are NULL too.
func withNulls(mem memory.Allocator, a arrow.Array, null []bool) arrow.Array {
	d := a.Data()
	if d.DataType().ID() == arrow.NULL {
		a.Retain()
		return a
	}
	off := d.Offset()
	bits := memory.NewResizableBuffer(mem)
	bits.Resize(int(bitutil.BytesForBits(int64(off + d.Len()))))
	bm := bits.Bytes()
	for i := range d.Len() {
		bitutil.SetBitTo(bm, off+i, a.IsValid(i) && !null[i])
	}
	bufs := append([]*memory.Buffer{bits}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), d.Len(), bufs, d.Children(), array.UnknownNullCount, off)
	defer nd.Release()
	bits.Release()
	return array.MakeFromData(nd)
}
