package nab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/operators/input"
)

// TestFeaturesMatchSQL runs the SQL that FeatureSQL writes (and the --peak
// post-processing's SQL, here over the value column rather than a forest's
// score) through the engine over a small series and checks that Points and
// Post compute the same numbers.
func TestFeaturesMatchSQL(t *testing.T) {
	values := []float64{3, 3, 3, 3, 5, 2.5, 7, 7, 1, 0, 4, 4, 4, 4, 4, 12, -3, 6, 6.5, 2, 9, 9, 1.25, 3, 8}
	fs, err := ParseFeatures("value,log,mean:3,deviation:3,stddev:5,zscore:4,zscore:1,deviation", 6)
	if err != nil {
		t.Fatal(err)
	}
	const peak = 3
	var cols, exprs []string
	for j, f := range fs {
		cols = append(cols, fmt.Sprintf(`"f%d" DOUBLE`, j))
		exprs = append(exprs, FeatureSQL(f, `"v"`))
	}
	cols = append(cols, `"peak" DOUBLE`)
	exprs = append(exprs, fmt.Sprintf(`CASE WHEN "v" >= MAX("v") OVER (ROWS %d PRECEDING) THEN "v" ELSE 0 END`, peak))
	sql := fmt.Sprintf(`CREATE OR REPLACE STREAM "FEATURES" (%s);
CREATE OR REPLACE PUMP "P1" AS INSERT INTO "FEATURES"
  SELECT STREAM %s FROM "SOURCE_SQL_STREAM_001";`, strings.Join(cols, ", "), strings.Join(exprs, ",\n    "))
	def := app.Definition{Name: "features", SQL: sql}
	def.Input.Schema = input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"},
		Columns: []input.Column{{Name: "v", SQLType: "DOUBLE", Mapping: "$.v"}}}
	rt, err := app.Compile(def, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	defer rt.Close()
	var out, errs bytes.Buffer
	if err := rt.Subscribe("FEATURES", &app.JSONLines{W: &out}); err != nil {
		t.Fatal(err)
	}
	_ = rt.Subscribe("error_stream", &app.JSONLines{W: &errs})
	at := time.Date(2014, 2, 14, 14, 30, 0, 0, time.UTC)
	recs := make([]input.Record, len(values))
	for i, v := range values {
		recs[i] = input.Record{Data: []byte(fmt.Sprintf(`{"v":%g}`, v)), Rowtime: at.Add(time.Duration(i) * 5 * time.Minute), ArrivalTime: at}
	}
	if err := rt.Replay(recs, app.ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	if errs.Len() > 0 {
		t.Fatalf("error stream:\n%s", errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(values) {
		t.Fatalf("%d rows out of %d:\n%s", len(lines), len(values), out.String())
	}
	want := Points(values, fs)
	peaks := Post{Peak: peak}.Apply(values)
	for i, line := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		check := func(name string, w float64) {
			g, ok := row[name].(float64)
			if !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
				t.Errorf("row %d %s: SQL %v, Go %v", i, name, row[name], w)
			}
		}
		for j := range fs {
			check(fmt.Sprintf("f%d", j), want[i][j])
		}
		check("peak", peaks[i])
	}
	if t.Failed() {
		t.Logf("SQL:\n%s", sql)
	}
}

func TestParseFeatures(t *testing.T) {
	fs, err := ParseFeatures("value, deviation, zscore:12", 60)
	if err != nil || len(fs) != 3 || fs[1] != (Feature{"deviation", 60}) || fs[2] != (Feature{"zscore", 12}) || fs[0].Window != 0 {
		t.Fatalf("%v %v", fs, err)
	}
	for _, bad := range []string{"velocity", "zscore", "deviation:0", "mean:x", ""} {
		if _, err := ParseFeatures(bad, 0); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if !IsValueOnly([]Feature{{Kind: "value"}}) {
		t.Error("IsValueOnly")
	}
}
