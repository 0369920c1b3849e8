package window

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// Aggregate is one aggregate call of a query: COUNT(*), SUM(DISTINCT x),
// EXP_AVG(x, INTERVAL '10' SECOND)...
type Aggregate struct {
	// Func is the function name in upper case: COUNT, SUM, AVG, MIN, MAX,
	// FIRST_VALUE, LAST_VALUE, STDDEV_POP, STDDEV_SAMP, VAR_POP, VAR_SAMP,
	// EXP_AVG, ANY, EVERY (STDDEV and VARIANCE are accepted as the SAMP
	// forms, SOME as ANY).
	Func string
	// Arg is the argument; nil only for COUNT(*).
	Arg expr.Expr
	// Distinct is the DISTINCT set quantifier.
	Distinct bool
	// HalfLife is EXP_AVG's interval argument.
	HalfLife time.Duration
	// User is a user-defined aggregate (useragg.go); Func is then its
	// name and Args its arguments, of the types User.Params declares.
	User UserAggregate
	Args []expr.Expr
	// Analytic holds the options of LAG and NTH_VALUE, analytic functions
	// of sliding windows only (analytic.go).
	Analytic *Analytic
}

// aggKind is a validated aggregate function.
type aggKind uint8

const (
	kCountStar aggKind = iota
	kCount
	kSum
	kAvg
	kMin
	kMax
	kFirst
	kLast
	kVarPop
	kVarSamp
	kStddevPop
	kStddevSamp
	kExpAvg
	kAny
	kEvery
	kUser // a UserAggregate
	kLag  // LAG (analytic.go)
	kNth  // NTH_VALUE (analytic.go)
)

// aggNames lists the accepted names of each kind (the first is canonical).
func aggNames(k aggKind) []string {
	switch k {
	case kCountStar:
		return []string{"COUNT(*)"}
	case kCount:
		return []string{"COUNT"}
	case kSum:
		return []string{"SUM"}
	case kAvg:
		return []string{"AVG"}
	case kMin:
		return []string{"MIN"}
	case kMax:
		return []string{"MAX"}
	case kFirst:
		return []string{"FIRST_VALUE"}
	case kLast:
		return []string{"LAST_VALUE"}
	case kVarPop:
		return []string{"VAR_POP"}
	case kVarSamp:
		return []string{"VAR_SAMP", "VARIANCE"}
	case kStddevPop:
		return []string{"STDDEV_POP"}
	case kStddevSamp:
		return []string{"STDDEV_SAMP", "STDDEV"}
	case kExpAvg:
		return []string{"EXP_AVG"}
	case kAny:
		return []string{"ANY", "SOME"}
	case kEvery:
		return []string{"EVERY"}
	case kLag:
		return []string{"LAG"}
	case kNth:
		return []string{"NTH_VALUE"}
	}
	return nil
}

// lookupKind resolves a function name (any case); COUNT(*) is not a name.
func lookupKind(name string) (aggKind, bool) {
	name = strings.ToUpper(name)
	for k := kCount; k <= kEvery; k++ {
		if slices.Contains(aggNames(k), name) {
			return k, true
		}
	}
	return 0, false
}

// ResultType is the SQL type of fn applied to an argument of type arg (arg
// is ignored for COUNT(*); pass types.TNull). The rules:
//
//	COUNT(*), COUNT(x)                       BIGINT NOT NULL (0 on no rows)
//	SUM of TINYINT..BIGINT                   BIGINT (wraps on overflow)
//	SUM of REAL, DOUBLE                      DOUBLE
//	SUM of INTERVAL                          INTERVAL
//	SUM of DECIMAL(p,s)                      DECIMAL(19,s), exact
//	AVG, VAR_*, STDDEV_*, EXP_AVG (numeric)  DOUBLE (AVG of integers is not truncated)
//	MIN, MAX (numeric, string, datetime, boolean), FIRST_VALUE, LAST_VALUE
//	                                         the argument's type, nullable
//	ANY, EVERY (BOOLEAN)                     BOOLEAN
//
// Every result but COUNT is NULL when no non-NULL value was aggregated;
// VAR_SAMP and STDDEV_SAMP are also NULL over a single value.
func ResultType(fn string, arg types.Type) (types.Type, error) {
	k, ok := lookupKind(fn)
	if !ok {
		return types.Type{}, fmt.Errorf("unknown aggregate function %s", fn)
	}
	return resultType(k, arg)
}

func resultType(k aggKind, arg types.Type) (types.Type, error) {
	bad := func(what string) (types.Type, error) {
		return types.Type{}, fmt.Errorf("aggregate %s needs %s, got %s", kindName(k), what, arg)
	}
	switch k {
	case kCountStar, kCount:
		return types.Type{Kind: types.BigInt, NotNull: true}, nil
	case kSum:
		switch {
		case arg.IsInteger():
			return types.TBigInt, nil
		case arg.Kind == types.Real || arg.Kind == types.Double:
			return types.TDouble, nil
		case arg.Kind == types.Interval:
			return types.TInterval, nil
		case arg.Kind == types.Decimal:
			return types.Type{Kind: types.Decimal, Precision: 19, Scale: arg.Scale}, nil
		}
		return bad("a numeric argument")
	case kAvg, kVarPop, kVarSamp, kStddevPop, kStddevSamp, kExpAvg:
		if !arg.IsNumeric() {
			return bad("a numeric argument")
		}
		return types.TDouble, nil
	case kMin, kMax, kFirst, kLast:
		if _, err := physOf(arg); err != nil {
			return types.Type{}, fmt.Errorf("aggregate %s: %w", kindName(k), err)
		}
		return arg.Nullable(), nil
	case kAny, kEvery:
		if arg.Kind != types.Boolean {
			return bad("a BOOLEAN argument")
		}
		return types.TBoolean, nil
	}
	return types.Type{}, fmt.Errorf("unknown aggregate kind %d", k)
}

func kindName(k aggKind) string {
	if n := aggNames(k); len(n) > 0 {
		return n[0]
	}
	return "?"
}

// aggPlan is a validated Aggregate.
type aggPlan struct {
	kind     aggKind
	arg      expr.Expr
	argType  types.Type
	out      types.Type
	distinct bool // only set where DISTINCT changes the result
	halfLife float64
	outPhys  phys
	argPhys  phys
	argScale int32 // of a DECIMAL argument
	user     UserAggregate
	uargs    []expr.Expr
	an       Analytic // LAG, NTH_VALUE
}

func planAggs(aggs []Aggregate) ([]aggPlan, error) {
	ps := make([]aggPlan, len(aggs))
	for i, a := range aggs {
		p, err := planAgg(a)
		if err != nil {
			return nil, fmt.Errorf("aggregate %d (%s): %w", i+1, a.Func, err)
		}
		ps[i] = p
	}
	return ps, nil
}

func planAgg(a Aggregate) (aggPlan, error) {
	if a.User != nil {
		return userPlan(a)
	}
	if a.Analytic != nil || isAnalytic(a.Func) {
		return analyticPlan(a) // analytic.go
	}
	k, ok := lookupKind(a.Func)
	if !ok {
		return aggPlan{}, fmt.Errorf("unknown aggregate function %q", a.Func)
	}
	p := aggPlan{kind: k, arg: a.Arg}
	if a.Arg == nil {
		if k != kCount {
			return aggPlan{}, fmt.Errorf("%s needs an argument", kindName(k))
		}
		if a.Distinct {
			return aggPlan{}, fmt.Errorf("COUNT(DISTINCT *) is not valid SQL")
		}
		p.kind = kCountStar
		p.argType = types.TNull
	} else {
		p.argType = a.Arg.Type()
		p.argScale = int32(p.argType.Scale)
	}
	out, err := resultType(p.kind, p.argType)
	if err != nil {
		return aggPlan{}, err
	}
	p.out = out
	if p.outPhys, err = physOf(out); err != nil {
		return aggPlan{}, err
	}
	if p.argPhys, err = physOf(p.argType); err != nil {
		return aggPlan{}, err
	}
	switch p.kind {
	case kCount, kSum, kAvg, kVarPop, kVarSamp, kStddevPop, kStddevSamp:
		p.distinct = a.Distinct
	case kExpAvg:
		if a.Distinct {
			return aggPlan{}, fmt.Errorf("EXP_AVG(DISTINCT ...) is not supported")
		}
		if a.HalfLife <= 0 {
			return aggPlan{}, fmt.Errorf("EXP_AVG needs a positive half-life interval, got %s", a.HalfLife)
		}
		p.halfLife = float64(a.HalfLife.Milliseconds())
		if p.halfLife <= 0 {
			return aggPlan{}, fmt.Errorf("EXP_AVG half-life %s is below the millisecond precision of ROWTIME", a.HalfLife)
		}
	}
	// MIN, MAX, FIRST_VALUE, LAST_VALUE, ANY and EVERY give the same result
	// with or without DISTINCT, so DISTINCT is dropped for them.
	return p, nil
}

// finishVar turns shifted sums into the variance family's result.
func finishVar(k aggKind, n int64, s1, s2 float64) (float64, bool) {
	if n == 0 || (n == 1 && (k == kVarSamp || k == kStddevSamp)) {
		return 0, false
	}
	fn := float64(n)
	m2 := s2 - s1*s1/fn
	if m2 < 0 {
		m2 = 0
	}
	var v float64
	if k == kVarPop || k == kStddevPop {
		v = m2 / fn
	} else {
		v = m2 / (fn - 1)
	}
	if k == kStddevPop || k == kStddevSamp {
		v = math.Sqrt(v)
	}
	return v, true
}

// asFloat reads row j of a numeric vec as a float64 (scale: DECIMAL's).
func asFloat(v *vec, j int, scale int32) float64 {
	switch v.p {
	case pFloat:
		return v.f[j]
	case pDec:
		return v.d[j].ToFloat64(scale)
	}
	return float64(v.i[j])
}
