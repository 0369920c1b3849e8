package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/kinesisapi"
	kdaapp "github.com/kdaproject/kda/engine/app"
)

// refAppYAML is an application that joins its input with a company-name
// reference table read from companies.csv.
const refAppYAML = `name: counts
sql: |
  CREATE STREAM OUT_S (k VARCHAR(8), company VARCHAR(32));
  CREATE PUMP P AS INSERT INTO OUT_S
    SELECT STREAM s.K, c."Company"
    FROM SOURCE_SQL_STREAM_001 AS s LEFT JOIN "CompanyName" AS c ON s.K = c."Ticker";
input:
  stream: in
  schema:
    recordFormat: {type: JSON}
    columns:
      - {name: K, sqlType: VARCHAR(8), mapping: $.k}
referenceTables:
  - name: CompanyName
    source: {file: companies.csv}
    skipHeader: true
    schema:
      recordFormat: {type: CSV}
      columns:
        - {name: Ticker, sqlType: VARCHAR(8)}
        - {name: Company, sqlType: VARCHAR(32)}
outputs:
  - {name: OUT_S, stream: out}
checkpointInterval: 20ms
`

func TestAppRefreshReloadsReferenceTablesOverREST(t *testing.T) {
	refDir := t.TempDir()
	ts := newTestServer(t, func(c *serverConfig, _ *kinesisapi.Options) {
		m, err := kdaapp.NewManager(c.store, kdaapp.ManagerOptions{Heartbeat: 5 * time.Millisecond, ReferenceDir: refDir})
		if err != nil {
			t.Fatal(err)
		}
		c.apps = m
		t.Cleanup(func() { m.Close() })
	})
	tg := target{name: "remote", args: []string{"--endpoint", ts.url}}
	tg.ok(t, "", "stream", "create", "in", "--shards", "1")
	tg.ok(t, "", "stream", "create", "out", "--shards", "1")
	// The definition's directory is the client's; the server reads the
	// file under its reference directory.
	dir := writeFiles(t, map[string]string{"app.yaml": refAppYAML})
	companies := filepath.Join(refDir, "companies.csv")
	if err := os.WriteFile(companies, []byte("Ticker,Company\nAMZN,Amazon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tg.ok(t, "", "app", "create", filepath.Join(dir, "app.yaml"), "--start")
	if !strings.Contains(out, "Reference tables:\n  CompanyName <- file companies.csv: version 1, 1 rows (27 bytes), loaded ") {
		t.Fatalf("create:\n%s", out)
	}
	if err := os.WriteFile(companies, []byte("Ticker,Company\nAMZN,Amazon\nMSFT,Microsoft\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := tg.ok(t, "", "app", "refresh", "counts", "CompanyName"); !strings.Contains(out, "CompanyName <- file companies.csv: version 2, 2 rows") {
		t.Fatalf("refresh:\n%s", out)
	}
	if err := os.WriteFile(companies, []byte("Ticker,Company\nAMZN,\"Amazon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tg.run(t, "", "app", "refresh", "counts")
	if r.code != 1 || !strings.Contains(r.stderr, "line 2: unterminated quoted field") || !strings.Contains(r.stderr, "version 2 stays in use") {
		t.Fatalf("a failed refresh: %+v", r)
	}
	if out := tg.ok(t, "", "app", "describe", "counts"); !strings.Contains(out, "version 2, 2 rows") || !strings.Contains(out, "last load failed: reference table CompanyName") {
		t.Fatalf("describe after a failed refresh:\n%s", out)
	}
	if r := tg.run(t, "", "app", "refresh", "counts", "Nope"); r.code != 1 || !strings.Contains(r.stderr, `no reference table "Nope"`) {
		t.Fatalf("an unknown table: %+v", r)
	}
}

func TestRunLoadsReferenceTablesBesideTheDefinition(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"app.yaml": refAppYAML,
		"in.jsonl": `{"k":"AMZN"}` + "\n",
	})
	r := runCLI(t, nil, "", "run", "--config", filepath.Join(dir, "app.yaml"), "--input", filepath.Join(dir, "in.jsonl"))
	if r.code != 1 || !strings.Contains(r.stderr, "reference table CompanyName (file companies.csv)") || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("without the file: %+v", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "companies.csv"), []byte("Ticker,Company\nAMZN,Amazon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "", "run", "--config", filepath.Join(dir, "app.yaml"), "--input", filepath.Join(dir, "in.jsonl"))
	if r.code != 0 || !strings.Contains(r.stdout, `"K":"AMZN","COMPANY":"Amazon"`) {
		t.Fatalf("with the file: %+v", r)
	}
}
