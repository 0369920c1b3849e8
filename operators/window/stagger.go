package window

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// StaggerSpec describes WINDOWED BY STAGGER (PARTITION BY ... RANGE
// INTERVAL ...) (KDA-SQL.md §2.4).
type StaggerSpec struct {
	Input       types.Schema
	PartitionBy []expr.Expr
	Range       time.Duration
	Aggs        []Aggregate
	// Names optionally names the output columns after ROWTIME: the
	// partition keys, then the aggregates. Default KEY_1..., AGG_1...
	Names []string
}

// Stagger is the operator NewStagger builds. A window opens for a partition
// key at the ROWTIME of its first row and covers [open, open+Range); it
// closes when stream time (a row's ROWTIME or an Advance) reaches open+Range
// and emits one row (ROWTIME = open+Range, partition keys..., aggregates...).
// A later row of the key opens a new window. Rows come out in ROWTIME order,
// then key order (NULLs first).
type Stagger struct {
	relational.Out
	spec   StaggerSpec
	rng    int64
	schema types.Schema
	arrow  *arrow.Schema
	keys   *keyCols
	aggs   *aggSet
	table  groupTable
	ids    ids
	opened []int64 // open time per group id
	fifo   []int32 // open windows by open time (so by end time)
	alloc  func(row int) int32
	out    *staged

	rt    []int64
	gids  []int32
	errs  expr.RowErrors
	batch []int32
}

// NewStagger validates spec and builds the operator.
func NewStagger(spec StaggerSpec) (*Stagger, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("stagger window: %w", err)
	}
	if spec.Range <= 0 || spec.Range%time.Millisecond != 0 {
		return nil, fmt.Errorf("stagger window: range %s must be a positive whole number of milliseconds", spec.Range)
	}
	s := &Stagger{spec: spec, rng: spec.Range.Milliseconds()}
	var err error
	if s.keys, err = newKeyCols(spec.PartitionBy); err != nil {
		return nil, fmt.Errorf("stagger window: partition %w", err)
	}
	if s.aggs, err = newAggSet(spec.Aggs); err != nil {
		return nil, fmt.Errorf("stagger window: %w", err)
	}
	var defaults []string
	outTypes := []types.Type{{Kind: types.Timestamp, NotNull: true}}
	for i := range spec.PartitionBy {
		defaults = append(defaults, fmt.Sprintf("KEY_%d", i+1))
		outTypes = append(outTypes, s.keys.types[i].Nullable())
	}
	for i, p := range s.aggs.plans {
		defaults = append(defaults, fmt.Sprintf("AGG_%d", i+1))
		outTypes = append(outTypes, p.out)
	}
	names, err := outputNames(spec.Names, defaults)
	if err != nil {
		return nil, fmt.Errorf("stagger window: %w", err)
	}
	s.schema.Fields = append(s.schema.Fields, types.Field{Name: types.RowtimeName, Type: outTypes[0]})
	for i, n := range names {
		s.schema.Fields = append(s.schema.Fields, types.Field{Name: n, Type: outTypes[i+1]})
	}
	s.arrow = s.schema.Arrow()
	if s.out, err = newStaged(outTypes); err != nil {
		return nil, fmt.Errorf("stagger window: %w", err)
	}
	s.table = newGroupTable(s.keys)
	s.alloc = func(row int) int32 {
		g, fresh := s.ids.get()
		if fresh {
			s.aggs.grow(int(g) + 1)
			s.opened = append(s.opened, 0)
		}
		s.keys.keep(g, row)
		s.opened[g] = s.rt[row]
		s.fifo = append(s.fifo, g)
		return g
	}
	return s, nil
}

// Schema implements operators.Operator.
func (s *Stagger) Schema() types.Schema { return s.schema }

// Process implements operators.Operator.
func (s *Stagger) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	var err error
	if s.rt, err = rowtimes(rec, s.rt); err != nil {
		return fmt.Errorf("stagger window: %w", err)
	}
	s.errs.Reset()
	ec := ctx.Eval(&s.errs)
	if err := s.keys.eval(ec, rec); err != nil {
		return fmt.Errorf("stagger window: %w", err)
	}
	if err := evalArgs(ec, rec, s.aggs.plans, s.aggs.args); err != nil {
		return fmt.Errorf("stagger window: %w", err)
	}
	if err := s.aggs.evalUser(ec, rec); err != nil {
		return fmt.Errorf("stagger window: %w", err)
	}
	s.gids = grow(s.gids, n)
	markFailed(ctx, rec, &s.errs, s.gids)

	// Rows are aggregated in segments between the instants at which some
	// window closes. A window opened inside a segment ends no earlier than
	// one opened at the segment's first row, so that bounds the segment too.
	const none = int64(1<<63 - 1)
	seg, segOpen := 0, none
	for i := 0; i < n; i++ {
		now := s.rt[i]
		next := segOpen
		if len(s.fifo) > 0 {
			next = s.opened[s.fifo[0]] + s.rng
		}
		if now >= next {
			s.flushSeg(seg, i)
			s.closeUntil(now)
			seg, segOpen = i, none
		}
		if s.gids[i] < 0 {
			continue
		}
		if segOpen == none {
			segOpen = now + s.rng
		}
	}
	s.flushSeg(seg, n)
	s.aggs.finish(ctx, rec, s.rt, s.rt[n-1])
	return s.out.flush(ctx, s.arrow, &s.Out)
}

func (s *Stagger) flushSeg(lo, hi int) {
	if lo >= hi {
		return
	}
	s.table.assign(s.keys, lo, hi, s.gids, s.alloc)
	s.aggs.update(s.rt, s.gids, lo, hi)
}

// closeUntil closes every window that ends at or before now.
func (s *Stagger) closeUntil(now int64) {
	for len(s.fifo) > 0 {
		end := s.opened[s.fifo[0]] + s.rng
		if end > now {
			return
		}
		j := 1
		for j < len(s.fifo) && s.opened[s.fifo[j]]+s.rng == end {
			j++
		}
		s.batch = append(s.batch[:0], s.fifo[:j]...)
		s.fifo = s.fifo[j:]
		s.keys.sortGroups(s.batch)
		for _, g := range s.batch {
			s.stage(end, g)
		}
		for _, g := range s.batch {
			s.table.remove(s.keys, g)
			s.aggs.clear(g)
			s.ids.put(g)
		}
	}
}

func (s *Stagger) stage(rowtime int64, g int32) {
	c := s.out.cols
	c[0].i, c[0].ok = append(c[0].i, rowtime), append(c[0].ok, true)
	nk := len(s.keys.store)
	for k := 0; k < nk; k++ {
		c[1+k].appendFrom(&s.keys.store[k], int(g))
	}
	for k, a := range s.aggs.accs {
		a.result(&c[1+nk+k], g, rowtime)
	}
}

// Advance implements operators.Operator.
func (s *Stagger) Advance(ctx *operators.Context, now time.Time) error {
	s.closeUntil(now.UnixMilli())
	s.aggs.finish(ctx, nil, nil, now.UnixMilli())
	return s.out.flush(ctx, s.arrow, &s.Out)
}

// Snapshot implements operators.Stateful.
func (s *Stagger) Snapshot(w io.Writer) error {
	var b wbuf
	b.header(tagStagger)
	saveIDs(&b, &s.ids)
	b.i64s(s.opened)
	b.int(len(s.fifo))
	for _, g := range s.fifo {
		b.i64(int64(g))
	}
	saveKeys(&b, s.keys)
	if err := saveAccs(&b, s.aggs); err != nil {
		return fmt.Errorf("stagger window: snapshot: %w", err)
	}
	return b.flush(w)
}

// Restore implements operators.Stateful: it replaces the operator's state.
func (s *Stagger) Restore(rd io.Reader) error {
	r, err := readAll(rd, tagStagger)
	if err != nil {
		return fmt.Errorf("stagger window: %w", err)
	}
	loadIDs(r, &s.ids)
	s.opened = r.i64s()
	s.fifo = make([]int32, r.count())
	for k := range s.fifo {
		s.fifo[k] = int32(r.i64())
	}
	loadKeys(r, s.keys)
	if err := loadAccs(r, s.aggs); err != nil {
		return fmt.Errorf("stagger window: restore: %w", err)
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("stagger window: %w", err)
	}
	if err := checkGroups(s.ids.next, s.keys, s.aggs); err != nil {
		return fmt.Errorf("stagger window: %w", err)
	}
	if len(s.opened) != int(s.ids.next) {
		return fmt.Errorf("stagger window: restore: %d open times for %d groups", len(s.opened), s.ids.next)
	}
	s.table = newGroupTable(s.keys)
	for _, g := range s.fifo {
		if g < 0 || g >= s.ids.next {
			return fmt.Errorf("stagger window: restore: group id %d out of range", g)
		}
		s.table.add(s.keys, g)
	}
	if !slices.IsSortedFunc(s.fifo, func(a, b int32) int { return cmpInt(s.opened[a], s.opened[b]) }) {
		return fmt.Errorf("stagger window: restore: windows out of order")
	}
	return nil
}
