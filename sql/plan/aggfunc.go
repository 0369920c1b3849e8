package plan

// CREATE AGGREGATE FUNCTION ... LANGUAGE JAVASCRIPT (a kda extension; see
// docs/javascript.md "Aggregate functions").
//
// The statement is planned when it is reached, like CREATE FUNCTION: the
// script is compiled and loaded once (syntax errors point into the $$
// body, a missing init/accumulate/merge/result at the statement), and the
// aggregate joins the planner's user aggregates. Options.Aggregates adds
// aggregates made in Go (udf.NewWindowAggregate, or any
// window.UserAggregate) the same way.
//
// A user aggregate is called wherever a built-in aggregate is: in the
// SELECT list or HAVING of a GROUP BY STEP/FLOOR/TUMBLE/HOP query, of a
// WINDOWED BY STAGGER query, and OVER a sliding window. (SESSION windows
// re-aggregate rows when sessions merge and refuse user aggregates.) Its
// arguments follow the rules of SQL functions (function.go): the same
// type family, widened without loss, else an error asking for a CAST.
//
// To let the binder, which knows aggregates by name, see them, planPump
// renames each call to a user aggregate to userAggPrefix+NAME before the
// query is planned; messages show the user's name. The name is also
// registered in the function registry as a scalar function whose every
// call is an error that says the function is an aggregate, so a call
// outside an aggregate context, or a SQL function that calls it, gets a
// clear message, and CREATE FUNCTION cannot silently take the name.

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/xwb1989/sqlparser"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/window"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
	"github.com/kdaproject/kda/udf"
)

// userAggPrefix marks a call to a user aggregate in a planned AST.
const userAggPrefix = "KDA_UAGG_"

// userAggDoc marks the registry entry that stands for a user aggregate.
const userAggDoc = "user aggregate function"

// userAgg is a user aggregate known to the planner.
type userAgg struct {
	agg window.UserAggregate
	sig string // NAME(x DOUBLE, ...) -> DOUBLE
}

// aggDisplayName is the user's name of an aggregate call.
func aggDisplayName(f *sqlparser.FuncExpr) string {
	return strings.TrimPrefix(strings.ToUpper(f.Name.String()), userAggPrefix)
}

// registerAggregates adds Options.Aggregates.
func (p *planner) registerAggregates() error {
	for _, a := range p.opts.Aggregates {
		name := strings.ToUpper(a.Name())
		var parts []string
		for i, t := range a.Params() {
			parts = append(parts, fmt.Sprintf("x%d %s", i+1, t))
		}
		sig := fmt.Sprintf("%s(%s) -> %s", name, strings.Join(parts, ", "), a.Result())
		if err := p.checkAggregateName(name, a.Name(), true); err != "" {
			return fmt.Errorf("aggregate %s: %s", a.Name(), err)
		}
		if err := p.addAggregate(name, &userAgg{agg: a, sig: sig}); err != nil {
			return fmt.Errorf("aggregate %s: %w", a.Name(), err)
		}
	}
	return nil
}

// checkAggregateName says why name cannot be (re)defined, or "".
func (p *planner) checkAggregateName(name, given string, orReplace bool) string {
	switch {
	case aggregateNames[name]:
		return fmt.Sprintf("%s is a built-in aggregate function and cannot be redefined", name)
	case strings.HasPrefix(name, "KDA_"):
		return "function names starting with KDA_ are reserved"
	}
	if old, ok := p.opts.Functions.Lookup(name); ok {
		switch {
		case old.Kind != "user":
			return fmt.Sprintf("%s is a built-in function and cannot be redefined", name)
		case old.Doc != userAggDoc:
			return fmt.Sprintf("%s is a scalar function: an aggregate needs a name of its own", quoteName(given))
		case !orReplace:
			return fmt.Sprintf("aggregate function %s already exists: use CREATE OR REPLACE AGGREGATE FUNCTION to redefine it", quoteName(given))
		}
	}
	return ""
}

func (p *planner) addAggregate(name string, u *userAgg) error {
	err := p.opts.Functions.Replace(expr.ScalarFunc{
		Name:      name,
		Signature: u.sig,
		Doc:       userAggDoc,
		Check: func([]types.Type) (types.Type, error) {
			return types.Type{}, &expr.TypeError{Message: fmt.Sprintf("%s is an aggregate function: call it in the SELECT list or HAVING of a query with GROUP BY or WINDOWED BY STAGGER, or OVER a window", name)}
		},
		Eval: func(*expr.EvalContext, []arrow.Array, int) (arrow.Array, error) {
			return nil, fmt.Errorf("%s is an aggregate function", name)
		},
	})
	if err != nil {
		return err
	}
	if p.userAggs == nil {
		p.userAggs = map[string]*userAgg{}
	}
	p.userAggs[name] = u
	return nil
}

func (p *planner) createAggregateFunction(s *dialect.CreateAggregateFunction) error {
	name := strings.ToUpper(s.Name)
	if msg := p.checkAggregateName(name, s.Name, s.OrReplace); msg != "" {
		return p.errAt(s.Pos, "%s", msg)
	}
	if len(s.Params) == 0 {
		return p.errAt(s.Pos, "aggregate function %s needs at least one parameter: the value it aggregates", quoteName(s.Name))
	}
	params := make([]types.Type, len(s.Params))
	parts := make([]string, len(s.Params))
	for i, c := range s.Params {
		if _, err := udf.AggValueOf(c.Type, false); err != nil {
			return p.errAt(c.Pos, "parameter %s: %v", quoteName(c.Name), err)
		}
		params[i] = c.Type.Nullable()
		parts[i] = c.Name + " " + params[i].String()
	}
	if _, err := udf.AggValueOf(s.Returns, true); err != nil {
		return p.errAt(s.Pos, "aggregate function %s: %v", quoteName(s.Name), err)
	}
	opts := p.opts.JavaScript
	opts.Name = name
	wa, err := udf.NewWindowAggregate(name, s.Body, params, s.Returns, opts)
	if err != nil {
		var se *udf.SyntaxError
		if errors.As(err, &se) {
			return p.errAt(scriptPos(s.BodyPos, s.Body, se.Line, se.Column), "aggregate function %s: JavaScript syntax error (script line %d, column %d): %s",
				quoteName(s.Name), se.Line, se.Column, se.Message)
		}
		return p.errAt(s.BodyPos, "aggregate function %s: %s", quoteName(s.Name), strings.TrimPrefix(err.Error(), name+": "))
	}
	wa.Aggregate().Close() // operators pin runtimes of its pool when they are built
	sig := fmt.Sprintf("%s(%s) -> %s", name, strings.Join(parts, ", "), s.Returns.Nullable())
	if err := p.addAggregate(name, &userAgg{agg: wa, sig: sig}); err != nil {
		return p.errAt(s.Pos, "CREATE AGGREGATE FUNCTION %s: %v", quoteName(s.Name), err)
	}
	return nil
}

// scriptPos is the source position of line, col (from 1) of a JavaScript
// body that starts at start: where the script's own positions (syntax
// errors) lie in the SQL text. Functions and aggregates share it.
func scriptPos(start dialect.Pos, body string, line, col int) dialect.Pos {
	off, l := 0, 1
	for l < line {
		i := strings.IndexByte(body[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
		l++
	}
	rest := body[off:]
	for c := 1; c < col && rest != ""; c++ {
		_, n := utf8.DecodeRuneInString(rest)
		rest, off = rest[n:], off+n
	}
	pos := dialect.Pos{Offset: start.Offset + off, Line: start.Line + l - 1, Col: col}
	if l == 1 {
		pos.Col = start.Col + col - 1
	}
	return pos
}

// markUserAggregates renames the calls of q to user aggregates (see the
// file comment).
func (p *planner) markUserAggregates(q *dialect.Query) {
	if len(p.userAggs) == 0 {
		return
	}
	mark := func(n sqlparser.SQLNode) (bool, error) {
		f, ok := n.(*sqlparser.FuncExpr)
		if !ok || !f.Qualifier.IsEmpty() {
			return true, nil
		}
		name := strings.ToUpper(f.Name.String())
		if info, _ := p.opts.Functions.Lookup(name); info.Doc != userAggDoc {
			return true, nil // not an aggregate, or replaced by a scalar function
		}
		if _, ok := p.userAggs[name]; ok {
			f.Name = sqlparser.NewColIdent(userAggPrefix + name)
		}
		return true, nil
	}
	_ = sqlparser.Walk(mark, q.AST)
	for _, tf := range q.TableFunctions {
		if tf.Cursor != nil {
			_ = sqlparser.Walk(mark, tf.Cursor)
		}
	}
}

// userAggregateOf is the user aggregate a marked call names.
func (p *planner) userAggregateOf(f *sqlparser.FuncExpr) (*userAgg, bool) {
	name := strings.ToUpper(f.Name.String())
	if !strings.HasPrefix(name, userAggPrefix) {
		return nil, false
	}
	u, ok := p.userAggs[strings.TrimPrefix(name, userAggPrefix)]
	return u, ok
}

// bindUserAggregate binds a call to a user aggregate.
func (p *planner) bindUserAggregate(in *binder, f *sqlparser.FuncExpr, win string) (*aggCall, error) {
	name := aggDisplayName(f)
	u, ok := p.userAggregateOf(f)
	if !ok {
		return nil, in.errAt(f, "unknown aggregate function %s", name)
	}
	if f.Distinct {
		return nil, in.errAt(f, "%s(DISTINCT ...) is not supported: DISTINCT applies to built-in aggregates only", name)
	}
	params := u.agg.Params()
	var args []expr.Expr
	var nodes []sqlparser.Expr
	for _, se := range f.Exprs {
		ae, ok := se.(*sqlparser.AliasedExpr)
		if !ok {
			return nil, in.errAt(f, "%s(*) is not valid; only COUNT(*)", name)
		}
		if containsAggregate(ae.Expr) {
			return nil, in.errAt(ae.Expr, "aggregates cannot be nested")
		}
		x, err := in.bind(ae.Expr)
		if err != nil {
			return nil, err
		}
		args, nodes = append(args, x), append(nodes, ae.Expr)
	}
	if len(args) != len(params) {
		return nil, in.errAt(f, "%s takes %d argument%s, got %d: %s", name, len(params), map[bool]string{true: "s"}[len(params) != 1], len(args), u.sig)
	}
	for i, x := range args {
		cast, ok := implicit(x.Type(), params[i])
		if !ok {
			return nil, in.errAt(nodes[i], "%s: argument %d is %s but the parameter is %s: CAST it (KDA does not convert function arguments implicitly)", name, i+1, x.Type(), params[i])
		}
		if cast {
			c, err := expr.Cast(x, params[i])
			if err != nil {
				return nil, in.wrap(nodes[i], err)
			}
			args[i] = c
		}
	}
	return &aggCall{node: f, window: win, agg: window.Aggregate{Func: name, User: u.agg, Args: args}, typ: u.agg.Result().Nullable()}, nil
}

// scalarNotAggregate explains a user scalar function used as an aggregate
// (OVER), or returns "".
func (p *planner) scalarNotAggregate(f *sqlparser.FuncExpr) string {
	if info, ok := p.opts.Functions.Lookup(f.Name.String()); ok && info.Kind == "user" && info.Doc != userAggDoc {
		return fmt.Sprintf("%s is a scalar function, not an aggregate: write it as CREATE AGGREGATE FUNCTION %s(...) RETURNS ... LANGUAGE JAVASCRIPT AS $$ { init, accumulate, merge, result } $$", info.Name, info.Name)
	}
	return ""
}

// UserAggregate is an aggregate made in Go for Options.Aggregates, e.g. a
// *udf.WindowAggregate.
type UserAggregate = window.UserAggregate
