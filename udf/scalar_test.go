package udf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

type rowErrs []string

func (r *rowErrs) add(row int, msg, stack string) {
	*r = append(*r, fmt.Sprintf("%d: %s", row, msg))
	if stack != "" {
		*r = append(*r, "stack: "+strings.SplitN(stack, "\n", 2)[0])
	}
}

func float64s(mem memory.Allocator, vs ...any) arrow.Array {
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	for _, v := range vs {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(float64))
		}
	}
	return b.NewArray()
}

func strs(mem memory.Allocator, vs ...any) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for _, v := range vs {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(string))
		}
	}
	return b.NewArray()
}

func evalScalar(t *testing.T, spec ScalarSpec, opts Options, args ...arrow.Array) (string, rowErrs) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, err := NewScalar(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var errs rowErrs
	n := 0
	if len(args) > 0 {
		n = args[0].Len()
	}
	out, err := s.Eval(context.Background(), mem, args, n, errs.add)
	for _, a := range args {
		a.Release()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	return out.String(), errs
}

func field(name string, t types.Type) types.Field { return types.Field{Name: name, Type: t} }

func TestScalarBodyAndExpressionForms(t *testing.T) {
	mem := memory.NewGoAllocator()
	for _, src := range []string{
		"return a * 2 + 1;",
		"return A * 2 + 1;",
		"function (a) { return a * 2 + 1 }",
		"(x) => x * 2 + 1",
	} {
		got, errs := evalScalar(t, ScalarSpec{Name: "TWICE", Params: []types.Field{field("A", types.TDouble)}, Returns: types.TDouble, Source: src},
			Options{}, float64s(mem, 1.0, nil, 2.5))
		// CALLED ON NULL INPUT: the function sees null, and null * 2 + 1
		// is 1 in JavaScript.
		if got != "[3 1 6]" || len(errs) != 0 {
			t.Errorf("%q: got %s %v", src, got, errs)
		}
	}
}

func TestScalarNullsAndStrict(t *testing.T) {
	mem := memory.NewGoAllocator()
	spec := ScalarSpec{Name: "F", Params: []types.Field{field("a", types.TDouble)}, Returns: types.VarcharOf(10),
		Source: "return a === null ? 'none' : 'v' + a;"}
	got, _ := evalScalar(t, spec, Options{}, float64s(mem, 1.5, nil))
	if got != `["v1.5" "none"]` {
		t.Fatalf("called on null input: %s", got)
	}
	spec.Strict = true
	got, _ = evalScalar(t, spec, Options{}, float64s(mem, 1.5, nil))
	if got != `["v1.5" (null)]` {
		t.Fatalf("returns null on null input: %s", got)
	}
}

func TestScalarTypes(t *testing.T) {
	mem := memory.NewGoAllocator()
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	ts.Append(arrow.Timestamp(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).UnixMilli()))
	tsa := ts.NewArray()
	ts.Release()
	got, errs := evalScalar(t, ScalarSpec{Name: "NEXT_DAY", Params: []types.Field{field("t", types.TTimestamp)}, Returns: types.TTimestamp,
		Source: "return new Date(t.getTime() + 86400000);"}, Options{}, tsa)
	if want := fmt.Sprintf("[%d]", time.Date(2026, 3, 5, 5, 6, 7, 0, time.UTC).UnixMilli()); got != want || len(errs) != 0 {
		t.Fatalf("timestamp: %s %v", got, errs)
	}
	got, errs = evalScalar(t, ScalarSpec{Name: "UP", Params: []types.Field{field("s", types.VarcharOf(0))}, Returns: types.VarcharOf(3),
		Source: "return s.toUpperCase();"}, Options{}, strs(mem, "héllo", "ab"))
	if got != `["HÉL" "AB"]` || len(errs) != 0 {
		t.Fatalf("varchar cut to its length: %s %v", got, errs)
	}
	got, errs = evalScalar(t, ScalarSpec{Name: "HALF", Params: []types.Field{field("x", types.TDouble)}, Returns: types.TInteger,
		Source: "return x / 2;"}, Options{}, float64s(mem, 4.0, 3.0, 1e12))
	if got != "[2 (null) (null)]" || len(errs) != 2 || !strings.Contains(errs[0], "1: returned 1.5, not an integer") || !strings.Contains(errs[1], "out of range for INTEGER") {
		t.Fatalf("integer result: %s %v", got, errs)
	}
}

func TestScalarRowErrorsCarryTheStack(t *testing.T) {
	mem := memory.NewGoAllocator()
	src := "if (a < 0) {\n  throw new RangeError('negative: ' + a);\n}\nreturn Math.sqrt(a);"
	got, errs := evalScalar(t, ScalarSpec{Name: "ROOT", Params: []types.Field{field("A", types.TDouble)}, Returns: types.TDouble, Source: src},
		Options{}, float64s(mem, 4.0, -1.0, 9.0, -4.0))
	if got != "[2 (null) 3 (null)]" {
		t.Fatalf("got %s", got)
	}
	want := []string{"1: RangeError: negative: -1", "stack: RangeError: negative: -1", "3: RangeError: negative: -4", "stack: RangeError: negative: -4"}
	if len(errs) != 4 || errs[0] != want[0] || errs[2] != want[2] {
		t.Fatalf("errors: %q", errs)
	}
	got, errs = evalScalar(t, ScalarSpec{Name: "S", Params: []types.Field{field("A", types.TDouble)}, Returns: types.TDouble, Source: "return 'x' + a;"},
		Options{}, float64s(mem, 1.0))
	if got != "[(null)]" || len(errs) != 1 || errs[0] != `0: returned the string "x1", not a number for DOUBLE` {
		t.Fatalf("wrong result type: %s %q", got, errs)
	}
}

func TestScalarStackNamesTheUserLine(t *testing.T) {
	s, err := NewScalar(ScalarSpec{Name: "BOOM", Params: []types.Field{field("A", types.TDouble)}, Returns: types.TDouble,
		Source: "var y = a;\nnull.x;\nreturn y;"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	var stack string
	out, err := s.Eval(context.Background(), mem, []arrow.Array{float64s(mem, 1.0)}, 1, func(_ int, _, st string) { stack = st })
	if err != nil {
		t.Fatal(err)
	}
	out.Release()
	if !strings.Contains(stack, "function BOOM:2:") {
		t.Fatalf("the stack should point at line 2 of the body:\n%s", stack)
	}
}

func TestScalarSyntaxErrorPosition(t *testing.T) {
	_, err := NewScalar(ScalarSpec{Name: "BAD", Params: []types.Field{field("A", types.TDouble)}, Returns: types.TDouble,
		Source: "var y = a;\nreturn y +;"}, Options{})
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || se.Column != 11 {
		t.Fatalf("got %v", err)
	}
	_, err = NewScalar(ScalarSpec{Name: "BAD", Returns: types.TDouble, Source: "return )"}, Options{})
	if !errors.As(err, &se) || se.Line != 1 || se.Column != 8 {
		t.Fatalf("first line: got %v", err)
	}
}

func TestScalarTimeoutFailsTheBatchRowsNotTheEngine(t *testing.T) {
	mem := memory.NewGoAllocator()
	got, errs := evalScalar(t, ScalarSpec{Name: "SPIN", Params: []types.Field{field("A", types.TDouble)}, Returns: types.TDouble,
		Source: "while (a > 0) {} return a;"}, Options{Limits: Limits{Timeout: 50 * time.Millisecond}}, float64s(mem, 0.0, 1.0))
	if got != "[(null) (null)]" || len(errs) < 2 || !strings.Contains(errs[0], "timed out") {
		t.Fatalf("got %s %q", got, errs)
	}
}

func TestInlineReturn(t *testing.T) {
	for src, want := range map[string]string{
		"return a * 2 + 1;":         "a * 2 + 1",
		"  return (x + y) / 2  ":    "(x + y) / 2",
		"return a;\n":               "a",
		"var b = a; return b;":      "",
		"return this.x;":            "",
		"return arguments[0];":      "",
		"return [1].map(v => v*a);": "",
	} {
		got, ok := inlineReturn(src)
		if got != want || ok != (want != "") {
			t.Errorf("%q: got %q %v, want %q", src, got, ok, want)
		}
	}
}
