package window

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// SlidingSpec describes one sliding window, WINDOW w AS (PARTITION BY ...
// RANGE INTERVAL 'n' unit PRECEDING | ROWS n PRECEDING), and the aggregates
// computed OVER it (KDA-SQL.md §2.3).
//
// A query with several windows is planned as a chain of Sliding operators,
// one per window: each passes its input columns through and appends its
// aggregates, so the next one sees the same input columns at the same
// positions; a Project on top puts the SELECT list in order.
type SlidingSpec struct {
	Input       types.Schema
	PartitionBy []expr.Expr
	// Range is the RANGE length: a row at ROWTIME t is aggregated with the
	// rows of its partition in (t-Range, t].
	Range time.Duration
	// Rows is n of ROWS n PRECEDING: the current row and the n before it.
	Rows   int
	IsRows bool
	Aggs   []Aggregate
	// Names optionally names the aggregate columns (default AGG_1...).
	Names []string
}

// Sliding is the operator NewSliding builds: one output row per input row,
// emitted immediately, with the input's columns followed by the aggregates
// over the row's window. Rows expiring produce no output.
type Sliding struct {
	relational.Out
	spec   SlidingSpec
	rng    int64
	schema types.Schema
	arrow  *arrow.Schema
	keys   *keyCols
	plans  []aggPlan
	outT   []types.Type
	table  groupTable
	ids    ids
	parts  []*spart // by partition id; nil once reclaimed
	now    int64    // stream time
	swept  int64    // stream time of the last sweep of idle partitions

	rt    []int64
	args  []vec
	defs  []vec // LAG defaults (analytic.go)
	gids  []int32
	res   []vec
	errs  expr.RowErrors
	keep  []int
	alloc func(row int) int32
	users []*slideUser // user aggregates (useragg_sliding.go)
}

// spart is one partition's window: a ring of its rows' ROWTIMEs and
// argument values, by sequence number, and the running state of each
// aggregate.
type spart struct {
	head  int64 // sequence number of the oldest row in the window
	n     int
	times []int64 // ring, power-of-two capacity, row s at s&(len-1)
	vals  []vec   // per aggregate, same ring layout (unused for COUNT(*))
	run   []srun
	uv    [][]vec // per user aggregate: its arguments' rings
	ulost []bool  // per user aggregate: its state must be rebuilt
}

type srun struct {
	n      int64
	si     int64
	sd     decimal128.Num
	s1, s2 float64
	k      float64
	dq     []int64 // MIN/MAX candidates by sequence number, best first
	cnt    map[string]int32
}

// NewSliding validates spec and builds the operator.
func NewSliding(spec SlidingSpec) (*Sliding, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("sliding window: %w", err)
	}
	if spec.IsRows {
		if spec.Rows < 0 {
			return nil, fmt.Errorf("sliding window: ROWS %d PRECEDING is negative", spec.Rows)
		}
	} else if spec.Range <= 0 || spec.Range%time.Millisecond != 0 {
		return nil, fmt.Errorf("sliding window: RANGE %s must be a positive whole number of milliseconds", spec.Range)
	}
	s := &Sliding{spec: spec, rng: spec.Range.Milliseconds()}
	var err error
	if s.keys, err = newKeyCols(spec.PartitionBy); err != nil {
		return nil, fmt.Errorf("sliding window: partition %w", err)
	}
	if s.plans, err = planAggs(spec.Aggs); err != nil {
		return nil, fmt.Errorf("sliding window: %w", err)
	}
	for k, p := range s.plans {
		if p.user != nil {
			u, err := newSlideUser(k, p)
			if err != nil {
				return nil, fmt.Errorf("sliding window: %w", err)
			}
			s.users = append(s.users, u)
		}
	}
	var defaults []string
	for i, p := range s.plans {
		defaults = append(defaults, fmt.Sprintf("AGG_%d", i+1))
		s.outT = append(s.outT, p.out)
		s.res = append(s.res, vec{p: p.outPhys})
	}
	names, err := outputNames(spec.Names, defaults)
	if err != nil {
		return nil, fmt.Errorf("sliding window: %w", err)
	}
	s.schema.Fields = append([]types.Field(nil), spec.Input.Fields...)
	for i, n := range names {
		if spec.Input.Index(n) >= 0 {
			return nil, fmt.Errorf("sliding window: aggregate column %s is already an input column", n)
		}
		s.schema.Fields = append(s.schema.Fields, types.Field{Name: n, Type: s.outT[i]})
	}
	s.arrow = s.schema.Arrow()
	s.args = make([]vec, len(s.plans))
	s.defs = make([]vec, len(s.plans))
	s.table = newGroupTable(s.keys)
	s.alloc = func(row int) int32 {
		g, fresh := s.ids.get()
		s.keys.keep(g, row)
		if fresh {
			s.parts = append(s.parts, s.newPart())
		} else {
			s.parts[g] = s.newPart()
		}
		for _, u := range s.users {
			u.alloc(g)
		}
		return g
	}
	return s, nil
}

func (s *Sliding) newPart() *spart {
	p := &spart{times: make([]int64, 4), vals: make([]vec, len(s.plans)), run: make([]srun, len(s.plans))}
	for k, pl := range s.plans {
		if pl.kind != kCountStar {
			p.vals[k] = vec{p: pl.argPhys}
			p.vals[k].resize(4)
		}
	}
	if len(s.users) > 0 {
		p.uv, p.ulost = make([][]vec, len(s.plans)), make([]bool, len(s.plans))
		for _, u := range s.users {
			u.newRings(p)
		}
	}
	return p
}

// Schema implements operators.Operator.
func (s *Sliding) Schema() types.Schema { return s.schema }

// Advance implements operators.Operator: expiring rows emit nothing, but
// the heartbeat lets idle partitions be reclaimed.
func (s *Sliding) Advance(_ *operators.Context, now time.Time) error {
	s.tick(now.UnixMilli())
	return nil
}

// tick moves stream time to now and, once per Range of stream time, frees
// the RANGE partitions whose every row has expired: a later row of such a
// key starts from an empty window anyway, so only their memory goes. (ROWS
// windows have no time bound and keep every partition.) With keys such as
// FLOOR(event_time TO MINUTE) this bounds the state.
func (s *Sliding) tick(now int64) {
	if now > s.now {
		s.now = now
	}
	if s.spec.IsRows || s.now-s.swept < s.rng {
		return
	}
	s.swept = s.now
	for g, p := range s.parts {
		if p == nil {
			continue
		}
		if p.n == 0 || p.times[int(p.head+int64(p.n)-1)&(len(p.times)-1)] <= s.now-s.rng {
			s.table.remove(s.keys, int32(g))
			s.parts[g] = nil
			s.ids.put(int32(g))
		}
	}
}

// Process implements operators.Operator.
func (s *Sliding) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	var err error
	if s.rt, err = rowtimes(rec, s.rt); err != nil {
		return fmt.Errorf("sliding window: %w", err)
	}
	s.errs.Reset()
	ec := ctx.Eval(&s.errs)
	if err := s.keys.eval(ec, rec); err != nil {
		return fmt.Errorf("sliding window: %w", err)
	}
	if err := evalArgs(ec, rec, s.plans, s.args); err != nil {
		return fmt.Errorf("sliding window: %w", err)
	}
	if err := evalDefaults(ec, rec, s.plans, s.defs); err != nil {
		return fmt.Errorf("sliding window: %w", err)
	}
	for _, u := range s.users {
		if err := evalUserArgs(ec, rec, u.name, s.plans[u.k].uargs, u.args); err != nil {
			return fmt.Errorf("sliding window: %w", err)
		}
	}
	s.gids = grow(s.gids, n)
	markFailed(ctx, rec, &s.errs, s.gids)
	s.table.assign(s.keys, 0, n, s.gids, s.alloc)
	for k := range s.res {
		s.res[k].reset()
	}
	for i := 0; i < n; i++ {
		g := s.gids[i]
		if g < 0 {
			continue
		}
		s.row(g, s.parts[g], i)
	}
	for _, u := range s.users {
		u.finish(ctx, rec, s.rt, s.rt[n-1], s.parts)
	}
	s.tick(s.rt[n-1])
	return s.emit(ctx, rec)
}

// row slides partition p's window to row i, adds the row and stages the
// aggregates.
func (s *Sliding) row(g int32, p *spart, i int) {
	now := s.rt[i]
	if !s.spec.IsRows {
		for p.n > 0 && p.times[int(p.head)&(len(p.times)-1)] <= now-s.rng {
			s.evict(g, p)
		}
	} else {
		for p.n > s.spec.Rows {
			s.evict(g, p)
		}
	}
	if p.n == len(p.times) {
		s.growRing(p)
	}
	seq := p.head + int64(p.n)
	pos := int(seq) & (len(p.times) - 1)
	p.times[pos] = now
	p.n++
	for k := range s.plans {
		pl := &s.plans[k]
		if pl.kind == kCountStar {
			p.run[k].n++
			continue
		}
		if pl.kind == kUser {
			continue
		}
		p.vals[k].set(pos, &s.args[k], i)
		s.add(pl, &p.run[k], &p.vals[k], p, pos, seq, now)
	}
	for k := range s.plans {
		switch pl := &s.plans[k]; {
		case pl.kind.analytic():
			analyticResult(pl, &p.vals[k], p, seq, &s.res[k], &s.defs[k], i)
		case pl.kind != kUser:
			s.result(pl, &p.run[k], &p.vals[k], p, seq, &s.res[k])
		}
	}
	for _, u := range s.users {
		u.add(g, p, pos, seq, i, now, &s.res[u.k])
	}
}

func (s *Sliding) evict(g int32, p *spart) {
	seq := p.head
	pos := int(seq) & (len(p.times) - 1)
	t := p.times[pos]
	for _, u := range s.users {
		u.evict(g, p, pos, seq)
	}
	for k := range s.plans {
		pl := &s.plans[k]
		if pl.kind == kCountStar {
			p.run[k].n--
			continue
		}
		if pl.kind == kUser {
			continue
		}
		s.remove(pl, &p.run[k], &p.vals[k], pos, seq, t)
	}
	p.head++
	p.n--
}

func (s *Sliding) growRing(p *spart) {
	old := len(p.times)
	size := old * 2
	times := make([]int64, size)
	vals := make([]vec, len(p.vals))
	for k := range p.vals {
		if s.plans[k].kind != kCountStar {
			vals[k] = vec{p: p.vals[k].p}
			vals[k].resize(size)
		}
	}
	for seq := p.head; seq < p.head+int64(p.n); seq++ {
		from, to := int(seq)&(old-1), int(seq)&(size-1)
		times[to] = p.times[from]
		for k := range vals {
			if s.plans[k].kind != kCountStar {
				vals[k].set(to, &p.vals[k], from)
			}
		}
	}
	growUserRings(s.users, p, size)
	p.times, p.vals = times, vals
}

// add folds the value at ring position pos (sequence seq, time t) into r.
func (s *Sliding) add(pl *aggPlan, r *srun, v *vec, p *spart, pos int, seq, t int64) {
	if !v.ok[pos] || pl.kind == kFirst || pl.kind == kLast || pl.kind.analytic() {
		return
	}
	if pl.distinct {
		if r.cnt == nil {
			r.cnt = map[string]int32{}
		}
		key := v.key(pos)
		r.cnt[key]++
		if r.cnt[key] > 1 {
			return
		}
	}
	switch pl.kind {
	case kCount:
		r.n++
	case kSum, kAvg:
		switch v.p {
		case pInt:
			r.si += v.i[pos]
		case pDec:
			r.sd = r.sd.Add(v.d[pos])
		default:
			r.s1 += v.f[pos]
		}
		r.n++
	case kVarPop, kVarSamp, kStddevPop, kStddevSamp:
		f := asFloat(v, pos, pl.argScale)
		if r.n == 0 {
			r.k, r.s1, r.s2 = f, 0, 0
		}
		d := f - r.k
		r.s1 += d
		r.s2 += d * d
		r.n++
	case kExpAvg:
		tf := float64(t)
		if r.n == 0 {
			r.k, r.s1, r.s2 = tf, 0, 0
		}
		e := (tf - r.k) / pl.halfLife
		if e > 500 {
			scale := math.Exp2(-e)
			r.s1 *= scale
			r.s2 *= scale
			r.k, e = tf, 0
		}
		w := math.Exp2(e)
		r.s1 += asFloat(v, pos, pl.argScale) * w
		r.s2 += w
		r.n++
	case kAny, kEvery:
		r.n++
		r.si += b2i(v.i[pos] != 0)
	case kMin, kMax:
		for len(r.dq) > 0 {
			bp := int(r.dq[len(r.dq)-1]) & (len(p.times) - 1)
			c := v.cmp(bp, v, pos)
			if (pl.kind == kMin && c < 0) || (pl.kind == kMax && c > 0) {
				break
			}
			r.dq = r.dq[:len(r.dq)-1]
		}
		r.dq = append(r.dq, seq)
	}
}

// remove takes the value at ring position pos back out of r.
func (s *Sliding) remove(pl *aggPlan, r *srun, v *vec, pos int, seq, t int64) {
	if !v.ok[pos] || pl.kind == kFirst || pl.kind == kLast || pl.kind.analytic() {
		return
	}
	if pl.distinct {
		key := v.key(pos)
		c := r.cnt[key] - 1
		if c > 0 {
			r.cnt[key] = c
			return
		}
		delete(r.cnt, key)
	}
	switch pl.kind {
	case kCount:
		r.n--
	case kSum, kAvg:
		switch v.p {
		case pInt:
			r.si -= v.i[pos]
		case pDec:
			r.sd = r.sd.Sub(v.d[pos])
		default:
			r.s1 -= v.f[pos]
		}
		r.n--
		if r.n == 0 {
			r.si, r.s1, r.sd = 0, 0, decimal128.Num{}
		}
	case kVarPop, kVarSamp, kStddevPop, kStddevSamp:
		d := asFloat(v, pos, pl.argScale) - r.k
		r.s1 -= d
		r.s2 -= d * d
		r.n--
	case kExpAvg:
		r.s1 -= asFloat(v, pos, pl.argScale) * math.Exp2((float64(t)-r.k)/pl.halfLife)
		r.s2 -= math.Exp2((float64(t) - r.k) / pl.halfLife)
		r.n--
		if r.n == 0 {
			r.s1, r.s2 = 0, 0
		}
	case kAny, kEvery:
		r.n--
		r.si -= b2i(v.i[pos] != 0)
	case kMin, kMax:
		if len(r.dq) > 0 && r.dq[0] == seq {
			r.dq = r.dq[1:]
		}
	}
}

// result stages the aggregate of r for the row just added (sequence last).
func (s *Sliding) result(pl *aggPlan, r *srun, v *vec, p *spart, last int64, out *vec) {
	mask := len(p.times) - 1
	switch pl.kind {
	case kCountStar, kCount:
		out.i, out.ok = append(out.i, r.n), append(out.ok, true)
		return
	case kFirst:
		appendAlias(out, v, int(p.head)&mask)
		return
	case kLast:
		appendAlias(out, v, int(last)&mask)
		return
	case kMin, kMax:
		if len(r.dq) == 0 {
			out.appendNull()
		} else {
			appendAlias(out, v, int(r.dq[0])&mask)
		}
		return
	}
	if r.n == 0 {
		out.appendNull()
		return
	}
	switch pl.kind {
	case kSum:
		switch out.p {
		case pInt:
			out.i = append(out.i, r.si)
		case pDec:
			out.d = append(out.d, r.sd)
		default:
			out.f = append(out.f, r.s1)
		}
	case kAvg:
		sum := r.s1
		switch pl.argPhys {
		case pInt:
			sum = float64(r.si)
		case pDec:
			sum = r.sd.ToFloat64(pl.argScale)
		}
		out.f = append(out.f, sum/float64(r.n))
	case kVarPop, kVarSamp, kStddevPop, kStddevSamp:
		f, ok := finishVar(pl.kind, r.n, r.s1, r.s2)
		if !ok {
			out.appendNull()
			return
		}
		out.f = append(out.f, f)
	case kExpAvg:
		out.f = append(out.f, r.s1/r.s2)
	case kAny:
		out.i = append(out.i, b2i(r.si > 0))
	case kEvery:
		out.i = append(out.i, b2i(r.si == r.n))
	}
	out.ok = append(out.ok, true)
}

// appendAlias appends v[j] without cloning strings: out lives only until
// the batch is built.
func appendAlias(out, v *vec, j int) {
	switch out.p {
	case pInt:
		out.i = append(out.i, v.i[j])
	case pFloat:
		out.f = append(out.f, v.f[j])
	case pStr:
		out.s = append(out.s, v.s[j])
	case pDec:
		out.d = append(out.d, v.d[j])
	}
	out.ok = append(out.ok, v.ok[j])
}

// emit sends the input rows that were not dropped, with the aggregates.
func (s *Sliding) emit(ctx *operators.Context, rec arrow.Record) error {
	mem := ctx.Alloc()
	in := rec
	if s.errs.Len() > 0 {
		s.keep = s.keep[:0]
		for i, g := range s.gids {
			if g >= 0 {
				s.keep = append(s.keep, i)
			}
		}
		if len(s.keep) == 0 {
			return nil
		}
		var err error
		if in, err = relational.Take(mem, rec, s.keep); err != nil {
			return fmt.Errorf("sliding window: %w", err)
		}
		defer in.Release()
	}
	cols := make([]arrow.Array, 0, len(s.schema.Fields))
	cols = append(cols, in.Columns()...)
	var made []arrow.Array
	for k := range s.res {
		a := s.res[k].toArrow(mem, s.outT[k])
		made = append(made, a)
		cols = append(cols, a)
	}
	out := array.NewRecord(s.arrow, cols, in.NumRows())
	for _, a := range made {
		a.Release()
	}
	defer out.Release()
	return s.Send(out)
}

// Snapshot implements operators.Stateful.
func (s *Sliding) Snapshot(w io.Writer) error {
	var b wbuf
	b.header(tagSliding)
	saveIDs(&b, &s.ids)
	saveKeys(&b, s.keys)
	b.i64(s.now)
	b.i64(s.swept)
	b.int(len(s.parts))
	for _, p := range s.parts {
		b.bool(p != nil)
		if p == nil {
			continue
		}
		b.i64(p.head)
		b.int(p.n)
		mask := len(p.times) - 1
		for seq := p.head; seq < p.head+int64(p.n); seq++ {
			b.i64(p.times[int(seq)&mask])
		}
		for k := range s.plans {
			if s.plans[k].kind != kCountStar {
				live := vec{p: p.vals[k].p}
				for seq := p.head; seq < p.head+int64(p.n); seq++ {
					live.appendFrom(&p.vals[k], int(seq)&mask)
				}
				b.vec(&live)
			}
			r := &p.run[k]
			b.i64(r.n)
			b.i64(r.si)
			b.dec(r.sd)
			b.f64(r.s1)
			b.f64(r.s2)
			b.f64(r.k)
			b.i64s(r.dq)
			b.int(len(r.cnt))
			for key, c := range r.cnt {
				b.str(key)
				b.i64(int64(c))
			}
		}
		for _, u := range s.users {
			u.savePart(&b, p)
		}
	}
	for _, u := range s.users {
		if err := saveUser(&b, u.userOps); err != nil {
			return fmt.Errorf("sliding window: snapshot: %w", err)
		}
	}
	return b.flush(w)
}

// Restore implements operators.Stateful: it replaces the operator's state.
func (s *Sliding) Restore(rd io.Reader) error {
	r, err := readAll(rd, tagSliding)
	if err != nil {
		return fmt.Errorf("sliding window: %w", err)
	}
	loadIDs(r, &s.ids)
	loadKeys(r, s.keys)
	s.now, s.swept = r.i64(), r.i64()
	s.parts = make([]*spart, r.count())
	for j := range s.parts {
		if !r.bool() {
			continue
		}
		p := s.newPart()
		p.head, p.n = r.i64(), r.int()
		size := 4
		for size < p.n {
			size *= 2
		}
		p.times = make([]int64, size)
		mask := size - 1
		for seq := p.head; seq < p.head+int64(p.n); seq++ {
			p.times[int(seq)&mask] = r.i64()
		}
		for k := range s.plans {
			if s.plans[k].kind != kCountStar {
				var live vec
				r.vec(&live)
				if live.p != p.vals[k].p || live.len() != p.n {
					r.fail("window values")
					break
				}
				p.vals[k].resize(size)
				for x := 0; x < p.n; x++ {
					p.vals[k].set(int(p.head+int64(x))&mask, &live, x)
				}
			}
			run := &p.run[k]
			run.n, run.si, run.sd = r.i64(), r.i64(), r.dec()
			run.s1, run.s2, run.k = r.f64(), r.f64(), r.f64()
			run.dq = r.i64s()
			if c := r.count(); c > 0 {
				run.cnt = make(map[string]int32, c)
				for ; c > 0; c-- {
					key := strings.Clone(r.str())
					run.cnt[key] = int32(r.i64())
				}
			}
		}
		for _, u := range s.users {
			u.loadPart(r, p)
		}
		s.parts[j] = p
	}
	for _, u := range s.users {
		states := loadUser(r)
		if r.err != nil {
			break
		}
		if err := u.st.Load(states); err != nil {
			return fmt.Errorf("sliding window: restore: %w", err)
		}
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("sliding window: %w", err)
	}
	if int(s.ids.next) != len(s.parts) {
		return fmt.Errorf("sliding window: restore: %d partitions for %d ids", len(s.parts), s.ids.next)
	}
	for _, g := range s.ids.free {
		if g < 0 || int(g) >= len(s.parts) || s.parts[g] != nil {
			return fmt.Errorf("sliding window: restore: free partition id %d is in use", g)
		}
	}
	for c := range s.keys.store {
		if s.keys.store[c].len() != len(s.parts) {
			return fmt.Errorf("sliding window: restore: partition keys for %d partitions, expected %d", s.keys.store[c].len(), len(s.parts))
		}
	}
	s.table = newGroupTable(s.keys)
	for g, p := range s.parts {
		if p != nil {
			s.table.add(s.keys, int32(g))
		}
	}
	return nil
}
