package app

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/input"
)

// TestAJoinSeesAReloadOnlyInLaterRows runs an application that joins its
// input with a reference table, reloads the table, and checks that rows
// joined before the reload keep the old company names while later rows get
// the new ones.
func TestAJoinSeesAReloadOnlyInLaterRows(t *testing.T) {
	e := newRefEnv(t)
	write(t, filepath.Join(e.dir, "companies.csv"), "AMZN,Amazon\nMSFT,Microsoft\n")
	def := Definition{
		Name: "counts",
		SQL: `CREATE STREAM OUT_S (ticker VARCHAR(8), company VARCHAR(64), price INTEGER);
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM s.K, c."Company", s.V
  FROM SOURCE_SQL_STREAM_001 AS s LEFT JOIN "CompanyName" AS c ON s.K = c."Ticker";`,
		Input: Input{Stream: "in", StartingPosition: StartTrimHorizon, Schema: input.Schema{
			RecordFormat: input.RecordFormat{Type: "JSON"},
			Columns: []input.Column{
				{Name: "K", SQLType: "VARCHAR(8)", Mapping: "$.k"},
				{Name: "V", SQLType: "INTEGER", Mapping: "$.v"},
			}}},
		ReferenceTables:    []ReferenceTable{{Name: "CompanyName", Source: ReferenceSource{File: "companies.csv"}, Schema: companySchema("CSV")}},
		Outputs:            []Output{{Name: "OUT_S", Stream: "out"}},
		CheckpointInterval: Duration{5 * time.Millisecond},
	}
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"AMZN","v":1}`, `{"k":"ORCL","v":2}`)
	e.waitOutput(
		`{"ROWTIME":"2026-03-01 10:00:00.000","TICKER":"AMZN","COMPANY":"Amazon","PRICE":1}`,
		`{"ROWTIME":"2026-03-01 10:00:00.000","TICKER":"ORCL","COMPANY":null,"PRICE":2}`)

	write(t, filepath.Join(e.dir, "companies.csv"), "AMZN,Amazon.com\nORCL,Oracle\n")
	if _, err := e.m.RefreshReferenceTables("counts", "CompanyName"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	e.put(`{"k":"AMZN","v":3}`, `{"k":"ORCL","v":4}`, `{"k":"MSFT","v":5}`)
	e.waitOutput(
		`{"ROWTIME":"2026-03-01 10:00:00.000","TICKER":"AMZN","COMPANY":"Amazon","PRICE":1}`,
		`{"ROWTIME":"2026-03-01 10:00:00.000","TICKER":"ORCL","COMPANY":null,"PRICE":2}`,
		`{"ROWTIME":"2026-03-01 10:00:01.000","TICKER":"AMZN","COMPANY":"Amazon.com","PRICE":3}`,
		`{"ROWTIME":"2026-03-01 10:00:01.000","TICKER":"ORCL","COMPANY":"Oracle","PRICE":4}`,
		`{"ROWTIME":"2026-03-01 10:00:01.000","TICKER":"MSFT","COMPANY":null,"PRICE":5}`)
}
