package plan

// CREATE FUNCTION ... LANGUAGE JAVASCRIPT AS '<script>' (a kda extension).
//
// The script is either a function body with the parameters bound by name
// (`return a * 2 + 1;`, where an unquoted parameter A is visible as A and
// as a) or a function expression (`function (a, b) { ... }`,
// `(a, b) => ...`). It is compiled when the statement is planned, so a
// syntax error is reported then, at its place in the SQL text. Calls run
// batched through udf.Scalar: one call into JavaScript per batch, with the
// argument columns as typed arrays. Argument types are checked like a
// LANGUAGE SQL function's (see function.go): a value is accepted only from
// the declared type's family and only where no information is lost.
//
// A row whose call throws, or returns a value of the wrong kind, is NULL
// and goes to error_stream with the JavaScript message and stack. A batch
// whose call runs past the time limit fails all its rows the same way; the
// runtime is discarded and the engine goes on.

import (
	"context"
	"errors"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/udf"
)

// jsFunction is a planned LANGUAGE JAVASCRIPT function.
type jsFunction struct {
	*sqlFunction
	scalar *udf.Scalar
}

func (p *planner) createJSFunction(s *dialect.CreateFunction, f *sqlFunction) error {
	opts := p.opts.JavaScript
	opts.Name = f.name
	sc, err := udf.NewScalar(udf.ScalarSpec{
		Name:    f.name,
		Params:  f.params.Fields,
		Returns: f.returns,
		Strict:  f.strict,
		Source:  s.Body,
	}, opts)
	if err != nil {
		var se *udf.SyntaxError
		if errors.As(err, &se) {
			return p.errAt(scriptPos(s.BodyPos, s.Body, se.Line, se.Column), "function %s: JavaScript syntax error (script line %d, column %d): %s",
				quoteName(s.Name), se.Line, se.Column, se.Message)
		}
		return p.errAt(s.Pos, "function %s: %v", quoteName(s.Name), err)
	}
	js := &jsFunction{sqlFunction: f, scalar: sc}
	body := strings.TrimSpace(s.Body)
	if len(body) > 60 {
		body = body[:57] + "..."
	}
	err = p.opts.Functions.Replace(expr.ScalarFunc{
		Name:      f.name,
		Signature: f.signature(),
		Doc:       "user function (JavaScript): " + body,
		Check:     f.check,
		Eval:      js.eval,
	})
	if err != nil {
		return p.errAt(s.Pos, "CREATE FUNCTION %s: %v", quoteName(s.Name), err)
	}
	return nil
}

// eval converts the arguments to the declared types and runs the batch.
func (f *jsFunction) eval(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
	cols, err := f.arguments(ec, args)
	defer releaseArrays(cols)
	if err != nil {
		return nil, err
	}
	return f.scalar.Eval(context.Background(), ec.Mem, cols, n, func(row int, msg, stack string) {
		if stack != "" {
			ec.Errors.Add(row, "JAVASCRIPT", "%s: %s\n%s", f.name, msg, strings.TrimRight(stack, "\n"))
		} else {
			ec.Errors.Add(row, "JAVASCRIPT", "%s: %s", f.name, msg)
		}
	})
}
