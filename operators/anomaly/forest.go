// Package anomaly implements KDA SQL's RANDOM_CUT_FOREST and
// RANDOM_CUT_FOREST_WITH_EXPLANATION (KDA-SQL.md §4.1–4.2): a robust
// random cut forest (Guha, Mishra, Roy, Schrijvers, ICML 2016) over a
// stream of numeric points, and the operator that scores rows with it.
//
// # Model
//
// A Forest holds Trees independent trees. Each tree keeps a time-decayed
// reservoir sample of at most SampleSize points: point number seq (0, 1,
// …) gets the key log(-log u) - seq/TimeDecay with u uniform in (0,1), and
// the tree keeps the SampleSize smallest keys (weighted reservoir sampling
// with weight exp(seq/TimeDecay), so TimeDecay is roughly how many points
// of history matter; KDA's default 100000). A point that enters the sample
// evicts the largest key. Points are inserted into and deleted from the
// tree as in the paper: a cut's dimension is drawn proportionally to the
// bounding box's range in that dimension and its value uniformly in the
// range; every node keeps the bounding box and count of its points.
//
// With ShingleSize s > 1 the point is the concatenation of the last s input
// vectors (oldest first); nothing is scored or inserted until s vectors
// have arrived.
//
// # Score
//
// Update scores the point against the forest as it is, then offers it to
// every tree's sampler. The score is 0 until SampleSize points have been
// offered (KDA's warm-up: the first SampleSize scores are 0). After that it
// is the average over the trees of AWS's anomaly score, a form of the
// paper's collusive displacement computed along one root-to-leaf path:
//
//   - Walk from the root to the leaf where p would fall; the leaf is at
//     depth D (root depth 0).
//   - At the leaf: if p equals the leaf's point (mass m, tree mass M),
//     s = (1 - m/(2M)) / (D + log2(m+1)); otherwise s = 1/(D+1).
//   - Back up the path, at each internal node at depth i with box B:
//     let B' = B ∪ {p}, prob = (Σ_k range_k(B') - range_k(B)) / Σ_k range_k(B'),
//     the probability that a random cut of B' separates p from B;
//     s = (1-prob)·s + prob/(i+1).
//   - The tree's score is s·log2(M+1).
//
// An ordinary point scores about 1; a point isolated at the root scores
// log2(M+1) ≈ log2(SampleSize) (8.0 for 256).
//
// # Attribution
//
// UpdateExplain computes the same walk with a vector of 2·d numbers (AWS's
// DiVector): at a leaf that differs from p, the leaf score is split across
// dimensions in proportion to |p_k - q_k|, into the HIGH half when p_k >
// q_k and the LOW half otherwise; at a leaf equal to p it is split evenly
// over all 2·d entries. At each internal node every entry is multiplied by
// (1-prob) and dimension k's side receives prob_k/(i+1), prob_k being the
// gap between p_k and B in dimension k over Σ range(B'). The entries
// therefore always sum to the scalar score. They are normalised and
// averaged over trees like the score, then summed over shingle positions
// into one HIGH and one LOW number per input column. A column's
// attribution is HIGH+LOW (the columns sum to the score), its direction is
// HIGH when HIGH ≥ LOW, else LOW, and its strength is |HIGH-LOW|, the net
// one-sided part of its attribution.
package anomaly

import (
	"fmt"
	"math"
)

// KDA's defaults for RANDOM_CUT_FOREST's parameters.
const (
	DefaultTrees       = 100
	DefaultSampleSize  = 256
	DefaultTimeDecay   = 100000
	DefaultShingleSize = 1
)

// ForestOptions configures a Forest. Zero fields take KDA's defaults
// (Dimensions defaults to 1, Seed 0 is a valid seed).
type ForestOptions struct {
	Trees, SampleSize int
	// TimeDecay is KDA's timeDecay parameter: the sampler's weights grow by
	// a factor e every TimeDecay points, so about that many recent points
	// shape the model.
	TimeDecay   float64
	ShingleSize int
	// Dimensions is the length of each input vector given to Update.
	Dimensions int
	Seed       uint64
	// ScoreAfter is how many points the forest takes in before its scores
	// are not 0. KDA waits for SampleSize points (the default, used when
	// ScoreAfter is 0); a kda extension lets a forest score earlier, from
	// trees that are not full yet: useful on short series, where waiting
	// for a large sample leaves their start unwatched.
	ScoreAfter int
}

// withDefaults fills zero fields and checks KDA's documented ranges.
func (o ForestOptions) withDefaults() (ForestOptions, error) {
	if o.Trees == 0 {
		o.Trees = DefaultTrees
	}
	if o.SampleSize == 0 {
		o.SampleSize = DefaultSampleSize
	}
	if o.TimeDecay == 0 {
		o.TimeDecay = DefaultTimeDecay
	}
	if o.ShingleSize == 0 {
		o.ShingleSize = DefaultShingleSize
	}
	if o.Dimensions == 0 {
		o.Dimensions = 1
	}
	if o.ScoreAfter == 0 {
		o.ScoreAfter = o.SampleSize
	}
	switch {
	case o.Trees < 1 || o.Trees > 1000:
		return o, fmt.Errorf("random cut forest: numberOfTrees %d is not between 1 and 1000", o.Trees)
	case o.SampleSize < 10 || o.SampleSize > 1000:
		return o, fmt.Errorf("random cut forest: subSampleSize %d is not between 10 and 1000", o.SampleSize)
	case math.IsNaN(o.TimeDecay) || o.TimeDecay < 1 || o.TimeDecay > math.MaxInt32:
		return o, fmt.Errorf("random cut forest: timeDecay %v is not between 1 and %d", o.TimeDecay, math.MaxInt32)
	case o.ShingleSize < 1 || o.ShingleSize > 30:
		return o, fmt.Errorf("random cut forest: shingleSize %d is not between 1 and 30", o.ShingleSize)
	case o.ScoreAfter < 1 || o.ScoreAfter > o.SampleSize:
		return o, fmt.Errorf("random cut forest: scoreAfter %d is not between 1 and subSampleSize %d", o.ScoreAfter, o.SampleSize)
	case o.Dimensions < 1 || o.Dimensions > 1000:
		return o, fmt.Errorf("random cut forest: %d dimensions (1 to 1000 numeric columns are supported)", o.Dimensions)
	}
	return o, nil
}

// Forest is a random cut forest. It is not safe for concurrent use.
type Forest struct {
	opts  ForestOptions
	d     int // Dimensions × ShingleSize
	trees []*tree

	seen    uint64    // points offered to the samplers
	shingle []float64 // the last ShingleSize vectors, oldest first
	filled  int       // vectors in shingle (≤ ShingleSize)

	vh, vl, hi, lo []float64 // attribution scratch, len d
	log2           []float64 // log2[m] = log2(m+1), m ≤ SampleSize
}

// NewForest validates opts, fills KDA's defaults and builds an empty forest.
func NewForest(opts ForestOptions) (*Forest, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Forest{opts: o, d: o.Dimensions * o.ShingleSize}
	f.shingle = make([]float64, f.d)
	f.vh, f.vl = make([]float64, f.d), make([]float64, f.d)
	f.hi, f.lo = make([]float64, f.d), make([]float64, f.d)
	f.log2 = make([]float64, o.SampleSize+1)
	for m := range f.log2 {
		f.log2[m] = math.Log2(float64(m) + 1)
	}
	s := rng{o.Seed}
	f.trees = make([]*tree, o.Trees)
	for i := range f.trees {
		f.trees[i] = newTree(f.d, o.SampleSize, s.next())
	}
	return f, nil
}

// Options returns the forest's options with the defaults filled in.
func (f *Forest) Options() ForestOptions { return f.opts }

// Seen is the number of (shingled) points inserted so far.
func (f *Forest) Seen() uint64 { return f.seen }

// push adds v to the shingle and reports whether the shingle is full.
func (f *Forest) push(v []float64) bool {
	dim := f.opts.Dimensions
	if len(v) != dim {
		panic(fmt.Sprintf("anomaly: point has %d values, the forest has %d dimensions", len(v), dim))
	}
	if f.opts.ShingleSize == 1 {
		copy(f.shingle, v)
		f.filled = 1
		return true
	}
	copy(f.shingle, f.shingle[dim:])
	copy(f.shingle[f.d-dim:], v)
	if f.filled < f.opts.ShingleSize {
		f.filled++
	}
	return f.filled == f.opts.ShingleSize
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Update scores point (len Dimensions) against the forest, then inserts it.
// The score is 0 while the shingle is filling and until SampleSize points
// have been inserted. A point holding NaN or ±Inf is neither scored nor
// inserted, nor added to the shingle: Update returns NaN. Update panics if
// len(point) != Dimensions.
func (f *Forest) Update(point []float64) float64 {
	if !finite(point) {
		if len(point) != f.opts.Dimensions {
			f.push(point) // panics with the message
		}
		return math.NaN()
	}
	if !f.push(point) {
		return 0
	}
	p := f.shingle
	score := 0.0
	if f.seen >= uint64(f.opts.ScoreAfter) {
		ts := f.trees
		if f.d <= 4 {
			// Two trees at a time (see pair); the sum keeps the trees' order.
			for ; len(ts) >= 2 && ts[0].root >= 0 && ts[1].root >= 0; ts = ts[2:] {
				a, b := pair(ts[0], ts[1], p, f.log2)
				score += a
				score += b
			}
		}
		for _, t := range ts {
			score += t.score(p, f.log2)
		}
		score /= float64(len(f.trees))
	}
	f.insert(p)
	return score
}

func (f *Forest) insert(p []float64) {
	lambda := 1 / f.opts.TimeDecay
	seq := f.seen
	if seq%f.basePeriod() == 0 {
		f.rebase()
	}
	bs := seq - seq%f.basePeriod()
	base := float64(bs) * lambda
	grow := math.Exp(float64(seq-bs) * lambda)
	for _, t := range f.trees {
		t.sample(p, seq, lambda, base, grow, f.opts.SampleSize)
	}
	f.seen++
}

// basePeriod is how often (in points) the samplers' base moves: the base
// is seen rounded down to a multiple of it (times 1/TimeDecay), so that
// the growth factor exp((seen-base)/TimeDecay) stays below e^16. The
// base is a function of seen alone, so a restored forest samples exactly
// as the original.
func (f *Forest) basePeriod() uint64 {
	return max(1, uint64(16*f.opts.TimeDecay))
}

// rebase recomputes every tree's cached threshold for the base of f.seen.
func (f *Forest) rebase() {
	bs := f.seen - f.seen%f.basePeriod()
	base := float64(bs) / f.opts.TimeDecay
	for _, t := range f.trees {
		t.rebase(base)
	}
}

// Attribution is a score split by input column (len Dimensions each),
// summed over shingle positions: High[k] is the part of the score due to
// column k being higher than the points it was compared with, Low[k] lower.
type Attribution struct {
	High, Low []float64
}

// Score is column k's attribution score, High[k]+Low[k]; the columns sum to
// the anomaly score.
func (a *Attribution) Score(k int) float64 { return a.High[k] + a.Low[k] }

// Direction is "HIGH" or "LOW": the side of column k's larger part.
func (a *Attribution) Direction(k int) string {
	if a.High[k] >= a.Low[k] {
		return "HIGH"
	}
	return "LOW"
}

// Strength is |High[k]-Low[k]|, the net one-sided part of column k's
// attribution.
func (a *Attribution) Strength(k int) float64 { return math.Abs(a.High[k] - a.Low[k]) }

// UpdateExplain is Update that also fills a with the score's attribution
// (all zeros when the score is 0 or NaN). a's slices are reused when long
// enough.
func (f *Forest) UpdateExplain(point []float64, a *Attribution) float64 {
	dim := f.opts.Dimensions
	if cap(a.High) < dim {
		a.High, a.Low = make([]float64, dim), make([]float64, dim)
	}
	a.High, a.Low = a.High[:dim], a.Low[:dim]
	clear(a.High)
	clear(a.Low)
	if !finite(point) {
		if len(point) != dim {
			f.push(point)
		}
		return math.NaN()
	}
	if !f.push(point) {
		return 0
	}
	p := f.shingle
	score := 0.0
	if f.seen >= uint64(f.opts.ScoreAfter) {
		clear(f.hi)
		clear(f.lo)
		for _, t := range f.trees {
			score += t.attribute(p, f.hi, f.lo, f.vh, f.vl)
		}
		n := float64(len(f.trees))
		score /= n
		for k := range f.hi {
			a.High[k%dim] += f.hi[k] / n
			a.Low[k%dim] += f.lo[k] / n
		}
	}
	f.insert(p)
	return score
}
