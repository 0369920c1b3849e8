package window

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// aggSet is the aggregates of a grouping operator with their per-group
// state and, for the batch being processed, their evaluated arguments.
type aggSet struct {
	plans []aggPlan
	accs  []*groupAcc
	args  []vec
	users []*groupUser // the accs' user aggregates
}

func newAggSet(aggs []Aggregate) (*aggSet, error) {
	plans, err := planAggs(aggs)
	if err != nil {
		return nil, err
	}
	s := &aggSet{plans: plans, args: make([]vec, len(plans))}
	for _, p := range plans {
		if p.kind.analytic() {
			return nil, fmt.Errorf("%s is an analytic function: it needs OVER a sliding window", kindName(p.kind))
		}
		a := newGroupAcc(p)
		if p.user != nil {
			if a.u, err = newGroupUser(p); err != nil {
				return nil, err
			}
			s.users = append(s.users, a.u)
		}
		s.accs = append(s.accs, a)
	}
	return s, nil
}

// evalUser evaluates the user aggregates' arguments for rec (after
// evalArgs, before markFailed: their row errors join the batch's).
func (s *aggSet) evalUser(ec *expr.EvalContext, rec arrow.Record) error {
	for k, p := range s.plans {
		if p.user != nil {
			if err := evalUserArgs(ec, rec, p.user.Name(), p.uargs, s.accs[k].u.args); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish runs the user aggregates' queued operations and fills their
// staged results; call it before the staged rows are sent. rec is the
// batch (nil in Advance), rt its ROWTIMEs, now the stream time.
func (s *aggSet) finish(ctx *operators.Context, rec arrow.Record, rt []int64, now int64) {
	for _, u := range s.users {
		u.finish(ctx, rec, rt, now)
	}
}

// evalArgs evaluates every argument for rec (COUNT(*) gets none).
func evalArgs(ec *expr.EvalContext, rec arrow.Record, plans []aggPlan, args []vec) error {
	for k, p := range plans {
		if p.arg == nil {
			continue
		}
		arr, err := p.arg.Eval(ec, rec)
		if err != nil {
			return fmt.Errorf("evaluate %s argument %s: %w", kindName(p.kind), p.arg, err)
		}
		err = args[k].load(arr)
		arr.Release()
		if err != nil {
			return fmt.Errorf("%s argument %s: %w", kindName(p.kind), p.arg, err)
		}
	}
	return nil
}

func (s *aggSet) grow(n int) {
	for _, a := range s.accs {
		a.grow(n)
	}
}

func (s *aggSet) clear(g int32) {
	for _, a := range s.accs {
		a.clear(g)
	}
}

func (s *aggSet) update(rt []int64, gids []int32, lo, hi int) {
	if lo >= hi {
		return
	}
	for k, a := range s.accs {
		a.update(&s.args[k], rt, gids, lo, hi)
	}
}

// batchStart does what every operator does first with a batch: reads
// ROWTIME as milliseconds and prepares an evaluation context whose failed
// rows the caller reports with finishErrors.
func rowtimes(rec arrow.Record, buf []int64) ([]int64, error) {
	ts, ok := rec.Column(0).(*array.Timestamp)
	if !ok {
		return nil, fmt.Errorf("column 0 is %s, not the ROWTIME timestamp", rec.Column(0).DataType())
	}
	buf = grow(buf, ts.Len())
	for i, v := range ts.TimestampValues() {
		buf[i] = int64(v)
	}
	return buf, nil
}

// markFailed reports the failed rows of the batch and sets their gids to -1
// (every other gid to 0, meaning "to be assigned").
func markFailed(ctx *operators.Context, rec arrow.Record, errs *expr.RowErrors, gids []int32) {
	for i := range gids {
		gids[i] = 0
	}
	if errs.Len() == 0 {
		return
	}
	relational.ReportFailed(ctx, rec, errs)
	errs.Each(func(i int, _ expr.RowError) { gids[i] = -1 })
}

// staged collects output rows column by column until they are sent as one
// batch.
type staged struct {
	types []types.Type
	cols  []vec
}

func newStaged(ts []types.Type) (*staged, error) {
	s := &staged{types: ts}
	for _, t := range ts {
		p, err := physOf(t)
		if err != nil {
			return nil, err
		}
		s.cols = append(s.cols, vec{p: p})
	}
	return s, nil
}

func (s *staged) rows() int { return s.cols[0].len() }

// flush sends the staged rows as one record and empties the stage.
func (s *staged) flush(ctx *operators.Context, schema *arrow.Schema, out *relational.Out) error {
	n := s.rows()
	if n == 0 {
		return nil
	}
	mem := ctx.Alloc()
	arrs := make([]arrow.Array, len(s.cols))
	for c := range s.cols {
		arrs[c] = s.cols[c].toArrow(mem, s.types[c])
		s.cols[c].reset()
	}
	rec := array.NewRecord(schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	defer rec.Release()
	return out.Send(rec)
}

// outputNames fills in default column names.
func outputNames(given []string, defaults []string) ([]string, error) {
	if len(given) == 0 {
		return defaults, nil
	}
	if len(given) != len(defaults) {
		return nil, fmt.Errorf("%d column names for %d output columns", len(given), len(defaults))
	}
	seen := map[string]bool{types.RowtimeName: true}
	for _, n := range given {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("output column name %q is empty or repeated", n)
		}
		seen[n] = true
	}
	return given, nil
}

// The operators of this package keep their state across restarts.
var (
	_ operators.Stateful = (*Tumbling)(nil)
	_ operators.Stateful = (*Stagger)(nil)
	_ operators.Stateful = (*Sliding)(nil)
)
