package window

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// keyCols are the grouping or partitioning expressions of an operator: their
// values for the batch being processed (cur) and, per group id, the key
// values of every live group (store), which are the output's key columns
// and the source of truth when a snapshot is restored.
type keyCols struct {
	exprs []expr.Expr
	types []types.Type
	cur   []vec
	store []vec
}

func newKeyCols(exprs []expr.Expr) (*keyCols, error) {
	kc := &keyCols{exprs: exprs}
	for i, e := range exprs {
		if e == nil {
			return nil, fmt.Errorf("key %d is nil", i+1)
		}
		t := e.Type()
		p, err := physOf(t)
		if err != nil {
			return nil, fmt.Errorf("key %d (%s): %w", i+1, e, err)
		}
		kc.types = append(kc.types, t)
		kc.cur = append(kc.cur, vec{p: p})
		kc.store = append(kc.store, vec{p: p})
	}
	return kc, nil
}

// eval computes the key columns for rec.
func (kc *keyCols) eval(ec *expr.EvalContext, rec arrow.Record) error {
	for i, e := range kc.exprs {
		arr, err := e.Eval(ec, rec)
		if err != nil {
			return fmt.Errorf("evaluate key %s: %w", e, err)
		}
		err = kc.cur[i].load(arr)
		arr.Release()
		if err != nil {
			return fmt.Errorf("key %s: %w", e, err)
		}
	}
	return nil
}

// keep copies the key of batch row i into the store slot of group g.
func (kc *keyCols) keep(g int32, i int) {
	for c := range kc.store {
		s := &kc.store[c]
		if s.len() <= int(g) {
			s.resize(int(g) + 1)
		}
		s.set(int(g), &kc.cur[c], i)
	}
}

// compare orders the stored keys of groups a and b (NULLs first).
func (kc *keyCols) compare(a, b int32) int {
	for c := range kc.store {
		if r := kc.store[c].cmpNullsFirst(int(a), &kc.store[c], int(b)); r != 0 {
			return r
		}
	}
	return 0
}

// sortGroups orders gids by their keys.
func (kc *keyCols) sortGroups(gids []int32) {
	if len(kc.store) == 0 {
		return
	}
	slices.SortFunc(gids, kc.compare)
}

// groupTable maps key values to group ids. NULL keys group together.
type groupTable interface {
	// assign sets gids[i] for rows [lo, hi) whose gids[i] is not negative on
	// entry, calling alloc for a key seen for the first time.
	assign(kc *keyCols, lo, hi int, gids []int32, alloc func(row int) int32)
	// remove forgets group g, whose key is in kc.store.
	remove(kc *keyCols, g int32)
	// add registers group g under its stored key (restore).
	add(kc *keyCols, g int32)
	clear()
}

func newGroupTable(kc *keyCols) groupTable {
	switch {
	case len(kc.cur) == 0:
		return &noKeyTable{g: -1}
	case len(kc.cur) == 1 && kc.cur[0].p == pInt:
		return &intTable{m: newIntMap(), nullG: -1, lastG: -1}
	case len(kc.cur) == 1 && kc.cur[0].p == pStr:
		return &strTable{m: map[string]int32{}, nullG: -1}
	}
	return &compositeTable{m: map[string]int32{}}
}

// noKeyTable: a single group.
type noKeyTable struct{ g int32 }

func (t *noKeyTable) assign(_ *keyCols, lo, hi int, gids []int32, alloc func(int) int32) {
	for i := lo; i < hi; i++ {
		if gids[i] < 0 {
			continue
		}
		if t.g < 0 {
			t.g = alloc(i)
		}
		gids[i] = t.g
	}
}
func (t *noKeyTable) remove(_ *keyCols, _ int32) { t.g = -1 }
func (t *noKeyTable) add(_ *keyCols, g int32)    { t.g = g }
func (t *noKeyTable) clear()                     { t.g = -1 }

// intTable: one key held as an int64 (integers, datetimes, booleans).
type intTable struct {
	m     *intMap
	nullG int32
	lastK int64
	lastG int32
}

func (t *intTable) assign(kc *keyCols, lo, hi int, gids []int32, alloc func(int) int32) {
	c := &kc.cur[0]
	vs, ok := c.i[:hi], c.ok[:hi]
	lastK, lastG := t.lastK, t.lastG
	for i := lo; i < hi; i++ {
		if gids[i] < 0 {
			continue
		}
		if !ok[i] {
			if t.nullG < 0 {
				t.nullG = alloc(i)
			}
			gids[i] = t.nullG
			continue
		}
		k := vs[i]
		if k == lastK && lastG >= 0 {
			gids[i] = lastG
			continue
		}
		g, found := t.m.get(k)
		if !found {
			g = alloc(i)
			t.m.put(k, g)
		}
		gids[i], lastK, lastG = g, k, g
	}
	t.lastK, t.lastG = lastK, lastG
}

func (t *intTable) remove(kc *keyCols, g int32) {
	t.lastG = -1
	s := &kc.store[0]
	if !s.ok[g] {
		t.nullG = -1
		return
	}
	t.m.del(s.i[g])
}

func (t *intTable) add(kc *keyCols, g int32) {
	s := &kc.store[0]
	if !s.ok[g] {
		t.nullG = g
		return
	}
	t.m.put(s.i[g], g)
}

func (t *intTable) clear() { t.m.clear(); t.nullG, t.lastG = -1, -1 }

// strTable: one character or binary key.
type strTable struct {
	m     map[string]int32
	nullG int32
}

func (t *strTable) assign(kc *keyCols, lo, hi int, gids []int32, alloc func(int) int32) {
	c := &kc.cur[0]
	vs, ok := c.s[:hi], c.ok[:hi]
	for i := lo; i < hi; i++ {
		if gids[i] < 0 {
			continue
		}
		if !ok[i] {
			if t.nullG < 0 {
				t.nullG = alloc(i)
			}
			gids[i] = t.nullG
			continue
		}
		g, found := t.m[vs[i]]
		if !found {
			g = alloc(i)
			t.m[kc.store[0].s[g]] = g // the stored copy outlives the batch
		}
		gids[i] = g
	}
}

func (t *strTable) remove(kc *keyCols, g int32) {
	s := &kc.store[0]
	if !s.ok[g] {
		t.nullG = -1
		return
	}
	delete(t.m, s.s[g])
}

func (t *strTable) add(kc *keyCols, g int32) {
	s := &kc.store[0]
	if !s.ok[g] {
		t.nullG = g
		return
	}
	t.m[s.s[g]] = g
}

func (t *strTable) clear() { clear(t.m); t.nullG = -1 }

// compositeTable: several keys, byte-encoded into one map key.
type compositeTable struct {
	m   map[string]int32
	buf []byte
}

func encodeKey(buf []byte, cols []vec, i int) []byte {
	for c := range cols {
		v := &cols[c]
		if !v.ok[i] {
			buf = append(buf, 0)
			continue
		}
		buf = append(buf, 1)
		switch v.p {
		case pInt:
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v.i[i]))
		case pFloat:
			f := v.f[i]
			if f == 0 {
				f = 0
			}
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
		case pStr:
			buf = binary.AppendUvarint(buf, uint64(len(v.s[i])))
			buf = append(buf, v.s[i]...)
		case pDec:
			buf = binary.LittleEndian.AppendUint64(buf, v.d[i].LowBits())
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v.d[i].HighBits()))
		}
	}
	return buf
}

func (t *compositeTable) assign(kc *keyCols, lo, hi int, gids []int32, alloc func(int) int32) {
	for i := lo; i < hi; i++ {
		if gids[i] < 0 {
			continue
		}
		t.buf = encodeKey(t.buf[:0], kc.cur, i)
		g, found := t.m[string(t.buf)]
		if !found {
			g = alloc(i)
			t.m[string(t.buf)] = g
		}
		gids[i] = g
	}
}

func (t *compositeTable) remove(kc *keyCols, g int32) {
	t.buf = encodeKey(t.buf[:0], kc.store, int(g))
	delete(t.m, string(t.buf))
}

func (t *compositeTable) add(kc *keyCols, g int32) {
	t.buf = encodeKey(t.buf[:0], kc.store, int(g))
	t.m[string(t.buf)] = g
}

func (t *compositeTable) clear() { clear(t.m) }

// ids hands out group ids, reusing those of closed groups.
type ids struct {
	next int32
	free []int32
}

func (d *ids) get() (g int32, fresh bool) {
	if n := len(d.free); n > 0 {
		g = d.free[n-1]
		d.free = d.free[:n-1]
		return g, false
	}
	d.next++
	return d.next - 1, true
}

func (d *ids) put(g int32) { d.free = append(d.free, g) }
