package app

import (
	"os"
	"path/filepath"
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
