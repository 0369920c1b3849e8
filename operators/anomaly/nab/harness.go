package nab

import "math"

// Detector is a streaming anomaly detector: Update scores a point and then
// learns from it (anomaly.Forest satisfies it).
type Detector interface {
	Update(point []float64) float64
}

// Detect feeds the series' values, one 1-D point per row and unnormalised,
// through d and returns its score for each row.
func Detect(d Detector, values []float64) []float64 {
	out := make([]float64, len(values))
	p := make([]float64, 1)
	for i, v := range values {
		p[0] = v
		out[i] = d.Update(p)
	}
	return out
}

// Runs pairs series with one score slice each (nil entries are skipped).
func Runs(series []*Series, scores [][]float64) []Run {
	var runs []Run
	for k, s := range series {
		if scores[k] == nil {
			continue
		}
		runs = append(runs, Run{Name: s.Name, Labels: s.Labels(), Scores: scores[k]})
	}
	return runs
}

// Mean is the mean of the non-NaN values (NaN when there are none).
func Mean(xs []float64) float64 {
	var s float64
	n := 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
