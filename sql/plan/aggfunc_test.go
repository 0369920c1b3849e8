package plan

import (
	"os"
	"strings"
	"testing"

	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
	"github.com/kdaproject/kda/udf"
)

var tickerInput = []Input{{Name: "SOURCE_SQL_STREAM_001", Schema: types.Schema{Fields: []types.Field{
	{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "TICKER", Type: types.VarcharOf(8)},
	{Name: "PRICE", Type: types.TDouble},
}}}}

// The example of docs/javascript.md's "Aggregate functions" section plans.
func TestTheAggregateFunctionsExampleOfTheDocsPlans(t *testing.T) {
	doc, err := os.ReadFile("../../docs/javascript.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "\n## Aggregate functions\n")
	if !ok {
		t.Fatal("no Aggregate functions section")
	}
	_, block, _ := strings.Cut(sec, "```sql\n")
	block, _, _ = strings.Cut(block, "```")
	prog, err := dialect.Parse(block)
	if err != nil {
		t.Fatal(err)
	}
	app, err := Plan(prog, tickerInput, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Previews) != 1 || !strings.Contains(strings.Join(app.Previews[0].Explain, "\n"), "GEOMEAN") {
		t.Fatalf("explain: %v", app.Previews[0].Explain)
	}
}

// Aggregates made in Go are called like the ones SQL creates, and their
// names are taken.
func TestAggregatesRegisteredFromGoAreCallable(t *testing.T) {
	wa, err := udf.NewWindowAggregate("jssum", `{ init: () => 0, accumulate: (s, x) => s + x, merge: (a, b) => a + b, result: s => s }`,
		[]types.Type{types.TDouble}, types.TDouble, udf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := dialect.Parse("SELECT STREAM ticker, jssum(price) FROM SOURCE_SQL_STREAM_001 GROUP BY ticker, STEP(ROWTIME BY INTERVAL '1' MINUTE)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(prog, tickerInput, Options{Aggregates: []UserAggregate{wa}}); err != nil {
		t.Fatal(err)
	}
	prog, err = dialect.Parse("CREATE FUNCTION jssum(x DOUBLE) RETURNS DOUBLE RETURN x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Plan(prog, tickerInput, Options{Aggregates: []UserAggregate{wa}})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a scalar function over an aggregate's name: %v", err)
	}
}
