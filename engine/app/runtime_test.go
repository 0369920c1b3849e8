package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/input"
)

func TestInputParallelismSpreadsShardsOverInputStreams(t *testing.T) {
	def := Definition{Name: "par", SQL: `
CREATE STREAM ALL_ROWS (k VARCHAR(8), via VARCHAR(32));
CREATE PUMP P1 AS INSERT INTO ALL_ROWS SELECT STREAM K, 'one' FROM SOURCE_SQL_STREAM_001;
CREATE PUMP P2 AS INSERT INTO ALL_ROWS SELECT STREAM K, 'two' FROM SOURCE_SQL_STREAM_002;`}
	def.Input.Parallelism = 2
	def.Input.Schema = input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"}, Columns: []input.Column{{Name: "K", SQLType: "VARCHAR(8)", Mapping: "$.k"}}}
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out bytes.Buffer
	if err := rt.Subscribe("ALL_ROWS", &JSONLines{W: &out}); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1000).UTC()
	var recs []input.Record
	for i, shard := range []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"} {
		for j := 0; j < 2; j++ {
			recs = append(recs, input.Record{Data: []byte(`{"k":"` + shard[len(shard)-1:] + `"}`), Rowtime: at.Add(time.Duration(i) * time.Millisecond), ArrivalTime: at, ShardID: shard})
		}
	}
	if err := rt.Replay(recs, ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	byShard := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k := line[strings.Index(line, `"K":"`)+5:][:1]
		via := "one"
		if strings.Contains(line, `"VIA":"two"`) {
			via = "two"
		}
		if prev, ok := byShard[k]; ok && prev != via {
			t.Fatalf("shard %s went to both input streams", k)
		}
		byShard[k] = via
	}
	if len(byShard) != 4 {
		t.Fatalf("rows of %d shards, want 4:\n%s", len(byShard), out.String())
	}
	vias := map[string]bool{}
	for _, v := range byShard {
		vias[v] = true
	}
	if !vias["one"] || !vias["two"] {
		t.Fatalf("four shards all went to one input stream: %v", byShard)
	}
	if got := strings.Join(rt.StreamNames()[:2], ","); got != "SOURCE_SQL_STREAM_001,SOURCE_SQL_STREAM_002" {
		t.Errorf("input streams %s", got)
	}
}

func TestEventTimeSettingsReachTheWatermark(t *testing.T) {
	def := Definition{Name: "flink", SQL: `
CREATE STREAM O (k VARCHAR(4), n BIGINT);
CREATE PUMP P AS INSERT INTO O
  SELECT STREAM k, COUNT(*) FROM SOURCE_SQL_STREAM_001 GROUP BY TUMBLE(evt, INTERVAL '1' MINUTE), k;`}
	def.Input.Schema = input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"}, Columns: []input.Column{
		{Name: "K", SQLType: "VARCHAR(4)", Mapping: "$.k"}, {Name: "EVT", SQLType: "TIMESTAMP", Mapping: "$.evt"}}}
	var recs []input.Record
	for i, evt := range []string{"00:00:05", "00:01:30", "00:00:40"} {
		at := time.UnixMilli(int64(i+1) * 1000).UTC()
		recs = append(recs, input.Record{Data: []byte(`{"k":"a","evt":"1970-01-01 ` + evt + `"}`), Rowtime: at, ArrivalTime: at})
	}
	run := func(d Definition) (string, string) {
		rt, err := Compile(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		var out, errs bytes.Buffer
		_ = rt.Subscribe("O", &JSONLines{W: &out})
		_ = rt.Subscribe("error_stream", &JSONLines{W: &errs})
		if err := rt.Replay(recs, ReplayOptions{}); err != nil {
			t.Fatal(err)
		}
		return out.String(), errs.String()
	}
	strict, late := run(def)
	if !strings.Contains(strict, `"K":"a","N":1}`) || !strings.Contains(late, "LATE_ROW") {
		t.Fatalf("without out-of-orderness the 00:40 row must be late:\n%s%s", strict, late)
	}
	def.EventTime.MaxOutOfOrderness.Duration = time.Minute
	tolerant, none := run(def)
	if !strings.Contains(tolerant, `"ROWTIME":"1970-01-01 00:01:00.000","K":"a","N":2}`) || none != "" {
		t.Fatalf("with a minute of out-of-orderness the 00:40 row counts:\n%s%s", tolerant, none)
	}
}

func TestClockFunctionsFollowTheReplayClock(t *testing.T) {
	def := Definition{Name: "clock", SQL: `
CREATE STREAM O (started TIMESTAMP, row_time TIMESTAMP, k VARCHAR(4));
CREATE PUMP P AS INSERT INTO O SELECT STREAM CURRENT_TIMESTAMP, CURRENT_ROW_TIMESTAMP, K FROM SOURCE_SQL_STREAM_001;`}
	def.Input.Schema = input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"}, Columns: []input.Column{{Name: "K", SQLType: "VARCHAR(4)", Mapping: "$.k"}}}
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out bytes.Buffer
	_ = rt.Subscribe("O", &JSONLines{W: &out})
	recs := []input.Record{
		{Data: []byte(`{"k":"a"}`), Rowtime: time.UnixMilli(5000).UTC(), ArrivalTime: time.UnixMilli(5000).UTC()},
		{Data: []byte(`{"k":"b"}`), Rowtime: time.UnixMilli(9000).UTC(), ArrivalTime: time.UnixMilli(9000).UTC()},
	}
	if err := rt.Replay(recs, ReplayOptions{BatchSize: 1}); err != nil {
		t.Fatal(err)
	}
	want := `{"ROWTIME":"1970-01-01 00:00:05.000","STARTED":"1970-01-01 00:00:05.000","ROW_TIME":"1970-01-01 00:00:05.000","K":"a"}
{"ROWTIME":"1970-01-01 00:00:09.000","STARTED":"1970-01-01 00:00:05.000","ROW_TIME":"1970-01-01 00:00:09.000","K":"b"}
`
	if out.String() != want {
		t.Fatalf("got\n%swant\n%s", out.String(), want)
	}
}
