package window

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators/expr"
)

// Analytic functions of a sliding window (KDA-SQL.md §2.3 and §4,
// "Streaming SQL"): they pick one row of the current row's window rather
// than fold them all.
//
//	LAG(x [, n [, default]]) [IGNORE NULLS | RESPECT NULLS] OVER w
//	    x of the row n rows before the current one in its window (n
//	    defaults to 1; 0 is the current row), else default (NULL if none).
//	    Equivalent to NTH_VALUE(x, n + 1) FROM LAST, but with a default.
//	NTH_VALUE(x, n) [FROM FIRST | FROM LAST] [IGNORE NULLS | RESPECT NULLS] OVER w
//	    x of the n-th row (from 1) of the window, counted from its oldest
//	    row (FROM FIRST, the default) or from the current row (FROM LAST);
//	    NULL when the window has fewer rows.
//
// IGNORE NULLS skips the rows whose x is NULL while counting (for LAG the
// current row is not counted either way). The default is not used for a
// row that is in the window with a NULL x. A window is the same as for the
// aggregates: the rows of the partition in (ROWTIME - range, ROWTIME], or
// the current row and the n before it. The operator keeps x of every row
// of the window already (its ring), so these functions need no state of
// their own and are checkpointed with the ring.

// Analytic is the options of LAG and NTH_VALUE.
type Analytic struct {
	// N is LAG's offset (0 is the current row) or NTH_VALUE's position
	// (from 1).
	N int64
	// FromLast counts NTH_VALUE's position back from the current row.
	FromLast bool
	// IgnoreNulls skips rows whose value is NULL while counting.
	IgnoreNulls bool
	// Default is LAG's value when the row it asks for is not in the
	// window; nil means NULL. It is evaluated on the current row and must
	// have the argument's type.
	Default expr.Expr
}

func isAnalytic(name string) bool {
	n := strings.ToUpper(name)
	return n == "LAG" || n == "NTH_VALUE"
}

// analyticPlan validates a LAG or NTH_VALUE call.
func analyticPlan(a Aggregate) (aggPlan, error) {
	k := kLag
	if strings.ToUpper(a.Func) == "NTH_VALUE" {
		k = kNth
	}
	if a.Arg == nil {
		return aggPlan{}, fmt.Errorf("%s needs an argument", kindName(k))
	}
	an := Analytic{N: 1}
	if a.Analytic != nil {
		an = *a.Analytic
	}
	if a.Distinct {
		return aggPlan{}, fmt.Errorf("%s(DISTINCT ...) is not valid", kindName(k))
	}
	switch k {
	case kLag:
		if an.N < 0 {
			return aggPlan{}, fmt.Errorf("LAG's offset must not be negative, got %d", an.N)
		}
		if an.FromLast {
			return aggPlan{}, fmt.Errorf("LAG always counts back from the current row: FROM LAST belongs to NTH_VALUE")
		}
	case kNth:
		if an.N < 1 {
			return aggPlan{}, fmt.Errorf("NTH_VALUE's position counts from 1, got %d", an.N)
		}
		if an.Default != nil {
			return aggPlan{}, fmt.Errorf("NTH_VALUE has no default value")
		}
	}
	p := aggPlan{kind: k, arg: a.Arg, argType: a.Arg.Type(), an: an}
	p.argScale = int32(p.argType.Scale)
	p.out = p.argType.Nullable()
	var err error
	if p.argPhys, err = physOf(p.argType); err != nil {
		return aggPlan{}, fmt.Errorf("%s: %w", kindName(k), err)
	}
	p.outPhys = p.argPhys
	if d := an.Default; d != nil {
		dp, err := physOf(d.Type())
		if err != nil || dp != p.argPhys || (dp == pDec && d.Type().Scale != p.argType.Scale) {
			return aggPlan{}, fmt.Errorf("LAG's default %s is %s, not the argument's type %s", d, d.Type(), p.argType)
		}
	}
	return p, nil
}

// analytic reports whether k picks a row of the window rather than folds
// them: such aggregates keep no running state beyond the ring of values.
func (k aggKind) analytic() bool { return k == kLag || k == kNth }

// evalDefaults evaluates LAG's default values for rec into defs.
func evalDefaults(ec *expr.EvalContext, rec arrow.Record, plans []aggPlan, defs []vec) error {
	for k, p := range plans {
		d := p.an.Default
		if d == nil {
			continue
		}
		arr, err := d.Eval(ec, rec)
		if err != nil {
			return fmt.Errorf("evaluate LAG default %s: %w", d, err)
		}
		err = defs[k].load(arr)
		arr.Release()
		if err != nil {
			return fmt.Errorf("LAG default %s: %w", d, err)
		}
	}
	return nil
}

// analyticResult stages LAG or NTH_VALUE for the row just added to p
// (sequence last; row i of the batch, whose default is def[i]).
func analyticResult(pl *aggPlan, v *vec, p *spart, last int64, out *vec, def *vec, i int) {
	mask := len(p.times) - 1
	an := &pl.an
	var start, step, skip int64 // the first row to look at, the direction, the rows to pass
	switch {
	case pl.kind == kLag && an.N == 0:
		appendAlias(out, v, int(last)&mask)
		return
	case pl.kind == kLag:
		start, step, skip = last-1, -1, an.N-1
	case an.FromLast:
		start, step, skip = last, -1, an.N-1
	default:
		start, step, skip = p.head, 1, an.N-1
	}
	if !an.IgnoreNulls {
		if seq := start + step*skip; seq >= p.head && seq <= last {
			appendAlias(out, v, int(seq)&mask)
			return
		}
	} else {
		for seq := start; seq >= p.head && seq <= last; seq += step {
			pos := int(seq) & mask
			if !v.ok[pos] {
				continue
			}
			if skip == 0 {
				appendAlias(out, v, pos)
				return
			}
			skip--
		}
	}
	if an.Default != nil {
		appendAlias(out, def, i)
		return
	}
	out.appendNull()
}
