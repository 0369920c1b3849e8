package plan

import (
	"strings"
	"testing"

	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// chainTestTables are a customer table and a per-customer price list.
func chainTestTables(t *testing.T) map[string]*reftable.Table {
	t.Helper()
	mk := func(name string, f ...types.Field) *reftable.Table {
		tb, err := reftable.New(name, types.Schema{Fields: f})
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	return map[string]*reftable.Table{
		"CUSTOMERS": mk("CUSTOMERS", types.Field{Name: "ID", Type: types.TInteger}, types.Field{Name: "NAME", Type: types.VarcharOf(16)},
			types.Field{Name: "CAP", Type: types.TInteger}),
		"PRICES": mk("PRICES", types.Field{Name: "CUSTOMER", Type: types.TInteger}, types.Field{Name: "PRODUCT", Type: types.VarcharOf(4)},
			types.Field{Name: "PRICE", Type: types.TInteger}),
	}
}

var chainTestInput = Input{Name: "SOURCE_SQL_STREAM_001", Schema: types.Schema{Fields: []types.Field{
	{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "ID", Type: types.TInteger}, {Name: "CUSTOMER", Type: types.TInteger},
	{Name: "PRODUCT", Type: types.VarcharOf(4)}, {Name: "QTY", Type: types.TInteger},
}}}

// TestPlanJoinChains checks the operators a chain of joins plans into:
// one join per step, in FROM order, each later step's "=" between the
// inputs joined so far and its table a hash key, the pump reading the
// streams of the first step only.
func TestPlanJoinChains(t *testing.T) {
	cases := []struct {
		name    string
		sql     string
		sources []string
		explain []string
	}{
		{
			name: "a stream with two tables keys the last one on the first and the second input",
			sql: `CREATE STREAM O (id INTEGER, name VARCHAR(16), price INTEGER);
CREATE PUMP P AS INSERT INTO O
  SELECT STREAM c.id, cu.name, pl.price
  FROM SOURCE_SQL_STREAM_001 AS c
  JOIN CUSTOMERS AS cu ON c.customer = cu.id
  LEFT JOIN PRICES AS pl ON pl.customer = cu.id AND pl.product = c.product AND c.qty * pl.price <= cu.cap;`,
			sources: []string{"SOURCE_SQL_STREAM_001"},
			explain: []string{
				"Reference join INNER SOURCE_SQL_STREAM_001 AS C with table CUSTOMERS AS CU on keys CUSTOMER = ID",
				"Reference join LEFT SOURCE_SQL_STREAM_001 AS C JOIN CUSTOMERS AS CU with table PRICES AS PL on keys ID = CUSTOMER, PRODUCT = PRODUCT and condition ((QTY * PRICE) <= CAP)",
			},
		},
		{
			name: "two streams and a table: the stream join reads both streams, the table join follows it",
			sql: `CREATE STREAM A (id INTEGER, customer INTEGER);
CREATE STREAM B (id INTEGER, price INTEGER);
CREATE PUMP PA AS INSERT INTO A SELECT STREAM id, customer FROM SOURCE_SQL_STREAM_001;
CREATE PUMP PB AS INSERT INTO B SELECT STREAM id, qty FROM SOURCE_SQL_STREAM_001;
CREATE STREAM O (id INTEGER, name VARCHAR(16), price INTEGER);
CREATE PUMP P AS INSERT INTO O
  SELECT STREAM a.id, cu.name, b.price
  FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
  LEFT JOIN CUSTOMERS AS cu ON cu.id = a.customer AND b.ROWTIME > a.ROWTIME - INTERVAL '1' SECOND;`,
			sources: []string{"A", "B"},
			explain: []string{
				"Stream join INNER A AS A with B AS B, B AS B OVER RANGE 1m0s PRECEDING, on keys ID = ID",
				"Reference join LEFT A AS A JOIN B AS B with table CUSTOMERS AS CU on keys CUSTOMER = ID and condition (B.ROWTIME > (A.ROWTIME - INTERVAL '0 00:00:01.000'))",
			},
		},
		{
			name: "FROM a JOIN b ON ..., c WHERE ... makes the WHERE the last step's condition",
			sql: `CREATE STREAM O (id INTEGER, name VARCHAR(16), price INTEGER);
CREATE PUMP P AS INSERT INTO O
  SELECT STREAM c.id, cu.name, pl.price
  FROM SOURCE_SQL_STREAM_001 AS c JOIN CUSTOMERS AS cu ON c.customer = cu.id, PRICES AS pl
  WHERE pl.customer = cu.id AND pl.product = c.product;`,
			sources: []string{"SOURCE_SQL_STREAM_001"},
			explain: []string{
				"Reference join INNER SOURCE_SQL_STREAM_001 AS C with table CUSTOMERS AS CU on keys CUSTOMER = ID",
				"Reference join INNER SOURCE_SQL_STREAM_001 AS C JOIN CUSTOMERS AS CU with table PRICES AS PL on keys ID = CUSTOMER, PRODUCT = PRODUCT",
			},
		},
		{
			name: "FROM a, t1, t2 WHERE ...: each conjunct joins at the step of the last input it names, one over a alone at the first",
			sql: `CREATE STREAM O (id INTEGER, name VARCHAR(16), price INTEGER);
CREATE PUMP P AS INSERT INTO O
  SELECT STREAM c.id, cu.name, pl.price
  FROM SOURCE_SQL_STREAM_001 AS c, CUSTOMERS AS cu, PRICES AS pl
  WHERE pl.product = c.product AND c.customer = cu.id AND pl.customer = cu.id AND c.qty > 1;`,
			sources: []string{"SOURCE_SQL_STREAM_001"},
			explain: []string{
				"Reference join INNER SOURCE_SQL_STREAM_001 AS C with table CUSTOMERS AS CU on keys CUSTOMER = ID and condition (QTY > 1)",
				"Reference join INNER SOURCE_SQL_STREAM_001 AS C JOIN CUSTOMERS AS CU with table PRICES AS PL on keys PRODUCT = PRODUCT, ID = CUSTOMER",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog, err := dialect.Parse(c.sql)
			if err != nil {
				t.Fatal(err)
			}
			app, err := Plan(prog, []Input{chainTestInput}, Options{Tables: chainTestTables(t)})
			if err != nil {
				t.Fatal(err)
			}
			p := app.Pumps[len(app.Pumps)-1]
			if got := strings.Join(p.Sources(), ","); got != strings.Join(c.sources, ",") {
				t.Errorf("sources %s, want %s", got, strings.Join(c.sources, ","))
			}
			if len(p.Explain) < len(c.explain) {
				t.Fatalf("explain %q", p.Explain)
			}
			for i, want := range c.explain {
				if p.Explain[i] != want {
					t.Errorf("step %d:\n got %s\nwant %s", i, p.Explain[i], want)
				}
			}
		})
	}
}

func TestPlanJoinChainErrors(t *testing.T) {
	cases := []struct{ sql, want string }{
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS c JOIN CUSTOMERS ON CUSTOMERS.id = c.customer JOIN CUSTOMERS ON CUSTOMERS.id = c.id`,
			"CUSTOMERS names two inputs of the join: give them aliases"},
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS c JOIN CUSTOMERS AS cu ON cu.id = c.customer JOIN PRICES OVER (ROWS 2 PRECEDING) AS pl ON pl.customer = cu.id`,
			"reference table PRICES has no window: remove OVER"},
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS c JOIN CUSTOMERS AS cu ON cu.id = c.customer FULL JOIN PRICES AS pl ON pl.customer = cu.id`,
			"a reference table cannot drive a join"},
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS c JOIN CUSTOMERS AS cu ON cu.id = c.customer JOIN PRICES AS pl ON pl.customer = cu.id WHERE ID > 0`,
			"column ID is ambiguous: both SOURCE_SQL_STREAM_001 AS C and CUSTOMERS AS CU have it"},
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS c JOIN CUSTOMERS AS cu ON cu.id = c.customer JOIN PRICES AS pl ON pl.customer = cu.id WHERE x.id > 0`,
			"unknown stream or alias X in X.ID (the join reads SOURCE_SQL_STREAM_001 AS C, CUSTOMERS AS CU and PRICES AS PL)"},
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS c JOIN CUSTOMERS AS cu ON cu.id = c.customer JOIN PRICES AS pl ON pl.customer = cu.id WHERE nope > 0`,
			"unknown column NOPE (the join has ID, CUSTOMER, PRODUCT, QTY, ID, NAME, CAP and CUSTOMER, PRODUCT, PRICE)"},
	}
	for _, c := range cases {
		prog, err := dialect.Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Plan(prog, []Input{chainTestInput}, Options{Tables: chainTestTables(t)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n got %v\nwant %s", c.sql, err, c.want)
		}
	}
}

// chainStreams are three streams a chain joins, filled from the input.
const chainStreams = `CREATE STREAM A (id INTEGER, customer INTEGER);
CREATE STREAM B (id INTEGER, price INTEGER);
CREATE STREAM C (id INTEGER, qty INTEGER);
CREATE STREAM D (id INTEGER, qty INTEGER);
CREATE PUMP PA AS INSERT INTO A SELECT STREAM id, customer FROM SOURCE_SQL_STREAM_001;
CREATE PUMP PB AS INSERT INTO B SELECT STREAM id, qty FROM SOURCE_SQL_STREAM_001;
CREATE PUMP PC AS INSERT INTO C SELECT STREAM id, qty FROM SOURCE_SQL_STREAM_001;
CREATE PUMP PD AS INSERT INTO D SELECT STREAM id, qty FROM SOURCE_SQL_STREAM_001;
CREATE STREAM O (id INTEGER, name VARCHAR(16), price INTEGER, qty INTEGER);
`

func planChain(t *testing.T, sql string) (*Application, error) {
	t.Helper()
	prog, err := dialect.Parse(chainStreams + sql)
	if err != nil {
		t.Fatal(err)
	}
	return Plan(prog, []Input{chainTestInput}, Options{Tables: chainTestTables(t)})
}

// pumpsOf lists the pumps after the ones chainStreams creates, as
// "name: sources -> target".
func pumpsOf(app *Application) string {
	var out []string
	for _, p := range app.Pumps[4:] {
		out = append(out, p.Name+": "+strings.Join(p.Sources(), "+")+" -> "+p.Target)
	}
	return strings.Join(out, "; ")
}

// TestPlanStreamChains: a stream after the first step of a chain makes a
// pump of the steps before it into a stream of its own, P$Jk, carrying
// the columns the rest of the query names; the next pump joins that
// stream with the new one, and the tables after a stream join its step.
func TestPlanStreamChains(t *testing.T) {
	cases := []struct {
		name, sql string
		pumps     string
		columns   map[string]string // generated stream -> its columns
		explain   map[string][]string
	}{
		{
			name: "a third stream joins the stream of the first two",
			sql: `CREATE PUMP P AS INSERT INTO O
  SELECT STREAM a.id, cu.name, b.price, c.qty
  FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
  JOIN C OVER (RANGE INTERVAL '10' SECOND FOLLOWING) AS c ON c.id = a.id AND c.qty < b.price
  LEFT JOIN CUSTOMERS AS cu ON cu.id = a.customer;`,
			pumps:   "P$J1: A+B -> P$J1; P: P$J1+C -> O",
			columns: map[string]string{"P$J1": "ROWTIME, A.ID, A.CUSTOMER, B.PRICE"},
			explain: map[string][]string{
				"P$J1": {"Stream join INNER A AS A with B AS B, B AS B OVER RANGE 1m0s PRECEDING, on keys ID = ID",
					"Project (the rows joined so far, into P$J1) A.ID, A.CUSTOMER, B.PRICE"},
				"P": {`Stream join INNER P$J1 (A AS A JOIN B AS B) with C AS C, C AS C OVER RANGE 10s FOLLOWING, on keys A.ID = ID and condition (QTY < B.PRICE)`,
					`Reference join LEFT A AS A JOIN B AS B JOIN C AS C with table CUSTOMERS AS CU on keys A.CUSTOMER = ID`},
			},
		},
		{
			name: "a stream after a table: the first step is the stream and the table",
			sql: `CREATE PUMP P AS INSERT INTO O
  SELECT STREAM a.id, cu.name, b.price, 0
  FROM A AS a JOIN CUSTOMERS AS cu ON cu.id = a.customer
  JOIN B OVER (ROWS 2 PRECEDING) AS b ON b.id = a.id;`,
			pumps:   "P$J1: A -> P$J1; P: P$J1+B -> O",
			columns: map[string]string{"P$J1": "ROWTIME, A.ID, CU.NAME"},
		},
		{
			name: "four streams make two generated streams, a * carrying every column",
			sql: `CREATE STREAM W (a INTEGER, b INTEGER, c INTEGER, d INTEGER);
CREATE PUMP P AS INSERT INTO W
  SELECT STREAM a.id, b.id, c.id, d.id
  FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
  JOIN C OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS c ON c.id = a.id
  JOIN D OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS d ON d.id = c.id AND d.ROWTIME > b.ROWTIME;`,
			pumps: "P$J1: A+B -> P$J1; P$J2: P$J1+C -> P$J2; P: P$J2+D -> W",
			columns: map[string]string{"P$J1": "ROWTIME, A.ID, B.ROWTIME, B.ID",
				"P$J2": "ROWTIME, A.ID, B.ROWTIME, B.ID, C.ID"},
		},
		{
			name: "COUNT(*) names no column; GROUP BY and WHERE after the last step name theirs",
			sql: `CREATE STREAM G (n BIGINT, q INTEGER);
CREATE PUMP P AS INSERT INTO G
  SELECT STREAM COUNT(*), SUM(c.qty)
  FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
  JOIN C OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS c ON c.id = a.id
  WHERE b.price > 1
  GROUP BY STEP(c.ROWTIME BY INTERVAL '1' MINUTE), a.customer;`,
			pumps:   "P$J1: A+B -> P$J1; P: P$J1+C -> G",
			columns: map[string]string{"P$J1": "ROWTIME, A.ID, A.CUSTOMER, B.PRICE"},
		},
		{
			name: "FROM a, b, c: each conjunct joins at the step of the last input it names",
			sql: `CREATE PUMP P AS INSERT INTO O
  SELECT STREAM a.id, 'x', b.price, c.qty
  FROM A AS a, B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b, C OVER (ROWS 1 PRECEDING) AS c
  WHERE a.id = b.id AND c.qty < b.price AND 1 = 1 AND c.id = a.id;`,
			pumps:   "P$J1: A+B -> P$J1; P: P$J1+C -> O",
			columns: map[string]string{"P$J1": "ROWTIME, A.ID, B.PRICE"},
			explain: map[string][]string{
				"P$J1": {"Stream join INNER A AS A with B AS B, B AS B OVER RANGE 1m0s PRECEDING, on keys ID = ID"},
				"P":    {`Stream join INNER P$J1 (A AS A JOIN B AS B) with C AS C, C AS C OVER ROWS 1 PRECEDING, on keys A.ID = ID and condition ((QTY < B.PRICE) AND (1 = 1))`},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := planChainPumps(t, c.sql, c.pumps)
			for name, want := range c.columns {
				var cols []string
				for _, s := range app.Streams {
					if s.Name == name {
						for _, f := range s.Schema.Fields {
							cols = append(cols, f.Name)
						}
					}
				}
				if got := strings.Join(cols, ", "); got != want {
					t.Errorf("stream %s has %s, want %s", name, got, want)
				}
			}
			for _, p := range app.Pumps {
				for i, want := range c.explain[p.Name] {
					if i >= len(p.Explain) || p.Explain[i] != want {
						t.Errorf("pump %s step %d:\n got %q\nwant %q", p.Name, i, p.Explain, want)
					}
				}
			}
		})
	}
}

// planChainPumps plans sql and checks its pumps (pumpsOf) are pumps.
func planChainPumps(t *testing.T, sql, pumps string) *Application {
	t.Helper()
	app, err := planChain(t, sql)
	if err != nil {
		t.Fatal(err)
	}
	if got := pumpsOf(app); got != pumps {
		t.Errorf("pumps %s\n     want %s", got, pumps)
	}
	return app
}

// TestReplacedPumpDropsWhatWasMadeForIt: CREATE OR REPLACE PUMP P leaves
// none of the streams and pumps made for P's joins (P$Jk, P$HOPk) that
// its new query does not make again.
func TestReplacedPumpDropsWhatWasMadeForIt(t *testing.T) {
	const three = `CREATE OR REPLACE PUMP P AS INSERT INTO O
  SELECT STREAM a.id, 'x', b.price, c.qty
  FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
  JOIN C OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS c ON c.id = a.id;
`
	const four = `CREATE OR REPLACE PUMP P AS INSERT INTO O
  SELECT STREAM a.id, 'x', b.price, c.qty
  FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
  JOIN C OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS c ON c.id = a.id
  JOIN D OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS d ON d.id = a.id;
`
	const plain = `CREATE OR REPLACE PUMP P AS INSERT INTO O SELECT STREAM id, 'x', qty, qty FROM SOURCE_SQL_STREAM_001;
`
	cases := []struct{ name, sql, pumps string }{
		{"three streams, then a plain query", three + plain, "P: SOURCE_SQL_STREAM_001 -> O"},
		{"four streams, then three", four + three, "P$J1: A+B -> P$J1; P: P$J1+C -> O"},
		{"three streams, then four", three + four, "P$J1: A+B -> P$J1; P$J2: P$J1+C -> P$J2; P: P$J2+D -> O"},
		{"three streams twice", three + three, "P$J1: A+B -> P$J1; P: P$J1+C -> O"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := planChainPumps(t, c.sql, c.pumps)
			for _, s := range app.Streams {
				if strings.Contains(s.Name, "$") && !strings.Contains(c.pumps, s.Name+":") {
					t.Errorf("stream %s is left behind", s.Name)
				}
			}
		})
	}

	t.Run("a HOP window join, then a plain query", func(t *testing.T) {
		app, err := planWindowJoin(t, `CREATE STREAM OUT_S (id INTEGER, window_start TIMESTAMP, price INTEGER);
CREATE OR REPLACE PUMP PJ AS INSERT INTO OUT_S
SELECT STREAM L.id, L.window_start, R.price
FROM TABLE(HOP(TABLE ORDERS, DESCRIPTOR(evt), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS L
JOIN TABLE(HOP(TABLE TRADES, DESCRIPTOR(evt), INTERVAL '30' SECOND, INTERVAL '1' MINUTE)) AS R
ON L.id = R.id AND L.window_start = R.window_start;
CREATE OR REPLACE PUMP PJ AS INSERT INTO OUT_S SELECT STREAM id, evt, amount FROM ORDERS;`, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range app.Pumps {
			names = append(names, p.Name)
		}
		for _, s := range app.Streams {
			names = append(names, s.Name)
		}
		if got := strings.Join(names, ", "); got != "PJ, ORDERS, TRADES, OUT_S" {
			t.Errorf("pumps and streams %s, want PJ, ORDERS, TRADES, OUT_S", got)
		}
	})

	t.Run("a pump that reads a stream made for the pump replaced", func(t *testing.T) {
		_, err := planChain(t, three+`CREATE STREAM X (id INTEGER);
CREATE PUMP PX AS INSERT INTO X SELECT STREAM "A.ID" FROM "P$J1";
`+plain)
		if err == nil || !strings.Contains(err.Error(), "pump PX reads stream P$J1, which kda made for the joins of the pump P replaces: read P's target instead") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestPreviewChainIsLowered: a bare SELECT of three streams is lowered
// like a pump, into a pump and stream PREVIEW$J1 that go with the preview
// and not into the application's pumps and streams.
func TestPreviewChainIsLowered(t *testing.T) {
	app, err := planChain(t, `SELECT STREAM a.id FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
JOIN C OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS c ON c.id = a.id;
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Previews) != 1 || app.Previews[0].Lowered == nil {
		t.Fatalf("previews %v: want one, lowered", app.Previews)
	}
	lw := app.Previews[0].Lowered
	if len(lw.Pumps) != 1 || lw.Pumps[0].Name != "PREVIEW$J1" || len(lw.Streams) != 1 || lw.Streams[0].Name != lw.Pumps[0].Name {
		t.Fatalf("lowered into %d pumps, %d streams: want PREVIEW$J1", len(lw.Pumps), len(lw.Streams))
	}
	if app.Previews[0].Source != "PREVIEW$J1" || !strings.Contains(strings.Join(app.Previews[0].Explain, " "), "PREVIEW$J1") {
		t.Errorf("the preview reads %s (%q), want PREVIEW$J1", app.Previews[0].Source, app.Previews[0].Explain)
	}
	for _, p := range app.Pumps {
		if strings.Contains(p.Name, "$") {
			t.Errorf("the application has the preview's pump %s", p.Name)
		}
	}
	for _, s := range app.Streams {
		if strings.Contains(s.Name, "$") {
			t.Errorf("the application has the preview's stream %s", s.Name)
		}
	}
}

func TestPlanStreamChainErrors(t *testing.T) {
	cases := []struct{ sql, want string }{
		{`CREATE PUMP P AS INSERT INTO O SELECT STREAM a.id, 'x', 1, 1 FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
JOIN C AS c ON c.id = a.id`,
			"line 11, column 6: stream C joins the rows of the steps before it, so it needs a window"},
		{`CREATE PUMP P AS INSERT INTO O SELECT STREAM a.id, 'x', 1, 1 FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
JOIN C OVER (ROWS 1 FOLLOWING) AS c ON c.id = a.id`,
			"a ROWS window looks back only"},
		{`CREATE PUMP P AS INSERT INTO O SELECT STREAM a.id, 'x', 1, 1 FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
JOIN A OVER (ROWS 1 PRECEDING) AS b ON b.id = a.id`,
			"B names two inputs of the join: give them aliases"},
		{`CREATE PUMP P AS INSERT INTO O SELECT STREAM a.id, 'x', 1, 1 FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
JOIN C OVER (ROWS 1 PRECEDING) AS c ON c.id = a.id AND c.nope = 1`,
			"line 11, column 56: unknown column NOPE in C AS C (it has ID, QTY)"},
		{`CREATE STREAM "P$J1" (x INTEGER);
CREATE PUMP P AS INSERT INTO O SELECT STREAM a.id, 'x', 1, 1 FROM A AS a JOIN B OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.id = b.id
JOIN C OVER (ROWS 1 PRECEDING) AS c ON c.id = a.id`,
			"line 11, column 32: stream P$J1 already exists: kda gives that name to a stream and pump it makes for pump P's query; rename it"},
	}
	for _, c := range cases {
		_, err := planChain(t, c.sql)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n got %v\nwant %s", c.sql, err, c.want)
		}
	}
}
