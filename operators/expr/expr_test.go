package expr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

var t0 = time.Date(2024, 3, 5, 13, 45, 30, 123e6, time.UTC)

// testBatch has four rows:
//
//	I INTEGER  D DOUBLE  S VARCHAR        B BOOLEAN  TS TIMESTAMP             Z INTEGER
//	5          1.5       'abc'            TRUE       2024-03-05 13:45:30.123  0
//	-7         -2.0      'Hello World'    FALSE      2024-03-05 13:45:30.123  2
//	NULL       NULL      NULL             NULL       NULL                     NULL
//	2147483647 0.0       ''               TRUE       2024-03-05 13:45:30.123  1
func testBatch(mem memory.Allocator) arrow.Record {
	schema := types.Schema{Fields: []types.Field{
		{Name: "I", Type: types.TInteger}, {Name: "D", Type: types.TDouble}, {Name: "S", Type: types.Type{Kind: types.Varchar}},
		{Name: "B", Type: types.TBoolean}, {Name: "TS", Type: types.TTimestamp}, {Name: "Z", Type: types.TInteger},
	}}
	b := array.NewRecordBuilder(mem, schema.Arrow())
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{5, -7, 0, 2147483647}, []bool{true, true, false, true})
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{1.5, -2, 0, 0}, []bool{true, true, false, true})
	b.Field(2).(*array.StringBuilder).AppendValues([]string{"abc", "Hello World", "", ""}, []bool{true, true, false, true})
	b.Field(3).(*array.BooleanBuilder).AppendValues([]bool{true, false, false, true}, []bool{true, true, false, true})
	ms := arrow.Timestamp(t0.UnixMilli())
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{ms, ms, 0, ms}, []bool{true, true, false, true})
	b.Field(5).(*array.Int32Builder).AppendValues([]int32{0, 2, 0, 1}, []bool{true, true, false, true})
	return b.NewRecord()
}

var (
	cI  = Col(0, types.TInteger, "I")
	cD  = Col(1, types.TDouble, "D")
	cS  = Col(2, types.Type{Kind: types.Varchar}, "S")
	cB  = Col(3, types.TBoolean, "B")
	cTS = Col(4, types.TTimestamp, "TS")
	cZ  = Col(5, types.TInteger, "Z")
)

func i32(v int64) Expr          { return lit(v, types.TInteger) }
func i64(v int64) Expr          { return lit(v, types.TBigInt) }
func f64(v float64) Expr        { return lit(v, types.TDouble) }
func s(v string) Expr           { return lit(v, types.Type{Kind: types.Varchar}) }
func null(t types.Type) Expr    { return lit(nil, t) }
func boolean(v bool) Expr       { return lit(v, types.TBoolean) }
func ival(d time.Duration) Expr { return lit(d, types.TInterval) }

// render evaluates e over the test batch: one string per row, "NULL", or
// "!NAME" for a row error.
func render(t *testing.T, e Expr) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	rec := testBatch(mem)
	ec := &EvalContext{Mem: mem, Errors: &RowErrors{}, QueryStart: t0, Now: func() time.Time { return t0.Add(time.Hour) }}
	a, err := e.Eval(ec, rec)
	if err != nil {
		t.Fatalf("Eval(%s): %v", e, err)
	}
	if a.Len() != int(rec.NumRows()) {
		t.Fatalf("Eval(%s) gave %d rows for %d", e, a.Len(), rec.NumRows())
	}
	if !arrow.TypeEqual(a.DataType(), e.Type().Arrow()) {
		t.Fatalf("Eval(%s) gave %s, Type() says %s", e, a.DataType(), e.Type())
	}
	out := make([]string, a.Len())
	for i := range out {
		switch {
		case ec.Errors.Failed(i):
			ec.Errors.Each(func(row int, re RowError) {
				if row == i {
					out[i] = "!" + re.Name
				}
			})
			if a.IsValid(i) {
				t.Errorf("row %d failed but is not NULL", i)
			}
		case a.IsNull(i):
			out[i] = "NULL"
		default:
			out[i] = string(appendValue(nil, a, i, e.Type()))
		}
	}
	a.Release()
	rec.Release()
	mem.AssertSize(t, 0)
	return out
}

type evalCase struct {
	name string
	e    func() Expr
	want string // rows joined by "|"; a single value means every row
}

func runCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := render(t, c.e())
			want := strings.Split(c.want, "|")
			if len(want) == 1 {
				want = []string{c.want, c.want, c.want, c.want}
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), strings.Join(want, "|"))
			}
		})
	}
}

func TestArithmetic(t *testing.T) {
	runCases(t, []evalCase{
		{"integer division truncates toward zero", func() Expr { return call("/", cI, i32(2)) }, "2|-3|NULL|1073741823"},
		{"integer modulo keeps the dividend's sign", func() Expr { return call("%", cI, i32(3)) }, "2|-1|NULL|1"},
		{"integer overflow is a row error and NULL", func() Expr { return call("+", cI, i32(1)) }, "6|-6|NULL|!ARITHMETIC_OVERFLOW"},
		{"multiplication overflow is a row error", func() Expr { return call("*", cI, cI) }, "25|49|NULL|!ARITHMETIC_OVERFLOW"},
		{"division by a zero column is a row error only where zero", func() Expr { return call("/", cI, cZ) }, "!DIVISION_BY_ZERO|-3|NULL|2147483647"},
		{"division by a zero literal fails every non-null row", func() Expr { return call("/", cI, i32(0)) }, "!DIVISION_BY_ZERO|!DIVISION_BY_ZERO|NULL|!DIVISION_BY_ZERO"},
		{"INTEGER plus BIGINT widens to BIGINT", func() Expr { return call("+", cI, i64(1)) }, "6|-6|NULL|2147483648"},
		{"INTEGER times DOUBLE is DOUBLE", func() Expr { return call("*", cI, f64(0.5)) }, "2.5|-3.5|NULL|1.0737418235E9"},
		{"a literal on the left of minus", func() Expr { return call("-", i32(10), cI) }, "5|17|NULL|-2147483637"},
		{"NULL literal operand gives NULL", func() Expr { return call("+", cI, null(types.TNull)) }, "NULL"},
		{"unary minus", func() Expr { return call("NEG", cD) }, "-1.5|2.0|NULL|0.0"},
		{"MOD is %", func() Expr { return call("MOD", i32(17), i32(5)) }, "2"},
		{"DECIMAL addition keeps scale", func() Expr {
			return call("+", lit("1.25", types.Type{Kind: types.Decimal, Precision: 5, Scale: 2}), lit("0.5", types.Type{Kind: types.Decimal, Precision: 3, Scale: 1}))
		}, "1.75"},
		{"DECIMAL times INTEGER", func() Expr {
			return call("*", lit("1.25", types.Type{Kind: types.Decimal, Precision: 5, Scale: 2}), cZ)
		}, "0.00|2.50|NULL|1.25"},
		{"DECIMAL division", func() Expr {
			return call("/", lit("1", types.Type{Kind: types.Decimal, Precision: 5, Scale: 0}), lit("3", types.Type{Kind: types.Decimal, Precision: 5, Scale: 0}))
		}, "0.333333"},
		{"timestamp plus interval", func() Expr { return call("+", cTS, ival(90*time.Minute)) }, "2024-03-05 15:15:30.123|2024-03-05 15:15:30.123|NULL|2024-03-05 15:15:30.123"},
		{"timestamp minus timestamp is an interval", func() Expr { return call("-", cTS, lit(t0.Add(-25*time.Hour), types.TTimestamp)) }, "1 01:00:00.000|1 01:00:00.000|NULL|1 01:00:00.000"},
	})
}

func TestThreeValuedLogic(t *testing.T) {
	T, F, N := boolean(true), boolean(false), null(types.TBoolean)
	vals := map[string]Expr{"TRUE": T, "FALSE": F, "NULL": N}
	and := map[[2]string]string{
		{"TRUE", "TRUE"}: "TRUE", {"TRUE", "FALSE"}: "FALSE", {"TRUE", "NULL"}: "NULL",
		{"FALSE", "TRUE"}: "FALSE", {"FALSE", "FALSE"}: "FALSE", {"FALSE", "NULL"}: "FALSE",
		{"NULL", "TRUE"}: "NULL", {"NULL", "FALSE"}: "FALSE", {"NULL", "NULL"}: "NULL",
	}
	or := map[[2]string]string{
		{"TRUE", "TRUE"}: "TRUE", {"TRUE", "FALSE"}: "TRUE", {"TRUE", "NULL"}: "TRUE",
		{"FALSE", "TRUE"}: "TRUE", {"FALSE", "FALSE"}: "FALSE", {"FALSE", "NULL"}: "NULL",
		{"NULL", "TRUE"}: "TRUE", {"NULL", "FALSE"}: "NULL", {"NULL", "NULL"}: "NULL",
	}
	var cases []evalCase
	for k, want := range and {
		cases = append(cases, evalCase{k[0] + " AND " + k[1] + " is " + want, func() Expr { return call("AND", vals[k[0]], vals[k[1]]) }, want})
	}
	for k, want := range or {
		cases = append(cases, evalCase{k[0] + " OR " + k[1] + " is " + want, func() Expr { return call("OR", vals[k[0]], vals[k[1]]) }, want})
	}
	cases = append(cases,
		evalCase{"NOT of a column keeps NULL", func() Expr { return call("NOT", cB) }, "FALSE|TRUE|NULL|FALSE"},
		evalCase{"column AND FALSE is FALSE even for NULL", func() Expr { return call("AND", cB, F) }, "FALSE"},
		evalCase{"column OR TRUE is TRUE even for NULL", func() Expr { return call("OR", cB, T) }, "TRUE"},
		evalCase{"IS NULL never returns NULL", func() Expr { return call("IS_NULL", cS) }, "FALSE|FALSE|TRUE|FALSE"},
		evalCase{"IS NOT TRUE counts NULL", func() Expr { return call("IS_NOT_TRUE", cB) }, "FALSE|TRUE|TRUE|FALSE"},
		evalCase{"IS FALSE", func() Expr { return call("IS_FALSE", cB) }, "FALSE|TRUE|FALSE|FALSE"},
	)
	runCases(t, cases)
}

func TestComparisons(t *testing.T) {
	runCases(t, []evalCase{
		{"INTEGER column compared with a DOUBLE literal", func() Expr { return call(">", cI, f64(4.5)) }, "TRUE|FALSE|NULL|TRUE"},
		{"literal on the left flips the operator", func() Expr { return call("<", f64(4.5), cI) }, "TRUE|FALSE|NULL|TRUE"},
		{"strings compare bytewise", func() Expr { return call("<", cS, s("b")) }, "TRUE|TRUE|NULL|TRUE"},
		{"timestamps compare with a string literal cast", func() Expr { return call(">=", cTS, s("2024-03-05 13:45:30.123")) }, "TRUE|TRUE|NULL|TRUE"},
		{"booleans: FALSE < TRUE", func() Expr { return call("<", cB, boolean(true)) }, "FALSE|TRUE|NULL|FALSE"},
		{"<> with NULL is NULL", func() Expr { return call("<>", cI, null(types.TInteger)) }, "NULL"},
		{"IS DISTINCT FROM treats NULLs as equal", func() Expr { return call("IS_DISTINCT_FROM", cI, null(types.TInteger)) }, "TRUE|TRUE|FALSE|TRUE"},
		{"IS NOT DISTINCT FROM", func() Expr { return call("IS_NOT_DISTINCT_FROM", cZ, i32(2)) }, "FALSE|TRUE|FALSE|FALSE"},
		{"BETWEEN is inclusive", func() Expr { return call("BETWEEN", cI, i32(-7), i32(5)) }, "TRUE|TRUE|NULL|FALSE"},
		{"IN finds a member", func() Expr { return call("IN", cZ, i32(1), i32(2)) }, "FALSE|TRUE|NULL|TRUE"},
		{"IN with a NULL member is NULL when absent", func() Expr { return call("IN", cZ, i32(1), null(types.TInteger)) }, "NULL|NULL|NULL|TRUE"},
	})
}

func TestCaseAndNullFunctions(t *testing.T) {
	runCases(t, []evalCase{
		{"searched CASE takes the first true branch", func() Expr {
			return must(Case(nil, []When{{call(">", cI, i32(0)), s("pos")}, {call("<", cI, i32(0)), s("neg")}}, s("none")))
		}, "pos|neg|none|pos"},
		{"simple CASE compares the operand", func() Expr {
			return must(Case(cZ, []When{{i32(0), s("zero")}, {i32(1), s("one")}}, nil))
		}, "zero|NULL|NULL|one"},
		{"a branch's row errors count only where it is taken", func() Expr {
			return must(Case(nil, []When{{call("=", cZ, i32(0)), i32(0)}}, call("/", cI, cZ)))
		}, "0|-3|NULL|2147483647"},
		{"COALESCE takes the first non-NULL", func() Expr { return call("COALESCE", cI, cZ, i32(-1)) }, "5|-7|-1|2147483647"},
		{"NULLIF gives NULL on equality", func() Expr { return call("NULLIF", cZ, i32(2)) }, "0|NULL|NULL|1"},
	})
}

func TestCast(t *testing.T) {
	dec := types.Type{Kind: types.Decimal, Precision: 6, Scale: 2}
	runCases(t, []evalCase{
		{"DOUBLE to INTEGER truncates", func() Expr { return must(Cast(cD, types.TInteger)) }, "1|-2|NULL|0"},
		{"INTEGER to TINYINT overflow is a row error", func() Expr { return must(Cast(cI, types.TTinyInt)) }, "5|-7|NULL|!CAST"},
		{"INTEGER to VARCHAR", func() Expr { return must(Cast(cI, types.Type{Kind: types.Varchar})) }, "5|-7|NULL|2147483647"},
		{"VARCHAR(3) truncates silently", func() Expr { return must(Cast(cS, types.VarcharOf(3))) }, "abc|Hel|NULL|"},
		{"CHAR(4) pads", func() Expr { return must(Cast(s("ab"), types.Type{Kind: types.Char, Length: 4})) }, "ab  "},
		{"VARCHAR to INTEGER fails on text", func() Expr { return must(Cast(cS, types.TInteger)) }, "!CAST|!CAST|NULL|!CAST"},
		{"VARCHAR to BOOLEAN ignores case", func() Expr { return must(Cast(s(" True "), types.TBoolean)) }, "TRUE"},
		{"VARCHAR to TIMESTAMP, ISO form", func() Expr { return must(Cast(s("2024-03-05T01:02:03.5Z"), types.TTimestamp)) }, "2024-03-05 01:02:03.500"},
		{"VARCHAR to DATE rejects Feb 30", func() Expr { return castRow(s("2024-02-30"), types.TDate) }, "!CAST"},
		{"VARCHAR to DECIMAL", func() Expr { return must(Cast(s("12.345"), dec)) }, "12.35"},
		{"DOUBLE to DECIMAL", func() Expr { return must(Cast(cD, dec)) }, "1.50|-2.00|NULL|0.00"},
		{"DECIMAL to INTEGER truncates", func() Expr { return must(Cast(lit("-12.75", dec), types.TInteger)) }, "-12"},
		{"TIMESTAMP to DATE", func() Expr { return must(Cast(cTS, types.TDate)) }, "2024-03-05|2024-03-05|NULL|2024-03-05"},
		{"TIMESTAMP to TIME", func() Expr { return must(Cast(cTS, types.TTime)) }, "13:45:30.123|13:45:30.123|NULL|13:45:30.123"},
		{"TIME to VARCHAR keeps milliseconds", func() Expr {
			return must(Cast(must(Cast(s("06:07:08.5"), types.TTime)), types.Type{Kind: types.Varchar}))
		}, "06:07:08.500"},
		{"TIME to VARCHAR without milliseconds", func() Expr {
			return must(Cast(must(Cast(s("06:07:08"), types.TTime)), types.Type{Kind: types.Varchar}))
		}, "06:07:08"},
		{"INTERVAL to BIGINT is milliseconds", func() Expr { return must(Cast(ival(time.Minute), types.TBigInt)) }, "60000"},
		{"VARCHAR to INTERVAL", func() Expr { return must(Cast(s("1 02:03:04.5"), types.TInterval)) }, "1 02:03:04.500"},
		{"BOOLEAN to VARCHAR", func() Expr { return must(Cast(cB, types.Type{Kind: types.Varchar})) }, "TRUE|FALSE|NULL|TRUE"},
		{"DOUBLE to VARCHAR prints like Java", func() Expr { return must(Cast(f64(1e10), types.Type{Kind: types.Varchar})) }, "1.0E10"},
	})
}

// castRow casts a literal without folding, so the failure is a row error.
func castRow(x Expr, to types.Type) Expr { return &castExpr{x: x, to: to} }

func TestTypeErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		e    func() (Expr, error)
	}{
		{"an unknown function", func() (Expr, error) { return Call("NO_SUCH", cI) }},
		{"wrong arity", func() (Expr, error) { return Call("ABS", cI, cI) }},
		{"adding a string to a number", func() (Expr, error) { return Call("+", cI, cS) }},
		{"AND of integers", func() (Expr, error) { return Call("AND", cI, cI) }},
		{"CAST BOOLEAN to INTEGER", func() (Expr, error) { return Cast(cB, types.TInteger) }},
		{"CAST TIMESTAMP to DOUBLE", func() (Expr, error) { return Cast(cTS, types.TDouble) }},
		{"a literal of the wrong Go type", func() (Expr, error) { return Lit("x", types.TInteger) }},
		{"a literal out of range", func() (Expr, error) { return Lit(int64(300), types.TTinyInt) }},
		{"a bad LIKE escape", func() (Expr, error) { return Call("LIKE", cS, s("a"), s("xy")) }},
		{"an unknown FLOOR unit", func() (Expr, error) { return Call("KDA_FLOOR_TO", cTS, s("WEEK")) }},
	} {
		t.Run(c.name+" is a TypeError", func(t *testing.T) {
			_, err := c.e()
			var te *TypeError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TypeError", err)
			}
		})
	}
}

func TestFunctionsAreListed(t *testing.T) {
	names := map[string]bool{}
	for _, f := range Functions() {
		names[f.Name] = true
		if f.Signature == "" || f.Kind == "" {
			t.Errorf("%s lacks a signature or kind", f.Name)
		}
	}
	for _, n := range []string{"+", "AND", "LIKE", "SIMILAR_TO", "REGEX_REPLACE", "CHAR_TO_TIMESTAMP", "STEP", "KDA_EXTRACT"} {
		if !names[n] {
			t.Errorf("%s is not listed", n)
		}
	}
}

func TestRegistryTakesUserFunctions(t *testing.T) {
	r := NewRegistry()
	err := r.Register(ScalarFunc{
		Name: "twice", Signature: "TWICE(x INTEGER) -> INTEGER",
		Check: func(args []types.Type) (types.Type, error) {
			if len(args) != 1 || args[0].Kind != types.Integer {
				return types.Type{}, &TypeError{Message: "TWICE takes one INTEGER"}
			}
			return types.TInteger, nil
		},
		Eval: func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			b := array.NewInt32Builder(ec.Mem)
			defer b.Release()
			in := args[0].(*array.Int32)
			for i := range n {
				if in.IsNull(i) {
					b.AppendNull()
				} else {
					b.Append(2 * in.Value(i))
				}
			}
			return b.NewArray(), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.Call("TWICE", cZ)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(render(t, e), "|"); got != "0|4|NULL|2" {
		t.Errorf("TWICE(Z) = %s", got)
	}
	if _, err := Call("TWICE", cZ); err == nil {
		t.Error("the built-in registry must not see user functions")
	}
	if err := r.Register(ScalarFunc{Name: "ABS", Check: func([]types.Type) (types.Type, error) { return types.TInteger, nil }, Eval: func(*EvalContext, []arrow.Array, int) (arrow.Array, error) { return nil, nil }}); err == nil {
		t.Error("registering over a built-in must fail")
	}
}

func TestRegistryReplaceAndClone(t *testing.T) {
	constant := func(v int32) ScalarFunc {
		return ScalarFunc{
			Name:  "k",
			Check: func([]types.Type) (types.Type, error) { return types.TInteger, nil },
			Eval: func(ec *EvalContext, _ []arrow.Array, n int) (arrow.Array, error) {
				b := array.NewInt32Builder(ec.Mem)
				defer b.Release()
				for range n {
					b.Append(v)
				}
				return b.NewArray(), nil
			},
		}
	}
	r := NewRegistry()
	if err := r.Replace(constant(1)); err != nil {
		t.Fatalf("Replace of a new name must register it: %v", err)
	}
	first, err := r.Call("K", cZ)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Clone()
	if err := c.Replace(constant(2)); err != nil {
		t.Fatal(err)
	}
	second, err := c.Call("K", cZ)
	if err != nil {
		t.Fatal(err)
	}
	if got := render(t, first)[0]; got != "1" {
		t.Errorf("a call bound before the replacement gives %s, want 1", got)
	}
	if got := render(t, second)[0]; got != "2" {
		t.Errorf("the replacement gives %s, want 2", got)
	}
	if again, _ := r.Call("K", cZ); render(t, again)[0] != "1" {
		t.Error("replacing in a clone changed the original")
	}
	if info, ok := c.Lookup("k"); !ok || info.Kind != "user" {
		t.Errorf("Lookup(k) = %+v, %v", info, ok)
	}
	abs := constant(0)
	abs.Name = "abs"
	if err := r.Replace(abs); err == nil || !strings.Contains(err.Error(), "built-in") {
		t.Errorf("replacing a built-in must fail, got %v", err)
	}
}
