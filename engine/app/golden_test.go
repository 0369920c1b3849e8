package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kdaproject/kda/operators/input"
)

// TestGoldenQueries runs every case of testdata/queries/*.test (see
// golden_parse_test.go for the format) and compares whole outputs. Each case
// runs twice, one record per batch and all records in one batch (split
// only at reference table reloads), and both runs must give the same rows:
// results may not depend on batching. TestSnapshotRestoreContinuesEveryGoldenCase
// runs each case a third time, interrupted by a snapshot and restore
// (runInterrupted).
func TestGoldenQueries(t *testing.T) {
	files, err := filepath.Glob("../../testdata/queries/*.test")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files found: %v", err)
	}
	total := 0
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases, err := parseGolden(filepath.Base(f), string(text))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			total++
			t.Run(strings.TrimSuffix(c.file, ".test")+"/"+c.name, func(t *testing.T) { runGolden(t, c) })
		}
	}
	t.Logf("%d golden cases in %d files", total, len(files))
}

func (c *goldenCase) definition() Definition {
	d := Definition{Name: "golden", SQL: c.sql}
	d.Input.Schema.RecordFormat.Type = c.format
	if c.delimiter != "" {
		d.Input.Schema.RecordFormat.ColumnDelimiter = c.delimiter
	}
	d.Input.Schema.RecordFormat.RecordRowPath = c.rowPath
	for _, col := range c.columns {
		d.Input.Schema.Columns = append(d.Input.Schema.Columns, input.Column{Name: col.name, SQLType: col.sqlType, Mapping: col.mapping})
	}
	for _, t := range c.tables {
		rt := ReferenceTable{Name: t.name, Source: ReferenceSource{S3: &S3Source{Bucket: goldenBucket, Key: t.key()}}}
		rt.Schema.RecordFormat = input.RecordFormat{Type: t.format, ColumnDelimiter: t.delimiter, RecordRowPath: t.rowPath}
		for _, col := range t.columns {
			rt.Schema.Columns = append(rt.Schema.Columns, input.Column{Name: col.name, SQLType: col.sqlType, Mapping: col.mapping})
		}
		d.ReferenceTables = append(d.ReferenceTables, rt)
	}
	return d
}

func (c *goldenCase) inputRecords() []input.Record {
	recs := make([]input.Record, len(c.records))
	for i, r := range c.records {
		recs[i] = input.Record{Data: []byte(r.data), Rowtime: r.at, ArrivalTime: r.at, ShardID: "shardId-000000000000",
			PartitionKey: "k", SequenceNumber: fmt.Sprint(i + 1)}
	}
	return recs
}

// goldenBucket is the object store bucket a case's tables load from.
const goldenBucket = "tables"

// tableKey is the object a table's rows are stored in.
func (t *goldenTable) key() string { return t.name + "." + strings.ToLower(t.format) }

// source is a table's rows as its source file: one row a line.
func goldenSource(rows []string) []byte {
	if len(rows) == 0 {
		return nil
	}
	return []byte(strings.Join(rows, "\n") + "\n")
}

// goldenObjects is an in-memory object store holding a case's table
// sources (bucket/key → bytes); a reload rewrites an object.
type goldenObjects map[string][]byte

// GetObject implements ObjectReader.
func (o goldenObjects) GetObject(_ context.Context, bucket, key string, limit int64) ([]byte, error) {
	data, ok := o[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("no object %s/%s", bucket, key)
	}
	if limit > 0 && int64(len(data)) > limit {
		return nil, fmt.Errorf("%s/%s is %d bytes, more than the limit of %d (maxBytes)", bucket, key, len(data), limit)
	}
	return data, nil
}

// goldenRun is one compiled runtime of a case with the loader of its
// reference tables and the store they load from.
type goldenRun struct {
	c       *goldenCase
	rt      *Runtime
	refs    *refLoader
	objects goldenObjects
	recs    []input.Record
}

// start compiles the case, subscribes bufs (when not nil) to every stream
// and loads the tables from objects with the engine's loader.
func (c *goldenCase) start(objects goldenObjects, bufs map[string]*bytes.Buffer) (*goldenRun, error) {
	rt, err := Compile(c.definition(), nil)
	if err != nil {
		return nil, err
	}
	for _, name := range rt.StreamNames() {
		if bufs == nil {
			break
		}
		if bufs[name] == nil {
			bufs[name] = &bytes.Buffer{}
		}
		if err := rt.Subscribe(name, &JSONLines{W: bufs[name]}); err != nil {
			rt.Close()
			return nil, err
		}
	}
	refs := newRefLoader(rt.def, rt.tables, ReferenceOptions{
		Objects: func(context.Context) (ObjectReader, error) { return objects, nil },
	})
	if err := refs.loadAll(context.Background()); err != nil {
		rt.Close()
		return nil, err
	}
	return &goldenRun{c: c, rt: rt, refs: refs, objects: objects, recs: c.inputRecords()}, nil
}

// objects is the store holding each table's first rows.
func (c *goldenCase) objects() goldenObjects {
	o := goldenObjects{}
	for _, t := range c.tables {
		o[goldenBucket+"/"+t.key()] = goldenSource(t.rows)
	}
	return o
}

// feed pushes records[from:to] in batches of at most batch, with a
// heartbeat after each, like Replay. A batch never spans a reload: the
// reloads before records[i] are applied (rows written, table refreshed)
// before the batch that starts with it, and those after the last record
// at its end.
func (g *goldenRun) feed(from, to, batch int) error {
	for i := from; ; {
		if i < to || to == len(g.recs) {
			for _, r := range g.c.reloads {
				if r.before == i {
					if err := g.reload(r); err != nil {
						return err
					}
				}
			}
		}
		if i >= to {
			return nil
		}
		end := min(i+batch, to)
		for _, r := range g.c.reloads {
			if r.before > i && r.before < end {
				end = r.before
			}
		}
		if err := g.rt.Push(g.recs[i:end]); err != nil {
			return fmt.Errorf("records %d..%d: %w", i+1, end, err)
		}
		if err := g.rt.Advance(g.recs[end-1].Rowtime); err != nil {
			return fmt.Errorf("records %d..%d: heartbeat: %w", i+1, end, err)
		}
		i = end
	}
}

// reload replaces a table's source and reloads it, as kda app refresh
// does.
func (g *goldenRun) reload(r goldenReload) error {
	t := g.c.table(r.table)
	key := goldenBucket + "/" + t.key()
	old := g.objects[key]
	g.objects[key] = goldenSource(r.rows)
	err := g.refs.refresh(context.Background(), t.name)
	switch {
	case err != nil && r.fails == "":
		return fmt.Errorf("reload %s before record %d: %w", t.name, r.before+1, err)
	case err == nil && r.fails != "":
		return fmt.Errorf("reload %s before record %d loaded; want an error with %q", t.name, r.before+1, r.fails)
	case err != nil && !strings.Contains(err.Error(), r.fails):
		return fmt.Errorf("reload %s before record %d: the error does not contain %q:\n%w", t.name, r.before+1, r.fails, err)
	case err != nil:
		// The table keeps the rows it had; so does the store, so that a
		// restored runtime (runInterrupted) loads them too.
		g.objects[key] = old
	}
	return nil
}

// rendered is each stream's rows, one JSON object a line.
func rendered(bufs map[string]*bytes.Buffer) map[string][]string {
	out := map[string][]string{}
	for name, b := range bufs {
		if b.Len() > 0 {
			out[name] = strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		}
	}
	return out
}

// run replays the case in batches of at most batch records and returns
// each stream's rendered rows.
func (c *goldenCase) run(batch int) (map[string][]string, error) {
	bufs := map[string]*bytes.Buffer{}
	g, err := c.start(c.objects(), bufs)
	if err != nil {
		return nil, err
	}
	defer g.rt.Close()
	if len(g.recs) > 0 {
		g.rt.SetClock(g.recs[0].Rowtime, nil)
	}
	if err := g.feed(0, len(g.recs), batch); err != nil {
		return nil, fmt.Errorf("replay %w", err)
	}
	if err := g.rt.Advance(EndOfTime); err != nil {
		return nil, fmt.Errorf("replay: closing windows: %w", err)
	}
	return rendered(bufs), nil
}

// runInterrupted replays the first `at` records one by one, snapshots,
// and replays the rest in a new runtime restored from the snapshot. The
// new runtime loads its tables afresh, as a restarted application does:
// the rows of the last reload before the interruption.
func (c *goldenCase) runInterrupted(at int) (map[string][]string, error) {
	bufs := map[string]*bytes.Buffer{}
	objects := c.objects()
	first, err := c.start(objects, bufs)
	if err != nil {
		return nil, err
	}
	if err := first.feed(0, at, 1); err != nil {
		first.rt.Close()
		return nil, err
	}
	var snap bytes.Buffer
	if err := first.rt.Snapshot(&snap); err != nil {
		first.rt.Close()
		return nil, err
	}
	first.rt.Close()
	second, err := c.start(objects, bufs)
	if err != nil {
		return nil, err
	}
	defer second.rt.Close()
	if err := second.rt.Restore(snap.Bytes()); err != nil {
		return nil, err
	}
	if at < len(second.recs) {
		second.rt.SetClock(second.recs[at].Rowtime, nil)
	}
	if err := second.feed(at, len(second.recs), 1); err != nil {
		return nil, fmt.Errorf("replay %w", err)
	}
	if err := second.rt.Advance(EndOfTime); err != nil {
		return nil, fmt.Errorf("replay: closing windows: %w", err)
	}
	return rendered(bufs), nil
}

// compileAndLoad is what a case's error: block is checked against: the
// SQL's planning error, else the first table load's.
func (c *goldenCase) compileAndLoad() error {
	g, err := c.start(c.objects(), nil)
	if err != nil {
		return err
	}
	g.rt.Close()
	return nil
}

func runGolden(t *testing.T, c *goldenCase) {
	where := fmt.Sprintf("%s:%d", c.file, c.line)
	if c.wantError != "" {
		err := c.compileAndLoad()
		if err == nil {
			t.Fatalf("%s: the SQL was accepted and the tables loaded; want the error\n%s", where, c.wantError)
		}
		if err.Error() != c.wantError {
			t.Fatalf("%s: wrong error\n--- want\n%s\n--- got\n%s", where, c.wantError, err.Error())
		}
		return
	}
	one, err := c.run(1)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	all, err := c.run(1 << 20)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	names := map[string]bool{}
	for n := range one {
		names[n] = true
	}
	for n := range c.expect {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if _, ok := c.expect[n]; !ok && !strings.HasPrefix(n, "SOURCE_SQL_STREAM") {
			t.Errorf("%s: stream %s has rows but no expect block:\n%s", where, n, strings.Join(one[n], "\n"))
			continue
		}
		if strings.HasPrefix(n, "SOURCE_SQL_STREAM") && c.expect[n] == nil {
			continue // input streams are checked only when a case asks
		}
		if d := diffLines(c.expect[n], one[n]); d != "" {
			t.Errorf("%s: stream %s differs (- want, + got):\n%s", where, n, d)
		}
		if d := diffLines(one[n], all[n]); d != "" {
			t.Errorf("%s: stream %s depends on batching (- one record per batch, + one batch):\n%s", where, n, d)
		}
	}
}

// diffLines is a small line diff for test failures ("" when equal).
func diffLines(want, got []string) string {
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return ""
	}
	// Longest common subsequence, fine for the few rows of a case.
	m, n := len(want), len(got)
	lcs := make([][]int, m+1)
	for i := range lcs {
		lcs[i] = make([]int, n+1)
	}
	for i := m - 1; i >= 0; i-- {
		for j := n - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < m || j < n {
		switch {
		case i < m && j < n && want[i] == got[j]:
			b.WriteString("  " + want[i] + "\n")
			i++
			j++
		case j < n && (i == m || lcs[i][j+1] >= lcs[i+1][j]):
			b.WriteString("+ " + got[j] + "\n")
			j++
		default:
			b.WriteString("- " + want[i] + "\n")
			i++
		}
	}
	return b.String()
}
