package app

import (
	"bytes"

	"github.com/kdaproject/kda/operators/input"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSnapshotRestoreContinuesEveryGoldenCase stops each golden case halfway
// through its records, snapshots, restores into a freshly compiled runtime,
// finishes there, and requires exactly the rows of an uninterrupted run.
func TestSnapshotRestoreContinuesEveryGoldenCase(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/queries/*.test")
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
			if c.wantError != "" || len(c.records) < 2 {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				want, err := c.run(1)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.runInterrupted(len(c.records) / 2)
				if err != nil {
					t.Fatal(err)
				}
				for name, rows := range want {
					if d := diffLines(rows, got[name]); d != "" {
						t.Errorf("stream %s after restore (- uninterrupted, + restored):\n%s", name, d)
					}
				}
			})
		}
	}
}

// runInterrupted replays the first `at` records, snapshots, and replays the
// rest in a new runtime restored from the snapshot.
func (c *goldenCase) runInterrupted(at int) (map[string][]string, error) {
	recs := c.inputRecords()
	bufs := map[string]*bytes.Buffer{}
	start := func() (*Runtime, error) {
		rt, err := Compile(c.definition(), nil)
		if err != nil {
			return nil, err
		}
		for _, name := range rt.StreamNames() {
			if bufs[name] == nil {
				bufs[name] = &bytes.Buffer{}
			}
			if err := rt.Subscribe(name, &JSONLines{W: bufs[name]}); err != nil {
				return nil, err
			}
		}
		return rt, nil
	}
	first, err := start()
	if err != nil {
		return nil, err
	}
	for _, r := range recs[:at] {
		if err := first.Push([]input.Record{r}); err != nil {
			return nil, err
		}
		if err := first.Advance(r.Rowtime); err != nil {
			return nil, err
		}
	}
	var snap bytes.Buffer
	if err := first.Snapshot(&snap); err != nil {
		return nil, err
	}
	first.Close()
	second, err := start()
	if err != nil {
		return nil, err
	}
	defer second.Close()
	if err := second.Restore(snap.Bytes()); err != nil {
		return nil, err
	}
	if err := second.Replay(recs[at:], ReplayOptions{BatchSize: 1}); err != nil {
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
