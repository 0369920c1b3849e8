package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdaproject/kda/operators/anomaly"
	"github.com/kdaproject/kda/operators/anomaly/nab"
)

// defaultNABDir is where `kda bench nab` looks for the corpus without --data.
const defaultNABDir = "../shared/data/nab"

// kdaPublishedNAB is NAB's published standard-profile score of KDA's
// RANDOM_CUT_FOREST over the whole corpus.
const kdaPublishedNAB = 51.7

type nabConfig struct {
	Data       string  `json:"data"`
	Trees      int     `json:"trees"`
	Sample     int     `json:"sampleSize"`
	Decay      float64 `json:"timeDecay"`
	Shingle    int     `json:"shingleSize"`
	ScoreAfter int     `json:"scoreAfter,omitempty"`
	Seed       uint64  `json:"seed"`
	Series     string  `json:"series,omitempty"`
	Workers    int     `json:"-"`
	// Features, Window and Peak describe a SQL-expressible configuration
	// (see nabSQLHelp); the defaults (value, 0) are the plain forest.
	Features string `json:"features,omitempty"`
	Window   int    `json:"window,omitempty"`
	Peak     int    `json:"peak,omitempty"`
	// Preset names the configuration whose values the flags not given on
	// the command line take ("" or "kda": KDA's defaults; "tuned": nab.Tuned).
	Preset string `json:"preset,omitempty"`

	feats []nab.Feature
}

type nabSeriesRow struct {
	Name     string   `json:"name"`
	Rows     int      `json:"rows"`
	Windows  int      `json:"windows"`
	Pearson  *float64 `json:"pearson,omitempty"`  // with KDA's score (×8), where published
	Spearman *float64 `json:"spearman,omitempty"` // idem
	Raw      float64  `json:"raw"`                // standard-profile raw score at the corpus threshold
	TP       int      `json:"tp"`
	FP       int      `json:"fp"`
	FN       int      `json:"fn"`
}

type nabScore struct {
	Series    int     `json:"series"`
	Threshold float64 `json:"threshold"`
	Raw       float64 `json:"raw"`
	Null      float64 `json:"null"`
	Perfect   float64 `json:"perfect"`
	Score     float64 `json:"score"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
}

type nabReport struct {
	Config       nabConfig      `json:"config"`
	Seconds      float64        `json:"seconds"`
	Series       []nabSeriesRow `json:"series"`
	MeanPearson  *float64       `json:"meanPearson,omitempty"`
	MeanSpearman *float64       `json:"meanSpearman,omitempty"`
	// Ours is our forest over every selected series; OursOnKDASeries and
	// KDA are both restricted to the series NAB publishes KDA results for.
	Ours            nabScore  `json:"ours"`
	OursOnKDASeries *nabScore `json:"oursOnKdaSeries,omitempty"`
	KDA             *nabScore `json:"kda,omitempty"`
	KDAPublished    float64   `json:"kdaPublished"`
}

func newBenchNABCmd(a *app) *cobra.Command {
	cfg := nabConfig{}
	cmd := &cobra.Command{
		Use:   "nab",
		Short: "Score the random cut forest on the Numenta Anomaly Benchmark",
		Long: `Run the random cut forest over every NAB series (the value column as a
1-D point, not normalised; one fresh forest per series) and report:

  - per series, the Pearson and Spearman correlation of our score with KDA's
    published RANDOM_CUT_FOREST score (NAB's results/randomCutForest, ×8),
    where NAB has it, and their mean;
  - NAB's standard-profile score of our forest over the selected series at
    the corpus-optimised threshold, next to KDA's published 51.7, and both
    detectors scored on the series where KDA results exist.

The corpus is read from --data (default ` + defaultNABDir + `, relative to
the working directory). Progress goes to stderr.
` + nabSQLHelp(),
		Example: `  kda bench nab
  kda bench nab --preset tuned --seed 2
  kda bench nab --data ../shared/data/nab --series realKnownCause -o json
  kda bench nab --trees 50 --series 'realAWSCloudwatch/ec2_*'
  kda bench nab --features log --sample 512 --decay 3000 --peak 50
  kda bench nab --features value,deviation,zscore --window 60`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Data = a.dataDir
			if cfg.Data == "" {
				cfg.Data = defaultNABDir
			}
			if err := cfg.applyPreset(cmd.Flags().Changed); err != nil {
				return usagef("--preset: %v", err)
			}
			if cfg.Workers < 1 {
				return usagef("--workers must be at least 1")
			}
			feats, err := nab.ParseFeatures(cfg.Features, cfg.Window)
			if err != nil {
				return usagef("--features: %v", err)
			}
			if cfg.Peak < 0 {
				return usagef("--peak must not be negative")
			}
			cfg.feats = feats
			if nab.IsValueOnly(feats) {
				cfg.Features = "" // the default: keep the JSON report as it was
			}
			if _, err := anomaly.NewForest(cfg.forestOptions()); err != nil {
				return usagef("%v", err)
			}
			rep, err := runNAB(cfg, a.stderr)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return printJSON(a.stdout, rep)
			}
			return printNAB(a, rep)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&cfg.Trees, "trees", anomaly.DefaultTrees, "trees in the forest")
	fl.IntVar(&cfg.Sample, "sample", anomaly.DefaultSampleSize, "points sampled per tree")
	fl.Float64Var(&cfg.Decay, "decay", anomaly.DefaultTimeDecay, "time decay (points)")
	fl.IntVar(&cfg.Shingle, "shingle", anomaly.DefaultShingleSize, "shingle size")
	fl.IntVar(&cfg.ScoreAfter, "score-after", 0, "records before the forest's scores are not 0 (RANDOM_CUT_FOREST's scoreAfter, a kda extension; 0: the sample size, as KDA)")
	fl.Uint64Var(&cfg.Seed, "seed", 1, "random seed (each series gets seed+its index)")
	fl.StringVar(&cfg.Series, "series", "", "only series whose name (<category>/<file>.csv) contains this text, or matches it as a glob")
	fl.IntVar(&cfg.Workers, "workers", runtime.GOMAXPROCS(0), "series scored in parallel")
	fl.StringVar(&cfg.Features, "features", "value", "columns of the forest's point, comma-separated: value, log, mean, deviation, zscore, stddev; windowed ones optionally kind:rows (see the SQL above)")
	fl.IntVar(&cfg.Window, "window", 0, "rows preceding the current one in the features' sliding window (ROWS n PRECEDING)")
	fl.IntVar(&cfg.Peak, "peak", 0, "keep a score only where it is the highest of itself and the n rows before it (0: off)")
	fl.StringVar(&cfg.Preset, "preset", "", "start from a named configuration, flags given override it: kda (KDA's defaults, the same as no preset) or tuned (the SQL above)")
	return cmd
}

func (c nabConfig) forestOptions() anomaly.ForestOptions {
	return c.detector().ForestOptions(c.Seed)
}

// detector is the configuration as a nab.Config (after ParseFeatures).
func (c nabConfig) detector() nab.Config {
	return nab.Config{Features: c.feats, Trees: c.Trees, SampleSize: c.Sample, TimeDecay: c.Decay, ShingleSize: c.Shingle, Peak: c.Peak, ScoreAfter: c.ScoreAfter}
}

// applyPreset sets every configuration flag not given on the command line
// (changed reports whether it was) to the preset's value.
func (c *nabConfig) applyPreset(changed func(flag string) bool) error {
	var p nab.Config
	switch c.Preset {
	case "", "kda":
		return nil
	case "tuned":
		p = nab.Tuned()
	default:
		return fmt.Errorf("unknown preset %q (want kda or tuned)", c.Preset)
	}
	set := func(flag string, apply func()) {
		if !changed(flag) {
			apply()
		}
	}
	set("trees", func() { c.Trees = p.Trees })
	set("sample", func() { c.Sample = p.SampleSize })
	set("decay", func() { c.Decay = p.TimeDecay })
	set("shingle", func() { c.Shingle = p.ShingleSize })
	set("score-after", func() { c.ScoreAfter = p.ScoreAfter })
	set("peak", func() { c.Peak = p.Peak })
	set("features", func() {
		names := make([]string, len(p.Features))
		for i, f := range p.Features {
			names[i] = f.String()
		}
		c.Features = strings.Join(names, ",")
	})
	return nil
}

// nabMatch selects series by substring, or by glob when pattern has glob
// characters (matched against the full name and the file name).
func nabMatch(pattern string) func(string) bool {
	if pattern == "" {
		return nil
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return func(n string) bool { return strings.Contains(n, pattern) }
	}
	return func(n string) bool {
		ok1, _ := path.Match(pattern, n)
		ok2, _ := path.Match(pattern, path.Base(n))
		return ok1 || ok2
	}
}

func runNAB(cfg nabConfig, progress interface{ Write([]byte) (int, error) }) (*nabReport, error) {
	if _, err := os.Stat(filepath.Join(cfg.Data, "data")); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no NAB corpus at %s: pass --data <dir holding data/, labels/ and results/> (NAB, github.com/numenta/NAB)", cfg.Data)
	}
	series, err := nab.Load(cfg.Data, nabMatch(cfg.Series))
	if err != nil {
		return nil, err
	}
	if len(series) == 0 {
		return nil, usagef("no NAB series matches --series %q", cfg.Series)
	}
	total := 0
	for _, s := range series {
		total += len(s.Values)
	}
	start := time.Now()
	scores := make([][]float64, len(series))
	var done atomic.Int64
	var doneSeries atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	next := make(chan int)
	det := cfg.detector()
	for range min(cfg.Workers, len(series)) {
		wg.Go(func() {
			for k := range next {
				s, err := det.Detect(series[k].Values, cfg.Seed+uint64(k))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				scores[k] = s
				d := done.Add(int64(len(series[k].Values)))
				n := doneSeries.Add(1)
				el := time.Since(start).Seconds()
				fmt.Fprintf(progress, "nab: %2d/%d %-55s %6d rows  %3.0f%%  %.0fs elapsed\n",
					n, len(series), series[k].Name, len(series[k].Values), 100*float64(d)/float64(total), el)
			}
		})
	}
	for k := range series {
		next <- k
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}

	rep := &nabReport{Config: cfg, KDAPublished: kdaPublishedNAB, Seconds: time.Since(start).Seconds()}
	ours, err := nab.Standard.Optimise(nab.Runs(series, scores))
	if err != nil {
		return nil, err
	}
	rep.Ours = toNABScore(ours, len(series))
	var pears, spears []float64
	var withKDA []*nab.Series
	var oursKDA, kda [][]float64
	for k, s := range series {
		sr := ours.Series[k]
		row := nabSeriesRow{Name: s.Name, Rows: len(s.Values), Windows: sr.Windows, Raw: sr.Raw, TP: sr.TP, FP: sr.FP, FN: sr.FN}
		if s.KDA != nil {
			p, sp := nab.Pearson(scores[k], s.KDA), nab.Spearman(scores[k], s.KDA)
			row.Pearson, row.Spearman = finitePtr(p), finitePtr(sp)
			pears, spears = append(pears, p), append(spears, sp)
			withKDA = append(withKDA, s)
			oursKDA = append(oursKDA, scores[k])
			kda = append(kda, s.KDA)
		}
		rep.Series = append(rep.Series, row)
	}
	if len(withKDA) > 0 {
		rep.MeanPearson, rep.MeanSpearman = finitePtr(nab.Mean(pears)), finitePtr(nab.Mean(spears))
		o, err := nab.Standard.Optimise(nab.Runs(withKDA, oursKDA))
		if err != nil {
			return nil, err
		}
		k, err := nab.Standard.Optimise(nab.Runs(withKDA, kda))
		if err != nil {
			return nil, err
		}
		os, ks := toNABScore(o, len(withKDA)), toNABScore(k, len(withKDA))
		rep.OursOnKDASeries, rep.KDA = &os, &ks
	}
	return rep, nil
}

func toNABScore(r nab.Result, n int) nabScore {
	thr := r.Threshold
	if math.IsInf(thr, 1) {
		thr = math.MaxFloat64 // JSON has no infinity: "never fires"
	}
	return nabScore{Series: n, Threshold: thr, Raw: r.Raw, Null: r.Null, Perfect: r.Perfect, Score: r.Score, TP: r.TP, FP: r.FP, FN: r.FN}
}

func finitePtr(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func fmtCorr(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}

func printNAB(a *app, r *nabReport) error {
	c := r.Config
	extra := ""
	if c.Features != "" {
		extra += ", features " + c.Features
		if c.Window > 0 {
			extra += fmt.Sprintf(" (window %d rows)", c.Window)
		}
	}
	if c.Peak > 0 {
		extra += fmt.Sprintf(", peak %d", c.Peak)
	}
	fmt.Fprintf(a.stdout, "NAB, random cut forest: %d trees, sample %d, decay %g, shingle %d, seed %d%s (%.1fs)\n\n",
		c.Trees, c.Sample, c.Decay, c.Shingle, c.Seed, extra, r.Seconds)
	t := newTable(a.stdout, "SERIES", "ROWS", "WINDOWS", "PEARSON", "SPEARMAN", "RAW", "TP", "FP", "FN")
	for _, s := range r.Series {
		t.row(s.Name, fmt.Sprint(s.Rows), fmt.Sprint(s.Windows), fmtCorr(s.Pearson), fmtCorr(s.Spearman),
			fmt.Sprintf("%.3f", s.Raw), fmt.Sprint(s.TP), fmt.Sprint(s.FP), fmt.Sprint(s.FN))
	}
	if r.KDA != nil {
		t.row("mean (vs KDA ×8)", "", "", fmtCorr(r.MeanPearson), fmtCorr(r.MeanSpearman), "", "", "", "")
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nNAB standard profile (A_TP 1, A_FP -0.11, A_FN -1, probation 15%%), threshold optimised per detector:\n")
	t = newTable(a.stdout, "DETECTOR", "SERIES", "THRESHOLD", "TP", "FP", "FN", "RAW", "SCORE")
	line := func(name string, s nabScore) {
		thr := "never"
		if s.Threshold != math.MaxFloat64 {
			thr = fmt.Sprintf("%.4f", s.Threshold)
		}
		t.row(name, fmt.Sprint(s.Series), thr, fmt.Sprint(s.TP), fmt.Sprint(s.FP), fmt.Sprint(s.FN), fmt.Sprintf("%.3f", s.Raw), fmt.Sprintf("%.1f", s.Score))
	}
	line("ours", r.Ours)
	if r.KDA != nil {
		line("ours (KDA's series)", *r.OursOnKDASeries)
		line("KDA published scores ×8", *r.KDA)
	}
	t.row("KDA, as published by NAB", "58", "", "", "", "", "", fmt.Sprintf("%.1f", r.KDAPublished))
	return t.flush()
}

// nabSQLHelp documents the kda SQL that --features, --window, --peak and
// the forest flags stand for: the features are a SELECT feeding
// RANDOM_CUT_FOREST, --peak a SELECT over its output. The SQL shown is
// nab.Tuned().SQL(); operators/anomaly/nab's TestTunedSQLIsTheDetector runs
// it through the engine and checks it scores as the harness does, and
// TestFeaturesMatchSQL checks every feature's SQL (nab.FeatureSQL) and
// --peak's the same way.
func nabSQLHelp() string {
	var sql strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(nab.Tuned().SQL()), "\n") {
		sql.WriteString("  " + l + "\n")
	}
	return `
--features, --window, --peak and the forest flags describe a kda SQL
application over a source stream with a DOUBLE column "value", one row per
CSV record with its timestamp as ROWTIME. --preset tuned, the best
configuration found (` + nabTunedScores + `), is:

` + sql.String() + `
It is ` + nabFlags(nab.Tuned()) + `; KDA's
defaults (no --preset) score 52.5. RANDOM_CUT_FOREST seeds its forest with
1, so this SQL gives the scores of --seed 1 on the first series; the bench
seeds series k with --seed + k.

--features lists the forest's columns (n = --window, or kind:n rows):
  value      "value"
  log        CASE WHEN "value" >= 0 THEN LN(1 + "value") ELSE -LN(1 - "value") END
  mean       AVG("value") OVER (ROWS n PRECEDING)
  deviation  "value" - AVG("value") OVER (ROWS n PRECEDING)
  stddev     STDDEV_POP("value") OVER (ROWS n PRECEDING)
  zscore     CASE WHEN STDDEV_POP("value") OVER w > 0 THEN ("value" -
             AVG("value") OVER w) / STDDEV_POP("value") OVER w ELSE 0 END
             (w = (ROWS n PRECEDING))
--peak p keeps a score only where it is the highest of itself and the p
rows before it, else 0, as "ALERTS" above: a run of high scores alerts once.
`
}

// nabTunedScores are --preset tuned's NAB scores (standard profile, 58
// series, threshold optimised over the corpus) at --seed 1, 2 and 3.
const nabTunedScores = "64.1, 63.5 and 62.9 at --seed 1, 2 and 3, mean 63.5"

// nabFlags writes c as kda bench nab flags.
func nabFlags(c nab.Config) string {
	names := make([]string, len(c.Features))
	for i, f := range c.Features {
		names[i] = f.String()
	}
	after := ""
	if c.ScoreAfter > 0 {
		after = fmt.Sprintf(" --score-after %d", c.ScoreAfter)
	}
	return fmt.Sprintf("--features %s --trees %d --sample %d --decay %g --shingle %d --peak %d%s",
		strings.Join(names, ","), c.Trees, c.SampleSize, c.TimeDecay, c.ShingleSize, c.Peak, after)
}
