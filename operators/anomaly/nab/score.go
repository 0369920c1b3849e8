package nab

import (
	"fmt"
	"math"
	"sort"
)

// Profile is a NAB application profile: the weights of a true positive, a
// false positive and a false negative (signed, as in the paper) and the
// probationary fraction of each series.
type Profile struct {
	TP, FP, FN float64
	Probation  float64
}

// Standard is NAB's standard profile.
var Standard = Profile{TP: 1, FP: -0.11, FN: -1, Probation: 0.15}

// probationCap is the row count whose probationary fraction bounds the
// probation of long series (NAB: min(floor(p·n), p·5000)).
const probationCap = 5000

// ProbationRows is how many leading rows of an n-row series go unscored.
func (p Profile) ProbationRows(n int) int {
	return int(math.Min(math.Floor(p.Probation*float64(n)), p.Probation*probationCap))
}

// ScaledSigmoid is NAB's σ(y) = 2/(1+e^{5y}) − 1, pinned to −1 for y > 3.
func ScaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// Span is a window as row indices, both inclusive.
type Span struct{ Start, End int }

// Labels are the windows of an n-row series as row indices, in order and
// not overlapping.
type Labels struct {
	N       int
	Windows []Span
}

// Labels maps the series' windows onto its rows: a window covers the rows
// whose timestamps lie within it. Windows covering no row are dropped.
func (s *Series) Labels() Labels {
	l := Labels{N: len(s.Times)}
	for _, w := range s.Windows {
		a := sort.Search(len(s.Times), func(i int) bool { return !s.Times[i].Before(w.Start) })
		b := sort.Search(len(s.Times), func(i int) bool { return s.Times[i].After(w.End) }) - 1
		if a <= b {
			l.Windows = append(l.Windows, Span{a, b})
		}
	}
	return l
}

// Run is one detector's anomaly scores for one labelled series.
type Run struct {
	Name   string
	Labels Labels
	Scores []float64
}

// rowTable is, for every row of a series, what a detection there is worth.
type rowTable struct {
	probation int
	window    []int     // window index, or -1 outside every window
	value     []float64 // TP credit inside a window, FP cost outside
	scored    []bool    // per window: does it reach past the probation?
}

func (p Profile) table(l Labels) (rowTable, error) {
	t := rowTable{probation: p.ProbationRows(l.N), window: make([]int, l.N), value: make([]float64, l.N), scored: make([]bool, len(l.Windows))}
	maxTP := ScaledSigmoid(-1)
	next, prev := 0, -1
	for i := 0; i < l.N; i++ {
		if next < len(l.Windows) && i == l.Windows[next].Start {
			prev = -1 // inside a window: no "previous window" applies
		}
		w := -1
		if next < len(l.Windows) && i >= l.Windows[next].Start {
			w = next
		}
		t.window[i] = w
		switch {
		case w >= 0:
			span := l.Windows[w]
			width := float64(span.End - span.Start + 1)
			y := -float64(span.End-i+1) / width
			t.value[i] = p.TP * ScaledSigmoid(y) / maxTP
			if i >= t.probation {
				t.scored[w] = true
			}
			if i == span.End {
				next++
				prev = w
			}
		case prev < 0:
			t.value[i] = p.FP // before the first window: the full penalty
		default:
			span := l.Windows[prev]
			y := math.Inf(1)
			if span.End > span.Start {
				y = float64(i-span.End) / float64(span.End-span.Start)
			}
			t.value[i] = -p.FP * ScaledSigmoid(y)
		}
	}
	for k, s := range l.Windows {
		if s.Start > s.End || s.End >= l.N || (k > 0 && s.Start <= l.Windows[k-1].End) {
			return t, fmt.Errorf("windows must be ordered, disjoint and inside the series: %v", l.Windows)
		}
	}
	return t, nil
}

// SeriesResult is one series scored at one threshold.
type SeriesResult struct {
	Name       string
	Raw        float64
	TP, FP, FN int
	Windows    int // windows scored (not lost in the probation)
}

// Result is a corpus scored at one threshold.
type Result struct {
	Threshold  float64
	Raw        float64
	Null       float64 // the detector that never fires
	Perfect    float64 // one detection at the start of every window, nothing else
	Score      float64 // 100·(Raw−Null)/(Perfect−Null)
	TP, FP, FN int
	Series     []SeriesResult
}

// Normalise maps a raw score onto NAB's scale: 0 for the null detector,
// 100 for the perfect one.
func Normalise(raw, null, perfect float64) float64 {
	if perfect == null {
		return 0
	}
	return 100 * (raw - null) / (perfect - null)
}

func (p Profile) tables(runs []Run) ([]rowTable, error) {
	ts := make([]rowTable, len(runs))
	for k, r := range runs {
		if len(r.Scores) != r.Labels.N {
			return nil, fmt.Errorf("%s: %d scores for %d rows", r.Name, len(r.Scores), r.Labels.N)
		}
		t, err := p.table(r.Labels)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		ts[k] = t
	}
	return ts, nil
}

// ScoreAt scores every run with detections where score >= threshold.
func (p Profile) ScoreAt(runs []Run, threshold float64) (Result, error) {
	ts, err := p.tables(runs)
	if err != nil {
		return Result{}, err
	}
	return p.scoreAt(runs, ts, threshold), nil
}

func (p Profile) scoreAt(runs []Run, ts []rowTable, threshold float64) Result {
	res := Result{Threshold: threshold}
	for k, r := range runs {
		t := ts[k]
		sr := SeriesResult{Name: r.Name}
		hit := make([]bool, len(t.scored))
		for i := t.probation; i < len(r.Scores); i++ {
			if !(r.Scores[i] >= threshold) {
				continue
			}
			if w := t.window[i]; w >= 0 {
				if !hit[w] { // the earliest detection is the only one that counts
					hit[w] = true
					sr.Raw += t.value[i]
					sr.TP++
				}
			} else {
				sr.Raw += t.value[i]
				sr.FP++
			}
		}
		for w, ok := range t.scored {
			if !ok {
				continue
			}
			sr.Windows++
			if !hit[w] {
				sr.Raw += p.FN
				sr.FN++
			}
		}
		res.Raw += sr.Raw
		res.TP += sr.TP
		res.FP += sr.FP
		res.FN += sr.FN
		res.Null += p.FN * float64(sr.Windows)
		res.Perfect += p.TP * float64(sr.Windows)
		res.Series = append(res.Series, sr)
	}
	res.Score = Normalise(res.Raw, res.Null, res.Perfect)
	return res
}

// Optimise finds the threshold that maximises the corpus-wide raw score and
// returns the corpus scored there. Every distinct score of a scored row is a
// candidate, as is +Inf (no detection at all); the highest of equally good
// thresholds wins.
func (p Profile) Optimise(runs []Run) (Result, error) {
	ts, err := p.tables(runs)
	if err != nil {
		return Result{}, err
	}
	type ev struct {
		score float64
		run   int
		row   int
	}
	var evs []ev
	base := 0
	winBase := make([]int, len(runs)) // offset of each run's windows in credit
	total := 0.0
	for k, r := range runs {
		winBase[k] = base
		base += len(ts[k].scored)
		for _, ok := range ts[k].scored {
			if ok {
				total += p.FN
			}
		}
		for i := ts[k].probation; i < len(r.Scores); i++ {
			if math.IsNaN(r.Scores[i]) {
				continue
			}
			evs = append(evs, ev{r.Scores[i], k, i})
		}
	}
	sort.Slice(evs, func(a, b int) bool { return evs[a].score > evs[b].score })
	earliest := make([]int, base) // per window: earliest detected row, -1 none
	for i := range earliest {
		earliest[i] = -1
	}
	best, bestT := total, math.Inf(1)
	for i := 0; i < len(evs); {
		j := i
		for ; j < len(evs) && evs[j].score == evs[i].score; j++ {
			e := evs[j]
			t := ts[e.run]
			w := t.window[e.row]
			if w < 0 {
				total += t.value[e.row]
				continue
			}
			g := winBase[e.run] + w
			switch {
			case earliest[g] < 0:
				total += t.value[e.row] - p.FN
				earliest[g] = e.row
			case e.row < earliest[g]:
				total += t.value[e.row] - t.value[earliest[g]]
				earliest[g] = e.row
			}
		}
		if total > best+1e-9 {
			best, bestT = total, evs[i].score
		}
		i = j
	}
	return p.scoreAt(runs, ts, bestT), nil
}
