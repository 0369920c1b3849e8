package nab

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Feature is one column of the point fed to the forest, computed from the
// series' value over a sliding window of rows (the row and the Window rows
// before it, as SQL's ROWS n PRECEDING). Every feature is one a kda SQL
// SELECT computes; FeatureSQL writes it.
//
//	value      "value"
//	log        CASE WHEN "value" >= 0 THEN LN(1 + "value") ELSE -LN(1 - "value") END
//	mean       AVG("value") OVER (ROWS n PRECEDING)
//	deviation  "value" - AVG("value") OVER (ROWS n PRECEDING)
//	zscore     CASE WHEN STDDEV_POP("value") OVER w > 0
//	             THEN ("value" - AVG("value") OVER w) / STDDEV_POP("value") OVER w
//	             ELSE 0 END
//	stddev     STDDEV_POP("value") OVER (ROWS n PRECEDING)
type Feature struct {
	Kind   string // value, log, mean, deviation, zscore, stddev
	Window int    // rows preceding the current one in the window (not for value, log)
}

// featureKinds are the known Feature kinds.
var featureKinds = []string{"value", "log", "mean", "deviation", "zscore", "stddev"}

// ParseFeatures reads a comma-separated list of kind[:rows]; a kind without
// rows takes window (ignored by value).
func ParseFeatures(list string, window int) ([]Feature, error) {
	var fs []Feature
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		kind, w, hasW := strings.Cut(f, ":")
		ok := false
		for _, k := range featureKinds {
			ok = ok || k == kind
		}
		if !ok {
			return nil, fmt.Errorf("unknown feature %q (want one of %s, optionally kind:rows)", f, strings.Join(featureKinds, ", "))
		}
		ft := Feature{Kind: kind, Window: window}
		if hasW {
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("feature %q: window must be a positive number of rows", f)
			}
			ft.Window = n
		}
		if kind == "value" || kind == "log" {
			ft.Window = 0
		} else if ft.Window < 1 {
			return nil, fmt.Errorf("feature %q needs a window of at least 1 row", f)
		}
		fs = append(fs, ft)
	}
	return fs, nil
}

// String is kind[:rows].
func (f Feature) String() string {
	if f.Kind == "value" || f.Kind == "log" {
		return f.Kind
	}
	return fmt.Sprintf("%s:%d", f.Kind, f.Window)
}

// IsValueOnly reports whether fs is the plain value (kda bench nab's default).
func IsValueOnly(fs []Feature) bool { return len(fs) == 1 && fs[0].Kind == "value" }

// windowStats are AVG and STDDEV_POP over rows max(0, i-n)..i.
func windowStats(xs []float64, i, n int) (mean, sd float64) {
	lo := max(0, i-n)
	var s float64
	for _, x := range xs[lo : i+1] {
		s += x
	}
	k := float64(i + 1 - lo)
	mean = s / k
	var v float64
	for _, x := range xs[lo : i+1] {
		v += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(v / k)
}

// signedLog is ln(1+|v|) with v's sign.
func signedLog(v float64) float64 {
	if v >= 0 {
		return math.Log1p(v)
	}
	return -math.Log1p(-v)
}

// Points computes the features of every row: one point per row, one column
// per feature.
func Points(values []float64, fs []Feature) [][]float64 {
	out := make([][]float64, len(values))
	flat := make([]float64, len(values)*len(fs))
	for i, v := range values {
		p := flat[i*len(fs) : (i+1)*len(fs)]
		for j, f := range fs {
			switch f.Kind {
			case "value":
				p[j] = v
				continue
			case "log":
				p[j] = signedLog(v)
				continue
			}
			m, sd := windowStats(values, i, f.Window)
			switch f.Kind {
			case "mean":
				p[j] = m
			case "deviation":
				p[j] = v - m
			case "stddev":
				p[j] = sd
			case "zscore":
				if sd > 0 {
					p[j] = (v - m) / sd
				}
			}
		}
		out[i] = p
	}
	return out
}

// FeatureSQL is the SELECT list expression of f over column col.
func FeatureSQL(f Feature, col string) string {
	w := fmt.Sprintf("OVER (ROWS %d PRECEDING)", f.Window)
	avg := fmt.Sprintf("AVG(%s) %s", col, w)
	sd := fmt.Sprintf("STDDEV_POP(%s) %s", col, w)
	switch f.Kind {
	case "value":
		return col
	case "log":
		return fmt.Sprintf("CASE WHEN %s >= 0 THEN LN(1 + %s) ELSE -LN(1 - %s) END", col, col, col)
	case "mean":
		return avg
	case "deviation":
		return fmt.Sprintf("%s - %s", col, avg)
	case "stddev":
		return sd
	case "zscore":
		return fmt.Sprintf("CASE WHEN %s > 0 THEN (%s - %s) / %s ELSE 0 END", sd, col, avg, sd)
	}
	panic("nab: unknown feature " + f.Kind)
}

// DetectPoints feeds precomputed points through d and returns its scores.
func DetectPoints(d Detector, points [][]float64) []float64 {
	out := make([]float64, len(points))
	for i, p := range points {
		out[i] = d.Update(p)
	}
	return out
}

// Post is a post-processing of the forest's score, expressible as a
// SELECT over the scored stream: with Peak > 0 a score is kept only where
// it is the highest of itself and the Peak rows before it, else 0:
//
//	CASE WHEN ANOMALY_SCORE >= MAX(ANOMALY_SCORE) OVER (ROWS p PRECEDING)
//	     THEN ANOMALY_SCORE ELSE 0 END
//
// so that a run of high scores alerts once rather than once per row (NAB
// counts every detection outside a window as a false positive, and only
// the first inside one).
type Post struct {
	Peak int
}

// Apply post-processes one series' scores.
func (p Post) Apply(scores []float64) []float64 {
	if p.Peak <= 0 {
		return scores
	}
	out := make([]float64, len(scores))
	for i, s := range scores {
		m := s
		for _, x := range scores[max(0, i-p.Peak):i] {
			m = max(m, x)
		}
		if s >= m {
			out[i] = s
		}
	}
	return out
}
