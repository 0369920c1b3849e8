package anomaly

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/sql/types"
)

var testInput = types.Schema{Fields: []types.Field{
	{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "NAME", Type: types.VarcharOf(8)},
	{Name: "A", Type: types.TDouble},
	{Name: "B", Type: types.TInteger},
}}

func batch(t *testing.T, a []float64, b []int32, nullAt int) arrow.Record {
	mem := memory.DefaultAllocator
	bld := array.NewRecordBuilder(mem, testInput.Arrow())
	defer bld.Release()
	for i := range a {
		bld.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
		bld.Field(1).(*array.StringBuilder).Append("x")
		if i == nullAt {
			bld.Field(2).AppendNull()
		} else {
			bld.Field(2).(*array.Float64Builder).Append(a[i])
		}
		bld.Field(3).(*array.Int32Builder).Append(b[i])
	}
	return bld.NewRecord()
}

func TestOperator(t *testing.T) {
	op, err := NewRCF(RCFSpec{Input: testInput, Forest: ForestOptions{Trees: 40, SampleSize: 64, Seed: 3}, Explain: true, Directional: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(op.Schema().Fields); got != 6 || op.Schema().Fields[4].Name != ScoreColumn || op.Schema().Fields[5].Type.Length != 20480 {
		t.Fatalf("schema %+v", op.Schema())
	}
	var outs []arrow.Record
	op.SetEmit(func(r arrow.Record) error { r.Retain(); outs = append(outs, r); return nil })
	u := noise(8)
	n := 500
	a, b := make([]float64, n), make([]int32, n)
	for i := range a {
		a[i], b[i] = 100+u(), int32(u()*10)
	}
	a[450] = 1000
	rec := batch(t, a, b, 300)
	defer rec.Release()
	if err := op.Process(&operators.Context{}, rec); err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].NumRows() != int64(n) {
		t.Fatalf("outputs %v", outs)
	}
	out := outs[0]
	defer out.Release()
	scores := out.Column(4).(*array.Float64)
	expl := out.Column(5).(*array.String)
	if scores.Value(10) != 0 || !scores.IsNull(300) || !expl.IsNull(300) {
		t.Fatalf("warm-up or NULL row: %v %v", scores.Value(10), scores.IsNull(300))
	}
	if scores.Value(450) < 3 {
		t.Fatalf("outlier score %v", scores.Value(450))
	}
	var e map[string]map[string]string
	if err := json.Unmarshal([]byte(expl.Value(450)), &e); err != nil {
		t.Fatal(err)
	}
	if e["A"]["DIRECTION"] != "HIGH" || len(e) != 2 || e["B"]["STRENGTH"] == "" {
		t.Fatalf("explanation %s", expl.Value(450))
	}
	x, _ := strconv.ParseFloat(e["A"]["ATTRIBUTION_SCORE"], 64)
	y, _ := strconv.ParseFloat(e["B"]["ATTRIBUTION_SCORE"], 64)
	if d := x + y - scores.Value(450); d > 0.0002 || d < -0.0002 {
		t.Fatalf("attributions %v+%v, score %v", x, y, scores.Value(450))
	}
	t.Logf("outlier row: %v %s", scores.Value(450), expl.Value(450))

	// Snapshot/Restore through the operator.
	var buf bytes.Buffer
	if err := op.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	op2, _ := NewRCF(RCFSpec{Input: testInput, Forest: ForestOptions{Trees: 40, SampleSize: 64, Seed: 3}})
	if err := op2.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if s1, s2 := op.Forest().Update([]float64{100.5, 3}), op2.Forest().Update([]float64{100.5, 3}); s1 != s2 {
		t.Fatalf("restored operator: %v vs %v", s1, s2)
	}
}

func TestOperatorErrors(t *testing.T) {
	noNum := types.Schema{Fields: testInput.Fields[:2]}
	if _, err := NewRCF(RCFSpec{Input: noNum}); err == nil {
		t.Error("no numeric column: no error")
	}
	dup := types.Schema{Fields: append(append([]types.Field(nil), testInput.Fields...), types.Field{Name: ScoreColumn, Type: types.TDouble})}
	if _, err := NewRCF(RCFSpec{Input: dup}); err == nil {
		t.Error("duplicate ANOMALY_SCORE: no error")
	}
	if _, err := NewRCF(RCFSpec{Input: testInput, Forest: ForestOptions{Trees: 5000}}); err == nil {
		t.Error("bad options: no error")
	}
}
