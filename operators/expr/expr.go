// Package expr evaluates SQL expressions over Arrow record batches, column by
// column. The planner builds expression trees with Col, Lit, Call, Case and
// Cast (each checks its argument types and returns a *TypeError it can
// report with a source position); operators evaluate them with Eval.
//
// Evaluation is vectorised: Eval returns one array with a value per row of
// the batch. A row whose evaluation fails (division by zero, a bad function
// argument, a failed CAST) gets a null result and is recorded in the
// EvalContext's RowErrors, so the operator can send that row to error_stream
// and keep the rest of the batch.
package expr

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// Expr is a typed expression over the columns of a batch.
type Expr interface {
	// Type is the expression's SQL type.
	Type() types.Type
	// Eval computes the expression for every row of rec. The result has
	// rec.NumRows() values; the caller releases it.
	Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error)
	// String renders the expression for EXPLAIN and error messages.
	String() string
}

// EvalContext is what evaluation needs besides the batch.
type EvalContext struct {
	Mem memory.Allocator
	// QueryStart is the value of CURRENT_TIMESTAMP, CURRENT_DATE... (fixed
	// when the query starts, as in KDA).
	QueryStart time.Time
	// Errors collects the rows whose evaluation failed. Never nil during Eval.
	Errors *RowErrors
	// Now is the engine clock, read by CURRENT_ROW_TIMESTAMP once per
	// batch. Expressions that need it fail to evaluate when it is nil: the
	// wall clock is never read behind the engine's back.
	Now func() time.Time
}

// RowErrors records failed rows of the batch being evaluated, by row index.
// A row keeps its first error.
type RowErrors struct {
	byRow map[int]RowError
	order []int
}

// RowError is why one row failed.
type RowError struct {
	Name    string // e.g. "DIVISION_BY_ZERO", "INVALID_ARGUMENT", "CAST"
	Message string
}

// Add records a failure of row i (the first one recorded wins).
func (r *RowErrors) Add(i int, name, format string, args ...any) {
	if r.byRow == nil {
		r.byRow = map[int]RowError{}
	}
	if _, ok := r.byRow[i]; ok {
		return
	}
	r.byRow[i] = RowError{Name: name, Message: fmt.Sprintf(format, args...)}
	r.order = append(r.order, i)
}

// Len is the number of failed rows.
func (r *RowErrors) Len() int { return len(r.order) }

// Failed reports whether row i failed.
func (r *RowErrors) Failed(i int) bool { _, ok := r.byRow[i]; return ok }

// Each calls f for every failed row, in the order they failed.
func (r *RowErrors) Each(f func(row int, e RowError)) {
	for _, i := range r.order {
		f(i, r.byRow[i])
	}
}

// Reset forgets every failure, for the next batch.
func (r *RowErrors) Reset() {
	clear(r.byRow)
	r.order = r.order[:0]
}

// TypeError is a planning-time error: a function or operator applied to
// arguments it does not accept. The planner adds the source position.
type TypeError struct {
	Message string
}

func (e *TypeError) Error() string { return e.Message }
