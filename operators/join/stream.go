package join

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// Kind is the join type.
type Kind uint8

const (
	Inner Kind = iota
	LeftOuter
	RightOuter
	FullOuter
)

func (k Kind) String() string {
	return [...]string{"INNER", "LEFT", "RIGHT", "FULL"}[k]
}

// StreamSpec describes a join of two streams (KDA-SQL.md §3).
//
// A pair of rows (l, r) can match when the difference of their ROWTIMEs,
// l.ROWTIME − r.ROWTIME, lies in [Lo, Hi], or when the earlier of the two
// is among the last n+1 rows of its side under a ROWS n PRECEDING window
// (LeftRows/RightRows). The planner derives Lo and Hi from the sides'
// windows: "b OVER (RANGE INTERVAL '1' MINUTE PRECEDING)" lets b rows of
// the minute before an a row match (Hi = 59.999 s), FOLLOWING the minute
// after (Lo = −59.999 s); a side without a window contributes only
// equal ROWTIMEs; a Flink-style interval condition gives its bounds.
type StreamSpec struct {
	Left, Right types.Schema
	Kind        Kind
	// LeftKeys[i] = RightKeys[i] are the equi-join conditions, over each
	// side's schema; matching keys are found through a hash index.
	LeftKeys, RightKeys []expr.Expr
	// Residual is the rest of the condition, over Schema(); nil is TRUE.
	Residual expr.Expr
	Lo, Hi   time.Duration
	// LeftRows and RightRows are n of a ROWS n PRECEDING window on that
	// side, or -1.
	LeftRows, RightRows int
}

// OutputSchema is the schema of a join's output: ROWTIME (the time of the
// row whose arrival made the match), the left side's columns, the right
// side's, then the left and the right row's own ROWTIMEs (named
// "$LEFT.ROWTIME" and "$RIGHT.ROWTIME", for qualified references). Every
// column but ROWTIME is nullable.
func OutputSchema(left, right types.Schema) types.Schema {
	out := types.Schema{Fields: []types.Field{left.Fields[0]}}
	for _, s := range []types.Schema{left, right} {
		for _, f := range s.Fields[1:] {
			out.Fields = append(out.Fields, types.Field{Name: f.Name, Type: f.Type.Nullable()})
		}
	}
	ts := left.Fields[0].Type.Nullable()
	out.Fields = append(out.Fields, types.Field{Name: "$LEFT.ROWTIME", Type: ts}, types.Field{Name: "$RIGHT.ROWTIME", Type: ts})
	return out
}

// StreamJoin is the operator NewStream builds. Its two inputs, Input(0)
// and Input(1), take each side's rows in their own ROWTIME order. The join
// processes rows in one order whatever the batching: instant by instant
// (one ROWTIME millisecond), once both inputs have passed that instant —
// a row of later ROWTIME or a heartbeat on each side — the left side's
// rows of the instant first, then the right side's. Each row is matched
// against the rows of the other side already processed that its window
// still holds, and the pairs are emitted with the row's ROWTIME.
//
// With an outer join a row of a preserved side that never matched is
// emitted NULL-extended when it can no longer match: once every instant in
// which a row of the other side could still pair with it has been
// processed. Its ROWTIME is that last instant (the row's own when the
// other side's window only looks back), or the last ROWTIME the join
// emitted if that is later.
//
// State is bounded by the windows: a row is dropped once it can no longer
// match (and, outer, its NULL-extended row is out).
type StreamJoin struct {
	relational.Out
	spec     StreamSpec
	schema   types.Schema
	arrow    *arrow.Schema
	sides    [2]*side
	inputs   [2]*Input
	keys     keyTable
	clock    int64 // every instant before it has been processed
	lastOut  int64 // the latest ROWTIME emitted
	residual expr.Expr

	// per release
	et, el, er []int64
	ek         []bool // true: a NULL-extended candidate
	pt, pl, pr []int64
	errs       expr.RowErrors
}

// side is one input's rows, by sequence number.
type side struct {
	idx    int
	schema types.Schema
	codec  *keyCodec
	kc     keyCols
	rows   int   // ROWS n PRECEDING, or -1
	ext    int64 // a row can match other-side rows up to its ROWTIME + ext
	outer  bool

	base      int64 // sequence number of t[0]
	t         []int64
	sid       []int64 // segment of each row
	row       []int32 // row within the segment
	kid       []int32 // key id, -1 for a NULL key
	next      []int64 // next processed row with the same key, -1 at the end
	matched   []bool
	processed int64 // first row not yet joined
	dead      int64 // first row that may still match
	segs      []arrow.Record
	segBase   int64 // segment number of segs[0]
	maxT      int64
	beat      int64
}

func (s *side) count() int64 { return s.base + int64(len(s.t)) }

// complete is the time before which every row of the side has arrived.
func (s *side) complete() int64 { return max(s.maxT, s.beat) }

// keyTable gives equal keys of both sides one id and, per side, a list of
// the processed rows with that key in arrival order, linked through
// side.next.
type keyTable struct {
	ints       map[int64]int32
	strs       map[string]int32
	ikey       []int64
	skey       []string
	refs       []int32 // rows of either side holding the id
	head, tail [2][]int64
	free       []int32
}

// push appends row seq of side s to its key's list.
func (k *keyTable) push(s *side, kid int32, seq int64) {
	s.next[seq-s.base] = -1
	if t := k.tail[s.idx][kid]; t >= 0 {
		s.next[t-s.base] = seq
	} else {
		k.head[s.idx][kid] = seq
	}
	k.tail[s.idx][kid] = seq
}

func (k *keyTable) id(isInt bool, i int64, s string) int32 {
	var id int32
	var ok bool
	if isInt {
		id, ok = k.ints[i]
	} else {
		id, ok = k.strs[s]
	}
	if !ok {
		if n := len(k.free); n > 0 {
			id = k.free[n-1]
			k.free = k.free[:n-1]
		} else {
			id = int32(len(k.refs))
			k.refs = append(k.refs, 0)
			k.ikey = append(k.ikey, 0)
			k.skey = append(k.skey, "")
			for s := 0; s < 2; s++ {
				k.head[s] = append(k.head[s], -1)
				k.tail[s] = append(k.tail[s], -1)
			}
		}
		if isInt {
			k.ints[i], k.ikey[id] = id, i
		} else {
			k.strs[s], k.skey[id] = id, s
		}
	}
	k.refs[id]++
	return id
}

func (k *keyTable) unref(isInt bool, id int32) {
	k.refs[id]--
	if k.refs[id] > 0 {
		return
	}
	if isInt {
		delete(k.ints, k.ikey[id])
	} else {
		delete(k.strs, k.skey[id])
		k.skey[id] = ""
	}
	for s := 0; s < 2; s++ {
		k.head[s][id], k.tail[s][id] = -1, -1
	}
	k.free = append(k.free, id)
}

// NewStream builds a stream join.
func NewStream(spec StreamSpec) (*StreamJoin, error) {
	for _, s := range []types.Schema{spec.Left, spec.Right} {
		if err := operators.CheckSchema(s); err != nil {
			return nil, err
		}
	}
	if len(spec.LeftKeys) != len(spec.RightKeys) {
		return nil, fmt.Errorf("join: %d left keys, %d right keys", len(spec.LeftKeys), len(spec.RightKeys))
	}
	if spec.Lo > spec.Hi {
		return nil, fmt.Errorf("join: empty time range [%s, %s]", spec.Lo, spec.Hi)
	}
	j := &StreamJoin{spec: spec, schema: OutputSchema(spec.Left, spec.Right), residual: spec.Residual}
	j.arrow = j.schema.Arrow()
	lo, hi := spec.Lo.Milliseconds(), spec.Hi.Milliseconds()
	j.sides[0] = &side{idx: 0, schema: spec.Left, codec: newKeyCodec(spec.LeftKeys), rows: spec.LeftRows, ext: -lo,
		outer: spec.Kind == LeftOuter || spec.Kind == FullOuter}
	j.sides[1] = &side{idx: 1, schema: spec.Right, codec: newKeyCodec(spec.RightKeys), rows: spec.RightRows, ext: hi,
		outer: spec.Kind == RightOuter || spec.Kind == FullOuter}
	if j.sides[0].codec.ints != j.sides[1].codec.ints {
		return nil, fmt.Errorf("join: the left and right keys are of incompatible types")
	}
	for i, s := range j.sides {
		s.maxT, s.beat = minTime, minTime
		j.inputs[i] = &Input{j: j, side: i}
	}
	j.clock, j.lastOut = minTime, minTime
	j.keys.ints, j.keys.strs = map[int64]int32{}, map[string]int32{}
	return j, nil
}

const minTime = -1 << 62

// Input is one side of a join, the operator that side's rows go to.
type Input struct {
	j    *StreamJoin
	side int
}

// Schema implements operators.Operator: the side's input schema.
func (in *Input) Schema() types.Schema { return in.j.sides[in.side].schema }

// Process implements operators.Operator.
func (in *Input) Process(ctx *operators.Context, rec arrow.Record) error {
	return in.j.process(ctx, in.side, rec)
}

// Advance implements operators.Operator: the side will bring no row
// earlier than now.
func (in *Input) Advance(ctx *operators.Context, now time.Time) error {
	s := in.j.sides[in.side]
	s.beat = max(s.beat, now.UnixMilli())
	return in.j.release(ctx)
}

// Input returns the operator side 0 (left) or 1 (right) feeds.
func (j *StreamJoin) Input(side int) *Input { return j.inputs[side] }

// Schema implements operators.Operator.
func (j *StreamJoin) Schema() types.Schema { return j.schema }

// Clock is the time before which the join has processed every instant:
// what the operators after it may be advanced to.
func (j *StreamJoin) Clock() time.Time { return time.UnixMilli(j.clock).UTC() }

// Process implements operators.Operator. A join's rows come through its
// inputs; Process is an error.
func (j *StreamJoin) Process(*operators.Context, arrow.Record) error {
	return fmt.Errorf("join: rows must go to Input(0) or Input(1)")
}

// Advance implements operators.Operator: both sides advance.
func (j *StreamJoin) Advance(ctx *operators.Context, now time.Time) error {
	for _, s := range j.sides {
		s.beat = max(s.beat, now.UnixMilli())
	}
	return j.release(ctx)
}

func (j *StreamJoin) process(ctx *operators.Context, si int, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	s := j.sides[si]
	rt, ok := rec.Column(0).(*array.Timestamp)
	if !ok {
		return fmt.Errorf("join: column 0 is %s, not ROWTIME", rec.Column(0).DataType())
	}
	if err := s.codec.eval(ctx, rec, &s.kc); err != nil {
		return err
	}
	rec.Retain()
	sid := s.segBase + int64(len(s.segs))
	s.segs = append(s.segs, rec)
	times := rt.TimestampValues()
	for i := 0; i < n; i++ {
		t := int64(times[i])
		if t < j.clock || t < s.maxT {
			if ctx != nil && ctx.Errors != nil {
				ctx.Errors.RowError(operators.RowError{
					Time: time.UnixMilli(j.clock).UTC(), Level: "ERROR", Name: "LATE_ROW",
					Message:     fmt.Sprintf("join: row with ROWTIME %s arrived after the join had processed %s", fmtTime(t), fmtTime(max(j.clock, s.maxT))),
					DataRowtime: time.UnixMilli(t).UTC(), DataRow: operators.RowJSON(rec, i), Pump: ctx.Pump,
				})
			}
			continue
		}
		s.maxT = t
		kid := int32(-1)
		if s.kc.OK[i] {
			if s.codec.ints {
				kid = j.keys.id(true, s.kc.I[i], "")
			} else {
				kid = j.keys.id(false, 0, s.kc.S[i])
			}
		}
		s.t = append(s.t, t)
		s.sid = append(s.sid, sid)
		s.row = append(s.row, int32(i))
		s.kid = append(s.kid, kid)
		s.next = append(s.next, -1)
		s.matched = append(s.matched, false)
	}
	return j.release(ctx)
}

func fmtTime(ms int64) string { return operators.FormatTimestamp(ms) }

// release processes every instant before both sides' completion time.
func (j *StreamJoin) release(ctx *operators.Context) error {
	limit := min(j.sides[0].complete(), j.sides[1].complete())
	if limit <= j.clock {
		return nil
	}
	j.et, j.el, j.er, j.ek = j.et[:0], j.el[:0], j.er[:0], j.ek[:0]
	L, R := j.sides[0], j.sides[1]
	for {
		T := int64(-1)
		has := false
		for _, s := range j.sides {
			if s.processed < s.count() {
				if t := s.t[s.processed-s.base]; !has || t < T {
					T, has = t, true
				}
			}
		}
		if !has || T >= limit {
			break
		}
		j.flushDead(T)
		for _, s := range j.sides {
			o := j.sides[1-s.idx]
			for s.processed < s.count() && s.t[s.processed-s.base] == T {
				seq := s.processed
				i := seq - s.base
				s.processed++
				if kid := s.kid[i]; kid >= 0 {
					j.keys.push(s, kid, seq)
					j.probe(s, o, seq, T, j.keys.head[o.idx][kid])
				}
			}
		}
	}
	j.clock = limit
	j.flushDead(limit)
	if err := j.emitCandidates(ctx); err != nil {
		return err
	}
	_ = L
	_ = R
	j.evict()
	return nil
}

// probe pairs the row seq of s, at instant T, with the processed rows of
// the other side o of the same key, from first, whose window admits them.
func (j *StreamJoin) probe(s, o *side, seq, T int64, first int64) {
	lo, hi := j.spec.Lo.Milliseconds(), j.spec.Hi.Milliseconds()
	rowsFloor := int64(1) << 62
	if o.rows >= 0 {
		rowsFloor = o.processed - int64(o.rows+1)
	}
	for oseq := first; oseq >= 0; oseq = o.next[oseq-o.base] {
		ot := o.t[oseq-o.base]
		var d int64 // left ROWTIME - right ROWTIME
		if s.idx == 0 {
			d = T - ot
		} else {
			d = ot - T
		}
		if (d < lo || d > hi) && oseq < rowsFloor {
			continue
		}
		j.et = append(j.et, T)
		j.ek = append(j.ek, false)
		if s.idx == 0 {
			j.el, j.er = append(j.el, seq), append(j.er, oseq)
		} else {
			j.el, j.er = append(j.el, oseq), append(j.er, seq)
		}
		j.lastOut = T
	}
}

// flushDead moves each side's dead cursor past the rows that can no
// longer match once every instant before now has been processed; an outer
// side's rows become NULL-extended candidates.
func (j *StreamJoin) flushDead(now int64) {
	for _, s := range j.sides {
		rowsFloor := s.processed
		if s.rows >= 0 {
			rowsFloor = s.processed - int64(s.rows+1)
		}
		for s.dead < s.processed && s.dead < rowsFloor {
			i := s.dead - s.base
			if s.t[i]+s.ext >= now {
				break
			}
			if s.outer && !s.matched[i] {
				t := max(s.t[i]+max(s.ext, 0), j.lastOut)
				j.et = append(j.et, t)
				j.ek = append(j.ek, true)
				if s.idx == 0 {
					j.el, j.er = append(j.el, s.dead), append(j.er, -1)
				} else {
					j.el, j.er = append(j.el, -1), append(j.er, s.dead)
				}
				j.lastOut = t
			}
			s.dead++
		}
	}
}

// emitCandidates evaluates the residual condition on the candidate pairs
// and emits the matches and the NULL-extended rows of outer sides that
// never matched, in order.
func (j *StreamJoin) emitCandidates(ctx *operators.Context) error {
	if len(j.et) == 0 {
		return nil
	}
	mem := ctx.Alloc()
	pt, pl, pr := j.pt[:0], j.pl[:0], j.pr[:0]
	defer func() { j.pt, j.pl, j.pr = pt, pl, pr }()
	nulls := false
	for k := range j.et {
		if j.ek[k] {
			nulls = true
			continue
		}
		pt, pl, pr = append(pt, j.et[k]), append(pl, j.el[k]), append(pr, j.er[k])
	}
	var pass []bool // nil: every pair passes
	var pairs arrow.Record
	if len(pt) > 0 {
		pairs = j.build(mem, pt, pl, pr)
		defer pairs.Release()
		if j.residual != nil {
			j.errs.Reset()
			arr, err := j.residual.Eval(ctx.Eval(&j.errs), pairs)
			if err != nil {
				return fmt.Errorf("join: evaluate %s: %w", j.residual, err)
			}
			relational.ReportFailed(ctx, pairs, &j.errs)
			pass = make([]bool, len(pt))
			if b, ok := arr.(*array.Boolean); ok {
				for k := range pass {
					pass[k] = b.IsValid(k) && b.Value(k) && !j.errs.Failed(k)
				}
			}
			arr.Release()
		}
		for k := range pt {
			if pass == nil || pass[k] {
				j.sides[0].matched[pl[k]-j.sides[0].base] = true
				j.sides[1].matched[pr[k]-j.sides[1].base] = true
			}
		}
	}
	if !nulls {
		if pass == nil {
			return j.Send(pairs)
		}
		return sendKept(mem, j.Send, pairs, func(k int) bool { return pass[k] })
	}
	var ft, fl, fr []int64
	p := 0
	for k := range j.et {
		if !j.ek[k] {
			if pass == nil || pass[p] {
				ft, fl, fr = append(ft, j.et[k]), append(fl, j.el[k]), append(fr, j.er[k])
			}
			p++
			continue
		}
		s, seq := j.sides[0], j.el[k]
		if seq < 0 {
			s, seq = j.sides[1], j.er[k]
		}
		if !s.matched[seq-s.base] {
			ft, fl, fr = append(ft, j.et[k]), append(fl, j.el[k]), append(fr, j.er[k])
		}
	}
	if len(ft) == 0 {
		return nil
	}
	out := j.build(mem, ft, fl, fr)
	defer out.Release()
	return j.Send(out)
}

// build assembles output rows: ROWTIME ts[k], the left row ls[k] and the
// right row rs[k] (NULLs for -1).
func (j *StreamJoin) build(mem memory.Allocator, ts, ls, rs []int64) arrow.Record {
	n := len(ts)
	cols := make([]arrow.Array, 0, len(j.schema.Fields))
	tb := make([]int64, n)
	copy(tb, ts)
	cols = append(cols, timestamps(tb))
	var own [2]arrow.Array
	for si, seqs := range [][]int64{ls, rs} {
		s := j.sides[si]
		seg := make([]int32, n)
		row := make([]int32, n)
		for k, q := range seqs {
			if q < 0 {
				seg[k] = -1
				continue
			}
			i := q - s.base
			seg[k], row[k] = int32(s.sid[i]-s.segBase), s.row[i]
		}
		srcs := make([]arrow.Array, len(s.segs))
		for c := range s.schema.Fields {
			for g, r := range s.segs {
				srcs[g] = r.Column(c)
			}
			a := gather(mem, s.schema.Fields[c].Type.Arrow(), srcs, seg, row)
			if c == 0 {
				own[si] = a
				continue
			}
			cols = append(cols, a)
		}
	}
	cols = append(cols, own[0], own[1])
	out := array.NewRecord(j.arrow, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return out
}

func timestamps(v []int64) arrow.Array {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		putI64(b[8*i:], x)
	}
	d := array.NewData(&arrow.TimestampType{Unit: arrow.Millisecond}, len(v), []*memory.Buffer{nil, memory.NewBufferBytes(b)}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

func putI64(b []byte, x int64) {
	u := uint64(x)
	for i := 0; i < 8; i++ {
		b[i] = byte(u >> (8 * i))
	}
}

// evict drops the rows before each side's dead cursor, and the batches
// they were the last rows of.
func (j *StreamJoin) evict() {
	for _, s := range j.sides {
		k := s.dead - s.base
		if k <= 0 {
			continue
		}
		for i := int64(0); i < k; i++ {
			kid := s.kid[i]
			if kid < 0 {
				continue
			}
			if j.keys.head[s.idx][kid] == s.base+i {
				nx := s.next[i]
				j.keys.head[s.idx][kid] = nx
				if nx < 0 {
					j.keys.tail[s.idx][kid] = -1
				}
			}
			j.keys.unref(s.codec.ints, kid)
		}
		s.t, s.sid, s.row, s.kid, s.next, s.matched = s.t[k:], s.sid[k:], s.row[k:], s.kid[k:], s.next[k:], s.matched[k:]
		s.base = s.dead
		first := s.segBase + int64(len(s.segs))
		if len(s.sid) > 0 {
			first = s.sid[0]
		}
		for s.segBase < first && len(s.segs) > 0 {
			s.segs[0].Release()
			s.segs[0] = nil
			s.segs = s.segs[1:]
			s.segBase++
		}
	}
}
