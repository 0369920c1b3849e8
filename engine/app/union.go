package app

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/pipeline"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/plan"
)

// wireUnion wires a UNION ALL pump (plan/union.go): every branch's
// operators, subscribed to the branch's source stream, emit into one
// relational.Merge, which inserts into target in ROWTIME order. The pump
// is one pumpRun whose operators are the branches' in order, then the
// Merge, so snapshots and OperatorRows cover them all.
func (r *Runtime) wireUnion(p *plan.Pump, target *pipeline.Stream) error {
	ctx := &operators.Context{Mem: r.mem, Errors: r.errors, Pump: p.Name, Now: r.clockNow}
	merge, err := p.NewMerge()
	if err != nil {
		return fmt.Errorf("pump %s: %w", p.Name, err)
	}
	run := &pumpRun{name: p.Name, ctx: ctx, target: target, explain: p.Explain}
	type span struct{ lo, hi int }
	var spans []span
	for j, b := range p.Branches {
		ops, err := b.Build(ctx, merge.Branch(j))
		if err != nil {
			return err
		}
		spans = append(spans, span{len(run.ops), len(run.ops) + len(ops)})
		run.ops = append(run.ops, ops...)
	}
	run.ops = append(run.ops, merge)
	n := len(run.ops)
	run.rowsIn, run.rowsOut = make([]atomic.Uint64, n), make([]atomic.Uint64, n)
	// Count rows as wire does: re-connect each operator through a counter.
	for j, sp := range spans {
		for i := sp.lo; i < sp.hi; i++ {
			e, ok := run.ops[i].(setEmitter)
			if !ok {
				return fmt.Errorf("pump %s: operator %T cannot be connected", p.Name, run.ops[i])
			}
			i := i
			if i+1 < sp.hi {
				next := run.ops[i+1]
				e.SetEmit(func(rec arrow.Record) error {
					c := uint64(rec.NumRows())
					run.rowsOut[i].Add(c)
					run.rowsIn[i+1].Add(c)
					return next.Process(ctx, rec)
				})
			} else {
				into := merge.Branch(j)
				e.SetEmit(func(rec arrow.Record) error {
					c := uint64(rec.NumRows())
					run.rowsOut[i].Add(c)
					run.rowsIn[n-1].Add(c)
					return into(rec)
				})
			}
		}
		r.streams[p.Branches[j].Source].Subscribe(&unionBranch{run: run, ops: run.ops[sp.lo:sp.hi], first: sp.lo, merge: merge, idx: j})
	}
	merge.SetEmit(func(rec arrow.Record) error {
		run.rowsOut[n-1].Add(uint64(rec.NumRows()))
		return target.Insert(ctx, rec)
	})
	r.pumps = append(r.pumps, run)
	return nil
}

// unionBranch runs one branch of a UNION ALL pump as a subscriber of its
// source stream and reports its progress to the Merge after every batch
// and heartbeat.
type unionBranch struct {
	run   *pumpRun
	ops   []operators.Operator
	first int // index of ops[0] in run.ops
	merge *relational.Merge
	idx   int
}

func (b *unionBranch) Process(_ *operators.Context, rec arrow.Record) error {
	b.run.rowsIn[b.first].Add(uint64(rec.NumRows()))
	if err := b.ops[0].Process(b.run.ctx, rec); err != nil {
		return err
	}
	var last int64
	if ts, ok := rec.Column(0).(*array.Timestamp); ok && ts.Len() > 0 {
		for _, v := range ts.TimestampValues() {
			last = max(last, int64(v))
		}
	}
	// The branch is past last, except for the rows its operators hold.
	at := time.UnixMilli(last).UTC()
	for _, op := range b.ops {
		if at.IsZero() {
			return nil
		}
		at = hold(op, at)
	}
	if at.IsZero() {
		return nil
	}
	return b.merge.Progress(b.run.ctx, b.idx, at.UnixMilli())
}

func (b *unionBranch) Advance(_ *operators.Context, now time.Time) error {
	at, err := advanceChain(b.run.ctx, b.ops, now)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		if err := b.merge.Progress(b.run.ctx, b.idx, at.UnixMilli()); err != nil {
			return err
		}
	}
	b.run.hold = hold(b.merge, now)
	return nil
}
