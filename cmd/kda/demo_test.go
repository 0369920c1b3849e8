package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/operators/input"
)

// TestDemoApplicationsProduceResults replays twenty minutes of generated
// trades through each demo application.
func TestDemoApplicationsProduceResults(t *testing.T) {
	gen := newTradeGen(42)
	start := time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC)
	var recs []input.Record
	for i := 0; i < 24000; i++ {
		at := start.Add(time.Duration(i) * 50 * time.Millisecond)
		data, err := json.Marshal(gen.next(at))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, input.Record{Data: data, Rowtime: at, ArrivalTime: at})
	}
	for _, a := range demoApps {
		def := kdaapp.Definition{Name: a.name, SQL: a.sql}
		def.Input.Schema = demoSchema()
		rt, err := kdaapp.Compile(def, nil)
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		var out, errs bytes.Buffer
		_ = rt.Subscribe(a.stream, &kdaapp.JSONLines{W: &out})
		_ = rt.Subscribe("error_stream", &kdaapp.JSONLines{W: &errs})
		if err := rt.Replay(recs, kdaapp.ReplayOptions{}); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		rt.Close()
		rows := strings.Count(out.String(), "\n")
		if rows == 0 || errs.Len() > 0 {
			t.Errorf("%s: %d rows, errors:\n%s", a.name, rows, errs.String())
		}
		t.Logf("%s: %d rows", a.name, rows)
	}
}
