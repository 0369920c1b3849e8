package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/dialect"
)

const windowJoinStreams = `CREATE STREAM ORDERS (id INTEGER, amount INTEGER, evt TIMESTAMP, n INTEGER);
CREATE STREAM TRADES (id INTEGER, price INTEGER, evt TIMESTAMP);
`

func planWindowJoin(t *testing.T, sql string, opts Options) (*Application, error) {
	t.Helper()
	prog, err := dialect.Parse(windowJoinStreams + sql)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return Plan(prog, nil, opts)
}

// TestWindowJoinBound checks the lowering's ROWTIME bound: the window
// less 1 ms, plus the allowed lateness for an event-time column.
func TestWindowJoinBound(t *testing.T) {
	const eventTime = `SELECT STREAM L.id, L.window_start, R.price
FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS L
JOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS R
ON L.id = R.id AND L.window_start = R.window_start;`
	const rowtime = `SELECT STREAM L.id, R.price
FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(ROWTIME), INTERVAL '1' MINUTE)) AS L
LEFT JOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(ROWTIME), INTERVAL '1' MINUTE)) AS R
ON L.window_start = R.window_start AND L.id = R.id;`
	cases := []struct {
		name     string
		sql      string
		lateness time.Duration
		want     string
	}{
		{"an event-time window without lateness is bounded by the window", eventTime, 0,
			"ROWTIME interval [-59.999s, 59.999s]"},
		{"the allowed lateness widens the bound", eventTime, 30 * time.Second,
			"ROWTIME interval [-1m29.999s, 1m29.999s]"},
		{"a ROWTIME window is bounded by the window whatever the lateness", rowtime, 30 * time.Second,
			"ROWTIME interval [-59.999s, 59.999s]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app, err := planWindowJoin(t, c.sql, Options{EventTime: EventTimeOptions{AllowedLateness: c.lateness}})
			if err != nil {
				t.Fatal(err)
			}
			p := app.Previews[0]
			if j := p.Join(); j == nil || j.Sources != [2]string{"ORDERS", "TRADES"} {
				t.Fatalf("the preview is not a join of ORDERS and TRADES: %v", p.Sources())
			}
			explain := strings.Join(p.Explain, "\n")
			if !strings.Contains(explain, c.want) || !strings.Contains(explain, "STEP(") {
				t.Errorf("explain:\n%s\nwant %q and a STEP key", explain, c.want)
			}
		})
	}
}

// TestWindowJoinWithAReferenceTable: one window table function joined
// with a reference table is a reference join of its stream, whose rows
// keep their window columns.
func TestWindowJoinWithAReferenceTable(t *testing.T) {
	prog, err := dialect.Parse(`SELECT STREAM L.ticker, L.window_end, c."Company"
FROM TABLE(TUMBLE(TABLE SOURCE_SQL_STREAM_001, DESCRIPTOR(ROWTIME), INTERVAL '1' MINUTE)) AS L
LEFT JOIN "CompanyName" AS c ON L.ticker = c."Ticker";`)
	if err != nil {
		t.Fatal(err)
	}
	app, err := Plan(prog, []Input{refTestInput}, Options{Tables: map[string]*reftable.Table{"CompanyName": refTestTable(t)}})
	if err != nil {
		t.Fatal(err)
	}
	explain := strings.Join(app.Previews[0].Explain, "\n")
	if !strings.HasPrefix(explain, "Reference join LEFT SOURCE_SQL_STREAM_001 AS L") || !strings.Contains(explain, "STEP(L.ROWTIME") {
		t.Errorf("explain:\n%s", explain)
	}
}

func TestWindowJoinErrors(t *testing.T) {
	const right = "\nJOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS R\nON L.id = R.id AND L.window_start = R.window_start;"
	cases := []struct {
		name, sql, want string
		line, col       int
	}{
		{"both sides need a window table function",
			"SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS L\nJOIN TRADES AS R ON L.id = R.id;",
			"a window join needs a window table function on both sides: write TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(...), INTERVAL '1' MINUTE)) AS R", 4, 6},
		{"the DESCRIPTOR column must exist",
			"SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) AS L" + right,
			"unknown column TS in the DESCRIPTOR of ORDERS", 3, 63},
		{"the DESCRIPTOR column must be a TIMESTAMP",
			"SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(n), INTERVAL '1' MINUTE)) AS L" + right,
			"the DESCRIPTOR column of a window must be a TIMESTAMP: N is INTEGER", 3, 63},
		{"the windows must be the same",
			"SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '60' SECOND)) AS L" +
				"\nJOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' HOUR)) AS R\nON L.id = R.id AND L.window_start = R.window_start;",
			"the two sides of a window join must use the same window: L is TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '60' SECOND) but R is TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' HOUR)", 4, 6},
		{"the condition must pair the window starts",
			"SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS L" +
				"\nJOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS R\nON L.id = R.id AND L.window_start <= R.window_start;",
			"its condition needs L.window_start = R.window_start", 5, 4},
		{"a window start paired with itself does not count",
			"SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS L" +
				"\nJOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS R\nON L.id = R.id AND L.window_start = L.window_start;",
			"its condition needs L.window_start = R.window_start", 5, 4},
		{"TUMBLE_START in the condition keeps its refusal",
			"SELECT STREAM L.id FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS L" +
				"\nJOIN TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS R\nON L.id = R.id AND TUMBLE_START(L.evt, INTERVAL '1' MINUTE) = R.window_start;",
			"TUMBLE_START in a join condition", 5, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := planWindowJoin(t, c.sql, Options{})
			var se *dialect.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Plan: %v, want a syntax error", err)
			}
			if !strings.Contains(se.Msg, c.want) || se.Pos.Line != c.line || se.Pos.Col != c.col {
				t.Errorf("got %v: %s\nwant line %d, column %d: ...%s...", se.Pos, se.Msg, c.line, c.col, c.want)
			}
		})
	}
}

// TestWindowJoinLoweringMatchesTheHandWrittenJoin plans the Flink form and
// the join docs/sql.md says it means, and compares their operators.
func TestWindowJoinLoweringMatchesTheHandWrittenJoin(t *testing.T) {
	const flink = `SELECT STREAM L.id, L.window_start, R.price
FROM TABLE(TUMBLE(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS L,
     TABLE(TUMBLE(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '1' MINUTE)) AS R
WHERE L.id = R.id AND L.window_start = R.window_start;`
	const kda = `SELECT STREAM L.id, STEP(L.evt BY INTERVAL '1' MINUTE) AS window_start, R.price
FROM ORDERS AS L, TRADES AS R
WHERE L.id = R.id AND STEP(L.evt BY INTERVAL '1' MINUTE) = STEP(R.evt BY INTERVAL '1' MINUTE)
AND R.ROWTIME > L.ROWTIME - INTERVAL '90' SECOND AND R.ROWTIME < L.ROWTIME + INTERVAL '90' SECOND;`
	opts := Options{EventTime: EventTimeOptions{AllowedLateness: 30 * time.Second}}
	a, err := planWindowJoin(t, flink, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := planWindowJoin(t, kda, opts)
	if err != nil {
		t.Fatal(err)
	}
	ea, eb := a.Previews[0].Explain, b.Previews[0].Explain
	if len(ea) == 0 || !strings.Contains(ea[0], "ROWTIME interval [-1m29.999s, 1m29.999s]") {
		t.Errorf("the window join's bound: %v", ea)
	}
	// The hand-written join filters by its ROWTIME conjuncts too; the keys
	// and the bound must be the same.
	if ka, kb := keysOf(ea[0]), keysOf(eb[0]); ka == "" || ka != kb || !strings.Contains(eb[0], "[-1m29.999s, 1m29.999s]") {
		t.Errorf("the joins differ:\n flink: %s\n kda:   %s", ea[0], eb[0])
	}
}

func keysOf(desc string) string {
	_, after, _ := strings.Cut(desc, " on keys ")
	keys, _, _ := strings.Cut(after, " and condition")
	return keys
}

// TestHopWindowJoinPumps: a pump's HOP window join of two slides plans as
// a join pump per shift, each into a stream of its own, and the user's
// pump merging those streams; the shifted join has the keys and the bound
// of the hand-written join of docs/sql.md.
func TestHopWindowJoinPumps(t *testing.T) {
	const hop = `CREATE STREAM OUT_S (id INTEGER, window_start TIMESTAMP, price INTEGER);
CREATE PUMP PJ AS INSERT INTO OUT_S
SELECT STREAM L.id, L.window_start, R.price
FROM TABLE(HOP(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS L
JOIN TABLE(HOP(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS R
ON L.id = R.id AND L.window_start = R.window_start;`
	const kda = `SELECT STREAM L.id, STEP(L.evt - INTERVAL '30' SECOND BY INTERVAL '1' MINUTE) + INTERVAL '30' SECOND, R.price
FROM ORDERS AS L JOIN TRADES AS R
ON L.id = R.id
AND (STEP(L.evt - INTERVAL '30' SECOND BY INTERVAL '1' MINUTE) + INTERVAL '30' SECOND) = (STEP(R.evt - INTERVAL '30' SECOND BY INTERVAL '1' MINUTE) + INTERVAL '30' SECOND)
AND R.ROWTIME BETWEEN L.ROWTIME - INTERVAL '59.999' SECOND AND L.ROWTIME + INTERVAL '59.999' SECOND;`
	a, err := planWindowJoin(t, hop, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range a.Pumps {
		got = append(got, p.Name+" -> "+p.Target)
	}
	if want := "PJ$HOP1 -> PJ$HOP1, PJ$HOP2 -> PJ$HOP2, PJ -> OUT_S"; strings.Join(got, ", ") != want {
		t.Fatalf("pumps %s, want %s", strings.Join(got, ", "), want)
	}
	for _, p := range a.Pumps[:2] {
		if j := p.Join(); j == nil || j.Sources != [2]string{"ORDERS", "TRADES"} || !strings.Contains(p.Explain[0], "ROWTIME interval [-59.999s, 59.999s]") {
			t.Errorf("pump %s is not a join of ORDERS and TRADES bounded by the window: %v", p.Name, p.Explain)
		}
	}
	b, err := planWindowJoin(t, kda, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ea, eb := a.Pumps[1].Explain[0], b.Previews[0].Explain[0]
	if ka, kb := keysOf(ea), keysOf(eb); ka == "" || ka != kb || !strings.Contains(ka, "EVT - INTERVAL '0 00:00:30.000'") {
		t.Errorf("the shifted join differs from the hand-written one:\n hop: %s\n kda: %s", ea, eb)
	}
	if len(a.Pumps[2].Branches) != 2 {
		t.Errorf("PJ is not a UNION ALL of the two shifts: %v", a.Pumps[2].Explain)
	}
}

// TestHopWindowJoinIntoAMissingStream: without its target declared, a HOP
// window join's pump is planned as written and refused as any pump.
func TestHopWindowJoinIntoAMissingStream(t *testing.T) {
	_, err := planWindowJoin(t, `CREATE PUMP PJ AS INSERT INTO NOWHERE
SELECT STREAM L.id FROM TABLE(HOP(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS L
JOIN TABLE(HOP(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS R ON L.window_start = R.window_start;`, Options{})
	if err == nil || !strings.Contains(err.Error(), "pump PJ inserts into stream NOWHERE, which does not exist") {
		t.Errorf("err = %v, want the missing stream", err)
	}
}
