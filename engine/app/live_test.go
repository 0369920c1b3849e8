package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

// testClock is the wall clock of live applications in tests: ROWTIME comes
// from it, so a test decides when windows close.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type liveEnv struct {
	t     *testing.T
	st    *store.Store
	clock *testClock
	m     *Manager
	// retry is the managers' RetryInterval (default 20ms).
	retry time.Duration
}

func newLiveEnv(t *testing.T) *liveEnv {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	e := &liveEnv{t: t, st: st, clock: &testClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}}
	e.open()
	t.Cleanup(func() {
		if e.m != nil {
			e.m.Close()
		}
		st.Close()
	})
	for _, s := range []string{"in", "out"} {
		if err := st.CreateStream(store.CreateStreamInput{StreamName: s, ShardCount: 2}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// open (re)opens the manager, as the engine does when it opens.
func (e *liveEnv) open() {
	e.t.Helper()
	retry := e.retry
	if retry == 0 {
		retry = 20 * time.Millisecond
	}
	m, err := NewManager(e.st, ManagerOptions{Now: e.clock.Now, Heartbeat: 2 * time.Millisecond, RetryInterval: retry})
	if err != nil {
		e.t.Fatal(err)
	}
	e.m = m
}

const countSQL = `
CREATE STREAM OUT_S (k VARCHAR(8), n BIGINT, total BIGINT);
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM k, COUNT(*), SUM(v) FROM SOURCE_SQL_STREAM_001
  GROUP BY k, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '10' SECOND);`

func countDef(name string) Definition {
	return Definition{
		Name: name, SQL: countSQL,
		Input: Input{Stream: "in", StartingPosition: StartTrimHorizon, Schema: input.Schema{
			RecordFormat: input.RecordFormat{Type: "JSON"},
			Columns: []input.Column{
				{Name: "K", SQLType: "VARCHAR(8)", Mapping: "$.k"},
				{Name: "V", SQLType: "INTEGER", Mapping: "$.v"},
			}}},
		Outputs:            []Output{{Name: "OUT_S", Stream: "out"}, {Name: "error_stream", Stream: "out"}},
		CheckpointInterval: Duration{5 * time.Millisecond},
	}
}

func (e *liveEnv) put(recs ...string) {
	e.t.Helper()
	in := make([]store.PutRecordInput, len(recs))
	for i, r := range recs {
		in[i] = store.PutRecordInput{PartitionKey: fmt.Sprint(i), Data: []byte(r)}
	}
	if _, err := e.st.PutRecords("in", in); err != nil {
		e.t.Fatal(err)
	}
}

// waitFor polls cond until it holds.
func (e *liveEnv) waitFor(what string, cond func(d Description) bool) Description {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := e.m.Describe("counts")
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s; application: %+v", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// consumed waits until the application has read n records and checkpointed
// after that.
func (e *liveEnv) consumed(n uint64) {
	e.t.Helper()
	d := e.waitFor(fmt.Sprintf("%d records are read", n), func(d Description) bool { return d.RecordsIn >= n })
	at := time.Now()
	_ = d
	e.waitFor("a checkpoint follows", func(d Description) bool { return d.LastCheckpoint != nil && time.Since(at) > 30*time.Millisecond })
}

// output reads the output stream, rows sorted.
func (e *liveEnv) output() []string {
	e.t.Helper()
	var rows []string
	for _, sh := range []string{"shardId-000000000000", "shardId-000000000001"} {
		it, err := e.st.GetShardIterator(store.GetShardIteratorInput{StreamName: "out", ShardID: sh, Type: store.TrimHorizon})
		if err != nil {
			e.t.Fatal(err)
		}
		out, err := e.st.GetRecords(it, 10000)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range out.Records {
			rows = append(rows, string(r.Data))
		}
	}
	sort.Strings(rows)
	return rows
}

func (e *liveEnv) waitOutput(want ...string) {
	e.t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := e.output()
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			return
		}
		if time.Now().After(deadline) || len(got) > len(want) {
			e.t.Fatalf("output stream:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLifecycleCreateDescribeUpdateStopStartDelete(t *testing.T) {
	e := newLiveEnv(t)
	d, err := e.m.Create(countDef("counts"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusReady || d.Version != 1 || len(d.Pumps) != 1 || len(d.Pumps[0].Operators) == 0 {
		t.Fatalf("after create: %+v", d)
	}
	if _, err := e.m.Create(countDef("counts")); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	if d, err = e.m.Start("counts", ""); err != nil || d.Status != StatusRunning {
		t.Fatalf("start: %+v, %v", d, err)
	}
	e.put(`{"k":"a","v":1}`)
	e.consumed(1)

	def := countDef("counts")
	def.CheckpointInterval = Duration{7 * time.Millisecond}
	if d, err = e.m.Update("counts", def); err != nil || d.Version != 2 || d.Status != StatusRunning || !d.StateRestored {
		t.Fatalf("compatible update: %+v, %v", d, err)
	}
	def.SQL = strings.Replace(countSQL, "SUM(v)", "MAX(v)", 1)
	if d, err = e.m.Update("counts", def); err != nil || d.Version != 3 || d.StateRestored {
		t.Fatalf("incompatible update: version %d restored %v, %v", d.Version, d.StateRestored, err)
	}
	if d, err = e.m.Stop("counts"); err != nil || d.Status != StatusReady {
		t.Fatalf("stop: %+v, %v", d, err)
	}
	if d, err = e.m.Start("counts", ""); err != nil || d.Status != StatusRunning || d.Version != 3 {
		t.Fatalf("start again: %+v, %v", d, err)
	}
	if got := e.m.List(); len(got) != 1 || got[0].Name != "counts" {
		t.Fatalf("list: %+v", got)
	}
	if err := e.m.Delete("counts"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Describe("counts"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("describe after delete: %v", err)
	}
	if keys, _ := e.st.AppStateKeys("app/counts/"); len(keys) != 0 {
		t.Fatalf("state left after delete: %v", keys)
	}
}

func TestBadDefinitionsNameWhatIsWrong(t *testing.T) {
	e := newLiveEnv(t)
	cases := []struct {
		name string
		mut  func(*Definition)
		want string
	}{
		{"a SQL error points at its line", func(d *Definition) {
			d.SQL = "CREATE STREAM X (a INTEGER);\nCREATE PUMP P AS INSERT INTO X SELECT STREAM nope FROM SOURCE_SQL_STREAM_001;"
		}, "line 2"},
		{"an output must name an in-application stream", func(d *Definition) { d.Outputs[0].Name = "out_s" }, `outputs[0].name: no in-application stream "out_s"`},
		{"the input stream is required", func(d *Definition) { d.Input.Stream = "" }, "input.stream"},
		{"names are checked", func(d *Definition) { d.Name = "a b" }, "name:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := countDef("counts")
			c.mut(&def)
			_, err := e.m.Create(def)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an invalid-application error mentioning %q", err, c.want)
			}
		})
	}
	def := countDef("counts")
	def.Input.Stream = "missing"
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err == nil || !strings.Contains(err.Error(), "input.stream") {
		t.Fatalf("start without its input stream: %v", err)
	}
}

func TestTumblingWindowRowsReachTheOutputStreamExactly(t *testing.T) {
	e := newLiveEnv(t)
	if _, err := e.m.Create(countDef("counts")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`, `{"k":"b","v":2}`, `{"k":"a","v":3}`, `not json`)
	e.consumed(4)
	e.clock.Add(10 * time.Second)
	e.put(`{"k":"a","v":10}`)
	e.consumed(5)
	e.clock.Add(10 * time.Second)
	d := e.waitFor("both windows are delivered", func(d Description) bool { return d.Delivered["OUT_S"] == 3 })
	got := e.output()
	var rows, errs []string
	for _, r := range got {
		if strings.Contains(r, "ERROR_NAME") {
			errs = append(errs, r)
		} else {
			rows = append(rows, r)
		}
	}
	want := []string{
		`{"ROWTIME":"2026-03-01 10:00:10.000","K":"a","N":2,"TOTAL":4}`,
		`{"ROWTIME":"2026-03-01 10:00:10.000","K":"b","N":1,"TOTAL":2}`,
		`{"ROWTIME":"2026-03-01 10:00:20.000","K":"a","N":1,"TOTAL":10}`,
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "PARSE_ERROR") {
		t.Fatalf("error_stream rows: %v", errs)
	}
	if d.RecordsIn != 5 || d.Status != StatusRunning {
		t.Fatalf("describe: %+v", d)
	}
}

func TestStopStartAndReopenKeepOpenWindows(t *testing.T) {
	e := newLiveEnv(t)
	if _, err := e.m.Create(countDef("counts")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`, `{"k":"a","v":2}`)
	e.consumed(2)
	if _, err := e.m.Stop("counts"); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":4}`) // read after the restart, into the same window
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.consumed(3)
	// The engine closes (final checkpoint) and opens again: the application
	// comes back by itself with its window.
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":8}`)
	e.open()
	e.consumed(4)
	e.clock.Add(10 * time.Second)
	e.waitOutput(`{"ROWTIME":"2026-03-01 10:00:10.000","K":"a","N":4,"TOTAL":15}`)
}

// A retry tick taken just before Close used to wait for the lock while
// Close stopped the runners, then start a runner of its own on the closed
// manager (the application still wants to run). Nothing stopped that
// runner: beside the next manager's it read the same records and committed
// every window a second time. Retries every millisecond and many close/open
// cycles make the tick likely to land there.
func TestClosingTheManagerLeavesNoRunnerBehind(t *testing.T) {
	e := newLiveEnv(t)
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	e.retry = time.Millisecond
	e.open()
	if _, err := e.m.Create(countDef("counts")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	const cycles = 40
	for i := range cycles {
		e.put(`{"k":"a","v":1}`)
		if i%8 == 7 {
			// Stop and Start must not leave a second runner either.
			if _, err := e.m.Stop("counts"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.m.Start("counts", ""); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Duration(i%4) * time.Millisecond) // some heartbeats and checkpoints
		if err := e.m.Close(); err != nil {
			t.Fatal(err)
		}
		e.m.mu.Lock()
		for name, a := range e.m.apps {
			if a.run != nil {
				t.Errorf("cycle %d: application %s has a runner after Close", i, name)
			}
		}
		e.m.mu.Unlock()
		if t.Failed() {
			t.FailNow()
		}
		e.open()
	}
	e.consumed(cycles)
	e.clock.Add(10 * time.Second)
	want := fmt.Sprintf(`{"ROWTIME":"2026-03-01 10:00:10.000","K":"a","N":%d,"TOTAL":%d}`, cycles, cycles)
	e.waitOutput(want)
	time.Sleep(50 * time.Millisecond) // a stray runner would commit by now
	if got := e.output(); len(got) != 1 {
		t.Fatalf("output stream:\n  %s\nwant only:\n  %s", strings.Join(got, "\n  "), want)
	}
}

func TestALostRunResumesFromTheLastCheckpointWithoutRepeats(t *testing.T) {
	e := newLiveEnv(t)
	def := countDef("counts")
	def.CheckpointInterval = Duration{time.Hour} // checkpoints only when asked
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`)
	e.waitFor("the record is read", func(d Description) bool { return d.RecordsIn == 1 })
	// A stop with its final checkpoint, then a run that dies without one,
	// as kill -9 would: everything it computed is lost, nothing was seen.
	if _, err := e.m.Stop("counts"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":2}`)
	e.waitFor("the second record is read", func(d Description) bool { return d.RecordsIn == 2 })
	e.clock.Add(10 * time.Second)
	time.Sleep(20 * time.Millisecond) // the window closes into the buffer
	e.m.mu.Lock()
	a := e.m.apps["counts"]
	_ = e.m.halt(a, false)
	e.m.mu.Unlock()
	if got := e.output(); len(got) != 0 {
		t.Fatalf("rows visible before any checkpoint: %v", got)
	}
	// The retry loop starts it again from the checkpoint: the window comes
	// back with one record and the second record is read again.
	e.waitFor("the application runs again", func(d Description) bool { return d.Status == StatusRunning && d.RecordsIn == 2 })
	e.clock.Add(10 * time.Second) // the re-read record's window closes too
	if _, err := e.m.Stop("counts"); err != nil {
		t.Fatal(err)
	}
	got := e.output()
	var total, n int
	for _, r := range got {
		var row struct{ N, TOTAL int }
		if err := json.Unmarshal([]byte(r), &row); err != nil {
			t.Fatal(err)
		}
		n += row.N
		total += row.TOTAL
	}
	if n != 2 || total != 3 {
		t.Fatalf("rows %v count %d records with total %d, want 2 and 3", got, n, total)
	}
}

func TestFileOutputsAreCutBackToTheirCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(path, []byte("kept\nlost after crash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openFileSink(path, 5)
	if err != nil {
		t.Fatal(err)
	}
	f.buf = append(f.buf, "new\n"...)
	if n, err := f.flush(); err != nil || n != 9 {
		t.Fatalf("flush: %d, %v", n, err)
	}
	f.fh.Close()
	if b, _ := os.ReadFile(path); string(b) != "kept\nnew\n" {
		t.Fatalf("file holds %q", b)
	}
}

func TestReshardingIsFollowedParentsBeforeChildren(t *testing.T) {
	e := newLiveEnv(t)
	if _, err := e.m.Create(countDef("counts")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`, `{"k":"a","v":1}`, `{"k":"a","v":1}`)
	e.consumed(3)
	if _, err := e.st.UpdateShardCount("in", 4); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`, `{"k":"a","v":1}`, `{"k":"a","v":1}`, `{"k":"a","v":1}`)
	e.consumed(7)
	d := e.waitFor("the children are read", func(d Description) bool { return len(d.Shards) == 4 })
	e.clock.Add(10 * time.Second)
	e.waitOutput(`{"ROWTIME":"2026-03-01 10:00:10.000","K":"a","N":7,"TOTAL":7}`)
	_ = d
}
