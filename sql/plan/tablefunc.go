package plan

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/anomaly"
	"github.com/kdaproject/kda/operators/sketch"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// Table functions (KDA-SQL.md §4.1-4.4). The dialect turns
// FROM TABLE(fn(CURSOR(query), args...)) AS t into the derived table
// "(query) AS t" and records fn and args in Query.TableFunctions[t];
// planTableFunction plans the query (the CURSOR), then the function's
// operator over the query's rows. The outer query reads the function's
// output:
//
//	TOP_K_ITEMS_TUMBLING(CURSOR(q), 'column', K, windowSizeSeconds)
//	    ROWTIME (window end), <column> (its type), ITEM_COUNT BIGINT
//	COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(q), 'column', windowSizeSeconds)
//	    ROWTIME (window end), NUMBER_OF_DISTINCT_ITEMS BIGINT
//	HOTSPOTS(CURSOR(q), windowSize, scanRadius, minimumNumberOfPointsInAHotspot)
//	    q's columns, HOTSPOTS_RESULT VARCHAR(10000)
//	RANDOM_CUT_FOREST(CURSOR(q) [, numberOfTrees, subSampleSize, timeDecay, shingleSize [, scoreAfter]])
//	    q's columns, ANOMALY_SCORE DOUBLE
//	RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(q) [, numberOfTrees, subSampleSize,
//	    timeDecay, shingleSize [, withDirectionality [, scoreAfter]]])
//	    q's columns, ANOMALY_SCORE DOUBLE, ANOMALY_EXPLANATION VARCHAR(20480)
//
// TOP_K's item column keeps the cursor column's name and type: KDA's
// examples insert with SELECT STREAM * into (TICKER_SYMBOL VARCHAR(4),
// MOST_FREQUENT_VALUES BIGINT) or (ITEM VARCHAR(1024), ITEM_COUNT DOUBLE),
// i.e. by position, which works with any names and with assignment casts.
//
// Random cut forest parameters are all given or all defaulted (100, 256,
// 100000, 1); the ranges are numberOfTrees 1..1000, subSampleSize 10..1000,
// timeDecay 1..2^31-1, shingleSize 1..30. withDirectionality defaults to
// false. scoreAfter (a kda extension, 1..subSampleSize, default
// subSampleSize) is how many records the forest takes in before its scores
// are not 0. The forest's seed is fixed, so a replay scores identically.

// tableFuncSig describes one table function's arguments after the CURSOR.
type tableFuncSig struct {
	usage string
	// counts lists the accepted numbers of arguments after the CURSOR.
	counts []int
}

var tableFuncs = map[string]tableFuncSig{
	"TOP_K_ITEMS_TUMBLING":               {"TOP_K_ITEMS_TUMBLING(CURSOR(...), 'columnName', K, windowSizeSeconds)", []int{3}},
	"COUNT_DISTINCT_ITEMS_TUMBLING":      {"COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(...), 'columnName', windowSizeSeconds)", []int{2}},
	"HOTSPOTS":                           {"HOTSPOTS(CURSOR(...), windowSize, scanRadius, minimumNumberOfPointsInAHotspot)", []int{3}},
	"RANDOM_CUT_FOREST":                  {"RANDOM_CUT_FOREST(CURSOR(...) [, numberOfTrees, subSampleSize, timeDecay, shingleSize [, scoreAfter]])", []int{0, 4, 5}},
	"GROUP_RANK":                         {"GROUP_RANK(CURSOR(...), 'rankByColumnName', 'rankOutColumnName', 'asc'|'desc' sortOrder, 'asc'|'desc' outputOrder, maxIdle, outputMax)", []int{6}}, // grouprank.go
	"RANDOM_CUT_FOREST_WITH_EXPLANATION": {"RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(...) [, numberOfTrees, subSampleSize, timeDecay, shingleSize [, withDirectionality [, scoreAfter]]])", []int{0, 4, 5, 6}},
}

// rcfSeed seeds every forest: planning the same SQL gives the same scores.
const rcfSeed = 1

// planTableFunction plans FROM TABLE(tf(CURSOR(sub), ...)).
func (p *planner) planTableFunction(q *dialect.Query, tf *dialect.TableFunction, sub *sqlparser.Subquery) (*selected, error) {
	name := strings.ToUpper(tf.Name)
	sig, ok := tableFuncs[name]
	if !ok {
		known := make([]string, 0, len(tableFuncs))
		for n := range tableFuncs {
			known = append(known, n)
		}
		sort.Strings(known)
		return nil, p.errAt(tf.Pos, "unknown table function %s (table functions: %s)", quoteName(tf.Name), strings.Join(known, ", "))
	}
	at := func(node sqlparser.SQLNode) dialect.Pos {
		if pos, ok := q.Locate(node); ok {
			return pos
		}
		return tf.Pos
	}
	nargs := len(tf.Args)
	okCount := false
	for _, c := range sig.counts {
		okCount = okCount || c == nargs
	}
	if !okCount {
		pos := tf.Pos
		if nargs > 0 {
			pos = at(tf.Args[0])
		}
		want := make([]string, len(sig.counts))
		for i, c := range sig.counts {
			want[i] = strconv.Itoa(c)
		}
		return nil, p.errAt(pos, "%s takes %s argument(s) after the CURSOR, not %d: %s", name, strings.Join(want, " or "), nargs, sig.usage)
	}
	inner, ok := sub.Select.(*sqlparser.Select)
	if !ok {
		return nil, p.errAt(at(sub), "the CURSOR of %s must be a single SELECT: UNION and other set operations are not supported yet", name)
	}
	s, err := p.planSelect(q, inner)
	if err != nil {
		return nil, err
	}
	in := s.schema
	a := tfArgs{p: p, name: name, args: tf.Args, at: at}

	var build func() (operators.Operator, error)
	var desc string
	switch name {
	case "GROUP_RANK":
		if desc, build, err = a.groupRank(in); err != nil {
			return nil, err
		}
	case "TOP_K_ITEMS_TUMBLING", "COUNT_DISTINCT_ITEMS_TUMBLING":
		col, err := a.column(0, in)
		if err != nil {
			return nil, err
		}
		wi := 1
		k := 0
		if name == "TOP_K_ITEMS_TUMBLING" {
			if k, err = a.integer(1, "K", 1, sketch.MaxK); err != nil {
				return nil, err
			}
			wi = 2
		}
		secs, err := a.integer(wi, "windowSizeSeconds", sketch.MinWindowSeconds, sketch.MaxWindowSeconds)
		if err != nil {
			return nil, err
		}
		win := time.Duration(secs) * time.Second
		if name == "TOP_K_ITEMS_TUMBLING" {
			spec := sketch.TopKSpec{Input: in, Column: col, K: k, Window: win}
			desc = fmt.Sprintf("TOP_K_ITEMS_TUMBLING column %s K %d window %s", quoteName(col), k, win)
			build = func() (operators.Operator, error) { return sketch.NewTopK(spec) }
		} else {
			spec := sketch.DistinctSpec{Input: in, Column: col, Window: win}
			desc = fmt.Sprintf("COUNT_DISTINCT_ITEMS_TUMBLING column %s window %s", quoteName(col), win)
			build = func() (operators.Operator, error) { return sketch.NewDistinct(spec) }
		}
	case "HOTSPOTS":
		size, err := a.integer(0, "windowSize", sketch.MinHotspotsWindow, sketch.MaxHotspotsWindow)
		if err != nil {
			return nil, err
		}
		radius, err := a.number(1, "scanRadius", math.SmallestNonzeroFloat64, math.MaxFloat64)
		if err != nil {
			return nil, err
		}
		minPts, err := a.integer(2, "minimumNumberOfPointsInAHotspot", sketch.MinHotspotPoints, sketch.MaxHotspotsWindow)
		if err != nil {
			return nil, err
		}
		if len(sketch.NumericDims(in)) == 0 {
			return nil, p.errAt(tf.Pos, "HOTSPOTS needs a numeric column (TINYINT, SMALLINT, INTEGER, BIGINT, REAL or DOUBLE) in its CURSOR; it has %s", columnList(in))
		}
		spec := sketch.HotspotsSpec{Input: in, WindowSize: size, ScanRadius: radius, MinPoints: minPts}
		desc = fmt.Sprintf("HOTSPOTS window %d scan radius %v minimum points %d", size, radius, minPts)
		build = func() (operators.Operator, error) { return sketch.NewHotspots(spec) }
	default: // RANDOM_CUT_FOREST[_WITH_EXPLANATION]
		opts := anomaly.ForestOptions{Trees: anomaly.DefaultTrees, SampleSize: anomaly.DefaultSampleSize,
			TimeDecay: anomaly.DefaultTimeDecay, ShingleSize: anomaly.DefaultShingleSize, Seed: rcfSeed}
		if nargs >= 4 {
			if opts.Trees, err = a.integer(0, "numberOfTrees", 1, 1000); err != nil {
				return nil, err
			}
			if opts.SampleSize, err = a.integer(1, "subSampleSize", 10, 1000); err != nil {
				return nil, err
			}
			if opts.TimeDecay, err = a.number(2, "timeDecay", 1, math.MaxInt32); err != nil {
				return nil, err
			}
			if opts.ShingleSize, err = a.integer(3, "shingleSize", 1, 30); err != nil {
				return nil, err
			}
		}
		explain := name == "RANDOM_CUT_FOREST_WITH_EXPLANATION"
		after := 4 // the position of scoreAfter (a kda extension)
		if explain {
			after = 5
		}
		if nargs > after {
			if opts.ScoreAfter, err = a.integer(after, "scoreAfter", 1, opts.SampleSize); err != nil {
				return nil, err
			}
		}
		spec := anomaly.RCFSpec{Input: in, Forest: opts, Explain: explain}
		if explain && nargs >= 5 {
			if spec.Directional, err = a.boolean(4, "withDirectionality"); err != nil {
				return nil, err
			}
		}
		desc = fmt.Sprintf("%s trees %d sample %d time decay %v shingle %d", name, opts.Trees, opts.SampleSize, opts.TimeDecay, opts.ShingleSize)
		if opts.ScoreAfter != 0 && opts.ScoreAfter != opts.SampleSize {
			desc += fmt.Sprintf(" score after %d", opts.ScoreAfter)
		}
		if spec.Explain {
			desc += fmt.Sprintf(" directional %t", spec.Directional)
		}
		build = func() (operators.Operator, error) { return anomaly.NewRCF(spec) }
	}
	// Build once now: the operator checks the input and knows its schema.
	op, err := build()
	if err != nil {
		return nil, p.errAt(tf.Pos, "%v", err)
	}
	s.add(desc, build)
	s.schema = op.Schema()
	s.pos = nil
	return s, nil
}

// tfArgs reads the literal arguments of a table function.
type tfArgs struct {
	p    *planner
	name string
	args []sqlparser.Expr
	at   func(sqlparser.SQLNode) dialect.Pos
}

func (a tfArgs) errAt(i int, format string, args ...any) error {
	return a.p.errAt(a.at(a.args[i]), format, args...)
}

// literal returns argument i as a literal's text and kind, folding a
// leading minus sign.
func (a tfArgs) literal(i int) (string, sqlparser.ValType, bool) {
	e := a.args[i]
	neg := false
	for {
		switch x := e.(type) {
		case *sqlparser.ParenExpr:
			e = x.Expr
			continue
		case *sqlparser.UnaryExpr:
			if x.Operator == sqlparser.UMinusStr {
				neg, e = !neg, x.Expr
				continue
			}
			if x.Operator == sqlparser.UPlusStr {
				e = x.Expr
				continue
			}
		}
		break
	}
	v, ok := e.(*sqlparser.SQLVal)
	if !ok {
		return "", 0, false
	}
	s := string(v.Val)
	if neg {
		if v.Type != sqlparser.IntVal && v.Type != sqlparser.FloatVal {
			return "", 0, false
		}
		s = "-" + s
	}
	return s, v.Type, true
}

func (a tfArgs) integer(i int, what string, lo, hi int) (int, error) {
	s, t, ok := a.literal(i)
	if !ok || t != sqlparser.IntVal {
		return 0, a.errAt(i, "%s's %s must be an integer literal, not %s", a.name, what, sqlparser.String(a.args[i]))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, a.errAt(i, "%s's %s must be from %d to %d, got %s", a.name, what, lo, hi, s)
	}
	return int(n), nil
}

func (a tfArgs) number(i int, what string, lo, hi float64) (float64, error) {
	s, t, ok := a.literal(i)
	if !ok || (t != sqlparser.IntVal && t != sqlparser.FloatVal) {
		return 0, a.errAt(i, "%s's %s must be a numeric literal, not %s", a.name, what, sqlparser.String(a.args[i]))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		if lo == math.SmallestNonzeroFloat64 {
			return 0, a.errAt(i, "%s's %s must be greater than 0, got %s", a.name, what, s)
		}
		return 0, a.errAt(i, "%s's %s must be from %v to %v, got %s", a.name, what, lo, hi, s)
	}
	return f, nil
}

func (a tfArgs) boolean(i int, what string) (bool, error) {
	if b, ok := a.args[i].(sqlparser.BoolVal); ok {
		return bool(b), nil
	}
	return false, a.errAt(i, "%s's %s must be TRUE or FALSE, not %s", a.name, what, sqlparser.String(a.args[i]))
}

// column reads argument i, a column name in single quotes, and checks it
// against the cursor's columns (exact case, as the name is stored).
func (a tfArgs) column(i int, in types.Schema) (string, error) {
	s, t, ok := a.literal(i)
	if !ok || t != sqlparser.StrVal {
		return "", a.errAt(i, "%s's column name must be a string literal in single quotes, as in 'TICKER_SYMBOL', not %s", a.name, sqlparser.String(a.args[i]))
	}
	if j := in.Index(s); j > 0 {
		return s, nil
	}
	if s == types.RowtimeName {
		return "", a.errAt(i, "%s cannot count ROWTIME", a.name)
	}
	for _, f := range in.Fields[1:] {
		if strings.EqualFold(f.Name, s) {
			return "", a.errAt(i, "the CURSOR of %s has no column %s: did you mean %s? (the name is matched exactly, with its case)", a.name, quoteName(s), quoteName(f.Name))
		}
	}
	return "", a.errAt(i, "the CURSOR of %s has no column %s (it has %s)", a.name, quoteName(s), columnList(in))
}
