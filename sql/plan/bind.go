package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

// scope is what names a query block can use: the columns of its FROM item,
// qualified by the item's alias or stream name.
type scope struct {
	schema     types.Schema
	qualifiers []string
	join       *joinScope // the two sides of a join (join.go)
}

func (s *scope) qualifies(q string) bool {
	for _, x := range s.qualifiers {
		if x == q {
			return true
		}
	}
	return false
}

// binder turns sqlparser expressions into operators/expr trees.
type binder struct {
	p  *planner
	q  *dialect.Query
	sc *scope
	// hook, when set, is asked first about every node: it may bind it
	// itself (aggregate results, GROUP BY keys).
	hook func(b *binder, e sqlparser.Expr) (expr.Expr, bool, error)
	// column, when set, resolves a column reference instead of the scope.
	column func(b *binder, c *sqlparser.ColName) (expr.Expr, error)
}

// errAt reports an error at node's position (or the query's).
func (b *binder) errAt(node sqlparser.SQLNode, format string, args ...any) error {
	pos, ok := b.q.Locate(node)
	if !ok {
		pos = b.q.Pos
	}
	return b.p.errAt(pos, format, args...)
}

// typeErr turns an expression library error into a positioned one.
func (b *binder) wrap(node sqlparser.SQLNode, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*dialect.SyntaxError); ok {
		return err
	}
	return b.argError(node, err) // rowfield.go
}

func (b *binder) bind(e sqlparser.Expr) (expr.Expr, error) {
	if b.hook != nil {
		if x, ok, err := b.hook(b, e); err != nil || ok {
			return x, err
		}
	}
	switch n := e.(type) {
	case *sqlparser.ParenExpr:
		return b.bind(n.Expr)
	case *sqlparser.ColName:
		if b.column != nil {
			return b.column(b, n)
		}
		return b.resolve(n)
	case *sqlparser.SQLVal:
		return b.literal(n)
	case *sqlparser.NullVal:
		return expr.Lit(nil, types.TNull)
	case sqlparser.BoolVal:
		return expr.Lit(bool(n), types.TBoolean)
	case *sqlparser.AndExpr:
		return b.call(n, "AND", n.Left, n.Right)
	case *sqlparser.OrExpr:
		return b.call(n, "OR", n.Left, n.Right)
	case *sqlparser.NotExpr:
		return b.call(n, "NOT", n.Expr)
	case *sqlparser.UnaryExpr:
		switch n.Operator {
		case sqlparser.UMinusStr:
			return b.call(n, "NEG", n.Expr)
		case sqlparser.UPlusStr:
			return b.bind(n.Expr)
		}
		return nil, b.errAt(n, "unsupported unary operator %s", n.Operator)
	case *sqlparser.BinaryExpr:
		op := n.Operator
		switch op {
		case sqlparser.BitOrStr:
			op = "||" // the dialect writes || as |
		case sqlparser.PlusStr, sqlparser.MinusStr, sqlparser.MultStr, sqlparser.DivStr, sqlparser.ModStr:
		case sqlparser.IntDivStr:
			op = "/"
		default:
			return nil, b.errAt(n, "unsupported operator %s", n.Operator)
		}
		return b.call(n, op, n.Left, n.Right)
	case *sqlparser.ComparisonExpr:
		return b.comparison(n)
	case *sqlparser.RangeCond:
		x, err := b.call(n, "BETWEEN", n.Left, n.From, n.To)
		if err != nil || n.Operator == sqlparser.BetweenStr {
			return x, err
		}
		return b.wrapCall(n, "NOT", x)
	case *sqlparser.IsExpr:
		return b.isExpr(n)
	case *sqlparser.CaseExpr:
		return b.caseExpr(n)
	case *sqlparser.IntervalExpr:
		return b.interval(n)
	case *sqlparser.FuncExpr:
		return b.funcExpr(n)
	case *sqlparser.Subquery:
		return nil, b.errAt(n, "subqueries in expressions are not supported")
	}
	return nil, b.errAt(e, "unsupported expression %s", sqlparser.String(e))
}

// resolve finds a column in the scope.
func (b *binder) resolve(c *sqlparser.ColName) (expr.Expr, error) {
	if x, ok, err := b.rowField(c); ok {
		return x, err // rowfield.go: t.r.COLUMN1, r.COLUMN1
	}
	if b.sc.join != nil {
		return b.resolveJoined(c) // join.go
	}
	name := c.Name.String()
	if q := c.Qualifier.Name.String(); q != "" && !b.sc.qualifies(q) {
		return nil, b.errAt(c, "unknown stream or alias %s in %s", quoteName(q), sqlparser.String(c))
	}
	i := b.sc.schema.Index(name)
	if i < 0 {
		if j := indexFold(b.sc.schema, name); j >= 0 {
			return nil, b.errAt(c, "unknown column %s: did you mean %s? (quoted names keep their case, unquoted ones are upper-cased)",
				quoteName(name), quoteName(b.sc.schema.Fields[j].Name))
		}
		return nil, b.errAt(c, "unknown column %s (the stream has %s)", quoteName(name), columnList(b.sc.schema))
	}
	f := b.sc.schema.Fields[i]
	return expr.Col(i, f.Type, f.Name), nil
}

func indexFold(s types.Schema, name string) int {
	for i, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

func columnList(s types.Schema) string {
	var names []string
	for _, f := range s.Fields {
		names = append(names, quoteName(f.Name))
	}
	return strings.Join(names, ", ")
}

func (b *binder) literal(v *sqlparser.SQLVal) (expr.Expr, error) {
	s := string(v.Val)
	switch v.Type {
	case sqlparser.StrVal:
		return expr.Lit(s, types.VarcharOf(len([]rune(s))))
	case sqlparser.IntVal:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, b.errAt(v, "integer literal %s is out of range", s)
		}
		if n >= -1<<31 && n < 1<<31 {
			return expr.Lit(n, types.TInteger)
		}
		return expr.Lit(n, types.TBigInt)
	case sqlparser.FloatVal:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, b.errAt(v, "bad number %s", s)
		}
		return expr.Lit(f, types.TDouble)
	case sqlparser.HexVal:
		return nil, b.errAt(v, "binary literals are not supported yet")
	}
	return nil, b.errAt(v, "unsupported literal %s", sqlparser.String(v))
}

// call binds args and applies the named function or operator.
func (b *binder) call(node sqlparser.SQLNode, name string, args ...sqlparser.Expr) (expr.Expr, error) {
	bound := make([]expr.Expr, len(args))
	for i, a := range args {
		x, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		bound[i] = x
	}
	return b.wrapCall(node, name, bound...)
}

func (b *binder) wrapCall(node sqlparser.SQLNode, name string, args ...expr.Expr) (expr.Expr, error) {
	x, err := b.p.opts.Functions.Call(name, args...)
	return x, b.wrap(node, err)
}

func (b *binder) comparison(n *sqlparser.ComparisonExpr) (expr.Expr, error) {
	switch n.Operator {
	case sqlparser.EqualStr, sqlparser.LessThanStr, sqlparser.GreaterThanStr, sqlparser.LessEqualStr, sqlparser.GreaterEqualStr:
		return b.call(n, n.Operator, n.Left, n.Right)
	case sqlparser.NotEqualStr:
		return b.call(n, "<>", n.Left, n.Right)
	case sqlparser.NullSafeEqualStr:
		return b.call(n, "IS_NOT_DISTINCT_FROM", n.Left, n.Right)
	case sqlparser.InStr, sqlparser.NotInStr:
		tuple, ok := n.Right.(sqlparser.ValTuple)
		if !ok {
			return nil, b.errAt(n, "IN takes a list of values here; IN (subquery) is not supported")
		}
		args := append([]sqlparser.Expr{n.Left}, tuple...)
		x, err := b.call(n, "IN", args...)
		if err != nil || n.Operator == sqlparser.InStr {
			return x, err
		}
		return b.wrapCall(n, "NOT", x)
	case sqlparser.LikeStr, sqlparser.NotLikeStr, sqlparser.RegexpStr, sqlparser.NotRegexpStr:
		fn := "LIKE"
		if n.Operator == sqlparser.RegexpStr || n.Operator == sqlparser.NotRegexpStr {
			fn = "SIMILAR_TO"
		}
		pattern := n.Right
		// SIMILAR TO ... ESCAPE arrives as LIKE KDA_SIMILAR(pattern) ESCAPE.
		if f, ok := pattern.(*sqlparser.FuncExpr); ok && strings.EqualFold(f.Name.String(), "KDA_SIMILAR") && len(f.Exprs) == 1 {
			fn = "SIMILAR_TO"
			pattern = unaliased(f.Exprs[0])
		}
		args := []sqlparser.Expr{n.Left, pattern}
		if n.Escape != nil {
			args = append(args, n.Escape)
		}
		x, err := b.call(n, fn, args...)
		if err != nil || n.Operator == sqlparser.LikeStr || n.Operator == sqlparser.RegexpStr {
			return x, err
		}
		return b.wrapCall(n, "NOT", x)
	}
	return nil, b.errAt(n, "unsupported comparison %s", n.Operator)
}

func (b *binder) isExpr(n *sqlparser.IsExpr) (expr.Expr, error) {
	fn := map[string]string{
		sqlparser.IsNullStr: "IS_NULL", sqlparser.IsNotNullStr: "IS_NOT_NULL",
		sqlparser.IsTrueStr: "IS_TRUE", sqlparser.IsNotTrueStr: "IS_NOT_TRUE",
		sqlparser.IsFalseStr: "IS_FALSE", sqlparser.IsNotFalseStr: "IS_NOT_FALSE",
	}[n.Operator]
	if fn == "" {
		return nil, b.errAt(n, "unsupported %s", n.Operator)
	}
	// a IS DISTINCT FROM b arrives as (a <=> b) IS FALSE.
	if c, ok := n.Expr.(*sqlparser.ComparisonExpr); ok && c.Operator == sqlparser.NullSafeEqualStr {
		switch n.Operator {
		case sqlparser.IsFalseStr:
			return b.call(n, "IS_DISTINCT_FROM", c.Left, c.Right)
		case sqlparser.IsTrueStr:
			return b.call(n, "IS_NOT_DISTINCT_FROM", c.Left, c.Right)
		}
	}
	return b.call(n, fn, n.Expr)
}

func (b *binder) caseExpr(n *sqlparser.CaseExpr) (expr.Expr, error) {
	var operand, els expr.Expr
	var err error
	if n.Expr != nil {
		if operand, err = b.bind(n.Expr); err != nil {
			return nil, err
		}
	}
	whens := make([]expr.When, len(n.Whens))
	for i, w := range n.Whens {
		c, err := b.bind(w.Cond)
		if err != nil {
			return nil, err
		}
		t, err := b.bind(w.Val)
		if err != nil {
			return nil, err
		}
		whens[i] = expr.When{Cond: c, Then: t}
	}
	if n.Else != nil {
		if els, err = b.bind(n.Else); err != nil {
			return nil, err
		}
	}
	x, err := expr.Case(operand, whens, els)
	return x, b.wrap(n, err)
}

// intervalOf reads INTERVAL 'n' UNIT as a duration.
func (b *binder) intervalOf(n *sqlparser.IntervalExpr) (time.Duration, error) {
	v, ok := n.Expr.(*sqlparser.SQLVal)
	if !ok {
		return 0, b.errAt(n, "an interval needs a literal such as INTERVAL '10' SECOND")
	}
	text := strings.TrimSpace(string(v.Val))
	unit := strings.ToUpper(n.Unit)
	units := map[string]time.Duration{
		"MILLISECOND": time.Millisecond, "SECOND": time.Second, "MINUTE": time.Minute,
		"HOUR": time.Hour, "DAY": 24 * time.Hour, "WEEK": 7 * 24 * time.Hour,
	}
	if d, ok := units[unit]; ok {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return 0, b.errAt(n, "interval value %q is not a number", text)
		}
		return time.Duration(f * float64(d)), nil
	}
	// Compound units: HOUR_MINUTE '1:30', DAY_SECOND '1 02:03:04', MINUTE_SECOND '5:30'...
	from, to, ok := strings.Cut(unit, "_")
	if ok && units[from] > 0 && units[to] > 0 {
		fields := strings.FieldsFunc(text, func(r rune) bool { return r == ':' || r == ' ' })
		order := []string{"DAY", "HOUR", "MINUTE", "SECOND"}
		start := -1
		for i, u := range order {
			if u == from {
				start = i
			}
		}
		var total time.Duration
		for i, f := range fields {
			if start < 0 || start+i >= len(order) {
				return 0, b.errAt(n, "interval %q does not fit %s", text, unit)
			}
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return 0, b.errAt(n, "interval %q: %q is not a number", text, f)
			}
			total += time.Duration(x * float64(units[order[start+i]]))
		}
		return total, nil
	}
	return 0, b.errAt(n, "unsupported interval unit %s (KDA supports day-time intervals only)", n.Unit)
}

func (b *binder) interval(n *sqlparser.IntervalExpr) (expr.Expr, error) {
	d, err := b.intervalOf(n)
	if err != nil {
		return nil, err
	}
	return expr.Lit(d, types.TInterval)
}

// aggregateNames are the aggregate functions of the dialect.
var aggregateNames = map[string]bool{
	"COUNT": true, "SUM": true, "AVG": true, "MIN": true, "MAX": true, "FIRST_VALUE": true, "LAST_VALUE": true,
	"STDDEV_POP": true, "STDDEV_SAMP": true, "STDDEV": true, "VAR_POP": true, "VAR_SAMP": true, "VARIANCE": true,
	"EXP_AVG": true, "ANY": true, "EVERY": true, "LAG": true, "NTH_VALUE": true,
}

func isAggregate(f *sqlparser.FuncExpr) bool {
	name := strings.ToUpper(f.Name.String())
	return (aggregateNames[name] || strings.HasPrefix(name, userAggPrefix)) && f.Qualifier.IsEmpty()
}

func (b *binder) funcExpr(n *sqlparser.FuncExpr) (expr.Expr, error) {
	name := strings.ToUpper(n.Name.String())
	if isAggregate(n) {
		name = aggDisplayName(n)
		return nil, b.errAt(n, "aggregate %s is not allowed here: aggregates belong in the SELECT list or HAVING of a query with GROUP BY, WINDOWED BY STAGGER, or OVER a window", name)
	}
	if name == "KDA_OVER" {
		return nil, b.errAt(n, "a windowed aggregate (OVER) is not allowed here")
	}
	args, err := b.funcArgs(n)
	if err != nil {
		return nil, err
	}
	switch name {
	case "KDA_CAST":
		if len(n.Exprs) != 2 {
			return nil, b.errAt(n, "CAST needs a value and a type")
		}
		lit, ok := unaliased(n.Exprs[1]).(*sqlparser.SQLVal)
		if !ok {
			return nil, b.errAt(n, "CAST needs a type")
		}
		to, err := types.Parse(string(lit.Val))
		if err != nil {
			return nil, b.errAt(n, "CAST: %v", err)
		}
		x, err := expr.Cast(args[0], to)
		return x, b.wrap(n, err)
	case "KDA_SUBSTRING":
		name = "SUBSTRING"
	}
	return b.wrapCall(n, name, args...)
}

func (b *binder) funcArgs(n *sqlparser.FuncExpr) ([]expr.Expr, error) {
	out := make([]expr.Expr, 0, len(n.Exprs))
	for _, se := range n.Exprs {
		ae, ok := se.(*sqlparser.AliasedExpr)
		if !ok {
			return nil, b.errAt(n, "%s(*) is not a valid call", n.Name.String())
		}
		x, err := b.bind(ae.Expr)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if n.Distinct {
		return nil, b.errAt(n, "DISTINCT is only allowed in aggregates")
	}
	return out, nil
}

func unaliased(se sqlparser.SelectExpr) sqlparser.Expr {
	if ae, ok := se.(*sqlparser.AliasedExpr); ok {
		return ae.Expr
	}
	return nil
}

// containsAggregate reports whether e holds an aggregate call (outside
// subqueries).
func containsAggregate(e sqlparser.SQLNode) bool {
	found := false
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch x := n.(type) {
		case *sqlparser.FuncExpr:
			if isAggregate(x) || strings.EqualFold(x.Name.String(), "KDA_OVER") {
				found = true
				return false, nil
			}
		case *sqlparser.Subquery:
			return false, nil
		}
		return true, nil
	}, e)
	return found
}

var _ = fmt.Sprintf
