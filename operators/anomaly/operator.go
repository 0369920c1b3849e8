package anomaly

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// Output column names.
const (
	ScoreColumn       = "ANOMALY_SCORE"
	ExplanationColumn = "ANOMALY_EXPLANATION"
)

// RCFSpec describes RANDOM_CUT_FOREST (Explain false) or
// RANDOM_CUT_FOREST_WITH_EXPLANATION (Explain true, Directional its
// withDirectionality argument) over rows of Input. Forest.Dimensions is
// ignored: it is the number of numeric columns of Input.
type RCFSpec struct {
	Input       types.Schema
	Forest      ForestOptions
	Explain     bool
	Directional bool
}

// RCF is the operator NewRCF builds. Its output is every input column,
// then ANOMALY_SCORE DOUBLE, then (with Explain) ANOMALY_EXPLANATION
// VARCHAR(20480).
//
// The point is the row's numeric columns (TINYINT, SMALLINT, INTEGER,
// BIGINT, REAL, DOUBLE, DECIMAL) in schema order, ROWTIME excluded. A row
// with a NULL, NaN or infinite numeric column is passed through with a
// NULL ANOMALY_SCORE (and explanation) and does not touch the model: it is
// neither scored, inserted nor added to the shingle.
//
// The explanation is a JSON object with one member per numeric column:
// {"COL":{"ATTRIBUTION_SCORE":"0.3792"}}, plus "DIRECTION" ("HIGH"/"LOW")
// and "STRENGTH" with Directional; values are strings with 4 decimals.
type RCF struct {
	relational.Out
	spec   RCFSpec
	schema types.Schema
	arrow  *arrow.Schema
	cols   []int    // input column index of each dimension
	names  []string // their JSON-quoted names
	forest *Forest
	point  []float64
	attr   Attribution
	sb     strings.Builder
}

// NewRCF validates spec and builds the operator with an empty forest.
func NewRCF(spec RCFSpec) (*RCF, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("random cut forest: %w", err)
	}
	op := &RCF{spec: spec}
	for i, f := range spec.Input.Fields[1:] {
		if f.Type.IsNumeric() {
			op.cols = append(op.cols, i+1)
			op.names = append(op.names, strconv.Quote(f.Name))
		}
	}
	if len(op.cols) == 0 {
		return nil, fmt.Errorf("random cut forest: the input has no numeric column")
	}
	opts := spec.Forest
	opts.Dimensions = len(op.cols)
	f, err := NewForest(opts)
	if err != nil {
		return nil, err
	}
	op.forest = f
	op.point = make([]float64, len(op.cols))
	op.schema.Fields = append(op.schema.Fields, spec.Input.Fields...)
	add := []types.Field{{Name: ScoreColumn, Type: types.TDouble}}
	if spec.Explain {
		add = append(add, types.Field{Name: ExplanationColumn, Type: types.VarcharOf(20480)})
	}
	for _, a := range add {
		if spec.Input.Index(a.Name) >= 0 {
			return nil, fmt.Errorf("random cut forest: the input already has a column %s", a.Name)
		}
		op.schema.Fields = append(op.schema.Fields, a)
	}
	op.arrow = op.schema.Arrow()
	return op, nil
}

// Schema implements operators.Operator.
func (o *RCF) Schema() types.Schema { return o.schema }

// Forest is the operator's model.
func (o *RCF) Forest() *Forest { return o.forest }

// Advance implements operators.Operator: the operator holds no rows.
func (o *RCF) Advance(*operators.Context, time.Time) error { return nil }

// Snapshot implements operators.Stateful.
func (o *RCF) Snapshot(w io.Writer) error { return o.forest.Snapshot(w) }

// Restore implements operators.Stateful. The snapshot must be of a forest
// with as many dimensions as the operator's input has numeric columns.
func (o *RCF) Restore(r io.Reader) error {
	// g starts with the query's options, so Restore keeps its ScoreAfter.
	g := &Forest{opts: o.forest.opts}
	if err := g.Restore(r); err != nil {
		return err
	}
	if g.opts.Dimensions != len(o.cols) {
		return fmt.Errorf("random cut forest restore: snapshot has %d dimensions, the input %d numeric columns",
			g.opts.Dimensions, len(o.cols))
	}
	o.forest = g
	return nil
}

// value reads row i of a numeric column as float64; ok is false for NULL.
func value(col arrow.Array, i int) (float64, bool) {
	if col.IsNull(i) {
		return 0, false
	}
	switch a := col.(type) {
	case *array.Int8:
		return float64(a.Value(i)), true
	case *array.Int16:
		return float64(a.Value(i)), true
	case *array.Int32:
		return float64(a.Value(i)), true
	case *array.Int64:
		return float64(a.Value(i)), true
	case *array.Float32:
		return float64(a.Value(i)), true
	case *array.Float64:
		return a.Value(i), true
	case *array.Decimal128:
		return a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal128Type).Scale), true
	}
	return 0, false
}

// Process implements operators.Operator.
func (o *RCF) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	mem := ctx.Alloc()
	sb := array.NewFloat64Builder(mem)
	defer sb.Release()
	sb.Reserve(n)
	var eb *array.StringBuilder
	if o.spec.Explain {
		eb = array.NewStringBuilder(mem)
		defer eb.Release()
		eb.Reserve(n)
	}
	for i := 0; i < n; i++ {
		ok := true
		for k, c := range o.cols {
			v, valid := value(rec.Column(c), i)
			if !valid || math.IsNaN(v) || math.IsInf(v, 0) {
				ok = false
				break
			}
			o.point[k] = v
		}
		if !ok {
			sb.AppendNull()
			if eb != nil {
				eb.AppendNull()
			}
			continue
		}
		if eb == nil {
			sb.Append(o.forest.Update(o.point))
			continue
		}
		s := o.forest.UpdateExplain(o.point, &o.attr)
		sb.Append(s)
		eb.Append(o.explain())
	}
	cols := make([]arrow.Array, 0, len(o.schema.Fields))
	for c := 0; c < int(rec.NumCols()); c++ {
		cols = append(cols, rec.Column(c))
	}
	score := sb.NewArray()
	defer score.Release()
	cols = append(cols, score)
	if eb != nil {
		ex := eb.NewArray()
		defer ex.Release()
		cols = append(cols, ex)
	}
	out := array.NewRecord(o.arrow, cols, int64(n))
	defer out.Release()
	return o.Send(out)
}

func (o *RCF) explain() string {
	b := &o.sb
	b.Reset()
	b.WriteByte('{')
	for k, name := range o.names {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteString(`:{"ATTRIBUTION_SCORE":"`)
		b.WriteString(strconv.FormatFloat(o.attr.Score(k), 'f', 4, 64))
		b.WriteByte('"')
		if o.spec.Directional {
			b.WriteString(`,"DIRECTION":"`)
			b.WriteString(o.attr.Direction(k))
			b.WriteString(`","STRENGTH":"`)
			b.WriteString(strconv.FormatFloat(o.attr.Strength(k), 'f', 4, 64))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.String()
}

var (
	_ operators.Stateful = (*RCF)(nil)
)
