package nab

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %.9f, want %.9f", what, got, want)
	}
}

// one scores a 100-row series (probation 15 rows) with one window over rows
// 40..49 (width 10), detections at the given rows.
func one(t *testing.T, wins []Span, rows ...int) Result {
	t.Helper()
	s := make([]float64, 100)
	for _, r := range rows {
		s[r] = 1
	}
	res, err := Standard.ScoreAt([]Run{{Name: "s", Labels: Labels{N: 100, Windows: wins}, Scores: s}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var win = []Span{{40, 49}}

func TestScaledSigmoid(t *testing.T) {
	near(t, "σ(-1)", ScaledSigmoid(-1), 2/(1+math.Exp(-5))-1) // 0.986614
	near(t, "σ(-1)", ScaledSigmoid(-1), 0.986614298)
	near(t, "σ(0)", ScaledSigmoid(0), 0)
	near(t, "σ(3)", ScaledSigmoid(3), 2/(1+math.Exp(15))-1)
	near(t, "σ(3.01)", ScaledSigmoid(3.01), -1)
}

func TestProbationRows(t *testing.T) {
	for n, want := range map[int]int{100: 15, 99: 14, 5000: 750, 10000: 750, 0: 0} {
		if got := Standard.ProbationRows(n); got != want {
			t.Errorf("ProbationRows(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestWindowCredit(t *testing.T) {
	// First row of the window: y = -1, credit σ(-1)/σ(-1) = 1.
	r := one(t, win, 40)
	near(t, "start", r.Raw, 1)
	if r.TP != 1 || r.FN != 0 || r.FP != 0 {
		t.Errorf("counts %+v", r)
	}
	// Last row: y = -1/10, σ(-0.1) = 0.244918662, /0.986614298 = 0.248241.
	near(t, "end", one(t, win, 49).Raw, 0.244918662/0.986614298)
	// Middle: row 45, y = -(49-45+1)/10 = -0.5, σ(-0.5) = 0.848283640.
	near(t, "middle", one(t, win, 45).Raw, 0.848283640/0.986614298)
	// Only the earliest detection counts, the others earn nothing.
	near(t, "earliest of three", one(t, win, 47, 45, 49).Raw, 0.848283640/0.986614298)
	if r := one(t, win, 45, 46, 47); r.TP != 1 {
		t.Errorf("TP = %d, want 1 per window", r.TP)
	}
}

func TestFalseNegative(t *testing.T) {
	r := one(t, win)
	near(t, "missed window", r.Raw, -1)
	if r.FN != 1 {
		t.Errorf("FN = %d", r.FN)
	}
	near(t, "two windows, one hit", one(t, []Span{{20, 29}, {60, 69}}, 60).Raw, 1-1)
}

func TestFalsePositive(t *testing.T) {
	// Before the first window: the full A_FP = -0.11 (plus the missed window).
	near(t, "before window", one(t, win, 20).Raw, -0.11-1)
	// Right after the window: y = (50-49)/(10-1) = 1/9, σ(1/9) = -0.270845;
	// penalty 0.11·σ = -0.029793.
	near(t, "just after", one(t, win, 40, 50).Raw, 1+0.11*(2/(1+math.Exp(5.0/9))-1))
	near(t, "just after (number)", math.Round(one(t, win, 40, 50).Raw*1e6)/1e6, 1-0.029793)
	// Far after (y = 41/9 > 3): the full -0.11.
	near(t, "far after", one(t, win, 40, 90).Raw, 1-0.11)
	// Every false positive counts.
	if r := one(t, win, 20, 21, 90); r.FP != 3 {
		t.Errorf("FP = %d", r.FP)
	}
	// No window at all: every detection costs -0.11.
	near(t, "no windows", one(t, nil, 20, 30).Raw, -0.22)
}

func TestProbation(t *testing.T) {
	// Detections in the first 15 rows are ignored.
	near(t, "probation detection", one(t, win, 3, 14).Raw, -1)
	near(t, "first scored row", one(t, win, 15).Raw, -0.11-1)
	// A window entirely inside the probation is neither credited nor missed.
	r := one(t, []Span{{5, 9}}, 7)
	if r.Raw != 0 || r.Null != 0 || r.Perfect != 0 || r.Series[0].Windows != 0 {
		t.Errorf("window in probation: %+v", r)
	}
	// A window straddling the probation end still counts; its positions are
	// measured over the whole window: row 15 of window 10..19 is y = -0.5.
	near(t, "straddling", one(t, []Span{{10, 19}}, 12, 15).Raw, 0.848283640/0.986614298)
}

func TestNormalise(t *testing.T) {
	near(t, "null", Normalise(-3, -3, 3), 0)
	near(t, "perfect", Normalise(3, -3, 3), 100)
	near(t, "half", Normalise(0, -3, 3), 50)
	near(t, "below null", Normalise(-4.5, -3, 3), -25)
	r := one(t, []Span{{20, 29}, {60, 69}}, 20)
	near(t, "null of series", r.Null, -2)
	near(t, "perfect of series", r.Perfect, 2)
	near(t, "score", r.Score, 50) // raw 1-1 = 0: 100·(0+2)/(2+2)
}

func TestLabelsFromTimes(t *testing.T) {
	t0 := time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)
	s := &Series{}
	for i := range 10 {
		s.Times = append(s.Times, t0.Add(time.Duration(i)*time.Hour))
	}
	s.Windows = []Window{{t0.Add(2 * time.Hour), t0.Add(4 * time.Hour)}, {t0.Add(7*time.Hour + time.Minute), t0.Add(20 * time.Hour)}, {t0.Add(30 * time.Hour), t0.Add(40 * time.Hour)}}
	l := s.Labels()
	if l.N != 10 || len(l.Windows) != 2 || l.Windows[0] != (Span{2, 4}) || l.Windows[1] != (Span{8, 9}) {
		t.Errorf("labels %+v", l)
	}
}

func TestOptimiseMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var runs []Run
	for k := range 6 {
		n := 200 + 50*k
		l := Labels{N: n}
		for s := 30 + k; s+10 < n; s += 60 + 7*k {
			l.Windows = append(l.Windows, Span{s, s + 9 + k})
		}
		sc := make([]float64, n)
		for i := range sc {
			sc[i] = math.Round(rng.Float64()*40) / 40 // many ties
		}
		for _, w := range l.Windows {
			sc[w.Start+rng.IntN(5)] = 0.95 + rng.Float64()*0.05
		}
		runs = append(runs, Run{Name: "r", Labels: l, Scores: sc})
	}
	opt, err := Standard.Optimise(runs)
	if err != nil {
		t.Fatal(err)
	}
	best := math.Inf(-1)
	for _, r := range runs {
		for _, thr := range append(r.Scores, math.Inf(1)) {
			res, _ := Standard.ScoreAt(runs, thr)
			best = math.Max(best, res.Raw)
		}
	}
	near(t, "optimised raw", opt.Raw, best)
	if opt.Score <= 0 || opt.TP == 0 {
		t.Errorf("optimum %+v", opt)
	}
}

func TestOptimiseNoDetectionIsNull(t *testing.T) {
	// Scores that only fire far from windows: the best is never to fire.
	s := make([]float64, 100)
	s[90] = 1
	res, err := Standard.Optimise([]Run{{Name: "s", Labels: Labels{N: 100, Windows: win}, Scores: s}})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(res.Threshold, 1) || res.Score != 0 {
		t.Errorf("got %+v, want the null detector", res)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Standard.ScoreAt([]Run{{Labels: Labels{N: 3}, Scores: []float64{1}}}, 1); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := Standard.ScoreAt([]Run{{Labels: Labels{N: 30, Windows: []Span{{10, 20}, {15, 25}}}, Scores: make([]float64, 30)}}, 1); err == nil {
		t.Error("overlapping windows accepted")
	}
}

func TestCorrelation(t *testing.T) {
	near(t, "pearson linear", Pearson([]float64{1, 2, 3}, []float64{2, 4, 6}), 1)
	near(t, "pearson anti", Pearson([]float64{1, 2, 3}, []float64{3, 2, 1}), -1)
	// x = 1..4, y = x²: r = 0.984374 (hand: sxy=25, sxx=5, syy=129).
	near(t, "pearson square", Pearson([]float64{1, 2, 3, 4}, []float64{1, 4, 9, 16}), 25/math.Sqrt(5*129))
	near(t, "spearman monotone", Spearman([]float64{1, 2, 3, 4}, []float64{1, 4, 9, 16}), 1)
	r := Ranks([]float64{10, 20, 20, 30})
	if r[0] != 1 || r[1] != 2.5 || r[2] != 2.5 || r[3] != 4 {
		t.Errorf("ranks %v", r)
	}
	if !math.IsNaN(Pearson([]float64{1, 1}, []float64{1, 2})) {
		t.Error("constant input should be NaN")
	}
	near(t, "mean skips NaN", Mean([]float64{1, math.NaN(), 3}), 2)
}

type counter struct{ n float64 }

func (c *counter) Update(p []float64) float64 { c.n++; return c.n * p[0] }

func TestDetect(t *testing.T) {
	got := Detect(&counter{}, []float64{1, 2, 3})
	if got[0] != 1 || got[1] != 4 || got[2] != 9 {
		t.Errorf("Detect = %v", got)
	}
}
