package dialect

import (
	"errors"
	"strings"
	"testing"

	"github.com/kdaproject/kda/sql/types"
)

func TestCreateAggregateFunctionInJavaScript(t *testing.T) {
	src := "CREATE OR REPLACE AGGREGATE FUNCTION geomean(x DOUBLE) RETURNS DOUBLE\n  LANGUAGE JAVASCRIPT AS $$\n{ init() { return 0 } }\n$$;\n" +
		"CREATE AGGREGATE FUNCTION \"last3\"(s VARCHAR(8), n INTEGER) RETURNS VARCHAR(32) AS '{ x: ''y'' }'"
	prog, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	f := prog.Statements[0].(*CreateAggregateFunction)
	if f.Name != "GEOMEAN" || !f.OrReplace || f.Language != "JAVASCRIPT" || f.Returns != types.TDouble ||
		len(f.Params) != 1 || f.Params[0].Name != "X" || f.Body != "\n{ init() { return 0 } }\n" {
		t.Errorf("first = %+v", f)
	}
	if f.Pos.Line != 1 || f.Pos.Col != 1 || f.BodyPos.Line != 2 || f.BodyPos.Col != 28 {
		t.Errorf("positions: statement %v, body %v", f.Pos, f.BodyPos)
	}
	g := prog.Statements[1].(*CreateAggregateFunction)
	if g.Name != "last3" || g.OrReplace || len(g.Params) != 2 || g.Body != "{ x: 'y' }" || g.BodyPos.Line != 5 || g.BodyPos.Col != 84 {
		t.Errorf("second = %+v", g)
	}
}

func TestCreateAggregateFunctionErrorsPointAtTheUsersText(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		line, col int
		msg       string
	}{
		{"AGGREGATE without FUNCTION", "CREATE AGGREGATE geomean(x DOUBLE) RETURNS DOUBLE AS $$ {} $$", 1, 18, "expected FUNCTION after CREATE AGGREGATE"},
		{"a SQL aggregate", "CREATE AGGREGATE FUNCTION f(x DOUBLE) RETURNS DOUBLE\n  LANGUAGE SQL AS $$ {} $$", 2, 12, "written in JavaScript"},
		{"a RETURN body", "CREATE AGGREGATE FUNCTION f(x DOUBLE) RETURNS DOUBLE RETURN x", 1, 54, "not RETURN"},
		{"no body", "CREATE AGGREGATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT", 1, 73, "expected AS $$"},
		{"a number as the body", "CREATE AGGREGATE FUNCTION f(x DOUBLE) RETURNS DOUBLE AS 42", 1, 57, "found number 42"},
		{"text after the body", "CREATE AGGREGATE FUNCTION f(x DOUBLE) RETURNS DOUBLE AS $$ {} $$ STRICT", 1, 66, `unexpected "STRICT"`},
		{"a missing RETURNS", "CREATE AGGREGATE FUNCTION f(x DOUBLE) AS $$ {} $$", 1, 39, "expected RETURNS"},
		{"an unknown parameter type", "CREATE AGGREGATE FUNCTION f(x STRING) RETURNS DOUBLE AS $$ {} $$", 1, 31, "unknown type STRING"},
		{"CREATE with an unknown kind", "CREATE SEQUENCE s", 1, 8, "AGGREGATE FUNCTION"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse: %v, want a *SyntaxError", err)
			}
			if se.Pos.Line != c.line || se.Pos.Col != c.col || !strings.Contains(se.Msg, c.msg) {
				t.Errorf("error at line %d, column %d: %s\nwant line %d, column %d: ...%s...", se.Pos.Line, se.Pos.Col, se.Msg, c.line, c.col, c.msg)
			}
		})
	}
}
