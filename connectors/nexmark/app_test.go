package nexmark_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/nexmark"
	"github.com/kdaproject/kda/engine"
	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// TestAnApplicationReadsTheNexmarkSource runs q0 inside an engine on the
// source kind "nexmark": 2,000 events give 1,840 bids in the output stream.
func TestAnApplicationReadsTheNexmarkSource(t *testing.T) {
	eng, err := engine.Open(t.TempDir(), engine.Options{Store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateStream(store.CreateStreamInput{StreamName: "bids-out", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	q, err := nexmark.Lookup("q0")
	if err != nil {
		t.Fatal(err)
	}
	def := app.Definition{Name: "bids", SQL: q.SQL, Outputs: []app.Output{{Name: q.Output, Stream: "bids-out"}}}
	def.CheckpointInterval = app.Duration{Duration: 200 * time.Millisecond}
	def.Input.Schema = nexmark.InputSchema(q.Kinds...)
	def.Input.Source = &app.InputSource{Kind: nexmark.SourceKind, Config: json.RawMessage(`{"eventsPerSecond":20000,"maxEvents":2000,"seed":2}`)}
	if _, err := eng.Apps().Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Apps().Start("bids", ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := countRecords(t, eng, "bids-out")
		if n == 1840 {
			break
		}
		if n > 1840 || time.Now().After(deadline) {
			d, _ := eng.Apps().Describe("bids")
			t.Fatalf("%d rows in the output stream, want 1,840 bids; %d records in, checkpoint error %q", n, d.RecordsIn, d.CheckpointError)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countRecords(t *testing.T, eng *engine.Engine, stream string) int {
	t.Helper()
	d, err := eng.DescribeStream(stream)
	if err != nil {
		return 0
	}
	n := 0
	for _, sh := range d.Shards {
		it, err := eng.GetShardIterator(store.GetShardIteratorInput{StreamName: stream, ShardID: sh.ShardID, Type: store.TrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for it != "" {
			out, err := eng.GetRecordsDedicated(it, 10000)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) == 0 {
				break
			}
			n += len(out.Records)
			it = out.NextShardIterator
		}
	}
	return n
}
