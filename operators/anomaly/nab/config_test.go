package nab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/operators/input"
)

// TestTunedSQLIsTheDetector runs the SQL that Tuned().SQL() writes through
// the engine over one NAB series and checks that its "ALERTS" stream
// carries, row for row, the scores the bench harness computes in Go (seed
// 1, as RANDOM_CUT_FOREST seeds its forest): the documented SQL is the
// detector kda bench nab --preset tuned scores.
func TestTunedSQLIsTheDetector(t *testing.T) {
	ss := corpus(t, func(n string) bool { return n == "realTraffic/speed_7578.csv" })
	if len(ss) != 1 {
		t.Fatalf("%d series", len(ss))
	}
	s := ss[0]
	c := Tuned()
	want, err := c.Detect(s.Values, 1)
	if err != nil {
		t.Fatal(err)
	}
	sql := c.SQL()
	def := app.Definition{Name: "tuned", SQL: sql}
	def.Input.Schema = input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"},
		Columns: []input.Column{{Name: "value", SQLType: "DOUBLE", Mapping: "$.value"}}}
	rt, err := app.Compile(def, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	defer rt.Close()
	var out, errs bytes.Buffer
	if err := rt.Subscribe("ALERTS", &app.JSONLines{W: &out}); err != nil {
		t.Fatal(err)
	}
	_ = rt.Subscribe("error_stream", &app.JSONLines{W: &errs})
	recs := make([]input.Record, len(s.Values))
	for i, v := range s.Values {
		recs[i] = input.Record{Data: []byte(fmt.Sprintf(`{"value":%v}`, v)), Rowtime: s.Times[i], ArrivalTime: s.Times[i]}
	}
	if err := rt.Replay(recs, app.ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	if errs.Len() > 0 {
		t.Fatalf("error stream:\n%s", errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d rows out of %d", len(lines), len(want))
	}
	alerts := 0
	for i, line := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		g, ok := row["SCORE"].(float64)
		if !ok || math.Abs(g-want[i]) > 1e-9*math.Max(1, want[i]) {
			t.Fatalf("row %d: SQL %v, Go %v\n%s", i, row["SCORE"], want[i], sql)
		}
		if g > 0 {
			alerts++
		}
	}
	if alerts == 0 {
		t.Errorf("no row scored above 0")
	}
}
