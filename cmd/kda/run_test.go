package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const runSQL = `-- trades per ticker per minute
CREATE OR REPLACE STREAM "DEST" (ticker VARCHAR(8), trades INTEGER, avg_price DOUBLE);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DEST"
  SELECT STREAM "ticker", COUNT(*), AVG("price")
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "ticker", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunDiscoversTheSchemaAndPrintsEveryStream(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"app.sql": runSQL,
		"in.jsonl": `{"ticker":"AMZN","price":10.5,"ts":"2026-01-01T00:00:01Z"}
{"ticker":"AMZN","price":11.5,"ts":"2026-01-01T00:00:20Z"}
{"ticker":"MSFT","price":3,"ts":1767225670000}
`,
	})
	r := runCLI(t, nil, "", "run", filepath.Join(dir, "app.sql"), "--input", filepath.Join(dir, "in.jsonl"), "--arrival-field", "ts")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := `{"stream":"DEST","ROWTIME":"2026-01-01 00:01:00.000","TICKER":"AMZN","TRADES":2,"AVG_PRICE":11}
{"stream":"DEST","ROWTIME":"2026-01-01 00:02:00.000","TICKER":"MSFT","TRADES":1,"AVG_PRICE":3}
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

func TestRunWithConfigWritesFilesAndRoutesBadRecordsToErrorStream(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"app.sql": runSQL,
		"app.yaml": `name: trades
sqlFile: app.sql
input:
  schema:
    recordFormat: {type: JSON}
    columns:
      - {name: ticker, sqlType: VARCHAR(8), mapping: $.ticker}
      - {name: price, sqlType: DOUBLE, mapping: $.price}
`,
		"in.jsonl": `{"ticker":"AMZN","price":10}
{"ticker":"BAD","price":"oops"}
{"ticker":"AMZN","price":20}
`,
	})
	out := filepath.Join(dir, "out")
	r := runCLI(t, nil, "", "run", "--config", filepath.Join(dir, "app.yaml"), "--input", filepath.Join(dir, "in.jsonl"), "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	dest, _ := os.ReadFile(filepath.Join(out, "DEST.jsonl"))
	if string(dest) != `{"ROWTIME":"1970-01-01 00:01:00.000","TICKER":"AMZN","TRADES":2,"AVG_PRICE":15}`+"\n" {
		t.Errorf("DEST.jsonl = %s", dest)
	}
	errs, _ := os.ReadFile(filepath.Join(out, "error_stream.jsonl"))
	if !strings.Contains(string(errs), `"ERROR_NAME":"COERCION_ERROR"`) || !strings.Contains(string(errs), `"DATA_ROWTIME":"1970-01-01 00:00:00.002"`) ||
		strings.Count(string(errs), "\n") != 1 {
		t.Errorf("error_stream.jsonl = %s", errs)
	}
}

func TestRunAndExplainReportSQLErrorsWithACaret(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.sql":  "CREATE STREAM O (n BIGINT);\nCREATE PUMP P AS INSERT INTO O SELECT STREAM COUNT(*) FROM SOURCE_SQL_STREAM_001 GROUP BY \"ticker\";\n",
		"in.jsonl": `{"ticker":"A"}` + "\n",
	})
	for _, cmd := range []string{"run", "explain"} {
		r := runCLI(t, nil, "", cmd, filepath.Join(dir, "bad.sql"), "--input", filepath.Join(dir, "in.jsonl"))
		if r.code != 1 || !strings.Contains(r.stderr, "line 2, column 91: a streaming GROUP BY needs a monotonic key") || !strings.Contains(r.stderr, "\n"+strings.Repeat(" ", 90)+"^") {
			t.Errorf("%s: exit %d, stderr:\n%s", cmd, r.code, r.stderr)
		}
	}
}

func TestExplainPrintsTheOperators(t *testing.T) {
	dir := writeFiles(t, map[string]string{"app.sql": runSQL, "in.jsonl": `{"ticker":"A","price":1}` + "\n"})
	out := runCLI(t, nil, "", "explain", filepath.Join(dir, "app.sql"), "--input", filepath.Join(dir, "in.jsonl"))
	for _, want := range []string{"Pump P: SOURCE_SQL_STREAM_001 -> DEST", "Tumbling window STEP(ROWTIME", "AVG(price)", "Insert into DEST"} {
		if !strings.Contains(out.stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.stdout)
		}
	}
}
