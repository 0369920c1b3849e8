package app

import (
	"bytes"
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
// runs twice, one record per batch and all records in one batch, and both
// runs must give the same rows: results may not depend on batching.
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

// runCase replays the case and returns each stream's rendered rows.
func (c *goldenCase) run(batch int) (map[string][]string, error) {
	rt, err := Compile(c.definition(), nil)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	bufs := map[string]*bytes.Buffer{}
	for _, name := range rt.StreamNames() {
		b := &bytes.Buffer{}
		bufs[name] = b
		if err := rt.Subscribe(name, &JSONLines{W: b}); err != nil {
			return nil, err
		}
	}
	if err := rt.Replay(c.inputRecords(), ReplayOptions{BatchSize: batch}); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for name, b := range bufs {
		if b.Len() > 0 {
			out[name] = strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		}
	}
	return out, nil
}

func runGolden(t *testing.T, c *goldenCase) {
	where := fmt.Sprintf("%s:%d", c.file, c.line)
	if c.wantError != "" {
		_, err := Compile(c.definition(), nil)
		if err == nil {
			t.Fatalf("%s: the SQL was accepted; want the error\n%s", where, c.wantError)
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
