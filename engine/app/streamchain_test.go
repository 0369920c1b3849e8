package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/input"
)

// abcStreams are the streams A, B and C, each filled from the input
// records of its kind (abcDefinition).
const abcStreams = `CREATE STREAM A (k INTEGER, v INTEGER);
CREATE STREAM B (k INTEGER, v INTEGER);
CREATE STREAM C (k INTEGER, v INTEGER);
CREATE PUMP PA AS INSERT INTO A SELECT STREAM k, v FROM SOURCE_SQL_STREAM_001 WHERE kind = 'a';
CREATE PUMP PB AS INSERT INTO B SELECT STREAM k, v FROM SOURCE_SQL_STREAM_001 WHERE kind = 'b';
CREATE PUMP PC AS INSERT INTO C SELECT STREAM k, v FROM SOURCE_SQL_STREAM_001 WHERE kind = 'c';
`

// abcDefinition is an application of sql over JSON records
// {"kind": "a"|"b"|"c", "k": …, "v": …}.
func abcDefinition(name, sql string) Definition {
	def := Definition{Name: name, SQL: sql}
	def.Input.Schema.RecordFormat.Type = "JSON"
	def.Input.Schema.Columns = []input.Column{{Name: "KIND", SQLType: "VARCHAR(1)", Mapping: "$.kind"},
		{Name: "K", SQLType: "INTEGER", Mapping: "$.k"}, {Name: "V", SQLType: "INTEGER", Mapping: "$.v"}}
	return def
}

// TestThreeStreamJoinMatchesNestedLoops runs random joins of three
// streams — a pump lowered into two join pumps (sql/plan/streamchain.go)
// — through the whole runtime, with random batches, heartbeats and a
// snapshot and restore, and compares with nested loops over the inputs:
//
//	FROM A AS a [LEFT] JOIN B OVER (RANGE d1 PRECEDING|FOLLOWING) AS b ON a.k = b.k
//	[LEFT] JOIN C OVER (RANGE d2 PRECEDING|FOLLOWING) AS c ON c.k = a.k|b.k
//
// A first step's row has the ROWTIME of the later of its a and b rows
// (an a row without a match, LEFT, its own: b's window looks back then);
// the second step's window counts from it. A match's ROWTIME is the
// later of its step-1 row and its c row. The second step's
// NULL-extended rows (LEFT) are checked for presence, not time, as in
// operators/join's differential test.
func TestThreeStreamJoinMatchesNestedLoops(t *testing.T) {
	type row struct {
		t    int64 // ms
		k    *int64
		v    int64
		kind string
	}
	total := 0
	for iter := 0; iter < 200; iter++ {
		rng := rand.New(rand.NewSource(int64(iter)))
		d1 := int64(1+rng.Intn(4)) * 1000
		d2 := int64(1+rng.Intn(4)) * 1000
		following := rng.Intn(2) == 0
		left := rng.Intn(2) == 0
		following1 := rng.Intn(3) == 0
		left1 := !following1 && rng.Intn(3) == 0 // a's NULL rows come out at once only if b's window looks back
		onB := rng.Intn(2) == 0
		var rows []row
		tm := int64(1000)
		for i := 20 + rng.Intn(40); i > 0; i-- {
			tm += int64(rng.Intn(3)) * 500
			r := row{t: tm, v: int64(len(rows) + 1), kind: []string{"a", "b", "c"}[rng.Intn(3)]}
			if rng.Intn(8) > 0 {
				k := int64(rng.Intn(3))
				r.k = &k
			}
			rows = append(rows, r)
		}
		dir, kind, ckey, dir1, kind1 := "PRECEDING", "", "a.k", "PRECEDING", ""
		if following {
			dir = "FOLLOWING"
		}
		if following1 {
			dir1 = "FOLLOWING"
		}
		if left1 {
			kind1 = "LEFT "
		}
		if left {
			kind = "LEFT "
		}
		if onB {
			ckey = "b.k"
		}
		sql := abcStreams + fmt.Sprintf(`CREATE STREAM OUT_S (av INTEGER, bv INTEGER, cv INTEGER);
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM a.v, b.v, c.v
  FROM A AS a %sJOIN B OVER (RANGE INTERVAL '%d' SECOND %s) AS b ON a.k = b.k
  %sJOIN C OVER (RANGE INTERVAL '%d' SECOND %s) AS c ON c.k = %s;`, kind1, d1/1000, dir1, kind, d2/1000, dir, ckey)
		name := fmt.Sprintf("iter %d: %sJOIN B %s %d, %sJOIN C %s %d on %s", iter, kind1, dir1, d1, kind, dir, d2, ckey)

		// The reference: step 1, then step 2, by nested loops.
		type pair struct {
			t    int64
			a, b row // b.v 0: none (LEFT)
		}
		var step1 []pair
		for _, a := range rows {
			if a.kind != "a" {
				continue
			}
			matched := false
			for _, b := range rows {
				if b.kind != "b" || a.k == nil || b.k == nil || *a.k != *b.k {
					continue
				}
				if d := a.t - b.t; (!following1 && d >= 0 && d <= d1-1) || (following1 && d <= 0 && d >= -(d1-1)) {
					step1 = append(step1, pair{t: max(a.t, b.t), a: a, b: b})
					matched = true
				}
			}
			if left1 && !matched {
				step1 = append(step1, pair{t: a.t, a: a})
			}
		}
		var want, wantNull []string
		for _, j := range step1 {
			key := j.a.k
			if onB {
				key = j.b.k
			}
			matched := false
			for _, c := range rows {
				if c.kind != "c" || c.k == nil || key == nil || *c.k != *key {
					continue
				}
				d := j.t - c.t
				if (!following && d >= 0 && d <= d2-1) || (following && d <= 0 && d >= -(d2-1)) {
					want = append(want, fmt.Sprintf("%d %d %d %d", max(j.t, c.t), j.a.v, j.b.v, c.v))
					matched = true
				}
			}
			if left && !matched {
				wantNull = append(wantNull, fmt.Sprintf("%d %d", j.a.v, j.b.v))
			}
		}

		// The runtime, fed in random batches, interrupted once.
		var recs []input.Record
		for i, r := range rows {
			doc := map[string]any{"kind": r.kind, "v": r.v}
			if r.k != nil {
				doc["k"] = *r.k
			}
			data, _ := json.Marshal(doc)
			at := time.UnixMilli(r.t).UTC()
			recs = append(recs, input.Record{Data: data, Rowtime: at, ArrivalTime: at, ShardID: "shardId-000000000000",
				PartitionKey: "k", SequenceNumber: fmt.Sprint(i + 1)})
		}
		def := abcDefinition("chain", sql)
		var out, errs bytes.Buffer
		start := func() *Runtime {
			rt, err := Compile(def, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := rt.Subscribe("OUT_S", &JSONLines{W: &out}); err != nil {
				t.Fatal(err)
			}
			if err := rt.Subscribe("error_stream", &JSONLines{W: &errs}); err != nil {
				t.Fatal(err)
			}
			rt.SetClock(recs[0].Rowtime, nil)
			return rt
		}
		rt := start()
		cut := rng.Intn(len(recs))
		for i := 0; i < len(recs); {
			end := min(i+1+rng.Intn(5), len(recs))
			if i < cut && end > cut {
				end = cut
			}
			if err := rt.Push(recs[i:end]); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := rt.Advance(recs[end-1].Rowtime); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			i = end
			if i == cut {
				var snap bytes.Buffer
				if err := rt.Snapshot(&snap); err != nil {
					t.Fatalf("%s: snapshot: %v", name, err)
				}
				rt.Close()
				rt = start()
				if err := rt.Restore(snap.Bytes()); err != nil {
					t.Fatalf("%s: restore: %v", name, err)
				}
			}
		}
		if err := rt.Advance(EndOfTime); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rt.Close()
		if errs.Len() > 0 {
			t.Fatalf("%s: error_stream:\n%s", name, errs.String())
		}

		var got, gotNull []string
		last := int64(-1)
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if line == "" {
				continue
			}
			var r struct {
				ROWTIME    string
				AV, BV, CV *int64
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %s: %v", name, line, err)
			}
			var none int64
			if r.BV == nil { // a's NULL-extended row of the first step
				r.BV = &none
			}
			at, err := time.Parse("2006-01-02 15:04:05.000", r.ROWTIME)
			if err != nil {
				t.Fatal(err)
			}
			ms := at.UnixMilli()
			if ms < last {
				t.Fatalf("%s: output ROWTIME goes back from %d to %d", name, last, ms)
			}
			last = ms
			if r.CV == nil {
				gotNull = append(gotNull, fmt.Sprintf("%d %d", *r.AV, *r.BV))
				continue
			}
			got = append(got, fmt.Sprintf("%d %d %d %d", ms, *r.AV, *r.BV, *r.CV))
		}
		for _, s := range [][]string{want, wantNull, got, gotNull} {
			sort.Strings(s)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: matches\n got %v\nwant %v", name, got, want)
		}
		if strings.Join(gotNull, "\n") != strings.Join(wantNull, "\n") {
			t.Fatalf("%s: NULL-extended rows\n got %v\nwant %v", name, gotNull, wantNull)
		}
		total += len(got)
	}
	t.Logf("%d matches checked", total)
}
