package engine_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kdaproject/kda/engine"
	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

// An s3 reference source reads the engine's object store — by default
// the directory store the delivery streams write to, <data dir>/s3.
func TestAReferenceTableReadsTheEnginesObjectStore(t *testing.T) {
	dir := t.TempDir()
	eng, err := engine.Open(dir, engine.Options{Store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateStream(store.CreateStreamInput{StreamName: "ticks", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "s3", "ref", "tables", "companies.csv")
	if err := os.MkdirAll(filepath.Dir(obj), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, []byte("AMZN,Amazon\nMSFT,Microsoft\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	def := app.Definition{
		Name: "tickers",
		SQL: `CREATE STREAM OUT_S (t VARCHAR(8), company VARCHAR(32));
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM s.T, c."Company" FROM SOURCE_SQL_STREAM_001 AS s LEFT JOIN "CompanyName" AS c ON s.T = c."Ticker";`,
		Input: app.Input{Stream: "ticks", Schema: input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"},
			Columns: []input.Column{{Name: "T", SQLType: "VARCHAR(8)", Mapping: "$.t"}}}},
		ReferenceTables: []app.ReferenceTable{{
			Name:   "CompanyName",
			Source: app.ReferenceSource{S3: &app.S3Source{Bucket: "ref", Key: "tables/companies.csv"}},
			Schema: input.Schema{RecordFormat: input.RecordFormat{Type: "CSV"}, Columns: []input.Column{
				{Name: "Ticker", SQLType: "VARCHAR(8)"}, {Name: "Company", SQLType: "VARCHAR(32)"}}},
		}},
	}
	if _, err := eng.Apps().Create(def); err != nil {
		t.Fatal(err)
	}
	d, err := eng.Apps().Start("tickers", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ReferenceTables) != 1 || d.ReferenceTables[0].Rows != 2 || d.ReferenceTables[0].Source != "s3://ref/tables/companies.csv" {
		t.Fatalf("reference tables: %+v", d.ReferenceTables)
	}
	if err := os.WriteFile(obj, []byte("AMZN,Amazon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := eng.Apps().RefreshReferenceTables("tickers", "CompanyName")
	if err != nil || st[0].Rows != 1 || st[0].Version != 2 {
		t.Fatalf("refresh: %+v %v", st, err)
	}
}
