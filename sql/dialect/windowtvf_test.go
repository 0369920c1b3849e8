package dialect

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xwb1989/sqlparser"
)

func TestWindowTVFLowering(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want string // sqlparser.String of the AST
	}{
		{"each side becomes its stream and window_start a STEP of the DESCRIPTOR column",
			`SELECT STREAM L.id, R.price FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS L
			 JOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS R
			 ON L.id = R.id AND L.window_start = R.window_start`,
			"select L.ID, R.PRICE from ORDERS as L join TRADES as R on L.ID = R.ID and STEP(L.EVT, interval '1' MINUTE) = STEP(R.EVT, interval '1' MINUTE)"},
		{"window_end adds the size and window_time takes a millisecond off it",
			`SELECT STREAM L.window_end, L.window_time + INTERVAL '1' SECOND FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND)) AS L
			 JOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND)) AS R ON L.window_start = R.window_start`,
			"select (STEP(L.ROWTIME, interval '10' SECOND) + interval '10' SECOND) as WINDOW_END, " +
				"(STEP(L.ROWTIME, interval '10' SECOND) + interval '10' SECOND - interval '1' MILLISECOND) + interval '1' SECOND " +
				"from ORDERS as L join TRADES as R on STEP(L.ROWTIME, interval '10' SECOND) = STEP(R.ROWTIME, interval '10' SECOND)"},
		{"a select item that is only a window column is named after it",
			`SELECT STREAM L.window_start, L.window_start AS ws, "R"."window_start" FROM TABLE(TUMBLE(TABLE O, DESCRIPTOR(t), INTERVAL '1' HOUR)) L, TABLE(TUMBLE(TABLE P, DESCRIPTOR(t), INTERVAL '1' HOUR)) "R"
			 WHERE L.window_start = R.window_start`,
			"select STEP(L.T, interval '1' HOUR) as WINDOW_START, STEP(L.T, interval '1' HOUR) as WS, STEP(R.T, interval '1' HOUR) as window_start " +
				"from O as L, P as R where STEP(L.T, interval '1' HOUR) = STEP(R.T, interval '1' HOUR)"},
		{"plural units and a HOP of one slide are accepted",
			`SELECT STREAM a.x FROM TABLE(HOP(TABLE A, DESCRIPTOR(t), INTERVAL '2' MINUTES, INTERVAL '120' SECONDS)) a
			 JOIN TABLE(TUMBLE(TABLE B, DESCRIPTOR(t), INTERVAL '2' MINUTES)) b ON a.window_start = b.window_start`,
			"select A.X from A as A join B as B on STEP(A.T, interval '120' SECOND) = STEP(B.T, interval '2' MINUTE)"},
		{"without an alias the stream's name qualifies the window columns",
			`SELECT STREAM A.window_start FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE))
			 JOIN TABLE(TUMBLE(TABLE B, DESCRIPTOR(t), INTERVAL '1' MINUTE)) ON A.window_start = B.window_start`,
			"select STEP(A.T, interval '1' MINUTE) as WINDOW_START from A join B on STEP(A.T, interval '1' MINUTE) = STEP(B.T, interval '1' MINUTE)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := query(t, c.src)
			if got := sqlparser.String(q.AST); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestWindowTVFRecordsTheWindows(t *testing.T) {
	q := query(t, `SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR("evt"), INTERVAL '90' SECOND)) AS L
JOIN TABLE(HOP(TABLE TRADES, DESCRIPTOR(ROWTIME), INTERVAL '1.5' MINUTE, INTERVAL '90' SECONDS)) R ON L.window_start = R.window_start`)
	l, r := q.WindowTVFs["L"], q.WindowTVFs["R"]
	if l == nil || r == nil || len(q.WindowTVFs) != 2 {
		t.Fatalf("WindowTVFs = %v, want L and R", q.WindowTVFs)
	}
	if l.Kind != "TUMBLE" || l.Table != "ORDERS" || l.Column != "evt" || l.Size != 90*time.Second || l.Slide != l.Size {
		t.Errorf("L = %+v", *l)
	}
	if l.Pos.Line != 1 || l.Pos.Col != 25 || l.ColumnPos.Col != 63 {
		t.Errorf("L is at %v, its column at %v; want line 1, column 25 and column 63", l.Pos, l.ColumnPos)
	}
	if r.Kind != "HOP" || r.Table != "TRADES" || r.Column != "ROWTIME" || r.Size != 90*time.Second || r.Slide != r.Size {
		t.Errorf("R = %+v", *r)
	}
	if want := "HOP(TABLE TRADES, DESCRIPTOR(ROWTIME), INTERVAL '1.5' MINUTE, INTERVAL '90' SECONDS)"; r.Text != want {
		t.Errorf("R.Text = %q, want %q", r.Text, want)
	}
}

func TestWindowTVFErrors(t *testing.T) {
	const right = ` JOIN TABLE(TUMBLE(TABLE B, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS R ON L.window_start = R.window_start`
	cases := []struct {
		name, src, want string
		col             int
	}{
		{"CUMULATE is refused",
			`SELECT STREAM L.x FROM TABLE(CUMULATE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE, INTERVAL '1' HOUR)) AS L` + right,
			"CUMULATE windows are not supported", 30},
		{"SESSION is refused",
			`SELECT STREAM L.x FROM TABLE(SESSION(TABLE A PARTITION BY k, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS L` + right,
			"SESSION windows cannot be joined", 30},
		{"a HOP of several slides outside a pump needs a pump",
			`SELECT STREAM L.x FROM TABLE(HOP(TABLE A, DESCRIPTOR(t), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS L` + right,
			"a HOP window join of several slides needs a pump: a window of 1m0s every 30s is 2 tumbling windows", 30},
		{"a HOP size must be a multiple of the slide",
			`SELECT STREAM L.x FROM TABLE(HOP(TABLE A, DESCRIPTOR(t), INTERVAL '40' SECOND, INTERVAL '1' MINUTE)) AS L` + right,
			"HOP's size (1m0s) must be a whole multiple of its slide (40s)", 80},
		{"the offset argument is refused",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE, INTERVAL '5' SECOND)) AS L` + right,
			"the offset argument of TUMBLE is not supported", 82},
		{"named arguments are refused",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(DATA => TABLE A, TIMECOL => DESCRIPTOR(t), SIZE => INTERVAL '1' MINUTE)) AS L` + right,
			"named arguments (=>) are not supported", 42},
		{"a query as the table is refused",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(TABLE (SELECT STREAM * FROM A), DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS L` + right,
			"the table of TUMBLE must be a stream named directly", 43},
		{"the table needs the TABLE keyword",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(A, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS L` + right,
			"expected TABLE <stream> as the first argument of TUMBLE", 37},
		{"DESCRIPTOR takes one column",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t, u), INTERVAL '1' MINUTE)) AS L` + right,
			"DESCRIPTOR takes one column", 57},
		{"a size of more than a day is refused",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '2' DAYS)) AS L` + right,
			"the size of TUMBLE must be a positive interval of at most a day", 70},
		{"a window function outside a join is refused",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS L`,
			"TUMBLE as a table function is supported only as a side of a window join", 24},
		{"the window columns need their side's alias",
			`SELECT STREAM window_start FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS L` + right,
			"WINDOW_START needs the alias of its side, as in L.WINDOW_START", 15},
		{"two sides cannot share an alias",
			`SELECT STREAM R.x FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS R` + right,
			"two window table functions are named R", 155},
		{"the columns cannot be renamed",
			`SELECT STREAM L.x FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS L(a, b)` + right,
			"a window table function's columns cannot be renamed", 87},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			se := parseSyntaxError(t, c.src)
			if !strings.Contains(se.Msg, c.want) || se.Pos.Col != c.col {
				t.Errorf("got column %d: %s\nwant column %d: ...%s...", se.Pos.Col, se.Msg, c.col, c.want)
			}
		})
	}
}

// TestHopWindowJoinPumps checks how a pump's HOP window join of two slides
// is lowered: a stream and a join pump per shift, the second with its
// windows moved by the slide on both sides, then the user's pump merging
// the two streams into its target.
func TestHopWindowJoinPumps(t *testing.T) {
	prog, err := Parse(`CREATE STREAM OUT_S (id INTEGER, "ws" TIMESTAMP);
CREATE OR REPLACE PUMP PJ AS INSERT INTO OUT_S
SELECT STREAM L.id, L.window_start FROM TABLE(HOP(TABLE A, DESCRIPTOR(t), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS L
JOIN TABLE(HOP(TABLE B, DESCRIPTOR(t), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS R ON L.window_start = R.window_start`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range prog.Statements {
		switch s := st.(type) {
		case *CreateStream:
			var cols []string
			for _, c := range s.Columns {
				cols = append(cols, c.Name)
			}
			got = append(got, "stream "+s.Name+" ("+strings.Join(cols, ", ")+")")
		case *CreatePump:
			if !s.OrReplace {
				t.Errorf("pump %s lost OR REPLACE", s.Name)
			}
			got = append(got, "pump "+s.Name+" into "+s.Target+": "+sqlparser.String(s.Query.AST))
		}
	}
	want := []string{
		"stream OUT_S (ID, ws)",
		"stream PJ$HOP1 (ID, ws)",
		"stream PJ$HOP2 (ID, ws)",
		"pump PJ$HOP1 into PJ$HOP1: select L.ID, STEP(L.T, interval '1' MINUTE) as WINDOW_START from A as L join B as R " +
			"on STEP(L.T, interval '1' MINUTE) = STEP(R.T, interval '1' MINUTE)",
		"pump PJ$HOP2 into PJ$HOP2: select L.ID, (STEP(L.T - interval '30' SECOND, interval '1' MINUTE) + interval '30' SECOND) as WINDOW_START from A as L join B as R " +
			"on (STEP(L.T - interval '30' SECOND, interval '1' MINUTE) + interval '30' SECOND) = (STEP(R.T - interval '30' SECOND, interval '1' MINUTE) + interval '30' SECOND)",
		"pump PJ into OUT_S: select ID, ws from `PJ$HOP1` union all select ID, ws from `PJ$HOP2`",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := prog.Statements[4].(*CreatePump).Query.WindowTVFs["R"]; s == nil || s.Shift != 30*time.Second {
		t.Errorf("PJ$HOP2's R = %+v, want a shift of 30s", s)
	}
}

func TestHopWindowJoinPumpErrors(t *testing.T) {
	const hop = `TABLE(HOP(TABLE A, DESCRIPTOR(t), INTERVAL '30' SECOND, INTERVAL '1' MINUTE))`
	const pump = "CREATE STREAM O (x INTEGER);\nCREATE PUMP P AS INSERT INTO O "
	cases := []struct {
		name, src, want string
		line, col       int
	}{
		{"the join must be the pump's own SELECT, not a subquery",
			pump + `SELECT STREAM x FROM (SELECT STREAM L.x FROM ` + hop + ` AS L JOIN ` + hop + ` AS R ON L.window_start = R.window_start) AS q`,
			"a HOP window join of several slides must be the pump's own SELECT", 2, 77},
		{"nor a part of a UNION",
			pump + `SELECT STREAM L.x FROM ` + hop + ` AS L JOIN ` + hop + ` AS R ON L.window_start = R.window_start UNION ALL SELECT STREAM x FROM A`,
			"a HOP window join of several slides must be the pump's own SELECT", 2, 55},
		{"a HOP joined with a TUMBLE is two different windows",
			pump + `SELECT STREAM L.x FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE)) AS L JOIN ` + hop + ` AS R ON L.window_start = R.window_start`,
			"the two sides of a window join must use the same window: L is TUMBLE(TABLE A, DESCRIPTOR(t), INTERVAL '1' MINUTE) but R is HOP(", 2, 124},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			se := parseSyntaxError(t, c.src)
			if !strings.Contains(se.Msg, c.want) || se.Pos.Line != c.line || se.Pos.Col != c.col {
				t.Errorf("got %d:%d: %s\nwant %d:%d: ...%s...", se.Pos.Line, se.Pos.Col, se.Msg, c.line, c.col, c.want)
			}
		})
	}
}

// parseSyntaxError parses src and returns its syntax error, failing the
// test when there is none.
func parseSyntaxError(t *testing.T, src string) *SyntaxError {
	t.Helper()
	_, err := Parse(src)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse: %v, want a syntax error", err)
	}
	return se
}
