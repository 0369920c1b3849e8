package join

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// RefSpec describes a join of a stream with a reference table: each
// stream row is probed against the table's current snapshot.
type RefSpec struct {
	Input types.Schema
	Table *reftable.Table
	// Outer keeps stream rows without a match, NULL-extended (LEFT JOIN).
	Outer bool
	// StreamKeys[i] = TableKeys[i] are the equi-join conditions, over the
	// stream's schema and the table's (no ROWTIME) respectively.
	StreamKeys, TableKeys []expr.Expr
	// Residual is the rest of the condition, over Schema(); nil is TRUE.
	Residual expr.Expr
}

// RefOutputSchema is a reference join's output: the stream's columns
// (ROWTIME first), then the table's, nullable.
func RefOutputSchema(input, table types.Schema) types.Schema {
	out := types.Schema{Fields: append([]types.Field{}, input.Fields...)}
	for _, f := range table.Fields {
		out.Fields = append(out.Fields, types.Field{Name: f.Name, Type: f.Type.Nullable()})
	}
	return out
}

// RefJoin is the operator NewRef builds. Its output rows keep the stream
// row's ROWTIME and order; a stream row matching several table rows is
// followed by each in table order. The hash index on the table's keys is
// built once per snapshot and shared by every join that uses the same keys.
type RefJoin struct {
	relational.Out
	spec   RefSpec
	schema types.Schema
	arrow  *arrow.Schema
	codec  *keyCodec
	kc     keyCols
	sig    string
	errs   expr.RowErrors
	// per batch
	sr, tr []int32
}

// NewRef builds a reference join.
func NewRef(spec RefSpec) (*RefJoin, error) {
	if err := operators.CheckSchema(spec.Input); err != nil {
		return nil, err
	}
	if spec.Table == nil {
		return nil, fmt.Errorf("reference join: no table")
	}
	if len(spec.StreamKeys) != len(spec.TableKeys) {
		return nil, fmt.Errorf("reference join: %d stream keys, %d table keys", len(spec.StreamKeys), len(spec.TableKeys))
	}
	j := &RefJoin{spec: spec, schema: RefOutputSchema(spec.Input, spec.Table.Schema()), codec: newKeyCodec(spec.StreamKeys)}
	if newKeyCodec(spec.TableKeys).ints != j.codec.ints {
		return nil, fmt.Errorf("reference join: the stream and table keys are of incompatible types")
	}
	j.arrow = j.schema.Arrow()
	var sig []string
	for _, k := range spec.TableKeys {
		sig = append(sig, k.String())
	}
	j.sig = strings.Join(sig, "\x00")
	return j, nil
}

// Schema implements operators.Operator.
func (j *RefJoin) Schema() types.Schema { return j.schema }

// Advance implements operators.Operator: the join holds no rows.
func (j *RefJoin) Advance(*operators.Context, time.Time) error { return nil }

// refIndexes are the hash indexes of one snapshot, by key signature.
type refIndexes struct {
	mu sync.Mutex
	m  map[string]*refIndex
}

// refIndex maps a key to its table rows: a row r >= 0 when the key has
// one, -(r+2) for the first of several, which next chains in table order
// (-1 ends a chain). A probe of a unique key so never reads next, a
// cache miss on a large table.
type refIndex struct {
	ints intIndex
	strs map[string]int32
	next []int32
}

// intIndex maps integer keys to a row: a direct table when the keys are
// dense (min..max spans at most four times their number), an
// open-addressing hash table otherwise. Both beat a Go map on a large
// table, whose lookups are cache misses.
type intIndex struct {
	dense  bool
	min    int64
	direct []int32 // dense: row of key min+i, or -1
	keys   []int64 // hash: power-of-two slots
	rows   []int32 // hash: -1 for an empty slot
	shift  uint
}

func newIntIndex(keys []int64, ok []bool) intIndex {
	var x intIndex
	n := 0
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i, k := range keys {
		if ok[i] {
			n++
			lo, hi = min(lo, k), max(hi, k)
		}
	}
	if n > 0 && hi-lo >= 0 && uint64(hi-lo) < uint64(4*n+1024) {
		x.dense, x.min = true, lo
		x.direct = make([]int32, hi-lo+1)
		for i := range x.direct {
			x.direct[i] = -1
		}
		return x
	}
	size := 16
	for size < 2*n {
		size *= 2
	}
	x.keys, x.rows = make([]int64, size), make([]int32, size)
	for i := range x.rows {
		x.rows[i] = -1
	}
	x.shift = uint(64 - bits.TrailingZeros(uint(size)))
	return x
}

func (x *intIndex) slot(k int64) int {
	mask := len(x.keys) - 1
	i := int((uint64(k) * 0x9E3779B97F4A7C15) >> x.shift)
	for x.rows[i] >= 0 && x.keys[i] != k {
		i = (i + 1) & mask
	}
	return i
}

// get returns the row of key k, or -1.
func (x *intIndex) get(k int64) int32 {
	if x.dense {
		d := uint64(k - x.min)
		if k < x.min || d >= uint64(len(x.direct)) {
			return -1
		}
		return x.direct[d]
	}
	return x.rows[x.slot(k)]
}

// put sets the row of key k and returns the previous one (-1 if none).
func (x *intIndex) put(k int64, row int32) int32 {
	if x.dense {
		d := k - x.min
		old := x.direct[d]
		x.direct[d] = row
		return old
	}
	i := x.slot(k)
	old := x.rows[i]
	x.keys[i], x.rows[i] = k, row
	return old
}

func (j *RefJoin) index(snap *reftable.Snapshot) (*refIndex, error) {
	set := snap.Index(func() any { return &refIndexes{m: map[string]*refIndex{}} }).(*refIndexes)
	set.mu.Lock()
	defer set.mu.Unlock()
	if ix := set.m[j.sig]; ix != nil {
		return ix, nil
	}
	codec := newKeyCodec(j.spec.TableKeys)
	var kc keyCols
	if err := codec.eval(nil, snap.Rows, &kc); err != nil {
		return nil, err
	}
	n := int(snap.Rows.NumRows())
	ix := &refIndex{next: make([]int32, n)}
	if codec.ints {
		ix.ints = newIntIndex(kc.I, kc.OK)
	} else {
		ix.strs = make(map[string]int32, n)
	}
	for i := n - 1; i >= 0; i-- {
		ix.next[i] = -1
		if !kc.OK[i] {
			continue
		}
		if codec.ints {
			if old := ix.ints.put(kc.I[i], int32(i)); old != -1 {
				ix.next[i] = rowOf(old)
				ix.ints.put(kc.I[i], -int32(i)-2)
			}
		} else {
			if old, ok := ix.strs[kc.S[i]]; ok {
				ix.next[i] = rowOf(old)
				ix.strs[kc.S[i]] = -int32(i) - 2
			} else {
				ix.strs[kc.S[i]] = int32(i)
			}
		}
	}
	set.m[j.sig] = ix
	return ix, nil
}

// Process implements operators.Operator.
func (j *RefJoin) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	snap := j.spec.Table.Current()
	j.sr, j.tr = j.sr[:0], j.tr[:0]
	if snap != nil && snap.Rows.NumRows() > 0 {
		ix, err := j.index(snap)
		if err != nil {
			return fmt.Errorf("reference join %s: %w", j.spec.Table.Name(), err)
		}
		if err := j.codec.eval(ctx, rec, &j.kc); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			h := int32(-1)
			if j.kc.OK[i] {
				if j.codec.ints {
					h = ix.ints.get(j.kc.I[i])
				} else if r, ok := ix.strs[j.kc.S[i]]; ok {
					h = r
				}
			}
			if h == -1 {
				if j.spec.Outer && j.spec.Residual == nil {
					j.sr, j.tr = append(j.sr, int32(i)), append(j.tr, -1)
				}
				continue
			}
			if h >= 0 {
				j.sr, j.tr = append(j.sr, int32(i)), append(j.tr, h)
				continue
			}
			for h = rowOf(h); h >= 0; h = ix.next[h] {
				j.sr, j.tr = append(j.sr, int32(i)), append(j.tr, h)
			}
		}
	} else if j.spec.Outer {
		for i := 0; i < n; i++ {
			j.sr, j.tr = append(j.sr, int32(i)), append(j.tr, -1)
		}
	}
	if len(j.sr) == 0 && !(j.spec.Outer && j.spec.Residual != nil) {
		return nil
	}
	var table arrow.Record
	if snap != nil {
		table = snap.Rows
	}
	mem := ctx.Alloc()
	out := j.build(mem, rec, table, j.sr, j.tr)
	defer out.Release()
	if j.spec.Residual == nil {
		return j.Send(out)
	}
	j.errs.Reset()
	arr, err := j.spec.Residual.Eval(ctx.Eval(&j.errs), out)
	if err != nil {
		return fmt.Errorf("reference join: evaluate %s: %w", j.spec.Residual, err)
	}
	defer arr.Release()
	relational.ReportFailed(ctx, out, &j.errs)
	b, _ := arr.(*array.Boolean)
	pass := func(k int) bool { return b != nil && b.IsValid(k) && b.Value(k) && !j.errs.Failed(k) }
	if !j.spec.Outer {
		return sendKept(mem, j.Send, out, pass)
	}
	// LEFT with a condition: rows whose candidates all fail are NULL-extended.
	var fs, ft []int32
	k := 0
	for i := 0; i < n; i++ {
		any := false
		for ; k < len(j.sr) && int(j.sr[k]) == i; k++ {
			if pass(k) {
				fs, ft = append(fs, int32(i)), append(ft, j.tr[k])
				any = true
			}
		}
		if !any {
			fs, ft = append(fs, int32(i)), append(ft, -1)
		}
	}
	final := j.build(mem, rec, table, fs, ft)
	defer final.Release()
	return j.Send(final)
}

// build makes the output rows (stream row sr[k], table row tr[k] or NULLs).
func (j *RefJoin) build(mem memory.Allocator, rec, table arrow.Record, sr, tr []int32) arrow.Record {
	n := len(sr)
	cols := make([]arrow.Array, 0, len(j.schema.Fields))
	identity := n == int(rec.NumRows())
	for k := 0; identity && k < n; k++ {
		identity = int(sr[k]) == k
	}
	seg := make([]int32, n)
	srcs := []arrow.Array{nil}
	for c := 0; c < int(rec.NumCols()); c++ {
		if identity {
			a := rec.Column(c)
			a.Retain()
			cols = append(cols, a)
			continue
		}
		srcs[0] = rec.Column(c)
		cols = append(cols, gather(mem, rec.Column(c).DataType(), srcs, seg, sr))
	}
	tseg := make([]int32, n)
	for k, r := range tr {
		if r < 0 {
			tseg[k] = -1
		}
	}
	tfields := j.spec.Table.Schema().Fields
	for c, f := range tfields {
		if table == nil {
			cols = append(cols, gather(mem, f.Type.Arrow(), nil, allNull(n), tr))
			continue
		}
		srcs[0] = table.Column(c)
		cols = append(cols, gather(mem, f.Type.Arrow(), srcs, tseg, tr))
	}
	out := array.NewRecord(j.arrow, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return out
}

// rowOf decodes an index entry: the (first) row.
func rowOf(v int32) int32 {
	if v >= 0 {
		return v
	}
	return -v - 2
}

func allNull(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = -1
	}
	return s
}
