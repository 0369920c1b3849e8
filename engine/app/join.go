package app

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/join"
	"github.com/kdaproject/kda/sql/plan"
)

// subscribe attaches a pump's run to the streams it reads. A join pump
// (plan.Pump.Join) reads two: each stream feeds one input of the join,
// its first operator, and the operators after the join are advanced to
// the join's clock — the time before which it has processed both inputs —
// rather than to the heartbeat, since the join may still emit rows
// earlier than the heartbeat until its other input has caught up.
func (r *Runtime) subscribe(p *plan.Pump, run *pumpRun) error {
	jp := p.Join()
	if jp == nil {
		r.streams[p.Source].Subscribe(run)
		return nil
	}
	j, ok := run.ops[0].(*join.StreamJoin)
	if !ok {
		return fmt.Errorf("pump %s: a join pump starts with %T, not a stream join", p.Name, run.ops[0])
	}
	for side, src := range jp.Sources {
		s, ok := r.streams[src]
		if !ok {
			return fmt.Errorf("pump %s: no stream %s", p.Name, src)
		}
		s.Subscribe(&joinInput{run: run, join: j, in: j.Input(side)})
	}
	return nil
}

// joinInput is the subscriber that feeds one side of a join pump.
type joinInput struct {
	run  *pumpRun
	join *join.StreamJoin
	in   *join.Input
}

func (s *joinInput) Process(_ *operators.Context, rec arrow.Record) error {
	s.run.rowsIn[0].Add(uint64(rec.NumRows()))
	return s.in.Process(s.run.ctx, rec)
}

func (s *joinInput) Advance(_ *operators.Context, now time.Time) error {
	before := s.join.Clock()
	if err := s.in.Advance(s.run.ctx, now); err != nil {
		return err
	}
	after := s.join.Clock()
	if !after.After(before) {
		return nil
	}
	hold, err := advanceChain(s.run.ctx, s.run.ops[1:], after)
	if err != nil {
		return err
	}
	s.run.hold = hold
	return nil
}
