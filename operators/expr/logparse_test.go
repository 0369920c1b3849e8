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

// parseLines evaluates fn(LINE, args...) over lines ("\x00" is a NULL line)
// and renders each row as its fields joined by "," (NULL fields as NULL), or
// "NULL" for a NULL row, or "!NAME" for a row error.
func parseLines(t *testing.T, fn string, lines []string, args ...Expr) (types.Type, []string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewStringBuilder(mem)
	for _, l := range lines {
		if l == "\x00" {
			b.AppendNull()
		} else {
			b.Append(l)
		}
	}
	col := b.NewArray()
	b.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "LINE", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{col}, int64(len(lines)))
	col.Release()
	defer rec.Release()
	e, err := Call(fn, append([]Expr{Col(0, types.Type{Kind: types.Varchar}, "LINE")}, args...)...)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	ec := &EvalContext{Mem: mem, Errors: &RowErrors{}}
	a, err := e.Eval(ec, rec)
	if err != nil {
		t.Fatalf("Eval: %v", err)
	}
	defer a.Release()
	if !arrow.TypeEqual(a.DataType(), e.Type().Arrow()) {
		t.Fatalf("Eval gave %s, Type() says %s", a.DataType(), e.Type())
	}
	out := make([]string, len(lines))
	for i := range out {
		if ec.Errors.Failed(i) {
			ec.Errors.Each(func(row int, re RowError) {
				if row == i {
					out[i] = "!" + re.Name
				}
			})
			continue
		}
		if a.IsNull(i) {
			out[i] = "NULL"
			continue
		}
		var parts []string
		for _, f := range e.Type().Row.Fields {
			x, err := Field(e, f.Name)
			if err != nil {
				t.Fatal(err)
			}
			v, err := x.Eval(ec, rec)
			if err != nil {
				t.Fatal(err)
			}
			if v.IsNull(i) {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, string(appendValue(nil, v, i, x.Type())))
			}
			v.Release()
		}
		out[i] = strings.Join(parts, ",")
	}
	return e.Type(), out
}

func TestLogParseFunctions(t *testing.T) {
	tests := []struct {
		name  string
		fn    string
		args  []Expr
		lines []string
		typ   string
		want  string // rows joined by "|"
	}{
		{name: "REGEX_LOG_PARSE: one column per group, whole-line greedy match",
			fn: "REGEX_LOG_PARSE", args: []Expr{s(`(\w+)=(.*)(\d)?`)}, lines: []string{"a=12", "no match here", "\x00"},
			typ: "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024), COLUMN3 VARCHAR(1024))", want: "a,12,NULL|NULL|NULL"},
		{name: "REGEX_LOG_PARSE with a typed column list",
			fn: "REGEX_LOG_PARSE", args: []Expr{s(`(\d+) (\S+)`), s(`n INTEGER, "Host" TYPE VARCHAR(3)`)}, lines: []string{"42 example", "x y"},
			typ: `ROW(N INTEGER, "Host" VARCHAR(3))`, want: "42,exa|NULL"},
		{name: "REGEX_LOG_PARSE conversion failure is a row error",
			fn: "REGEX_LOG_PARSE", args: []Expr{s(`(\S+)`), s(`n INTEGER`)}, lines: []string{"12", "x"},
			typ: `ROW(N INTEGER)`, want: "12|!CAST"},
		{name: "FAST_REGEX_LOG_PARSE takes as little as it can",
			fn: "FAST_REGEX_LOG_PARSE", args: []Expr{s(`(.*)-(.*)`)}, lines: []string{"a-b-c"},
			typ: "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024))", want: "a,b-c"},
		{name: "REGEX_LOG_PARSE takes as much as it can",
			fn: "REGEX_LOG_PARSE", args: []Expr{s(`(.*)-(.*)`)}, lines: []string{"a-b-c"},
			typ: "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024))", want: "a-b,c"},
		{name: "SYS_LOG_PARSE splits time and message",
			fn: "SYS_LOG_PARSE", lines: []string{"Mar  5 13:45:30 web1 sshd[42]: accepted", "Dec 24 00:00:01 h x", "not syslog"},
			typ:  "ROW(COLUMN1 TIMESTAMP, COLUMN2 VARCHAR(1024))",
			want: "1970-03-05 13:45:30,web1 sshd[42]: accepted|1970-12-24 00:00:01,h x|NULL"},
		{name: "W3C_LOG_PARSE COMMON",
			fn: "W3C_LOG_PARSE", args: []Expr{s("COMMON")},
			lines: []string{`10.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET /a b.gif HTTP/1.0" 200 2326`, "junk"},
			typ:   "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024), COLUMN3 VARCHAR(1024), COLUMN4 VARCHAR(1024), COLUMN5 VARCHAR(1024), COLUMN6 VARCHAR(1024), COLUMN7 VARCHAR(1024))",
			want:  "10.0.0.1,-,bob,10/Oct/2000:13:55:36 -0700,GET /a b.gif HTTP/1.0,200,2326|NULL"},
		{name: "W3C_LOG_PARSE with a custom format and %%",
			fn: "W3C_LOG_PARSE", args: []Expr{s(`%h %{X-Id}i 100%% %D`)}, lines: []string{"h1 abc 100% 17"},
			typ: "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024), COLUMN3 VARCHAR(1024))", want: "h1,abc,17"},
		{name: "W3C_LOG_PARSE REFERER accepts -> and --->",
			fn: "W3C_LOG_PARSE", args: []Expr{s("referer")}, lines: []string{"http://a/ -> /x", "http://b/ ---> /y"},
			typ: "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024))", want: "http://a/,/x|http://b/,/y"},
		{name: "FIXED_COLUMN_LOG_PARSE with 0-based starts, lengths and a date format",
			fn: "FIXED_COLUMN_LOG_PARSE", args: []Expr{s(`host TYPE VARCHAR(5) START 0 FOR 5, n TYPE INTEGER START 5 FOR 3, "t" TYPE TIMESTAMP 'dd/MMM/yyyy:HH:mm:ss' START 8, rest TYPE VARCHAR(9) NOT NULL START 40`)},
			lines: []string{"web1  4205/Mar/2024:13:45:30", "web2  x 05/Mar/2024:13:45:30"},
			typ:   `ROW(HOST VARCHAR(5), N INTEGER, "t" TIMESTAMP, REST VARCHAR(9))`,
			want:  "!INVALID_ARGUMENT|!CAST"},
		{name: "FIXED_COLUMN_LOG_PARSE past the end of the line is NULL",
			fn: "FIXED_COLUMN_LOG_PARSE", args: []Expr{s(`a TYPE VARCHAR(4) START 0 FOR 4, b TYPE BIGINT START 4 FOR 3, c TYPE VARCHAR(2) START 9`)},
			lines: []string{"abcd 12", "ab"},
			typ:   `ROW(A VARCHAR(4), B BIGINT, C VARCHAR(2))`, want: "abcd,12,NULL|ab,NULL,NULL"},
		{name: "VARIABLE_COLUMN_LOG_PARSE with a count",
			fn: "VARIABLE_COLUMN_LOG_PARSE", args: []Expr{i32(3), s(",")}, lines: []string{"a,b,c,d", "a,,b", "a"},
			typ: "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024), COLUMN3 VARCHAR(1024))", want: "a,b,c|a,,b|a,NULL,NULL"},
		{name: "VARIABLE_COLUMN_LOG_PARSE with types, an escape and quotes",
			fn: "VARIABLE_COLUMN_LOG_PARSE", args: []Expr{s(`name TYPE VARCHAR(16), n TYPE INTEGER NOT NULL`), s("; "), s(`\`), s("[]")},
			lines: []string{`a\; b; 7`, `[x; y]; 8`, `z; `},
			typ:   `ROW(NAME VARCHAR(16), N INTEGER)`, want: "a; b,7|x; y,8|!INVALID_ARGUMENT"},
		{name: "VARIABLE_COLUMN_LOG_PARSE with a multi-character delimiter",
			fn: "VARIABLE_COLUMN_LOG_PARSE", args: []Expr{i32(2), s("::")}, lines: []string{"a:b::c"},
			typ: "ROW(COLUMN1 VARCHAR(1024), COLUMN2 VARCHAR(1024))", want: "a:b,c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, got := parseLines(t, tt.fn, tt.lines, tt.args...)
			if typ.String() != tt.typ {
				t.Errorf("type %s\nwant %s", typ, tt.typ)
			}
			if g := strings.Join(got, "|"); g != tt.want {
				t.Errorf("got  %s\nwant %s", g, tt.want)
			}
		})
	}
}

func TestFixedColumnsWithDateFormat(t *testing.T) {
	_, got := parseLines(t, "FIXED_COLUMN_LOG_PARSE", []string{"web1  4205/Mar/2024:13:45:30"},
		s(`host TYPE VARCHAR(5) START 0 FOR 5, n TYPE INTEGER START 5 FOR 3, "t" TYPE TIMESTAMP 'dd/MMM/yyyy:HH:mm:ss' START 8, d TYPE DATE 'dd/MMM/yyyy' START 8 FOR 11`))
	if want := "web1 ,42,2024-03-05 13:45:30,2024-03-05"; got[0] != want {
		t.Errorf("got  %s\nwant %s", got[0], want)
	}
}

func TestLogParseBindErrors(t *testing.T) {
	line := Col(0, types.Type{Kind: types.Varchar}, "LINE")
	tests := []struct {
		name string
		fn   string
		args []Expr
		arg  int // the argument the error is about; -1: the call
		want string
	}{
		{"a non-literal pattern", "REGEX_LOG_PARSE", []Expr{line, line}, 1, "REGEX_LOG_PARSE: the regular expression (argument 2) must be a string literal, got LINE"},
		{"a lookahead", "REGEX_LOG_PARSE", []Expr{line, s(`(a)(?=b)`)}, 1, `REGEX_LOG_PARSE: lookahead (?= at character 4 of the regular expression '(a)(?=b)' is not supported`},
		{"no groups", "FAST_REGEX_LOG_PARSE", []Expr{line, s(`abc`)}, 1, "has no capture groups"},
		{"too many columns", "REGEX_LOG_PARSE", []Expr{line, s(`(a)`), s("x, y")}, 2, "names 2 columns but the regular expression has 1 capture group"},
		{"an unknown W3C format", "W3C_LOG_PARSE", []Expr{line, s("APACHE")}, 1, `unknown log format "APACHE"`},
		{"an unknown specifier", "W3C_LOG_PARSE", []Expr{line, s("%h %Q")}, 1, `unknown format specifier %Q at character 4`},
		{"a fixed column without START", "FIXED_COLUMN_LOG_PARSE", []Expr{line, s("a TYPE INTEGER")}, 1, "START <position> is required"},
		{"a bad type", "FIXED_COLUMN_LOG_PARSE", []Expr{line, s("a TYPE WIBBLE START 0")}, 1, `type "WIBBLE"`},
		{"a date format on a number", "VARIABLE_COLUMN_LOG_PARSE", []Expr{line, s("a TYPE INTEGER 'yyyy'"), s(",")}, 1, "a date format is only allowed"},
		{"an empty delimiter", "VARIABLE_COLUMN_LOG_PARSE", []Expr{line, i32(2), s("")}, 2, "the delimiter is empty"},
		{"wrong arity", "SYS_LOG_PARSE", []Expr{line, line}, -1, "SYS_LOG_PARSE takes 1 arguments, got 2"},
		{"a non-string line", "SYS_LOG_PARSE", []Expr{i32(1)}, -1, "argument 1 must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Call(tt.fn, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			var ae *ArgError
			if got := errors.As(err, &ae); got != (tt.arg >= 0) || (got && ae.Arg != tt.arg) {
				t.Errorf("error %v: ArgError %v, want argument %d", err, got, tt.arg)
			}
		})
	}
}

func TestFieldOfNullRows(t *testing.T) {
	// A struct built elsewhere may hold values under NULL rows; Field masks them.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rt := types.RowOf(types.Field{Name: "A", Type: types.TBigInt})
	sb := array.NewStructBuilder(mem, rt.Arrow().(*arrow.StructType))
	sb.Append(true)
	sb.FieldBuilder(0).(*array.Int64Builder).Append(1)
	sb.AppendValues([]bool{false})
	sb.FieldBuilder(0).(*array.Int64Builder).Append(2)
	col := sb.NewArray()
	sb.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "R", Type: col.DataType(), Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{col}, 2)
	col.Release()
	defer rec.Release()
	f, err := Field(Col(0, rt, "R"), "A")
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Eval(&EvalContext{Mem: mem, Errors: &RowErrors{}, Now: time.Now}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	if a.IsNull(0) || a.(*array.Int64).Value(0) != 1 || !a.IsNull(1) {
		t.Errorf("got %v", a)
	}
	if _, err := Field(Col(0, rt, "R"), "B"); err == nil || !strings.Contains(err.Error(), "has no field B (it has A)") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestRegexReplaceJavaSyntax(t *testing.T) {
	runCases(t, []evalCase{
		{"a POSIX class and a named group reference", func() Expr {
			return call("REGEX_REPLACE", s("ab12 c3"), s(`(?<w>\p{Alpha}+)(?<d>\d+)`), s("${d}${w}"), i32(1), i32(0))
		}, "12ab 3c"},
		{"quoted text", func() Expr { return call("REGEX_REPLACE", s("a+b a+b"), s(`\Qa+b\E`), s("x"), i32(1), i32(2)) }, "a+b x"},
	})
	if _, err := Call("REGEX_REPLACE", s("x"), s(`(a)\1`), s(""), i32(1), i32(0)); err == nil || !strings.Contains(err.Error(), `backreference \1 at character 4`) {
		t.Errorf("a backreference: %v", err)
	}
}

// The W3C scanner must pick the match the lazy regular expression prefers.
func TestW3CScannerAgreesWithTheRegexp(t *testing.T) {
	formats := []string{w3cCommon, `%a-%b-`, `%a::%b:`, `"%r" %s`, `%t %a`, `%a%b %h`}
	lines := []string{
		`h - u [t] "GET /a" b HTTP/1.0" 200 5`, `h - u [t] "GET / HTTP/1.1" 200 -`, `x-`, `x-y-`, `x--y--`, `a::b::`, `a:::`,
		`"q" "r" 2`, `"q"2`, `[t] a`, `[t]] a b`, `[t a`, `ab c`, ` `, ``,
	}
	for _, f := range formats {
		re, lits, err := w3cRegexp(f)
		if err != nil {
			t.Fatal(err)
		}
		n := len(lits) - 1
		slow := regexParser(re)
		noSlow := func(string, []string, []bool) bool { return false }
		fast := w3cParser(lits, noSlow)
		for _, l := range lines {
			v1, s1 := make([]string, n), make([]bool, n)
			v2, s2 := make([]string, n), make([]bool, n)
			ok1 := slow(l, v1, s1)
			ok2 := fast(l, v2, s2)
			if ok2 && (!ok1 || strings.Join(v1, "\x00") != strings.Join(v2, "\x00")) {
				t.Errorf("format %q, line %q: scanner %q, regexp %v %q", f, l, v2, ok1, v1)
			}
		}
	}
}
