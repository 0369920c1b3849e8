package udf

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
	"github.com/dop251/goja_nodejs/buffer"

	"github.com/kdaproject/kda/sql/types"
)

// ScalarSpec declares a SQL scalar function written in JavaScript.
type ScalarSpec struct {
	Name    string        // the SQL name, upper case
	Params  []types.Field // in order
	Returns types.Type
	// Strict is RETURNS NULL ON NULL INPUT: rows with a NULL argument are
	// NULL without calling the function.
	Strict bool
	// Source is either a function body with the parameters bound by name
	// ("return a * 2 + 1;") or a function expression
	// ("function (a, b) { ... }", "(a, b) => a + b").
	Source string
}

// Scalar is a compiled JavaScript scalar function. Eval runs it over a
// whole batch in one call into JavaScript: argument columns cross as typed
// arrays (numbers without a copy), results come back the same way.
//
// Values cross as follows. BOOLEAN is a boolean; TINYINT, SMALLINT,
// INTEGER, REAL and DOUBLE are numbers; BIGINT and DECIMAL are numbers too,
// exact up to 2^53; CHAR and VARCHAR are strings; BINARY and VARBINARY are
// Buffers; DATE, TIME and TIMESTAMP are Dates (UTC; a TIME is on
// 1970-01-01). NULL is null. A result of null or undefined is NULL; a
// result of the wrong kind (a string where a DOUBLE is declared, a
// fraction where an INTEGER is) is a row error.
type Scalar struct {
	spec ScalarSpec
	pool *Pool
}

// NewScalar compiles spec. A syntax error is a *SyntaxError positioned in
// spec.Source.
func NewScalar(spec ScalarSpec, opts Options) (*Scalar, error) {
	for i, p := range spec.Params {
		if _, ok := argKinds[p.Type.Kind]; !ok {
			return nil, fmt.Errorf("function %s: parameter %d (%s) has type %s, which cannot be passed to JavaScript", spec.Name, i+1, p.Name, p.Type)
		}
	}
	if _, ok := argKinds[spec.Returns.Kind]; !ok {
		return nil, fmt.Errorf("function %s: a JavaScript function cannot return %s", spec.Name, spec.Returns)
	}
	src, lineOff, colOff := scalarSource(spec)
	script, err := compileWithOffset("function "+spec.Name, src, lineOff, colOff)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = spec.Name
	}
	pool, err := NewPool(script, opts)
	if err != nil {
		return nil, err
	}
	return &Scalar{spec: spec, pool: pool}, nil
}

// Spec is the function's declaration.
func (s *Scalar) Spec() ScalarSpec { return s.spec }

// Close drops the function's idle runtimes.
func (s *Scalar) Close() { s.pool.Close() }

// argKinds are the SQL types that cross into JavaScript, with how a column
// of that type is handed over: "f64" Float64Array, "f32" Float32Array,
// "i32" Int32Array, "bool" Uint8Array, "date" Float64Array of ms turned into
// Dates, "str" an array of strings, "bin" an array of Buffers.
var argKinds = map[types.Kind]string{
	types.Boolean: "bool", types.TinyInt: "i32", types.SmallInt: "i32", types.Integer: "i32",
	types.BigInt: "f64", types.Real: "f32", types.Double: "f64", types.Decimal: "f64",
	types.Char: "str", types.Varchar: "str", types.Binary: "bin", types.Varbinary: "bin",
	types.Date: "date", types.Time: "date", types.Timestamp: "date",
}

var jsIdent = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// isFunctionExpression reports whether src is a function expression
// rather than a function body.
func isFunctionExpression(src string) bool {
	prog, err := parser.ParseFile(nil, "", "("+src+"\n)", 0)
	if err != nil || len(prog.Body) != 1 {
		return false
	}
	st, ok := prog.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return false
	}
	switch st.Expression.(type) {
	case *ast.FunctionLiteral, *ast.ArrowFunctionLiteral:
		return true
	}
	return false
}

// inlineReturn is the expression of a body that is just `return <expr>;`
// and uses neither this nor arguments: the driver evaluates it in its loop
// instead of calling a function per row, which halves the cost of a call
// in goja. ok is false for any other body.
func inlineReturn(src string) (string, bool) {
	if inlineBlock.MatchString(src) {
		return "", false
	}
	prog, err := parser.ParseFile(nil, "", "(function () {"+src+"\n})", 0)
	if err != nil || len(prog.Body) != 1 {
		return "", false
	}
	st, ok := prog.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return "", false
	}
	fn, ok := st.Expression.(*ast.FunctionLiteral)
	if !ok || fn.Body == nil || len(fn.Body.List) != 1 {
		return "", false
	}
	ret, ok := fn.Body.List[0].(*ast.ReturnStatement)
	if !ok || ret.Argument == nil {
		return "", false
	}
	// From after the keyword to the end of the statement: parentheses
	// around the expression are not part of its node.
	head := len("(function () {") + 1
	from, to := int(ret.Return)-head+len("return"), len(src)
	if from < 0 || from >= to {
		return "", false
	}
	e := strings.TrimSpace(src[from:to])
	e = strings.TrimSpace(strings.TrimSuffix(e, ";"))
	if e == "" {
		return "", false
	}
	return e, true
}

// inlineBlock finds what an inlined expression must not contain.
var inlineBlock = regexp.MustCompile(`\b(this|arguments|function|eval)\b|=>|;.|//|/\*`)

// scalarSource is the script of a function: the user's text first, so that
// its line numbers stay the user's, then the batch driver.
func scalarSource(spec ScalarSpec) (src string, lineOff, colOff int) {
	var b strings.Builder
	if isFunctionExpression(spec.Source) {
		head := "var __kda_f = ("
		b.WriteString(head)
		b.WriteString(spec.Source)
		b.WriteString("\n);\n")
		colOff = len(head)
	} else {
		// The body sees the parameters under paramNames.
		fname := spec.Name
		if !jsIdent.MatchString(fname) {
			fname = "udf"
		}
		head := fmt.Sprintf("function %s(", fname)
		var binds []string
		for i, p := range spec.Params {
			if i > 0 {
				head += ", "
			}
			head += fmt.Sprintf("__p%d", i)
			for _, n := range paramNames(p.Name) {
				binds = append(binds, fmt.Sprintf("%s = __p%d", n, i))
			}
		}
		head += ") { "
		if len(binds) > 0 {
			head += "var " + strings.Join(binds, ", ") + "; "
		}
		b.WriteString(head)
		b.WriteString(spec.Source)
		b.WriteString("\n}\nvar __kda_f = " + fname + ";\n")
		colOff = len(head)
	}
	b.WriteString(driverSource(spec))
	return b.String(), 0, colOff
}

// driverSource is the JavaScript loop that calls the function for every
// row of a batch. It restarts after a row that threw, so a try/catch costs
// nothing on rows that do not. Its own names start with __ so that they
// cannot meet a parameter's; ok[] arrives filled with 1s.
func driverSource(spec ScalarSpec) string {
	var b strings.Builder
	n := len(spec.Params)
	expr, inline := "", false
	if !isFunctionExpression(spec.Source) {
		expr, inline = inlineReturn(spec.Source)
	}
	b.WriteString("function __kda_run(__n, __cols, __valid, __out, __ok, __errs) {\n  var __f = __kda_f, __r;\n")
	for i := range n {
		fmt.Fprintf(&b, "  var __c%d = __cols[%d], __v%d = __valid[%d];\n", i, i, i, i)
	}
	// Two copies of the loop: one for batches without NULL arguments,
	// which skips the validity tests, and one for the others.
	b.WriteString("  var __nulls = false;\n  for (var __k = 0; __k < __valid.length; __k++) if (__valid[__k] !== null) __nulls = true;\n")
	b.WriteString("  var __i = 0;\n  while (__i < __n) {\n    try {\n      if (__nulls) {\n")
	writeRowLoop(&b, spec, expr, inline, true)
	b.WriteString("      } else {\n")
	writeRowLoop(&b, spec, expr, inline, false)
	b.WriteString("      }\n    } catch (e) {\n")
	b.WriteString("      __errs.push(__i, String(e), (e && e.stack) ? String(e.stack) : ''); __ok[__i] = 0; __i++;\n    }\n  }\n}\n")
	b.WriteString(`function __kda_describe(v) {
  if (typeof v === 'string') return 'the string ' + JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'number') return 'the number ' + v;
  if (Array.isArray(v)) return 'an array';
  return 'a value of type ' + typeof v;
}
`)
	return b.String()
}

// writeRowLoop writes the loop over the rows, with NULL tests when
// nullable.
func writeRowLoop(b *strings.Builder, spec ScalarSpec, expr string, inline, nullable bool) {
	b.WriteString("      for (; __i < __n; __i++) {\n")
	args := make([]string, len(spec.Params))
	for i, p := range spec.Params {
		args[i] = fmt.Sprintf("__x%d", i)
		conv := fmt.Sprintf("__c%d[__i]", i)
		switch argKinds[p.Type.Kind] {
		case "bool":
			conv = fmt.Sprintf("__c%d[__i] !== 0", i)
		case "date":
			conv = fmt.Sprintf("new Date(__c%d[__i])", i)
		}
		if nullable {
			conv = fmt.Sprintf("(__v%d === null || __v%d[__i]) ? %s : null", i, i, conv)
		}
		var aliases []string
		if inline {
			for _, name := range paramNames(p.Name) {
				if regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(expr) {
					aliases = append(aliases, name)
				}
			}
		}
		if len(aliases) > 0 && !(nullable && spec.Strict) {
			args[i] = aliases[0]
		}
		fmt.Fprintf(b, "        var %s = %s;\n", args[i], conv)
		if nullable && spec.Strict {
			fmt.Fprintf(b, "        if (%s === null) { __ok[__i] = 0; continue; }\n", args[i])
		}
		for _, a := range aliases {
			if a != args[i] {
				fmt.Fprintf(b, "        var %s = %s;\n", a, args[i])
			}
		}
	}
	if inline {
		fmt.Fprintf(b, "        __r = (%s\n);\n", expr)
	} else {
		fmt.Fprintf(b, "        __r = __f(%s);\n", strings.Join(args, ", "))
	}
	bad := func(what string) string {
		return fmt.Sprintf("{ __errs.push(__i, 'returned ' + __kda_describe(__r) + ', not %s', ''); __ok[__i] = 0; }", what)
	}
	const null = "if (__r === null || __r === undefined) __ok[__i] = 0; else "
	rt := spec.Returns
	switch argKinds[rt.Kind] {
	case "bool":
		b.WriteString("        if (typeof __r === 'boolean') __out[__i] = __r ? 1 : 0; else " + null + bad("a BOOLEAN") + "\n")
	case "f64", "f32", "i32":
		b.WriteString("        if (typeof __r === 'number') __out[__i] = __r; else " + null + bad("a number for "+rt.String()) + "\n")
	case "date":
		b.WriteString("        if (__r instanceof Date) __r = __r.getTime();\n")
		b.WriteString("        if (typeof __r === 'number' && __r === __r) __out[__i] = __r; else " + null + bad("a valid Date or number of milliseconds for "+rt.String()) + "\n")
	case "str":
		b.WriteString("        if (typeof __r === 'string') __out[__i] = __r; else " + null +
			"if (typeof __r === 'object' || typeof __r === 'function' || typeof __r === 'symbol') " + bad("a string for "+rt.String()+" (use JSON.stringify for objects)") + " else __out[__i] = String(__r);\n")
	case "bin":
		b.WriteString("        if (typeof __r === 'string' || __r instanceof Uint8Array || __r instanceof ArrayBuffer) __out[__i] = __r; else " + null + bad("a Buffer, Uint8Array or string for "+rt.String()) + "\n")
	}
	b.WriteString("      }\n")
}

// paramNames are the JavaScript names a parameter is bound to: as
// declared, and in lower and upper case, since SQL upper-cases unquoted
// names and JavaScript is usually written in lower case.
func paramNames(name string) []string {
	var out []string
	for _, n := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
		if jsIdent.MatchString(n) && !strings.HasPrefix(n, "__") && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Eval calls the function for n rows. args hold one array per parameter, of
// the parameter's Arrow type. Rows that fail are reported to rowErr (with
// the JavaScript stack when there is one) and are NULL in the result. A
// call stopped by its limits fails every row it was computing, not the
// batch: the error is for the caller's log only when it is not a row error.
func (s *Scalar) Eval(ctx context.Context, mem memory.Allocator, args []arrow.Array, n int, rowErr func(row int, message, stack string)) (arrow.Array, error) {
	if len(args) != len(s.spec.Params) {
		return nil, fmt.Errorf("function %s: %d arguments for %d parameters", s.spec.Name, len(args), len(s.spec.Params))
	}
	out := newResult(s.spec.Returns, n)
	err := s.pool.Do(ctx, func(rt *Runtime) error {
		vm := rt.VM
		run, ok := goja.AssertFunction(vm.Get("__kda_run"))
		if !ok {
			return fmt.Errorf("function %s: the batch driver is missing", s.spec.Name)
		}
		cols := make([]any, len(args))
		valid := make([]any, len(args))
		for i, a := range args {
			c, err := toJS(vm, a, s.spec.Params[i].Type)
			if err != nil {
				return fmt.Errorf("function %s: argument %d: %w", s.spec.Name, i+1, err)
			}
			cols[i] = c
			valid[i] = nil
			if a.NullN() > 0 {
				valid[i] = validityJS(vm, a)
			}
		}
		okBytes := make([]byte, n)
		for i := range okBytes {
			okBytes[i] = 1
		}
		okArr, err := typedArray(vm, "Uint8Array", okBytes)
		if err != nil {
			return err
		}
		outJS, err := out.js(vm)
		if err != nil {
			return err
		}
		errs := vm.NewArray()
		if _, err := run(goja.Undefined(), vm.ToValue(n), vm.NewArray(cols...), vm.NewArray(valid...), outJS, okArr, errs); err != nil {
			return err
		}
		out.ok = okBytes
		if err := out.collect(vm, outJS); err != nil {
			return err
		}
		list, _ := errs.Export().([]any)
		for k := 0; k+2 < len(list); k += 3 {
			row := int(toInt(list[k]))
			rowErr(row, fmt.Sprint(list[k+1]), cleanStack(fmt.Sprint(list[k+2])))
		}
		return nil
	})
	if err != nil {
		var ie *InterruptedError
		if !asInterrupted(err, &ie) {
			return nil, err
		}
		// Every row of the batch failed with the call.
		for i := range n {
			rowErr(i, ie.Error(), ie.Stack)
		}
		out = newResult(s.spec.Returns, n)
		out.ok = make([]byte, n)
	}
	return out.build(mem, s.spec.Name, rowErr)
}

func asInterrupted(err error, target **InterruptedError) bool {
	ie, ok := err.(*InterruptedError)
	if ok {
		*target = ie
	}
	return ok
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case int:
		return int64(x)
	}
	return -1
}

// typedArray makes a JavaScript typed array over b without copying it.
func typedArray(vm *goja.Runtime, ctor string, b []byte) (goja.Value, error) {
	buf := vm.NewArrayBuffer(b)
	o, err := vm.New(vm.Get(ctor), vm.ToValue(buf))
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", ctor, err)
	}
	return o, nil
}

// valueBytes is the bytes of a fixed-width array's values from its offset.
func valueBytes(a arrow.Array, width int) []byte {
	d := a.Data()
	buf := d.Buffers()[1].Bytes()
	return buf[d.Offset()*width : (d.Offset()+d.Len())*width]
}

// toJS hands a column to JavaScript as the driver expects it.
func toJS(vm *goja.Runtime, a arrow.Array, t types.Type) (goja.Value, error) {
	n := a.Len()
	switch c := a.(type) {
	case *array.Float64:
		return typedArray(vm, "Float64Array", valueBytes(a, 8))
	case *array.Float32:
		return typedArray(vm, "Float32Array", valueBytes(a, 4))
	case *array.Int32:
		return typedArray(vm, "Int32Array", valueBytes(a, 4))
	case *array.Int8:
		b := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(c.Value(i))))
		}
		return typedArray(vm, "Int32Array", b)
	case *array.Int16:
		b := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(c.Value(i))))
		}
		return typedArray(vm, "Int32Array", b)
	case *array.Int64:
		return floats(vm, n, func(i int) float64 { return float64(c.Value(i)) })
	case *array.Decimal128:
		scale := int32(t.Scale)
		return floats(vm, n, func(i int) float64 { return c.Value(i).ToFloat64(scale) })
	case *array.Date32:
		return floats(vm, n, func(i int) float64 { return float64(c.Value(i)) * 86_400_000 })
	case *array.Time32:
		return floats(vm, n, func(i int) float64 { return float64(c.Value(i)) })
	case *array.Timestamp:
		return floats(vm, n, func(i int) float64 { return float64(c.Value(i)) })
	case *array.Boolean:
		b := make([]byte, n)
		for i := range n {
			if c.Value(i) {
				b[i] = 1
			}
		}
		return typedArray(vm, "Uint8Array", b)
	case *array.String:
		vs := make([]any, n)
		for i := range n {
			vs[i] = c.Value(i)
		}
		return vm.NewArray(vs...), nil
	case *array.Binary:
		vs := make([]any, n)
		for i := range n {
			vs[i] = buffer.WrapBytes(vm, append([]byte(nil), c.Value(i)...))
		}
		return vm.NewArray(vs...), nil
	case *array.Null:
		return vm.NewArray(make([]any, n)...), nil
	}
	return nil, fmt.Errorf("Arrow type %s is not %s", a.DataType(), t)
}

func floats(vm *goja.Runtime, n int, at func(int) float64) (goja.Value, error) {
	b := make([]byte, 8*n)
	for i := range n {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(at(i)))
	}
	return typedArray(vm, "Float64Array", b)
}

// validityJS is a Uint8Array of 1 (valid) and 0 (NULL) per row.
func validityJS(vm *goja.Runtime, a arrow.Array) goja.Value {
	b := make([]byte, a.Len())
	for i := range b {
		if a.IsValid(i) {
			b[i] = 1
		}
	}
	v, _ := typedArray(vm, "Uint8Array", b)
	return v
}

// result is the output column being filled by the driver.
type result struct {
	t    types.Type
	kind string
	n    int
	num  []byte // float64 per row for numeric and datetime results; 0/1 for BOOLEAN
	strs []string
	bins [][]byte
	ok   []byte
}

func newResult(t types.Type, n int) *result {
	r := &result{t: t, kind: argKinds[t.Kind], n: n}
	switch r.kind {
	case "bool":
		r.num = make([]byte, n)
	case "str", "bin":
	default:
		r.num = make([]byte, 8*n)
	}
	return r
}

func (r *result) js(vm *goja.Runtime) (goja.Value, error) {
	switch r.kind {
	case "bool":
		return typedArray(vm, "Uint8Array", r.num)
	case "str", "bin":
		return vm.NewArray(), nil
	}
	return typedArray(vm, "Float64Array", r.num)
}

// collect reads the array results back from JavaScript.
func (r *result) collect(vm *goja.Runtime, out goja.Value) error {
	switch r.kind {
	case "str":
		obj := out.ToObject(vm)
		r.strs = make([]string, r.n)
		for i := range r.n {
			if r.ok[i] != 0 {
				r.strs[i] = obj.Get(fmt.Sprint(i)).String()
			}
		}
	case "bin":
		obj := out.ToObject(vm)
		r.bins = make([][]byte, r.n)
		for i := range r.n {
			if r.ok[i] != 0 {
				v := obj.Get(fmt.Sprint(i))
				if s, isStr := v.Export().(string); isStr {
					r.bins[i] = []byte(s)
				} else {
					r.bins[i] = append([]byte(nil), buffer.Bytes(vm, v)...)
				}
			}
		}
	}
	return nil
}

func (r *result) float(i int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(r.num[8*i:]))
}

// build makes the Arrow array of the declared type, turning values that do
// not fit it into row errors.
func (r *result) build(mem memory.Allocator, name string, rowErr func(row int, message, stack string)) (arrow.Array, error) {
	fail := func(i int, format string, args ...any) {
		r.ok[i] = 0
		rowErr(i, fmt.Sprintf(format, args...), "")
	}
	t := r.t
	switch t.Kind {
	case types.Double:
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.Reserve(r.n)
		for i := range r.n {
			if r.ok[i] != 0 {
				b.UnsafeAppend(r.float(i))
			} else {
				b.UnsafeAppendBoolToBitmap(false)
			}
		}
		return b.NewArray(), nil
	case types.Real:
		b := array.NewFloat32Builder(mem)
		defer b.Release()
		for i := range r.n {
			if r.ok[i] != 0 {
				b.Append(float32(r.float(i)))
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray(), nil
	case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
		lo, hi := intRange(t.Kind)
		b := array.NewBuilder(mem, t.Arrow())
		defer b.Release()
		for i := range r.n {
			if r.ok[i] != 0 {
				f := r.float(i)
				switch {
				case f != math.Trunc(f):
					fail(i, "returned %v, not an integer for %s (use Math.round or Math.trunc)", f, t)
				case f < lo || f > hi:
					fail(i, "returned %v, out of range for %s", f, t)
				}
			}
			if r.ok[i] == 0 {
				b.AppendNull()
				continue
			}
			v := int64(r.float(i))
			switch bb := b.(type) {
			case *array.Int8Builder:
				bb.Append(int8(v))
			case *array.Int16Builder:
				bb.Append(int16(v))
			case *array.Int32Builder:
				bb.Append(int32(v))
			case *array.Int64Builder:
				bb.Append(v)
			}
		}
		return b.NewArray(), nil
	case types.Decimal:
		dt := t.Arrow().(*arrow.Decimal128Type)
		b := array.NewDecimal128Builder(mem, dt)
		defer b.Release()
		for i := range r.n {
			if r.ok[i] != 0 {
				d, err := decimal128.FromFloat64(r.float(i), dt.Precision, dt.Scale)
				if err != nil || !d.FitsInPrecision(dt.Precision) {
					fail(i, "returned %v, which does not fit %s", r.float(i), t)
				} else {
					b.Append(d)
					continue
				}
			}
			b.AppendNull()
		}
		return b.NewArray(), nil
	case types.Boolean:
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		for i := range r.n {
			if r.ok[i] != 0 {
				b.Append(r.num[i] != 0)
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray(), nil
	case types.Date, types.Time, types.Timestamp:
		b := array.NewBuilder(mem, t.Arrow())
		defer b.Release()
		for i := range r.n {
			if r.ok[i] == 0 {
				b.AppendNull()
				continue
			}
			ms := int64(math.Floor(r.float(i)))
			switch bb := b.(type) {
			case *array.Date32Builder:
				bb.Append(arrow.Date32(floorDiv(ms, 86_400_000)))
			case *array.Time32Builder:
				bb.Append(arrow.Time32(ms - floorDiv(ms, 86_400_000)*86_400_000))
			case *array.TimestampBuilder:
				bb.Append(arrow.Timestamp(ms))
			}
		}
		return b.NewArray(), nil
	case types.Char, types.Varchar:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i := range r.n {
			if r.ok[i] == 0 {
				b.AppendNull()
				continue
			}
			s := r.strs[i]
			if t.Length > 0 && len([]rune(s)) > t.Length {
				s = string([]rune(s)[:t.Length])
			}
			if t.Kind == types.Char && t.Length > 0 {
				if k := len([]rune(s)); k < t.Length {
					s += strings.Repeat(" ", t.Length-k)
				}
			}
			b.Append(s)
		}
		return b.NewArray(), nil
	case types.Binary, types.Varbinary:
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		for i := range r.n {
			if r.ok[i] == 0 {
				b.AppendNull()
				continue
			}
			v := r.bins[i]
			if t.Length > 0 && len(v) > t.Length {
				v = v[:t.Length]
			}
			b.Append(v)
		}
		return b.NewArray(), nil
	}
	return nil, fmt.Errorf("function %s: cannot return %s", name, t)
}

func intRange(k types.Kind) (float64, float64) {
	switch k {
	case types.TinyInt:
		return math.MinInt8, math.MaxInt8
	case types.SmallInt:
		return math.MinInt16, math.MaxInt16
	case types.Integer:
		return math.MinInt32, math.MaxInt32
	}
	// Numbers beyond ±2^63 do not convert; 2^63 itself rounds up from MaxInt64.
	return -(1 << 63), (1 << 63) - 1024
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
