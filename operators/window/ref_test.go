package window

import (
	"math"
	"sort"
	"time"

	"github.com/kdaproject/kda/operators/expr"
)

// refAgg is an aggregate computed the obvious way over a list of rows.
type refAgg struct {
	fn       string
	arg      string // "", "V", "F", "S", "B"
	distinct bool
	half     time.Duration
}

func (a refAgg) spec() Aggregate {
	var e expr.Expr
	switch a.arg {
	case "V":
		e = cV
	case "F":
		e = cF
	case "S":
		e = cS
	case "B":
		e = cB
	case "X":
		e = failOn{cV, 13}
	}
	return Aggregate{Func: a.fn, Arg: e, Distinct: a.distinct, HalfLife: a.half}
}

func (a refAgg) val(r row) any {
	switch a.arg {
	case "V", "X":
		if r.v != nil {
			return *r.v
		}
	case "F":
		if r.f != nil {
			return *r.f
		}
	case "S":
		if r.s != nil {
			return *r.s
		}
	case "B":
		if r.b != nil {
			return *r.b
		}
	}
	return nil
}

func less(x, y any) bool {
	switch x := x.(type) {
	case int64:
		return x < y.(int64)
	case float64:
		return x < y.(float64)
	case string:
		return x < y.(string)
	case bool:
		return !x && y.(bool)
	}
	return false
}

func num(x any) float64 {
	switch x := x.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func (a refAgg) eval(rows []row) any {
	if a.fn == "COUNT" && a.arg == "" {
		return int64(len(rows))
	}
	switch a.fn {
	case "FIRST_VALUE":
		return a.val(rows[0])
	case "LAST_VALUE":
		return a.val(rows[len(rows)-1])
	}
	var vals []any
	var times []int64
	seen := map[any]bool{}
	for _, r := range rows {
		v := a.val(r)
		if v == nil {
			continue
		}
		if f, ok := v.(float64); ok && f == 0 {
			v = 0.0
		}
		if a.distinct {
			if seen[v] {
				continue
			}
			seen[v] = true
		}
		vals = append(vals, v)
		times = append(times, r.t)
	}
	if a.fn == "COUNT" {
		return int64(len(vals))
	}
	if len(vals) == 0 {
		return nil
	}
	switch a.fn {
	case "SUM":
		if _, ok := vals[0].(int64); ok {
			var s int64
			for _, v := range vals {
				s += v.(int64)
			}
			return s
		}
		var s float64
		for _, v := range vals {
			s += v.(float64)
		}
		return s
	case "AVG":
		var s float64
		for _, v := range vals {
			s += num(v)
		}
		return s / float64(len(vals))
	case "MIN", "MAX":
		sorted := append([]any(nil), vals...)
		sort.SliceStable(sorted, func(i, j int) bool { return less(sorted[i], sorted[j]) })
		if a.fn == "MIN" {
			return sorted[0]
		}
		return sorted[len(sorted)-1]
	case "VAR_POP", "VAR_SAMP", "STDDEV_POP", "STDDEV_SAMP":
		n := float64(len(vals))
		if n == 1 && (a.fn == "VAR_SAMP" || a.fn == "STDDEV_SAMP") {
			return nil
		}
		var mean float64
		for _, v := range vals {
			mean += num(v)
		}
		mean /= n
		var m2 float64
		for _, v := range vals {
			d := num(v) - mean
			m2 += d * d
		}
		var r float64
		if a.fn == "VAR_POP" || a.fn == "STDDEV_POP" {
			r = m2 / n
		} else {
			r = m2 / (n - 1)
		}
		if a.fn[0] == 'S' {
			r = math.Sqrt(r)
		}
		return r
	case "EXP_AVG":
		h := float64(a.half.Milliseconds())
		var s, w float64
		for k, v := range vals {
			x := math.Exp2(float64(times[k]-times[len(times)-1]) / h)
			s += num(v) * x
			w += x
		}
		return s / w
	case "ANY":
		for _, v := range vals {
			if v.(bool) {
				return true
			}
		}
		return false
	case "EVERY":
		for _, v := range vals {
			if !v.(bool) {
				return false
			}
		}
		return true
	}
	panic("unknown " + a.fn)
}

// allAggs covers every function, with DISTINCT where it matters.
var allAggs = []refAgg{
	{fn: "COUNT"}, {fn: "COUNT", arg: "V"}, {fn: "COUNT", arg: "V", distinct: true},
	{fn: "SUM", arg: "V"}, {fn: "SUM", arg: "V", distinct: true}, {fn: "SUM", arg: "F"},
	{fn: "AVG", arg: "V"}, {fn: "AVG", arg: "F", distinct: true},
	{fn: "MIN", arg: "V"}, {fn: "MAX", arg: "V"}, {fn: "MIN", arg: "F"}, {fn: "MAX", arg: "S"}, {fn: "MIN", arg: "S"},
	{fn: "FIRST_VALUE", arg: "V"}, {fn: "LAST_VALUE", arg: "S"},
	{fn: "VAR_POP", arg: "F"}, {fn: "VAR_SAMP", arg: "V"}, {fn: "STDDEV_POP", arg: "V"}, {fn: "STDDEV_SAMP", arg: "F", distinct: true},
	{fn: "EXP_AVG", arg: "F", half: 10 * time.Second},
	{fn: "ANY", arg: "B"}, {fn: "EVERY", arg: "B"},
}

func specs(as []refAgg) []Aggregate {
	var out []Aggregate
	for _, a := range as {
		out = append(out, a.spec())
	}
	return out
}

// withFailures adds an aggregate whose argument fails on V = 13, so those
// rows go to error_stream and are left out of every aggregate.
func withFailures(as []refAgg, on bool) []refAgg {
	if !on {
		return as
	}
	return append(append([]refAgg(nil), as...), refAgg{fn: "SUM", arg: "X"})
}

func fails(r row, on bool) bool { return on && r.v != nil && *r.v == 13 }

func countFailures(rows []row, on bool) int {
	n := 0
	for _, r := range rows {
		if fails(r, on) {
			n++
		}
	}
	return n
}
