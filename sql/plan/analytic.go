package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/window"
)

// Analytic functions of sliding windows (KDA-SQL.md §4 "Streaming SQL";
// SR sql-reference-lag, sql-reference-nth-value, sql-reference-first-value;
// operators/window/analytic.go has the semantics):
//
//	LAG(x [, n [, default]]) [IGNORE NULLS | RESPECT NULLS] OVER w
//	NTH_VALUE(x, n) [FROM FIRST | FROM LAST] [IGNORE NULLS | RESPECT NULLS] OVER w
//	FIRST_VALUE(x) / LAST_VALUE(x) [IGNORE NULLS | RESPECT NULLS] OVER w
//
// The dialect passes the modifiers as extra string arguments of KDA_OVER.
// FIRST_VALUE(x) IGNORE NULLS is NTH_VALUE(x, 1) IGNORE NULLS, and
// LAST_VALUE(x) IGNORE NULLS is NTH_VALUE(x, 1) FROM LAST IGNORE NULLS.

// overModifiers returns the modifiers of a KDA_OVER call (nil for none).
func overModifiers(in *binder, over *sqlparser.FuncExpr) ([]string, error) {
	if over == nil {
		return nil, nil
	}
	var mods []string
	for _, se := range over.Exprs[2:] {
		v, ok := unaliased(se).(*sqlparser.SQLVal)
		if !ok {
			return nil, in.errAt(over, "malformed OVER")
		}
		mods = append(mods, string(v.Val))
	}
	return mods, nil
}

// bindAnalytic binds LAG and NTH_VALUE, and FIRST_VALUE or LAST_VALUE with
// IGNORE/RESPECT NULLS. It reports false for other calls, which must then
// have no modifiers.
func (p *planner) bindAnalytic(in *binder, f *sqlparser.FuncExpr, win string, mods []string) (*aggCall, bool, error) {
	name := strings.ToUpper(f.Name.String())
	an := &window.Analytic{N: 1}
	fromSet := false
	for _, m := range mods {
		switch m {
		case "FROM FIRST":
			fromSet = true
		case "FROM LAST":
			fromSet, an.FromLast = true, true
		case "IGNORE NULLS":
			an.IgnoreNulls = true
		}
	}
	switch name {
	case "LAG", "NTH_VALUE":
	case "FIRST_VALUE", "LAST_VALUE":
		if fromSet {
			return nil, true, in.errAt(f, "FROM FIRST and FROM LAST belong to NTH_VALUE, not %s", name)
		}
		if !an.IgnoreNulls {
			return nil, false, nil // RESPECT NULLS is the default
		}
	default:
		if len(mods) > 0 {
			return nil, true, in.errAt(f, "%s takes no %s: only LAG, NTH_VALUE, FIRST_VALUE and LAST_VALUE do", name, strings.Join(mods, " "))
		}
		return nil, false, nil
	}
	if win == "" {
		return nil, true, in.errAt(f, "%s is an analytic function: it needs OVER a sliding window, e.g. %s(x) OVER (PARTITION BY k ROWS 5 PRECEDING)", name, name)
	}
	if f.Distinct {
		return nil, true, in.errAt(f, "%s(DISTINCT ...) is not valid", name)
	}
	var args []sqlparser.Expr
	for _, se := range f.Exprs {
		a, ok := se.(*sqlparser.AliasedExpr)
		if !ok {
			return nil, true, in.errAt(f, "%s(*) is not valid; only COUNT(*)", name)
		}
		if containsAggregate(a.Expr) {
			return nil, true, in.errAt(a.Expr, "aggregates cannot be nested")
		}
		args = append(args, a.Expr)
	}
	fn := name
	switch name {
	case "LAG":
		if fromSet {
			return nil, true, in.errAt(f, "LAG counts back from the current row: FROM FIRST and FROM LAST belong to NTH_VALUE")
		}
		if len(args) < 1 || len(args) > 3 {
			return nil, true, in.errAt(f, "LAG takes a value, an optional offset and an optional default: LAG(x [, n [, default]])")
		}
	case "NTH_VALUE":
		if len(args) != 2 {
			return nil, true, in.errAt(f, "NTH_VALUE takes a value and a position: NTH_VALUE(x, n)")
		}
	default: // FIRST_VALUE, LAST_VALUE IGNORE NULLS
		if len(args) != 1 {
			return nil, true, in.errAt(f, "%s takes one argument", name)
		}
		fn, an.FromLast = "NTH_VALUE", name == "LAST_VALUE"
	}
	x, err := in.bind(args[0])
	if err != nil {
		return nil, true, err
	}
	if len(args) >= 2 {
		min := int64(0)
		what := "LAG's offset must be an integer literal of at least 0, such as 2"
		if name == "NTH_VALUE" {
			min, what = 1, "NTH_VALUE's position must be an integer literal of at least 1 (the first row of the window)"
		}
		v, ok := args[1].(*sqlparser.SQLVal)
		if !ok || v.Type != sqlparser.IntVal {
			return nil, true, in.errAt(args[1], "%s", what)
		}
		n, err := strconv.ParseInt(string(v.Val), 10, 64)
		if err != nil || n < min {
			return nil, true, in.errAt(args[1], "%s", what)
		}
		an.N = n
	}
	if len(args) == 3 {
		d, err := in.bind(args[2])
		if err != nil {
			return nil, true, err
		}
		if !sameType(d.Type(), x.Type()) {
			if !assignable(d.Type(), x.Type()) {
				return nil, true, in.errAt(args[2], "LAG's default is %s, which cannot stand for a value of %s", d.Type().Nullable(), x.Type().Nullable())
			}
			if d, err = expr.Cast(d, x.Type().Nullable()); err != nil {
				return nil, true, in.wrap(args[2], err)
			}
		}
		an.Default = d
	}
	agg := window.Aggregate{Func: fn, Arg: x, Analytic: an}
	return &aggCall{node: f, window: win, agg: agg, typ: x.Type().Nullable()}, true, nil
}

// analyticString describes an analytic call for EXPLAIN.
func analyticString(a window.Aggregate) string {
	an := a.Analytic
	s := fmt.Sprintf("%s(%s, %d", a.Func, a.Arg, an.N)
	if an.Default != nil {
		s += ", " + an.Default.String()
	}
	s += ")"
	if an.FromLast {
		s += " FROM LAST"
	}
	if an.IgnoreNulls {
		s += " IGNORE NULLS"
	}
	return s
}
