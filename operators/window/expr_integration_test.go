package window

import (
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// The operators driven by the real expression library: GROUP BY
// STEP(ROWTIME BY INTERVAL '1' MINUTE), S with SUM(100 / V), where V = 0
// fails the row into error_stream.
func TestTumblingWithOperatorsExpr(t *testing.T) {
	must := func(e expr.Expr, err error) expr.Expr {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	rowtime := expr.Col(0, testSchema.Fields[0].Type, "ROWTIME")
	minute := must(expr.Lit(time.Minute, types.TInterval))
	step := must(expr.Call("STEP", rowtime, minute))
	hundred := must(expr.Lit(int64(100), types.TBigInt))
	div := must(expr.Call("/", hundred, expr.Col(3, types.TBigInt, "V")))
	s := &sink{}
	op, err := NewTumbling(TumblingSpec{Input: testSchema, WindowKey: step, Width: time.Minute,
		Keys: []expr.Expr{expr.Col(2, types.VarcharOf(8), "S")}, Aggs: []Aggregate{{Func: "SUM", Arg: div}}})
	if err != nil {
		t.Fatal(err)
	}
	op.SetEmit(s.emit)
	rec := batch([]row{
		{t: ms("11:00:01"), s: sp("a"), v: ip(50)},
		{t: ms("11:00:02"), s: sp("a"), v: ip(0)},
		{t: ms("11:00:03"), s: sp("a"), v: ip(25)},
		{t: ms("11:01:00"), s: sp("b"), v: ip(1)},
	})
	defer rec.Release()
	if err := op.Process(s.ctx(), rec); err != nil {
		t.Fatal(err)
	}
	exactRows(t, "output", s.rows, [][]any{{ms("11:01:00"), ms("11:00:00"), "a", int64(6)}})
	if len(s.errs) != 1 || s.errs[0].DataRowtime.UnixMilli() != ms("11:00:02") {
		t.Fatalf("errors: %+v", s.errs)
	}
}
