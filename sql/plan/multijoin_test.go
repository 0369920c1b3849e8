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
