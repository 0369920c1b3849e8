package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseDefinitionReadsYAMLAndFillsDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.sql"), []byte("CREATE STREAM S (A INTEGER);"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ParseDefinition([]byte(`
name: tickers
sqlFile: app.sql
input:
  stream: trades
  schema:
    recordFormat: {type: json}
    columns:
      - {name: TICKER, sqlType: VARCHAR(8), mapping: $.ticker}
outputs:
  - {name: DEST, stream: results}
checkpointInterval: 30s
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("valid definition rejected: %v", err)
	}
	if d.SQL != "CREATE STREAM S (A INTEGER);" || d.Input.NamePrefix != "SOURCE_SQL_STREAM" || d.Input.StartingPosition != StartLastStoppedPoint ||
		d.CheckpointInterval.Duration != 30*time.Second || d.Outputs[0].Format != "JSON" || d.Input.Schema.RecordFormat.Type != "JSON" {
		t.Fatalf("definition %+v", d)
	}
	if got := strings.Join(d.InputStreamNames(), ","); got != "SOURCE_SQL_STREAM_001" {
		t.Errorf("input streams %s", got)
	}
}

func TestValidateNamesTheFieldAtFault(t *testing.T) {
	base := func() Definition {
		d, err := ParseDefinition([]byte(`{"name":"a","sql":"x","input":{"schema":{"recordFormat":{"type":"CSV"},"columns":[{"name":"A","sqlType":"INTEGER"}]}}}`), "")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name string
		edit func(*Definition)
		want string
	}{
		{"a bad name", func(d *Definition) { d.Name = "no spaces" }, "name:"},
		{"no SQL", func(d *Definition) { d.SQL = " " }, "sql:"},
		{"too much parallelism", func(d *Definition) { d.Input.Parallelism = 65 }, "input.parallelism"},
		{"an unknown starting position", func(d *Definition) { d.Input.StartingPosition = "YESTERDAY" }, "input.startingPosition"},
		{"an output with two destinations", func(d *Definition) { d.Outputs = []Output{{Name: "D", Stream: "s", File: "f", Format: "JSON"}} }, "outputs[0]"},
		{"an output in XML", func(d *Definition) { d.Outputs = []Output{{Name: "D", Stream: "s", Format: "XML"}} }, "outputs[0].format"},
		{"a schema without columns", func(d *Definition) { d.Input.Schema.Columns = nil }, "input.schema"},
	}
	for _, c := range cases {
		d := base()
		c.edit(&d)
		err := d.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if _, err := ParseDefinition([]byte(`{"name":"a","unknownField":1}`), ""); err == nil {
		t.Error("an unknown field was accepted")
	}
}

func TestYAMLBooleanColumnNamesAreRefused(t *testing.T) {
	_, err := ParseDefinition([]byte("name: x\nsql: SELECT 1\ninput:\n  schema:\n    recordFormat: {type: JSON}\n    columns: [{name: N, sqlType: INTEGER, mapping: $.n}]\n"), "")
	if err == nil || !strings.Contains(err.Error(), `input.schema.columns[0].name: "false": unquoted Y, N`) {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseDefinition([]byte("name: x\nsql: SELECT 1\ninput:\n  schema:\n    recordFormat: {type: JSON}\n    columns: [{name: \"N\", sqlType: INTEGER, mapping: $.n}]\n"), ""); err != nil {
		t.Fatalf("a quoted N: %v", err)
	}
}
