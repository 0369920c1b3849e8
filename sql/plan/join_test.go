package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

func refTestTable(t *testing.T) *reftable.Table {
	t.Helper()
	schema := types.Schema{Fields: []types.Field{{Name: "Ticker", Type: types.VarcharOf(8)}, {Name: "Company", Type: types.VarcharOf(32)}}}
	tab, err := reftable.New("CompanyName", schema)
	if err != nil {
		t.Fatal(err)
	}
	kb := array.NewStringBuilder(memory.DefaultAllocator)
	cb := array.NewStringBuilder(memory.DefaultAllocator)
	kb.AppendValues([]string{"AMZN", "MSFT"}, nil)
	cb.AppendValues([]string{"Amazon", "Microsoft"}, nil)
	k, c := kb.NewArray(), cb.NewArray()
	if _, err := tab.Replace(array.NewRecord(schema.Arrow(), []arrow.Array{k, c}, 2), "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	return tab
}

var refTestInput = Input{Name: "SOURCE_SQL_STREAM_001", Schema: types.Schema{Fields: []types.Field{
	{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "TICKER", Type: types.VarcharOf(8)},
	{Name: "PRICE", Type: types.TInteger},
}}}

// TestPlanReferenceJoin plans the KDA reference-data query and runs its pump.
func TestPlanReferenceJoin(t *testing.T) {
	src := `CREATE STREAM O (ticker VARCHAR(8), company VARCHAR(32), price INTEGER);
CREATE PUMP P AS INSERT INTO O
  SELECT STREAM ticker, "c"."Company", price
  FROM "SOURCE_SQL_STREAM_001" LEFT JOIN "CompanyName" AS "c"
  ON "SOURCE_SQL_STREAM_001".ticker = "c"."Ticker"
  WHERE "SOURCE_SQL_STREAM_001".ROWTIME > TIMESTAMP '1970-01-01 00:00:00';`
	prog, err := dialect.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	app, err := Plan(prog, []Input{refTestInput}, Options{Tables: map[string]*reftable.Table{"CompanyName": refTestTable(t)}})
	if err != nil {
		t.Fatal(err)
	}
	p := app.Pumps[0]
	if p.Join() != nil || len(p.Sources()) != 1 {
		t.Fatalf("a reference join reads one stream, got %v", p.Sources())
	}
	if !strings.HasPrefix(p.Explain[0], "Reference join LEFT") {
		t.Fatalf("explain: %q", p.Explain[0])
	}
	var got []string
	ops, err := p.Build(&operators.Context{}, func(rec arrow.Record) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, operators.RowJSON(rec, i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tb := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Millisecond})
	kb := array.NewStringBuilder(memory.DefaultAllocator)
	pb := array.NewInt32Builder(memory.DefaultAllocator)
	tb.AppendValues([]arrow.Timestamp{1000, 2000}, nil)
	kb.AppendValues([]string{"MSFT", "ORCL"}, nil)
	pb.AppendValues([]int32{10, 20}, nil)
	rec := array.NewRecord(refTestInput.Schema.Arrow(), []arrow.Array{tb.NewArray(), kb.NewArray(), pb.NewArray()}, 2)
	if err := ops[0].Process(&operators.Context{}, rec); err != nil {
		t.Fatal(err)
	}
	want := `{"ROWTIME":"1970-01-01 00:00:01.000","TICKER":"MSFT","COMPANY":"Microsoft","PRICE":10}` + "\n" +
		`{"ROWTIME":"1970-01-01 00:00:02.000","TICKER":"ORCL","COMPANY":null,"PRICE":20}`
	if strings.Join(got, "\n") != want {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}

func TestPlanReferenceJoinErrors(t *testing.T) {
	cases := []struct{ sql, want string }{
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS s RIGHT JOIN "CompanyName" AS c ON s.ticker = c."Ticker"`,
			"a reference table cannot drive a join: use [INNER] or LEFT JOIN with the table on the right"},
		{`SELECT STREAM * FROM "CompanyName" AS c JOIN SOURCE_SQL_STREAM_001 AS s ON s.ticker = c."Ticker"`,
			`reference table "CompanyName" cannot drive a join: put the stream first`},
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS s JOIN "CompanyName" OVER (ROWS 2 PRECEDING) AS c ON s.ticker = c."Ticker"`,
			`reference table "CompanyName" has no window: remove OVER`},
		{`SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS s JOIN "CompanyName" AS c ON s.ticker = c."Ticker" WHERE c.ROWTIME IS NULL`,
			`reference table "CompanyName" AS C has no ROWTIME`},
	}
	for _, c := range cases {
		prog, err := dialect.Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Plan(prog, []Input{refTestInput}, Options{Tables: map[string]*reftable.Table{"CompanyName": refTestTable(t)}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n got %v\nwant %s", c.sql, err, c.want)
		}
	}
}
