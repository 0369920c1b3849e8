package nab

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kdaproject/kda/operators/anomaly"
)

// Config is a detector a kda SQL application can run: feature columns
// computed by a SELECT over the source stream, RANDOM_CUT_FOREST over them,
// and optionally the Peak post-processing over its score. SQL writes the
// application; Detect computes the same scores in Go.
type Config struct {
	Features []Feature
	// Trees, SampleSize, TimeDecay and ShingleSize are RANDOM_CUT_FOREST's
	// numberOfTrees, subSampleSize, timeDecay and shingleSize.
	Trees, SampleSize int
	TimeDecay         float64
	ShingleSize       int
	// ScoreAfter is RANDOM_CUT_FOREST's scoreAfter (a kda extension; 0:
	// SampleSize, as KDA).
	ScoreAfter int
	// Peak is Post.Peak (0: the forest's score as it is).
	Peak int
}

// Tuned is the configuration kda bench nab --preset tuned runs, the best
// found for NAB's standard profile (see the package documentation): the
// signed log of the value, 200 trees of 512 points with a time decay of
// 3000 rows, no shingling, and a score kept only where it is the highest
// of itself and the 50 rows before it.
func Tuned() Config {
	return Config{Features: []Feature{{Kind: "log"}}, Trees: 200, SampleSize: 512, TimeDecay: 3000, ShingleSize: 1, Peak: 50, ScoreAfter: 256}
}

// ForestOptions are the forest's options for a series seeded with seed.
func (c Config) ForestOptions(seed uint64) anomaly.ForestOptions {
	return anomaly.ForestOptions{Trees: c.Trees, SampleSize: c.SampleSize, TimeDecay: c.TimeDecay,
		ShingleSize: c.ShingleSize, Dimensions: max(1, len(c.Features)), Seed: seed, ScoreAfter: c.ScoreAfter}
}

// Detect runs the configuration over one series with a fresh forest seeded
// with seed and returns the post-processed score of every row.
func (c Config) Detect(values []float64, seed uint64) ([]float64, error) {
	f, err := anomaly.NewForest(c.ForestOptions(seed))
	if err != nil {
		return nil, err
	}
	var scores []float64
	if len(c.Features) == 0 || IsValueOnly(c.Features) {
		scores = Detect(f, values)
	} else {
		scores = DetectPoints(f, Points(values, c.Features))
	}
	return Post{Peak: c.Peak}.Apply(scores), nil
}

// featureColumns names the forest's input columns: "x" for one feature,
// "x1", "x2", … for more.
func (c Config) featureColumns() []string {
	if len(c.Features) <= 1 {
		return []string{`"x"`}
	}
	cols := make([]string, len(c.Features))
	for i := range cols {
		cols[i] = fmt.Sprintf(`"x%d"`, i+1)
	}
	return cols
}

// SQL is the kda SQL application of the configuration over an input stream
// with a DOUBLE column "value", one row per record. Stream "SCORED" carries
// the forest's ANOMALY_SCORE; with Peak > 0, stream "ALERTS" carries the
// post-processed "SCORE" (Detect's result). RANDOM_CUT_FOREST seeds its
// forest with 1, so SQL's scores are Detect's with seed 1.
func (c Config) SQL() string {
	fs := c.Features
	if len(fs) == 0 {
		fs = []Feature{{Kind: "value"}}
	}
	cols := c.featureColumns()
	var decl, exprs []string
	for i, f := range fs {
		decl = append(decl, cols[i]+" DOUBLE")
		exprs = append(exprs, FeatureSQL(f, `"value"`))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE OR REPLACE STREAM \"FEATURES\" (%s);\n", strings.Join(decl, ", "))
	fmt.Fprintf(&b, "CREATE OR REPLACE PUMP \"P1\" AS INSERT INTO \"FEATURES\"\n  SELECT STREAM %s\n  FROM \"SOURCE_SQL_STREAM_001\";\n",
		strings.Join(exprs, ",\n    "))
	fmt.Fprintf(&b, "CREATE OR REPLACE STREAM \"SCORED\" (%s, \"ANOMALY_SCORE\" DOUBLE);\n", strings.Join(decl, ", "))
	after := ""
	if c.ScoreAfter > 0 && c.ScoreAfter != c.SampleSize {
		after = fmt.Sprintf(", %d", c.ScoreAfter)
	}
	fmt.Fprintf(&b, "CREATE OR REPLACE PUMP \"P2\" AS INSERT INTO \"SCORED\"\n  SELECT STREAM %s, ANOMALY_SCORE FROM TABLE(RANDOM_CUT_FOREST(\n    CURSOR(SELECT STREAM %s FROM \"FEATURES\"), %d, %d, %s, %d%s));\n",
		strings.Join(cols, ", "), strings.Join(cols, ", "), c.Trees, c.SampleSize, strconv.FormatFloat(c.TimeDecay, 'f', -1, 64), c.ShingleSize, after)
	if c.Peak > 0 {
		fmt.Fprintf(&b, "CREATE OR REPLACE STREAM \"ALERTS\" (%s, \"SCORE\" DOUBLE);\n", strings.Join(decl, ", "))
		fmt.Fprintf(&b, "CREATE OR REPLACE PUMP \"P3\" AS INSERT INTO \"ALERTS\"\n  SELECT STREAM %s,\n    CASE WHEN ANOMALY_SCORE >= MAX(ANOMALY_SCORE) OVER (ROWS %d PRECEDING)\n         THEN ANOMALY_SCORE ELSE 0 END\n  FROM \"SCORED\";\n",
			strings.Join(cols, ", "), c.Peak)
	}
	return b.String()
}
