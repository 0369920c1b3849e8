package dialect

import (
	"errors"
	"strings"
	"testing"

	"github.com/kdaproject/kda/sql/types"
	"github.com/xwb1989/sqlparser"
)

func TestCreateStreamAcceptsEveryType(t *testing.T) {
	src := `CREATE OR REPLACE STREAM "Every_Type" (
    c_bigint BIGINT NOT NULL,
    c_binary BINARY(16),
    c_bool BOOLEAN,
    c_char CHAR(3),
    c_character CHARACTER,
    c_date DATE,
    c_decimal DECIMAL(10,2),
    c_dec DEC(7),
    c_numeric NUMERIC,
    c_double DOUBLE,
    c_double_precision DOUBLE PRECISION,
    c_float FLOAT,
    c_integer INTEGER,
    c_int INT NOT NULL,
    c_smallint SMALLINT,
    c_real REAL,
    c_time TIME,
    c_timestamp TIMESTAMP,
    c_tinyint TINYINT,
    c_varbinary VARBINARY(64),
    c_varchar VARCHAR(32),
    "mixedCase" varchar(8) null
) DESCRIPTION 'one column per type';`
	prog, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	cs := prog.Statements[0].(*CreateStream)
	if !cs.OrReplace || cs.Name != "Every_Type" || cs.Description != "one column per type" {
		t.Errorf("stream = %+v", cs)
	}
	want := []struct {
		name string
		typ  types.Type
	}{
		{"C_BIGINT", types.Type{Kind: types.BigInt, NotNull: true}},
		{"C_BINARY", types.Type{Kind: types.Binary, Length: 16}},
		{"C_BOOL", types.TBoolean},
		{"C_CHAR", types.Type{Kind: types.Char, Length: 3}},
		{"C_CHARACTER", types.Type{Kind: types.Char, Length: 1}},
		{"C_DATE", types.TDate},
		{"C_DECIMAL", types.Type{Kind: types.Decimal, Precision: 10, Scale: 2}},
		{"C_DEC", types.Type{Kind: types.Decimal, Precision: 7}},
		{"C_NUMERIC", types.Type{Kind: types.Decimal, Precision: 19}},
		{"C_DOUBLE", types.TDouble},
		{"C_DOUBLE_PRECISION", types.TDouble},
		{"C_FLOAT", types.TDouble},
		{"C_INTEGER", types.TInteger},
		{"C_INT", types.Type{Kind: types.Integer, NotNull: true}},
		{"C_SMALLINT", types.TSmallInt},
		{"C_REAL", types.TReal},
		{"C_TIME", types.TTime},
		{"C_TIMESTAMP", types.TTimestamp},
		{"C_TINYINT", types.TTinyInt},
		{"C_VARBINARY", types.Type{Kind: types.Varbinary, Length: 64}},
		{"C_VARCHAR", types.VarcharOf(32)},
		{"mixedCase", types.VarcharOf(8)},
	}
	if len(cs.Columns) != len(want) {
		t.Fatalf("%d columns, want %d", len(cs.Columns), len(want))
	}
	for i, w := range want {
		if c := cs.Columns[i]; c.Name != w.name || c.Type != w.typ {
			t.Errorf("column %d = %s %v, want %s %v", i, c.Name, c.Type, w.name, w.typ)
		}
	}
	if p := cs.Columns[1].Pos; p.Line != 3 || p.Col != 5 {
		t.Errorf("column C_BINARY at %v, want line 3, column 5", p)
	}
}

func TestApplicationWithPumpsAndComments(t *testing.T) {
	src := `-- the output stream
CREATE STREAM out_stream (sym VARCHAR(8), total BIGINT);
// a pump with a quoted name
CREATE OR REPLACE PUMP "100-Total" AS INSERT EXPEDITED INTO out_stream (sym, total)
  SELECT STREAM sym, COUNT(*) FROM "SOURCE_SQL_STREAM_001"
  GROUP BY sym, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '30' SECOND);
/* a preview, without a final semicolon */
SELECT STREAM * FROM out_stream`
	prog, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Statements) != 3 {
		t.Fatalf("%d statements, want 3", len(prog.Statements))
	}
	pump, ok := prog.Statements[1].(*CreatePump)
	if !ok {
		t.Fatalf("statement 2 is %T", prog.Statements[1])
	}
	if pump.Name != "100-Total" || !pump.OrReplace || !pump.Expedited || pump.Target != "OUT_STREAM" ||
		strings.Join(pump.Columns, ",") != "SYM,TOTAL" {
		t.Errorf("pump = %+v", pump)
	}
	if pump.Pos.Line != 4 || pump.Pos.Col != 1 || pump.Query.Pos.Line != 5 || pump.Query.Pos.Col != 3 {
		t.Errorf("pump at %v, query at %v", pump.Pos, pump.Query.Pos)
	}
	sel := pump.Query.AST.(*sqlparser.Select)
	if got := sqlparser.String(sel.GroupBy); got != " group by SYM, STEP(SOURCE_SQL_STREAM_001.ROWTIME, interval '30' SECOND)" {
		t.Errorf("GROUP BY = %q", got)
	}
	if !pump.Query.Stream {
		t.Error("pump query is not SELECT STREAM")
	}
	if p := prog.Statements[2].Position(); p.Line != 8 {
		t.Errorf("preview at %v, want line 8", p)
	}
}

func TestPumpWithoutColumnListOrStream(t *testing.T) {
	prog, err := Parse(`CREATE PUMP p AS INSERT INTO o SELECT a FROM (SELECT STREAM a FROM s) AS x`)
	if err != nil {
		t.Fatal(err)
	}
	pump := prog.Statements[0].(*CreatePump)
	if pump.Columns != nil || pump.Expedited || pump.Query.Stream {
		t.Errorf("pump = %+v, stream %v", pump, pump.Query.Stream)
	}
}

func TestCreateFunctionInSQL(t *testing.T) {
	prog, err := Parse(`CREATE FUNCTION frac(deg DOUBLE) RETURNS DOUBLE
  LANGUAGE SQL DETERMINISTIC CONTAINS SQL RETURNS NULL ON NULL INPUT
  RETURN deg - FLOOR(deg);`)
	if err != nil {
		t.Fatal(err)
	}
	f := prog.Statements[0].(*CreateFunction)
	if f.Name != "FRAC" || f.Language != "SQL" || !f.Deterministic || !f.ReturnsNullOnNullInput ||
		f.Returns != types.TDouble || len(f.Params) != 1 || f.Params[0].Name != "DEG" || f.Params[0].Type != types.TDouble {
		t.Errorf("function = %+v", f)
	}
	if got := sqlparser.String(f.BodyExpr); got != "DEG - FLOOR(DEG)" {
		t.Errorf("body = %q", got)
	}
	if f.Body != "deg - FLOOR(deg)" {
		t.Errorf("body text = %q", f.Body)
	}
	if p, ok := f.Locate(f.BodyExpr); !ok || p.Line != 3 || p.Col != 10 {
		t.Errorf("body at %v (%v), want line 3, column 10", p, ok)
	}
}

func TestCreateFunctionWithoutLanguageDefaultsToSQL(t *testing.T) {
	prog, err := Parse(`CREATE FUNCTION two() RETURNS INT CONTAINS SQL CALLED ON NULL INPUT RETURN 2`)
	if err != nil {
		t.Fatal(err)
	}
	f := prog.Statements[0].(*CreateFunction)
	if f.Language != "SQL" || len(f.Params) != 0 || f.ReturnsNullOnNullInput || sqlparser.String(f.BodyExpr) != "2" {
		t.Errorf("function = %+v", f)
	}
}

func TestCreateFunctionInJavaScript(t *testing.T) {
	for _, c := range []struct{ name, src, body string }{
		{"quoted body", `CREATE OR REPLACE FUNCTION "greet"(n VARCHAR(10)) RETURNS VARCHAR(20) LANGUAGE JAVASCRIPT AS 'return "hi " + n;'`, `return "hi " + n;`},
		{"dollar body", "CREATE FUNCTION greet(n VARCHAR(10)) RETURNS VARCHAR(20) LANGUAGE JAVASCRIPT AS $$\n  return 'it''s ' + n; // ok\n$$;", "\n  return 'it''s ' + n; // ok\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			prog, err := Parse(c.src)
			if err != nil {
				t.Fatal(err)
			}
			f := prog.Statements[0].(*CreateFunction)
			if f.Language != "JAVASCRIPT" || f.Body != c.body || f.BodyExpr != nil || f.Returns != types.VarcharOf(20) {
				t.Errorf("function = %+v", f)
			}
		})
	}
}

func TestErrorsPointAtTheUsersText(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		line, col int
		msg       string // a substring of the message
	}{
		{"an unknown statement", "CREATE STREAM s (a INT);\n  DROP STREAM s;", 2, 3, `unknown statement "DROP"`},
		{"an unterminated string", "SELECT STREAM a FROM s\nWHERE b = 'open", 2, 11, "unterminated string"},
		{"an unterminated quoted identifier", `SELECT STREAM "a FROM s`, 1, 15, "unterminated quoted identifier"},
		{"an unterminated comment", "SELECT STREAM a\n  /* never closed\nFROM s", 2, 3, "unterminated comment"},
		{"a column without a type", "CREATE STREAM s (\n  a INT,\n  b,\n  c INT)", 3, 4, "column B has no type"},
		{"an unknown type", "CREATE STREAM s (a STRING)", 1, 20, "unknown type STRING"},
		{"an interval column", "CREATE STREAM s (a INTERVAL)", 1, 20, "INTERVAL is not a column type"},
		{"a declared ROWTIME", "CREATE STREAM s (rowtime TIMESTAMP)", 1, 18, "ROWTIME is implicit"},
		{"a bad character", "SELECT STREAM a # b FROM s", 1, 17, "unexpected character '#'"},
		{"a year interval", "SELECT STREAM a FROM s\nWHERE ts > ts - INTERVAL '1' YEAR", 2, 30, "day-time intervals only"},
		{"a window of 0 PRECEDING", "SELECT STREAM SUM(a) OVER (ROWS 0 PRECEDING) FROM s", 1, 33, "write CURRENT ROW"},
		{"a window with UNBOUNDED FOLLOWING", "SELECT STREAM SUM(a) OVER (ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM s", 1, 41, "UNBOUNDED FOLLOWING is not allowed"},
		{"a window with ORDER BY", "SELECT STREAM SUM(a) OVER w FROM s\nWINDOW w AS (PARTITION BY b ORDER BY c ROWS 2 PRECEDING)", 2, 29, "ORDER BY is not allowed"},
		{"a window that does not end at CURRENT ROW", "SELECT STREAM SUM(a) OVER (ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING) FROM s", 1, 57, "must end at CURRENT ROW"},
		{"an aggregate window that looks ahead", "SELECT STREAM SUM(a) OVER (RANGE INTERVAL '1' MINUTE FOLLOWING) FROM s", 1, 27, "FOLLOWING is allowed only on a joined stream"},
		{"an unknown window name", "SELECT STREAM SUM(a) OVER w2 FROM s\nWINDOW w AS (ROWS 2 PRECEDING)", 1, 27, "unknown window W2"},
		{"a window without a size", "SELECT STREAM SUM(a) OVER (PARTITION BY b) FROM s", 1, 42, "expected RANGE INTERVAL"},
		{"a partitioned join window", "SELECT STREAM * FROM a JOIN b OVER (PARTITION BY x ROWS 2 PRECEDING) ON a.x = b.x", 1, 36, "cannot be partitioned"},
		{"a syntax error inside the query", "SELECT STREAM a\nFROM s\nWHERE a = = 1", 3, 11, `syntax error at "="`},
		{"a query that ends too early", "CREATE PUMP p AS INSERT INTO o\nSELECT STREAM a FROM s WHERE;", 2, 29, "ends too early"},
		{"an unbalanced parenthesis", "SELECT STREAM (a FROM s", 1, 15, "never closed"},
		{"a stagger window beside GROUP BY", "SELECT STREAM a FROM s GROUP BY a WINDOWED BY STAGGER (PARTITION BY a RANGE INTERVAL '1' MINUTE)", 1, 24, "replaces GROUP BY"},
		{"a T-sort in descending order", "SELECT STREAM a FROM s ORDER BY a DESC WITHIN INTERVAL '1' SECOND", 1, 35, "ascending only"},
		{"a pump without a query", "CREATE PUMP p AS INSERT INTO o;", 1, 31, "expected the pump's SELECT"},
		{"a table function without a cursor", "SELECT STREAM * FROM TABLE(HOTSPOTS(s, 1, 2, 3))", 1, 37, "must be CURSOR"},
		{"CREATE TABLE", "CREATE TABLE t (a INT)", 1, 8, "not part of KDA SQL"},
		{"a JavaScript function with RETURN", "CREATE FUNCTION f() RETURNS INT LANGUAGE JAVASCRIPT RETURN 1", 1, 53, "AS '<script>'"},
		{"a bad CAST type", "SELECT STREAM CAST(a AS TEXT) FROM s", 1, 25, "unknown type TEXT"},
		{"a VARCHAR too long", "CREATE STREAM s (a VARCHAR(70000))", 1, 28, "between 1 and 65535"},
		{"a bad unicode escape", `SELECT STREAM u&'\00zz' FROM s`, 1, 18, "invalid unicode escape"},
		{"EXCEPT", "SELECT STREAM a FROM s EXCEPT SELECT STREAM a FROM t", 1, 24, "EXCEPT is not supported"},
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

func TestSyntaxErrorShowsTheLineWithACaret(t *testing.T) {
	_, err := Parse("CREATE STREAM s (a INT);\nSELECT STREAM a\n\tFROM s WHERE a = = 2")
	want := "line 3, column 19: syntax error at \"=\"\n\tFROM s WHERE a = = 2\n\t                 ^"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

func TestColumnsCountCharactersNotBytes(t *testing.T) {
	_, err := Parse("SELECT STREAM 'é', 'ü' FROM s WHERE ?")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos.Col != 37 || se.Pos.Offset != 38 {
		t.Errorf("error %v at %+v, want column 37 (offset 38)", err, se)
	}
}
