package order

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// GroupRankSpec describes GROUP_RANK, the Group Rank transform of Kinesis
// Data Analytics (SR sql-reference-group-rank-udx, from SQLstream's
// Group Rank UDX):
//
//	GROUP_RANK(CURSOR(q), 'rankByColumn', 'rankOutColumn', sortOrder, outputOrder, maxIdle, outputMax)
//
// It gathers the rows that share a ROWTIME — typically the rows one
// tumbling window emits together — and, once stream time passes that
// ROWTIME, gives each the RANK() of its rankBy value within the group
// (ties share a rank and the next rank skips: 1, 1, 3), and emits the
// group ordered by rank.
type GroupRankSpec struct {
	Input types.Schema
	// Column is the cursor column to rank by (index into Input).
	Column int
	// RankName names the appended INTEGER rank column.
	RankName string
	// Descending ranks the greatest value first (sortOrder 'desc').
	Descending bool
	// OutputDescending emits the greatest rank first (outputOrder 'desc').
	OutputDescending bool
	// MaxIdle is the maxIdle argument. kda closes a group as soon as
	// stream time passes its ROWTIME — a later row or the clock's
	// heartbeat — which is never later than an idle timeout would, so
	// MaxIdle is only validated.
	MaxIdle time.Duration
	// OutputMax caps the rows emitted per group, the first ones in output
	// order (0: no limit).
	OutputMax int
}

// GroupRank is the operator NewGroupRank builds. Rows whose rank value is
// NULL rank after every other row, whichever the order. Rows of equal
// rank keep their arrival order. The gathered group is checkpointed.
type GroupRank struct {
	relational.Out
	spec   GroupRankSpec
	schema types.Schema
	arrow  *arrow.Schema
	inArr  *arrow.Schema
	st     store
	refs   []ref // the open group's rows, in arrival order
	cur    int64 // the open group's ROWTIME
	vals   keyVals
}

// NewGroupRank validates spec and builds the operator.
func NewGroupRank(spec GroupRankSpec) (*GroupRank, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, fmt.Errorf("group rank: %w", err)
	}
	if spec.Column <= 0 || spec.Column >= len(spec.Input.Fields) {
		return nil, fmt.Errorf("group rank: column %d is not a column of the input", spec.Column)
	}
	t := spec.Input.Fields[spec.Column].Type
	if !(t.IsNumeric() || t.IsString() || t.IsDatetime() || t.Kind == types.Boolean) {
		return nil, fmt.Errorf("group rank: cannot rank by %s %s: it needs a number, a string, a date/time or a boolean", spec.Input.Fields[spec.Column].Name, t)
	}
	if spec.RankName == "" || spec.Input.Index(spec.RankName) >= 0 {
		return nil, fmt.Errorf("group rank: the rank column %q must be a new column name", spec.RankName)
	}
	if spec.MaxIdle < 0 || spec.OutputMax < 0 {
		return nil, fmt.Errorf("group rank: maxIdle and outputMax must not be negative")
	}
	g := &GroupRank{spec: spec, inArr: spec.Input.Arrow()}
	g.schema.Fields = append(append([]types.Field(nil), spec.Input.Fields...), types.Field{Name: spec.RankName, Type: types.Type{Kind: types.Integer}})
	g.arrow = g.schema.Arrow()
	return g, nil
}

// Schema implements operators.Operator: the input's columns, then the rank.
func (g *GroupRank) Schema() types.Schema { return g.schema }

// Process implements operators.Operator.
func (g *GroupRank) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	ts, err := rowtimes(rec)
	if err != nil {
		return fmt.Errorf("group rank: %w", err)
	}
	id := g.st.add(rec)
	g.st.hold(id) // pinned while the batch is read: a flush may free its earlier rows
	defer g.st.done(ref{chunk: id})
	col := rec.Column(g.spec.Column)
	for i := 0; i < n; i++ {
		t := int64(ts.Value(i))
		if len(g.refs) > 0 && t != g.cur {
			if err := g.flush(ctx); err != nil {
				return err
			}
		}
		g.cur = t
		if err := g.vals.appendFrom(col, i); err != nil {
			return fmt.Errorf("group rank: %w", err)
		}
		g.refs = append(g.refs, ref{chunk: id, row: int32(i)})
		g.st.hold(id)
	}
	return nil
}

// Advance implements operators.Operator: the open group closes once stream
// time has passed its ROWTIME.
func (g *GroupRank) Advance(ctx *operators.Context, now time.Time) error {
	if len(g.refs) > 0 && now.UnixMilli() > g.cur {
		return g.flush(ctx)
	}
	return nil
}

// flush ranks and emits the open group.
func (g *GroupRank) flush(ctx *operators.Context) error {
	n := len(g.refs)
	// order: positions by value (NULLs last), ties in arrival order.
	byValue := make([]int, n)
	for i := range byValue {
		byValue[i] = i
	}
	less := func(a, b int) int {
		na, nb := g.vals.null[a], g.vals.null[b]
		switch {
		case na && nb:
			return 0
		case na:
			return 1
		case nb:
			return -1
		}
		c := g.vals.cmp(a, b)
		if g.spec.Descending {
			c = -c
		}
		return c
	}
	sort.SliceStable(byValue, func(x, y int) bool { return less(byValue[x], byValue[y]) < 0 })
	rank := make([]int32, n)
	for k, pos := range byValue {
		if k > 0 && less(byValue[k-1], pos) == 0 {
			rank[pos] = rank[byValue[k-1]]
		} else {
			rank[pos] = int32(k + 1)
		}
	}
	out := byValue
	if g.spec.OutputDescending {
		// Rows of equal rank keep their arrival order.
		out = append([]int(nil), byValue...)
		sort.SliceStable(out, func(x, y int) bool { return rank[out[x]] > rank[out[y]] })
	}
	if m := g.spec.OutputMax; m > 0 && m < n {
		out = out[:m]
	}
	refs := make([]ref, len(out))
	ranks := make([]int32, len(out))
	for k, pos := range out {
		refs[k], ranks[k] = g.refs[pos], rank[pos]
	}
	rows, err := g.st.gather(ctx.Alloc(), g.inArr, refs, nil)
	for _, r := range g.refs {
		g.st.done(r)
	}
	g.refs = g.refs[:0]
	g.vals.reset()
	if err != nil {
		return fmt.Errorf("group rank: %w", err)
	}
	defer rows.Release()
	b := array.NewInt32Builder(ctx.Alloc())
	b.AppendValues(ranks, nil)
	rk := b.NewArray()
	b.Release()
	defer rk.Release()
	cols := append(append([]arrow.Array(nil), rows.Columns()...), rk)
	res := array.NewRecord(g.arrow, cols, int64(len(refs)))
	defer res.Release()
	return g.Send(res)
}

const tagGroupRank = 3

// Snapshot implements operators.Stateful: the open group's rows.
func (g *GroupRank) Snapshot(w io.Writer) error {
	var b bytes.Buffer
	b.Write([]byte{'K', 'O', version, tagGroupRank})
	writeVarint(&b, g.cur)
	if err := g.st.writeRows(&b, g.inArr, g.refs); err != nil {
		return fmt.Errorf("group rank: snapshot: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Restore implements operators.Stateful: it replaces the operator's state.
func (g *GroupRank) Restore(rd io.Reader) error {
	r, err := readHeader(rd, tagGroupRank)
	if err != nil {
		return fmt.Errorf("group rank: restore: %w", err)
	}
	cur, err := binary.ReadVarint(r)
	if err != nil {
		return fmt.Errorf("group rank: restore: %w", err)
	}
	rec, err := readRows(r, g.inArr)
	if err != nil {
		return fmt.Errorf("group rank: restore: %w", err)
	}
	defer rec.Release()
	g.st.reset()
	g.refs = g.refs[:0]
	g.vals.reset()
	g.cur = cur
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	id := g.st.add(rec)
	col := rec.Column(g.spec.Column)
	for i := 0; i < n; i++ {
		if err := g.vals.appendFrom(col, i); err != nil {
			return fmt.Errorf("group rank: restore: %w", err)
		}
		g.refs = append(g.refs, ref{chunk: id, row: int32(i)})
		g.st.hold(id)
	}
	return nil
}
