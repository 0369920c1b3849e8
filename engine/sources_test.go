package engine_test

import (
	"strings"
	"testing"

	"github.com/kdaproject/kda/engine"
	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

const sourceAppYAML = `
name: clicks
sql: |
  CREATE STREAM OUT_S (k VARCHAR(8), n BIGINT);
  CREATE PUMP P AS INSERT INTO OUT_S
    SELECT STREAM k, COUNT(*) FROM SOURCE_SQL_STREAM_001
    GROUP BY k, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '10' SECOND);
input:
  source:
    kind: KIND
    config: {brokers: ["127.0.0.1:1"], topic: clicks}
  schema:
    recordFormat: {type: JSON}
    columns:
      - {name: K, sqlType: VARCHAR(8), mapping: $.k}
outputs:
  - {name: OUT_S, stream: counts}
`

func TestTheEngineRegistersEverySourceKindForApplications(t *testing.T) {
	eng, err := engine.Open(t.TempDir(), engine.Options{Store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var kinds []string
	for _, c := range engine.Sources() {
		kinds = append(kinds, c.Kind)
	}
	bad, err := app.ParseDefinition([]byte(strings.Replace(sourceAppYAML, "KIND", "kafak", 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.Apps().Create(bad)
	if err == nil || !strings.Contains(err.Error(), `input.source.kind: "kafak" is not a source kind (`) {
		t.Fatalf("create with kind kafak: %v", err)
	}
	for _, k := range kinds {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("the error does not list kind %s: %v", k, err)
		}
	}
	// The broker is down: the definition is still fine.
	def, err := app.ParseDefinition([]byte(strings.Replace(sourceAppYAML, "KIND", "kafka", 1)), "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := eng.Apps().Create(def)
	if err != nil {
		t.Fatal(err)
	}
	if d.InputStream != app.SourceStreamName("clicks") || d.Definition.Input.Source.PartitionKey != "key" {
		t.Fatalf("described: input stream %q, source %+v", d.InputStream, d.Definition.Input.Source)
	}
}
