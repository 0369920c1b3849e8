package nab

import (
	"encoding/csv"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is the NAB copy shipped next to the repository checkout.
const corpusDir = "../../../../shared/data/nab"

func corpus(t *testing.T, match func(string) bool) []*Series {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("no NAB corpus at", corpusDir)
	}
	ss, err := Load(corpusDir, match)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestLoadCorpus(t *testing.T) {
	ss := corpus(t, func(n string) bool { return strings.HasPrefix(n, "realKnownCause/") })
	if len(ss) != 7 {
		t.Fatalf("%d realKnownCause series", len(ss))
	}
	for _, s := range ss {
		if len(s.Values) == 0 || len(s.Values) != len(s.Times) || s.KDA == nil || len(s.KDA) != len(s.Values) {
			t.Errorf("%s: %d values, %d times, %d KDA scores", s.Name, len(s.Values), len(s.Times), len(s.KDA))
		}
		if len(s.Labels().Windows) != len(s.Windows) || len(s.Windows) == 0 {
			t.Errorf("%s: windows %d -> %d", s.Name, len(s.Windows), len(s.Labels().Windows))
		}
		for i := 0; i < 256; i++ {
			if s.KDA[i] != 0 {
				t.Fatalf("%s: KDA score %v during warm-up row %d", s.Name, s.KDA[i], i)
			}
		}
	}
	if _, err := Load(t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "no NAB corpus") {
		t.Errorf("missing corpus: %v", err)
	}
}

// TestKDAPublishedScores scores KDA's own RANDOM_CUT_FOREST output (the 24
// series NAB publishes it for) and checks every series against the
// S(t)_standard column NAB wrote next to it, which sums, per series, to
// that series' standard-profile raw score at NAB's optimised threshold.
func TestKDAPublishedScores(t *testing.T) {
	ss := corpus(t, nil)
	var with []*Series
	var scores [][]float64
	for _, s := range ss {
		if s.KDA != nil {
			with = append(with, s)
			scores = append(scores, s.KDA)
		}
	}
	if len(ss) != 58 || len(with) != 24 {
		t.Fatalf("%d series, %d with KDA results", len(ss), len(with))
	}
	res, err := Standard.Optimise(Runs(with, scores))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("KDA RCF on %d series: threshold %.4f raw %.4f null %.0f perfect %.0f score %.2f (TP %d FP %d FN %d)",
		len(with), res.Threshold, res.Raw, res.Null, res.Perfect, res.Score, res.TP, res.FP, res.FN)
	if res.Score < 40 || res.Score > 65 {
		t.Errorf("score %.2f is not near NAB's published 51.7", res.Score)
	}
	for k, s := range with {
		want := nabSeriesScore(t, s.Name)
		if got := res.Series[k].Raw; math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: raw %.6f, NAB's S(t)_standard sums to %.6f", s.Name, got, want)
		}
	}
}

func nabSeriesScore(t *testing.T, name string) float64 {
	cat, file := path.Split(name)
	f, err := os.Open(filepath.Join(corpusDir, "results", "randomCutForest", cat, "randomCutForest_"+file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	c := col(recs[0], "S(t)_standard")
	sum := 0.0
	for _, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[c], 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	return sum
}
