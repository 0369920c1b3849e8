package nexmark

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/operators/input"
)

// compileQuery compiles q as an application over Nexmark records.
func compileQuery(q Query) (*app.Runtime, error) {
	def := app.Definition{Name: "nexmark-" + q.Name, SQL: q.SQL}
	def.Input.Schema = InputSchema(q.Kinds...)
	return app.Compile(def, nil)
}

// TestQueriesPlan compiles every query.
func TestQueriesPlan(t *testing.T) {
	for _, q := range Queries() {
		t.Run(q.Name, func(t *testing.T) {
			rt, err := compileQuery(q)
			if err != nil {
				t.Fatalf("%s does not plan: %v\n%s", q.Name, err, q.SQL)
			}
			defer rt.Close()
			if _, ok := rt.StreamSchema(q.Output); !ok {
				t.Errorf("%s: no output stream %s", q.Name, q.Output)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	if q, err := Lookup("Q5"); err != nil || q.Name != "q5" {
		t.Errorf("Lookup(Q5) = %v, %v", q.Name, err)
	}
	if _, err := Lookup("q99"); err == nil || !strings.Contains(err.Error(), "q0, q1") {
		t.Errorf("Lookup(q99): %v", err)
	}
}

// runQuery replays events [0, n) of g through q and returns the output
// rows, decoded from JSON.
func runQuery(t *testing.T, q Query, g *Generator, n int) []map[string]any {
	t.Helper()
	rt, err := compileQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out, errs bytes.Buffer
	if err := rt.Subscribe(q.Output, &app.JSONLines{W: &out}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Subscribe("error_stream", &app.JSONLines{W: &errs}); err != nil {
		t.Fatal(err)
	}
	var b Batch
	g.Fill(&b, 0, n)
	recs := make([]input.Record, n)
	for i, d := range b.Data {
		recs[i] = input.Record{Data: d, Rowtime: b.Times[i], ArrivalTime: b.Times[i]}
	}
	if err := rt.Replay(recs, app.ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	if errs.Len() > 0 {
		t.Fatalf("error_stream:\n%s", errs.String())
	}
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var row map[string]any
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&row); err != nil {
			t.Fatalf("output row %q: %v", line, err)
		}
		rows = append(rows, row)
	}
	return rows
}

// stamp formats a time as the JSON output does.
func stamp(t time.Time) string { return string(AppendTimestamp(nil, t)) }

// The queries' results are checked against the same computation done
// directly over the generator's events.
func TestQueriesGiveTheResultsComputedFromTheEvents(t *testing.T) {
	g := New(Config{EventsPerSecond: 1000, Seed: 5})
	const n = 30_000 // 30 s of event time
	var bids []Bid
	for i := range int64(n) {
		if e := g.Event(i); e.Kind == KindBid {
			bids = append(bids, e.Bid)
		}
	}
	set := func(rows []map[string]any, cols ...string) map[string]int {
		m := map[string]int{}
		for _, r := range rows {
			var k []string
			for _, c := range cols {
				k = append(k, fmt.Sprint(r[c]))
			}
			m[strings.Join(k, "|")]++
		}
		return m
	}
	check := func(name string, got, want map[string]int) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %d distinct rows, want %d\ngot  %v\nwant %v", name, len(got), len(want), trim(got), trim(want))
		}
	}

	t.Run("q0", func(t *testing.T) {
		q, _ := Lookup("q0")
		want := map[string]int{}
		for _, b := range bids {
			want[fmt.Sprintf("%d|%d|%d|%s", b.Auction, b.Bidder, b.Price, stamp(b.DateTime))]++
		}
		check("q0", set(runQuery(t, q, g, n), "AUCTION", "BIDDER", "PRICE", "DATETIME"), want)
	})
	t.Run("q2", func(t *testing.T) {
		q, _ := Lookup("q2")
		want := map[string]int{}
		for _, b := range bids {
			if b.Auction%123 == 0 {
				want[fmt.Sprintf("%d|%d", b.Auction, b.Price)]++
			}
		}
		if len(want) == 0 {
			t.Fatal("no bid on an auction id divisible by 123: choose another seed")
		}
		check("q2", set(runQuery(t, q, g, n), "AUCTION", "PRICE"), want)
	})
	t.Run("q5", func(t *testing.T) {
		q, _ := Lookup("q5")
		// Windows of 10 s every 2 s, aligned on the epoch.
		counts := map[[2]int64]int64{}
		for _, b := range bids {
			ms := b.DateTime.UnixMilli()
			for ws := ms - ms%2000 - 8000; ws <= ms; ws += 2000 {
				counts[[2]int64{ws, b.Auction}]++
			}
		}
		maxn := map[int64]int64{}
		for k, c := range counts {
			maxn[k[0]] = max(maxn[k[0]], c)
		}
		want := map[string]int{}
		for k, c := range counts {
			if c == maxn[k[0]] {
				want[fmt.Sprintf("%d|%d|%s", k[1], c, stamp(time.UnixMilli(k[0])))]++
			}
		}
		check("q5", set(runQuery(t, q, g, n), "AUCTION", "NUM", "STARTTIME"), want)
	})
	t.Run("q7", func(t *testing.T) {
		q, _ := Lookup("q7")
		maxp := map[int64]int64{}
		for _, b := range bids {
			w := b.DateTime.UnixMilli() / 10000
			maxp[w] = max(maxp[w], b.Price)
		}
		want := map[string]int{}
		for _, b := range bids {
			if b.Price == maxp[b.DateTime.UnixMilli()/10000] {
				want[fmt.Sprintf("%d|%d|%d|%s", b.Auction, b.Price, b.Bidder, stamp(b.DateTime))]++
			}
		}
		check("q7", set(runQuery(t, q, g, n), "AUCTION", "PRICE", "BIDDER", "DATETIME"), want)
	})
}

// trim shortens a long result set for an error message.
func trim(m map[string]int) map[string]int {
	if len(m) <= 12 {
		return m
	}
	out := map[string]int{}
	for k, v := range m {
		if len(out) == 12 {
			break
		}
		out[k] = v
	}
	return out
}
