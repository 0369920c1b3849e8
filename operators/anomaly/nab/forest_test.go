package nab

import (
	"strings"
	"testing"

	"github.com/kdaproject/kda/operators/anomaly"
)

var _ Detector = (*anomaly.Forest)(nil)

// TestForestAgainstKDA runs our forest (KDA's defaults) over two small
// series and compares it with KDA's published scores: the same algorithm
// with other random choices should correlate closely and score alike.
func TestForestAgainstKDA(t *testing.T) {
	ss := corpus(t, func(n string) bool {
		return strings.HasSuffix(n, "/ec2_cpu_utilization_5f5533.csv") || strings.HasSuffix(n, "/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv")
	})
	if len(ss) != 2 {
		t.Fatalf("%d series", len(ss))
	}
	ours := make([][]float64, len(ss))
	kda := make([][]float64, len(ss))
	for k, s := range ss {
		f, err := anomaly.NewForest(anomaly.ForestOptions{Seed: uint64(k + 1)})
		if err != nil {
			t.Fatal(err)
		}
		ours[k], kda[k] = Detect(f, s.Values), s.KDA
		p, sp := Pearson(ours[k], s.KDA), Spearman(ours[k], s.KDA)
		t.Logf("%s: Pearson %.3f Spearman %.3f", s.Name, p, sp)
		if p < 0.9 || sp < 0.7 {
			t.Errorf("%s: Pearson %.3f Spearman %.3f with KDA's scores", s.Name, p, sp)
		}
	}
	o, err := Standard.Optimise(Runs(ss, ours))
	if err != nil {
		t.Fatal(err)
	}
	k, err := Standard.Optimise(Runs(ss, kda))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NAB score on these series: ours %.1f, KDA %.1f", o.Score, k.Score)
	if o.Score < k.Score-25 {
		t.Errorf("ours %.1f far below KDA's %.1f", o.Score, k.Score)
	}
}
