package engine_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/engine"
	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

func intp(n int) *int { return &n }

// lakeFiles reads every object under <dir>/s3/lake, gunzipped, sorted by key.
func lakeFiles(t *testing.T, dir string) []string {
	var out []string
	root := filepath.Join(dir, "s3", "lake")
	var paths []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".tmp-") {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

// An application's output goes into a delivery stream inside its
// checkpoint, and the delivery stream writes GZIP objects under
// <data dir>/s3/<bucket>/ — also across a restart of the engine.
func TestApplicationOutputIsDeliveredToTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	opts := engine.Options{Store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}}
	eng, err := engine.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.CreateStream(store.CreateStreamInput{StreamName: "in", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Delivery().Create(delivery.Definition{DeliveryStreamName: "to-lake",
		ExtendedS3DestinationConfiguration: &delivery.ExtendedS3DestinationConfiguration{
			BucketARN: "arn:aws:s3:::lake", Prefix: "orders/", CompressionFormat: delivery.GZIP,
			BufferingHints: &delivery.BufferingHints{SizeInMBs: intp(1), IntervalInSeconds: intp(0)},
		}}); err != nil {
		t.Fatal(err)
	}
	def := app.Definition{
		Name: "big-orders",
		SQL: `CREATE STREAM OUT_S (k VARCHAR(8), v INTEGER);
CREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM k, v FROM SOURCE_SQL_STREAM_001 WHERE v > 10;`,
		Input: app.Input{Stream: "in", StartingPosition: app.StartTrimHorizon, Schema: input.Schema{
			RecordFormat: input.RecordFormat{Type: "JSON"},
			Columns:      []input.Column{{Name: "K", SQLType: "VARCHAR(8)", Mapping: "$.k"}, {Name: "V", SQLType: "INTEGER", Mapping: "$.v"}},
		}},
		Outputs:            []app.Output{{Name: "OUT_S", Delivery: "to-lake"}},
		CheckpointInterval: app.Duration{Duration: 5 * time.Millisecond},
	}
	if _, err := eng.Apps().Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Apps().Start("big-orders", ""); err != nil {
		t.Fatal(err)
	}
	put := func(recs ...string) {
		in := make([]store.PutRecordInput, len(recs))
		for i, r := range recs {
			in[i] = store.PutRecordInput{PartitionKey: "p", Data: []byte(r)}
		}
		if _, err := eng.PutRecords("in", in); err != nil {
			t.Fatal(err)
		}
	}
	rows := func() []map[string]any {
		var out []map[string]any
		for _, f := range lakeFiles(t, dir) {
			for _, line := range strings.Split(strings.TrimSpace(f), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				out = append(out, m)
			}
		}
		return out
	}
	waitRows := func(n int) []map[string]any {
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := rows()
			if len(r) >= n || time.Now().After(deadline) {
				return r
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	put(`{"k":"a","v":5}`, `{"k":"b","v":50}`, `{"k":"c","v":500}`)
	got := waitRows(2)
	if len(got) != 2 || got[0]["K"] != "b" || got[1]["V"] != 500.0 {
		t.Fatalf("rows %v", got)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if eng, err = engine.Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	put(`{"k":"d","v":11}`)
	got = waitRows(3)
	var keys []string
	for _, r := range got {
		keys = append(keys, r["K"].(string))
	}
	sort.Strings(keys) // objects of one second sort by their random names
	if strings.Join(keys, ",") != "b,c,d" {
		t.Fatalf("after a restart: rows %v", got)
	}
	if err := eng.Delivery().Flush(context.Background(), "to-lake"); err != nil {
		t.Fatal(err)
	}
	d, err := eng.Delivery().Describe("to-lake")
	if err != nil || d.Metrics.Spilled != 0 {
		t.Fatalf("describe %+v %v", d.Metrics, err)
	}
	if _, err := eng.Apps().Create(app.Definition{Name: "bad", SQL: def.SQL, Input: def.Input,
		Outputs: []app.Output{{Name: "OUT_S", Delivery: "missing"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Apps().Start("bad", ""); err == nil || !strings.Contains(err.Error(), "outputs[0].delivery: delivery stream missing not found") {
		t.Fatalf("start with a missing delivery stream: %v", err)
	}
}

// An output may declare its delivery stream inline: the manager creates it
// with the application, and refuses a later definition that differs.
func TestAnInlineDeliveryStreamIsCreatedWithTheApplication(t *testing.T) {
	dir := t.TempDir()
	eng, err := engine.Open(dir, engine.Options{Store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateStream(store.CreateStreamInput{StreamName: "in", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	def, err := app.ParseDefinition([]byte(`
name: inline
sql: |
  CREATE STREAM OUT_S (k VARCHAR(8));
  CREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM k FROM SOURCE_SQL_STREAM_001;
input:
  stream: in
  startingPosition: TRIM_HORIZON
  schema:
    recordFormat: {type: JSON}
    columns: [{name: K, sqlType: VARCHAR(8), mapping: $.k}]
checkpointInterval: 5ms
outputs:
  - name: OUT_S
    deliveryStream:
      ExtendedS3DestinationConfiguration:
        BucketARN: arn:aws:s3:::lake
        CompressionFormat: GZIP
        BufferingHints: {SizeInMBs: 1, IntervalInSeconds: 0}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Apps().Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Delivery().Describe("inline-out_s"); err != nil {
		t.Fatalf("the inline delivery stream was not created: %v", err)
	}
	if _, err := eng.Apps().Start("inline", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.PutRecords("in", []store.PutRecordInput{{PartitionKey: "p", Data: []byte(`{"k":"x"}`)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(lakeFiles(t, dir)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := lakeFiles(t, dir); len(got) != 1 || strings.Count(got[0], "\n") != 1 || !strings.HasSuffix(got[0], `,"K":"x"}`+"\n") {
		t.Fatalf("objects %q", got)
	}
	changed := def
	changed.Outputs = append([]app.Output(nil), def.Outputs...)
	ds := *def.Outputs[0].DeliveryStream
	s3 := *ds.ExtendedS3DestinationConfiguration
	s3.CompressionFormat = delivery.Snappy
	ds.ExtendedS3DestinationConfiguration = &s3
	changed.Outputs[0].DeliveryStream = &ds
	if _, err := eng.Apps().Update("inline", changed); err == nil || !strings.Contains(err.Error(), "exists with another definition") {
		t.Fatalf("an update with another inline definition: %v", err)
	}
}
