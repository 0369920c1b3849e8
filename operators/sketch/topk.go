package sketch

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// MaxK bounds K of TOP_K_ITEMS_TUMBLING (KDA-SQL.md §4.4).
const MaxK = 100000

// ItemCountName is the count column of TOP_K_ITEMS_TUMBLING's output.
const ItemCountName = "ITEM_COUNT"

// TopKSpec describes TOP_K_ITEMS_TUMBLING(CURSOR(...), 'column', K, window).
type TopKSpec struct {
	Input  types.Schema
	Column string // a column of Input (not ROWTIME)
	K      int    // 1..MaxK
	Window time.Duration
}

// TopK is the operator NewTopK builds. Per tumbling window (aligned on
// multiples of Window since the epoch, like STEP(ROWTIME BY ...)) it
// counts the column's values with a Space-Saving sketch of Capacity(K)
// counters. When stream time reaches the window end it emits up to K rows
// (ROWTIME = window end, the item, ITEM_COUNT BIGINT) by count descending,
// then item ascending. While a window holds at most Capacity(K) distinct
// items the counts are exact; beyond, a count may overestimate by at most
// the smallest counter. NULL values are not counted; a window that received
// no row emits nothing.
type TopK struct {
	relational.Out
	spec   TopKSpec
	col    int
	typ    types.Type
	schema types.Schema
	out    staged
	st     topKState
	buf    []byte
}

type topKState struct {
	Clock clock
	SS    spaceSaving
}

// Capacity is the number of counters TOP_K_ITEMS_TUMBLING keeps for k.
func Capacity(k int) int { return max(2*k, 1024) }

// NewTopK validates spec and builds the operator.
func NewTopK(spec TopKSpec) (*TopK, error) {
	const what = "TOP_K_ITEMS_TUMBLING"
	if err := checkInput(what, spec.Input); err != nil {
		return nil, err
	}
	col := spec.Input.Index(spec.Column)
	if col <= 0 {
		return nil, fmt.Errorf("%s: the input has no column %q", what, spec.Column)
	}
	typ := spec.Input.Fields[col].Type
	if err := keyable(typ); err != nil {
		return nil, fmt.Errorf("%s: column %q: %w", what, spec.Column, err)
	}
	if spec.K < 1 || spec.K > MaxK {
		return nil, fmt.Errorf("%s: K must be from 1 to %d, got %d", what, MaxK, spec.K)
	}
	if err := checkWindow(what, spec.Window); err != nil {
		return nil, err
	}
	t := &TopK{spec: spec, col: col, typ: typ}
	t.schema = TopKSchema(spec.Input, col)
	t.out.schema = t.schema.Arrow()
	t.st.Clock.Width = spec.Window.Milliseconds()
	t.st.SS.init(Capacity(spec.K))
	return t, nil
}

// TopKSchema is TOP_K_ITEMS_TUMBLING's output for column col of in:
// ROWTIME, the column (nullable) under its own name, ITEM_COUNT BIGINT
// (ITEM_COUNT_2 when the column is itself named ITEM_COUNT).
func TopKSchema(in types.Schema, col int) types.Schema {
	f := in.Fields[col]
	count := ItemCountName
	if f.Name == count {
		count += "_2"
	}
	return types.Schema{Fields: []types.Field{
		{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
		{Name: f.Name, Type: f.Type.Nullable()},
		{Name: count, Type: types.TBigInt},
	}}
}

// Schema implements operators.Operator.
func (t *TopK) Schema() types.Schema { return t.schema }

// Process implements operators.Operator.
func (t *TopK) Process(ctx *operators.Context, rec arrow.Record) error {
	rt, err := rowtimes(rec)
	if err != nil {
		return fmt.Errorf("TOP_K_ITEMS_TUMBLING: %w", err)
	}
	col := rec.Column(t.col)
	for i := 0; i < int(rec.NumRows()); i++ {
		now := int64(rt.Value(i))
		if t.st.Clock.due(now) {
			if err := t.close(ctx); err != nil {
				return err
			}
		}
		if !t.st.Clock.place(now) {
			lateRow(ctx, rec, i, now, "TOP_K_ITEMS_TUMBLING")
			continue
		}
		var ok bool
		t.buf, ok, err = keyAt(col, i, t.buf)
		if err != nil {
			return fmt.Errorf("TOP_K_ITEMS_TUMBLING: %w", err)
		}
		if ok {
			t.st.SS.add(t.buf)
		}
	}
	return t.out.flush(t.Send)
}

// Advance implements operators.Operator.
func (t *TopK) Advance(ctx *operators.Context, now time.Time) error {
	if t.st.Clock.due(now.UnixMilli()) {
		if err := t.close(ctx); err != nil {
			return err
		}
	}
	return t.out.flush(t.Send)
}

func (t *TopK) close(ctx *operators.Context) error {
	end := t.st.Clock.close()
	top := t.st.SS.top(t.spec.K)
	if len(top) > 0 {
		b := t.out.builder(ctx)
		for _, e := range top {
			b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(end))
			if err := appendKey(b.Field(1), t.typ, e.Item); err != nil {
				return fmt.Errorf("TOP_K_ITEMS_TUMBLING: %w", err)
			}
			b.Field(2).(*array.Int64Builder).Append(e.Count)
		}
	}
	t.st.SS.reset()
	return nil
}

// Snapshot implements operators.Stateful.
func (t *TopK) Snapshot(w io.Writer) error { return writeSnap(w, tagTopK, &t.st) }

// Restore implements operators.Stateful.
func (t *TopK) Restore(r io.Reader) error {
	var st topKState
	if err := readSnap(r, tagTopK, &st); err != nil {
		return fmt.Errorf("TOP_K_ITEMS_TUMBLING: %w", err)
	}
	if st.Clock.Width != t.st.Clock.Width || st.SS.Cap != t.st.SS.Cap {
		return fmt.Errorf("TOP_K_ITEMS_TUMBLING: restore: the snapshot is of a different window size or K")
	}
	if err := st.SS.rebuild(); err != nil {
		return fmt.Errorf("TOP_K_ITEMS_TUMBLING: restore: %w", err)
	}
	t.st = st
	return nil
}

// spaceSaving is the Space-Saving heavy-hitters sketch (Metwally, Agrawal,
// El Abbadi, 2005): at most Cap counters; an unseen item arriving when all
// are taken replaces the item with the smallest count and inherits that
// count plus one. Entries is a min-heap on Count; pos maps an item to its
// heap slot.
type spaceSaving struct {
	Cap     int
	Entries []ssEntry
	pos     map[string]int
}

type ssEntry struct {
	Item  string
	Count int64
	Err   int64 // the count inherited on replacement: Count-Err is a lower bound
}

func (s *spaceSaving) init(capacity int) {
	s.Cap = capacity
	s.pos = map[string]int{}
}

func (s *spaceSaving) reset() {
	s.Entries = s.Entries[:0]
	clear(s.pos)
}

func (s *spaceSaving) rebuild() error {
	if s.Cap < 1 || len(s.Entries) > s.Cap {
		return fmt.Errorf("%d counters for a capacity of %d", len(s.Entries), s.Cap)
	}
	s.pos = make(map[string]int, len(s.Entries))
	for i, e := range s.Entries {
		if _, dup := s.pos[e.Item]; dup {
			return fmt.Errorf("item counted twice")
		}
		s.pos[e.Item] = i
		if i > 0 && s.Entries[(i-1)/2].Count > e.Count {
			return fmt.Errorf("counters out of heap order")
		}
	}
	return nil
}

func (s *spaceSaving) add(k []byte) {
	if i, ok := s.pos[string(k)]; ok {
		s.Entries[i].Count++
		s.down(i)
		return
	}
	if len(s.Entries) < s.Cap {
		item := string(k)
		s.Entries = append(s.Entries, ssEntry{Item: item, Count: 1})
		i := len(s.Entries) - 1
		s.pos[item] = i
		s.up(i)
		return
	}
	m := &s.Entries[0]
	delete(s.pos, m.Item)
	m.Item, m.Err, m.Count = string(k), m.Count, m.Count+1
	s.pos[m.Item] = 0
	s.down(0)
}

func (s *spaceSaving) swap(i, j int) {
	e := s.Entries
	e[i], e[j] = e[j], e[i]
	s.pos[e[i].Item] = i
	s.pos[e[j].Item] = j
}

func (s *spaceSaving) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.Entries[p].Count <= s.Entries[i].Count {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *spaceSaving) down(i int) {
	n := len(s.Entries)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && s.Entries[r].Count < s.Entries[l].Count {
			c = r
		}
		if s.Entries[i].Count <= s.Entries[c].Count {
			return
		}
		s.swap(i, c)
		i = c
	}
}

// top returns the k largest counters, by count descending then item.
func (s *spaceSaving) top(k int) []ssEntry {
	out := slices.Clone(s.Entries)
	slices.SortFunc(out, func(a, b ssEntry) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Item, b.Item)
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}
