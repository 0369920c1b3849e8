package nab

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// KDAScale turns the anomaly_score column of NAB's randomCutForest results
// (KDA's score divided by log2(256)) back into what KDA's RANDOM_CUT_FOREST
// returned.
const KDAScale = 8

// Window is a labelled anomaly window, both ends inclusive.
type Window struct{ Start, End time.Time }

// Series is one NAB data file with its labels.
type Series struct {
	// Name is the corpus key, "<category>/<series>.csv".
	Name    string
	Times   []time.Time
	Values  []float64
	Windows []Window
	// KDA holds KDA's published RANDOM_CUT_FOREST scores (×KDAScale), one
	// per row, or nil where NAB has no randomCutForest result for the series.
	KDA []float64
}

// timeLayouts are the timestamp formats found in NAB's data and labels.
var timeLayouts = []string{"2006-01-02 15:04:05.000000", "2006-01-02 15:04:05"}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %q", s)
}

// Load reads the corpus under dir (data/, labels/combined_windows.json and,
// where present, results/randomCutForest/). match, when not nil, selects
// series by name. Series come back sorted by name.
func Load(dir string, match func(name string) bool) ([]*Series, error) {
	if st, err := os.Stat(filepath.Join(dir, "data")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("no NAB corpus at %s (expected %s)", dir, filepath.Join(dir, "data"))
	}
	raw, err := os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("NAB labels: %w", err)
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("NAB labels: %w", err)
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		if match == nil || match(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]*Series, 0, len(names))
	for _, name := range names {
		s, err := loadSeries(dir, name, labels[name])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func loadSeries(dir, name string, wins [][2]string) (*Series, error) {
	s := &Series{Name: name}
	recs, err := readCSV(filepath.Join(dir, "data", filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	ti, vi := col(recs[0], "timestamp"), col(recs[0], "value")
	if ti < 0 || vi < 0 {
		return nil, fmt.Errorf("%s: want timestamp,value columns", name)
	}
	for i, r := range recs[1:] {
		t, err := parseTime(r[ti])
		if err != nil {
			return nil, fmt.Errorf("%s row %d: %w", name, i+2, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(r[vi]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s row %d: %w", name, i+2, err)
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, v)
	}
	for _, w := range wins {
		a, err := parseTime(w[0])
		if err != nil {
			return nil, fmt.Errorf("%s window: %w", name, err)
		}
		b, err := parseTime(w[1])
		if err != nil {
			return nil, fmt.Errorf("%s window: %w", name, err)
		}
		s.Windows = append(s.Windows, Window{a, b})
	}
	cat, file := path.Split(name)
	res := filepath.Join(dir, "results", "randomCutForest", filepath.FromSlash(cat), "randomCutForest_"+file)
	recs, err = readCSV(res)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	ai := col(recs[0], "anomaly_score")
	if ai < 0 || len(recs)-1 != len(s.Values) {
		return nil, fmt.Errorf("%s: want an anomaly_score column and %d rows", res, len(s.Values))
	}
	s.KDA = make([]float64, len(s.Values))
	for i, r := range recs[1:] {
		v, err := strconv.ParseFloat(strings.TrimSpace(r[ai]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s row %d: %w", res, i+2, err)
		}
		s.KDA[i] = v * KDAScale
	}
	return s, nil
}

func readCSV(p string) ([][]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	var recs [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty", p)
	}
	return recs, nil
}

func col(header []string, name string) int {
	for i, h := range header {
		if strings.TrimSpace(h) == name {
			return i
		}
	}
	return -1
}
