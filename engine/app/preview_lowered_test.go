package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/input"
)

// TestPreviewLoweredLikeAPump: a bare SELECT STREAM (a console preview)
// that joins three streams, or reads a UNION ALL in FROM, runs as the
// same query in a pump does — lowered into generated pumps that go with
// the preview (PREVIEW$J1, PREVIEW_2$U1) — and gives the same rows.
func TestPreviewLoweredLikeAPump(t *testing.T) {
	const streams = abcStreams + `CREATE STREAM J (av INTEGER, bv INTEGER, cv INTEGER);
CREATE STREAM U (k INTEGER, v INTEGER);
`
	const join = `SELECT STREAM a.v, b.v, c.v
  FROM A AS a JOIN B OVER (RANGE INTERVAL '2' SECOND PRECEDING) AS b ON a.k = b.k
  LEFT JOIN C OVER (RANGE INTERVAL '2' SECOND PRECEDING) AS c ON c.k = a.k`
	const union = `SELECT STREAM k, v FROM (SELECT STREAM k, v FROM A UNION ALL SELECT STREAM k, v + 100 FROM C) AS u WHERE k > 0`
	sql := streams +
		"CREATE PUMP PJ AS INSERT INTO J " + join + ";\n" +
		"CREATE PUMP PU AS INSERT INTO U " + union + ";\n" +
		join + ";\n" + union + ";\n"

	def := abcDefinition("preview", sql)
	rt, err := CompilePreview(def, nil, Library{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if got, want := strings.Join(rt.PreviewStreamNames(), ","), "PREVIEW,PREVIEW_2"; got != want {
		t.Fatalf("previews %s, want %s", got, want)
	}
	if got := strings.Join(rt.CreatedStreamNames(), ","); strings.Contains(got, "$") {
		t.Errorf("created streams %s list a generated one", got)
	}
	outs := map[string]*bytes.Buffer{}
	for _, name := range []string{"J", "U", "PREVIEW", "PREVIEW_2", "error_stream"} {
		outs[name] = &bytes.Buffer{}
		if err := rt.Subscribe(name, &JSONLines{W: outs[name]}); err != nil {
			t.Fatal(err)
		}
	}
	var recs []input.Record
	rng := rand.New(rand.NewSource(1))
	for i := range 60 {
		kind := []string{"a", "b", "c"}[rng.Intn(3)]
		data := fmt.Sprintf(`{"kind":%q,"k":%d,"v":%d}`, kind, rng.Intn(3), i+1)
		at := time.UnixMilli(int64(1000 + 400*i)).UTC()
		recs = append(recs, input.Record{Data: []byte(data), Rowtime: at, ArrivalTime: at})
	}
	rt.SetClock(recs[0].Rowtime, nil)
	for i := 0; i < len(recs); i += 7 {
		b := recs[i:min(i+7, len(recs))]
		if err := rt.Push(b); err != nil {
			t.Fatal(err)
		}
		if err := rt.Advance(b[len(b)-1].Rowtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := rt.Advance(EndOfTime); err != nil {
		t.Fatal(err)
	}
	if outs["error_stream"].Len() > 0 {
		t.Fatalf("error_stream: %s", outs["error_stream"])
	}
	for pump, preview := range map[string]string{"J": "PREVIEW", "U": "PREVIEW_2"} {
		want, got := rowValues(t, outs[pump]), rowValues(t, outs[preview])
		if len(want) < 5 {
			t.Fatalf("pump into %s gave %d rows: the case tests too little", pump, len(want))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s gave\n%s\nthe pump into %s\n%s", preview, strings.Join(got, "\n"), pump, strings.Join(want, "\n"))
		}
	}
	seen := map[string]bool{}
	for _, o := range rt.OperatorRows() {
		seen[o.Pump] = true
	}
	for _, p := range []string{"PREVIEW$J1", "PREVIEW_2$U1"} {
		if !seen[p] {
			t.Errorf("OperatorRows has no pump %s: %v", p, seen)
		}
	}
}

// rowValues renders each JSON line's values in order, names left out (a
// pump's target and a preview name their columns differently).
func rowValues(t *testing.T, b *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		var vals []string
		tok, err := dec.Token() // {
		if err != nil || tok != json.Delim('{') {
			t.Fatalf("line %q: %v", line, err)
		}
		for dec.More() {
			key, _ := dec.Token()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if key == "STREAM" {
				continue
			}
			vals = append(vals, fmt.Sprint(v))
		}
		out = append(out, strings.Join(vals, " "))
	}
	return out
}
