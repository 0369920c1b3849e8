package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kdaproject/kda/connectors/restapi"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/operators/input"
)

func TestDiscoverStreamPrintsAnInputSchema(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.ok(t, "", "stream", "create", "clicks", "--shards", "1", "--wait")
			tg.ok(t, "", "put", "clicks", "--key", "k", "a,b")
			tg.ok(t, "", "put", "clicks", "--key", "k",
				`{"user@domain":"x","USER":7,"1st":1.5,"at":"2026-01-02 03:04:05","nested":{"n":1}}`,
				`{"user@domain":"y","USER":8,"1st":2,"at":"2026-01-02 03:04:06","nested":{"n":2}}`)

			var got restapi.DiscoverResponse
			if err := json.Unmarshal([]byte(tg.ok(t, "", "discover", "stream", "clicks", "--limit", "2", "-o", "json")), &got); err != nil {
				t.Fatal(err)
			}
			want := []input.Column{
				{Name: "COL_userdomain", SQLType: "VARCHAR(8)", Mapping: `$["user@domain"]`},
				{Name: "COL_USER", SQLType: "INTEGER", Mapping: "$.USER"},
				{Name: "COL_1st", SQLType: "DOUBLE", Mapping: "$.1st"},
				{Name: "COL_at", SQLType: "TIMESTAMP", Mapping: "$.at"},
				{Name: "nested_n", SQLType: "INTEGER", Mapping: "$.nested.n"},
			}
			if got.Samples != 2 || got.Schema.RecordFormat.Type != "JSON" || !reflect.DeepEqual(got.Schema.Columns, want) {
				t.Errorf("discover -o json gave %d samples, %+v", got.Samples, got.Schema)
			}

			// The YAML reads back, inside a definition, as the same schema.
			out := tg.ok(t, "", "discover", "stream", "clicks", "--limit", "2")
			if !strings.Contains(out, "# Discovered from the newest 2 record(s) of stream clicks.") {
				t.Errorf("no header comment:\n%s", out)
			}
			var def kdaapp.Definition
			if err := yaml.UnmarshalStrict([]byte(out), &def); err != nil {
				t.Fatalf("the YAML does not read back: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(def.Input.Schema, got.Schema) {
				t.Errorf("YAML schema %+v\n!= JSON schema %+v\n%s", def.Input.Schema, got.Schema, out)
			}

			// The oldest record is the CSV one.
			out = tg.ok(t, "", "discover", "stream", "clicks", "--limit", "1", "--from", "trim-horizon")
			if !strings.Contains(out, "type: CSV") || !strings.Contains(out, `columnDelimiter: ","`) || !strings.Contains(out, "name: COL_2  # CSV field 2") {
				t.Errorf("discover --from trim-horizon:\n%s", out)
			}

			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"discover", "stream", "nope"}, 1, "nope"},
				{[]string{"discover", "stream", "clicks", "--from", "now"}, 2, "--from must be latest or trim-horizon"},
				{[]string{"discover", "stream", "clicks", "--limit", "0"}, 2, "--limit"},
				{[]string{"discover", "stream", "clicks", "--format", "XML"}, 2, "--format"},
				{[]string{"discover", "stream"}, 2, "NAME"},
			} {
				r := tg.run(t, "", c.args...)
				if r.code != c.code || !strings.Contains(r.stderr, c.want) {
					t.Errorf("kda %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.want)
				}
			}
		})
	}
}

func TestDiscoverFileNeedsNoServer(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "trades.csv")
	if err := os.WriteFile(csvPath, []byte("ticker;price;select\nAMZN;1.5;1\nMSFT;2;2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// No server listens on the endpoint: the file is read locally.
	noServer := []string{"--endpoint", "http://127.0.0.1:1"}
	r := runCLI(t, nil, "", append(noServer, "discover", "file", csvPath)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var def kdaapp.Definition
	if err := yaml.UnmarshalStrict([]byte(r.stdout), &def); err != nil {
		t.Fatalf("the YAML does not read back: %v\n%s", err, r.stdout)
	}
	s := def.Input.Schema
	want := []input.Column{{Name: "ticker", SQLType: "VARCHAR(8)"}, {Name: "price", SQLType: "DOUBLE"}, {Name: "COL_select", SQLType: "INTEGER"}}
	if s.RecordFormat.Type != "CSV" || s.RecordFormat.ColumnDelimiter != ";" || s.RecordFormat.RowDelimiter != "\n" || !reflect.DeepEqual(s.Columns, want) {
		t.Errorf("discover file (CSV): %+v\n%s", s, r.stdout)
	}

	// Pretty-printed JSON on standard input.
	r = runCLI(t, nil, "{\n  \"a\": {\"b c\": true},\n  \"arr\": [1, 2]\n}\n", append(noServer, "discover", "file", "-", "-o", "json")...)
	var got restapi.DiscoverResponse
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("discover file -: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantJSON := []input.Column{{Name: "COL_a_bc", SQLType: "BOOLEAN", Mapping: `$.a["b c"]`}, {Name: "arr", SQLType: "VARCHAR(8)", Mapping: "$.arr[0:]"}}
	if got.Samples != 1 || !reflect.DeepEqual(got.Schema.Columns, wantJSON) {
		t.Errorf("discover file - (JSON): %+v", got)
	}

	r = runCLI(t, nil, "", append(noServer, "discover", "file", filepath.Join(dir, "missing.json"))...)
	if r.code != 1 || !strings.Contains(r.stderr, "read sample records") {
		t.Errorf("missing file: exit %d, %q", r.code, r.stderr)
	}
}

func TestYAMLStringQuotesWhatWouldNotReadBack(t *testing.T) {
	for _, s := range []string{"ticker", "VARCHAR(8)", "$.a.b", "$.arr[0:]", `$["a b"]`, ",", "\n", "\t", "|", "yes", "NO", "on", "1st", "-x", "a: b", "#c", "", "é"} {
		var back string
		if err := yaml.Unmarshal([]byte("v: "+yamlString(s)), &struct{ V *string }{&back}); err != nil || back != s {
			t.Errorf("yamlString(%q) = %s reads back as %q (%v)", s, yamlString(s), back, err)
		}
	}
}
