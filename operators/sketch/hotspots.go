package sketch

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/types"
)

// HOTSPOTS parameter bounds (KDA-SQL.md §4.3).
const (
	MinHotspotsWindow = 100
	MaxHotspotsWindow = 1000
	MinHotspotPoints  = 2
)

// HotspotsResultName is the column HOTSPOTS appends.
const HotspotsResultName = "HOTSPOTS_RESULT"

// HotspotsResultType is VARCHAR(10000), as KDA's examples declare it.
var HotspotsResultType = types.VarcharOf(10000)

// HotspotsSpec describes HOTSPOTS(CURSOR(...), windowSize, scanRadius,
// minimumNumberOfPointsInAHotspot).
type HotspotsSpec struct {
	Input      types.Schema
	WindowSize int     // MinHotspotsWindow..MaxHotspotsWindow
	ScanRadius float64 // > 0
	MinPoints  int     // >= MinHotspotPoints
}

// Hotspots is the operator NewHotspots builds. Each input row whose
// numeric columns (TINYINT, SMALLINT, INTEGER, BIGINT, REAL, DOUBLE; not
// DECIMAL, not ROWTIME) are all non-NULL is a point; the window is the last
// WindowSize points, the row's own included. Each input row comes out with
// its columns plus HOTSPOTS_RESULT, the hotspots of the window after the
// row entered it, as {"hotspots":[{"density":N,"minValues":[...],
// "maxValues":[...]}]}.
//
// Hotspots are found the DBSCAN way on a grid (so the work per row is
// bounded, not quadratic): space is cut into cubes of side ScanRadius; a
// cube is dense when its 3^d block (the cube and the cubes touching it)
// holds at least MinPoints points, the grid analogue of a DBSCAN core
// point with eps = ScanRadius; touching dense cubes form one hotspot, whose
// density is the number of points in its cubes and whose min/maxValues
// bound those points per numeric column, in column order. Hotspots with
// fewer than MinPoints points are dropped; the rest are listed by density
// descending, then minValues ascending.
type Hotspots struct {
	relational.Out
	spec   HotspotsSpec
	dims   []int
	schema types.Schema
	arrow  *arrow.Schema

	// window: ring of points, slot s holds coords[s*d:(s+1)*d]
	coords []float64
	cellOf []*hcell
	head   int // oldest slot
	n      int
	cells  map[string]*hcell
	dense  map[*hcell]struct{}
	dirty  bool
	result string

	key  []byte
	pt   []float64
	cc   []int64
	nb   []int64
	vals []float64
}

type hcell struct {
	key   string
	at    []int64  // cube coordinates
	count int      // points in the cube
	block int      // points in the 3^d block around it
	slots []int32  // FIFO of the cube's ring slots
	nbrs  []*hcell // the other existing cubes of its 3^d block
	dense bool
	seen  bool // BFS mark
}

// NumericDims returns the columns HOTSPOTS (and RANDOM_CUT_FOREST)
// analyse: the numeric ones, DECIMAL and ROWTIME excluded.
func NumericDims(in types.Schema) []int {
	var d []int
	for i, f := range in.Fields {
		if i == 0 {
			continue
		}
		switch f.Type.Kind {
		case types.TinyInt, types.SmallInt, types.Integer, types.BigInt, types.Real, types.Double:
			d = append(d, i)
		}
	}
	return d
}

// HotspotsSchema is the input's columns plus HOTSPOTS_RESULT.
func HotspotsSchema(in types.Schema) types.Schema {
	out := types.Schema{Fields: slices.Clone(in.Fields)}
	out.Fields = append(out.Fields, types.Field{Name: HotspotsResultName, Type: HotspotsResultType})
	return out
}

// NewHotspots validates spec and builds the operator.
func NewHotspots(spec HotspotsSpec) (*Hotspots, error) {
	const what = "HOTSPOTS"
	if err := checkInput(what, spec.Input); err != nil {
		return nil, err
	}
	if err := CheckHotspots(spec.WindowSize, spec.ScanRadius, spec.MinPoints); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	dims := NumericDims(spec.Input)
	if len(dims) == 0 {
		return nil, fmt.Errorf("%s: the input has no numeric column (TINYINT, SMALLINT, INTEGER, BIGINT, REAL or DOUBLE)", what)
	}
	if spec.Input.Index(HotspotsResultName) >= 0 {
		return nil, fmt.Errorf("%s: the input already has a column %s", what, HotspotsResultName)
	}
	h := &Hotspots{spec: spec, dims: dims}
	h.schema = HotspotsSchema(spec.Input)
	h.arrow = h.schema.Arrow()
	h.reset()
	return h, nil
}

// CheckHotspots validates HOTSPOTS' parameters.
func CheckHotspots(windowSize int, scanRadius float64, minPoints int) error {
	switch {
	case windowSize < MinHotspotsWindow || windowSize > MaxHotspotsWindow:
		return fmt.Errorf("windowSize must be from %d to %d, got %d", MinHotspotsWindow, MaxHotspotsWindow, windowSize)
	case !(scanRadius > 0) || math.IsInf(scanRadius, 0):
		return fmt.Errorf("scanRadius must be a positive number, got %v", scanRadius)
	case minPoints < MinHotspotPoints:
		return fmt.Errorf("minimumNumberOfPointsInAHotspot must be at least %d, got %d", MinHotspotPoints, minPoints)
	}
	return nil
}

func (h *Hotspots) reset() {
	d := len(h.dims)
	h.coords = make([]float64, h.spec.WindowSize*d)
	h.cellOf = make([]*hcell, h.spec.WindowSize)
	h.head, h.n = 0, 0
	h.cells = map[string]*hcell{}
	h.dense = map[*hcell]struct{}{}
	h.dirty = true
	h.pt = make([]float64, d)
	h.cc = make([]int64, d)
	h.nb = make([]int64, d)
}

// Schema implements operators.Operator.
func (h *Hotspots) Schema() types.Schema { return h.schema }

// Advance implements operators.Operator: HOTSPOTS has no time windows.
func (h *Hotspots) Advance(*operators.Context, time.Time) error { return nil }

// Process implements operators.Operator.
func (h *Hotspots) Process(ctx *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	if int(rec.NumCols()) != len(h.spec.Input.Fields) {
		return fmt.Errorf("HOTSPOTS: batch has %d columns, expected %d", rec.NumCols(), len(h.spec.Input.Fields))
	}
	res := array.NewStringBuilder(ctx.Alloc())
	defer res.Release()
	res.Reserve(n)
	for i := 0; i < n; i++ {
		ok, err := h.point(rec, i)
		if err != nil {
			return fmt.Errorf("HOTSPOTS: %w", err)
		}
		if ok {
			h.push(h.pt)
		}
		res.Append(h.current())
	}
	col := res.NewArray()
	defer col.Release()
	cols := make([]arrow.Array, 0, rec.NumCols()+1)
	cols = append(cols, rec.Columns()...)
	cols = append(cols, col)
	out := array.NewRecord(h.arrow, cols, int64(n))
	defer out.Release()
	return h.Send(out)
}

// point reads row i's numeric columns into h.pt; false if one is NULL.
func (h *Hotspots) point(rec arrow.Record, i int) (bool, error) {
	for k, c := range h.dims {
		col := rec.Column(c)
		if col.IsNull(i) {
			return false, nil
		}
		var v float64
		switch a := col.(type) {
		case *array.Int8:
			v = float64(a.Value(i))
		case *array.Int16:
			v = float64(a.Value(i))
		case *array.Int32:
			v = float64(a.Value(i))
		case *array.Int64:
			v = float64(a.Value(i))
		case *array.Float32:
			v = float64(a.Value(i))
		case *array.Float64:
			v = a.Value(i)
		default:
			return false, fmt.Errorf("column %d is %s, not a number", c, col.DataType())
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false, nil
		}
		h.pt[k] = v
	}
	return true, nil
}

// cubeKey writes the cube coordinates of at into h.key.
func (h *Hotspots) cubeKey(at []int64) []byte {
	h.key = h.key[:0]
	for _, c := range at {
		h.key = binary.LittleEndian.AppendUint64(h.key, uint64(c))
	}
	return h.key
}

// push adds point p as the newest of the window, evicting the oldest.
func (h *Hotspots) push(p []float64) {
	d := len(h.dims)
	if h.n == h.spec.WindowSize {
		h.evict()
	}
	slot := (h.head + h.n) % h.spec.WindowSize
	copy(h.coords[slot*d:], p)
	h.n++
	for k, v := range p {
		c := math.Floor(v / h.spec.ScanRadius)
		h.cc[k] = int64(max(min(c, 1<<52), -(1 << 52)))
	}
	key := h.cubeKey(h.cc)
	c, ok := h.cells[string(key)]
	if !ok {
		c = &hcell{key: string(key), at: slices.Clone(h.cc)}
		h.lookupNeighbours(c, func(o *hcell) {
			c.block += o.count
			c.nbrs = append(c.nbrs, o)
			o.nbrs = append(o.nbrs, c)
		})
		h.cells[c.key] = c
	}
	c.count++
	c.slots = append(c.slots, int32(slot))
	h.cellOf[slot] = c
	h.bump(c, 1)
}

func (h *Hotspots) evict() {
	slot := h.head
	c := h.cellOf[slot]
	h.cellOf[slot] = nil
	h.head = (h.head + 1) % h.spec.WindowSize
	h.n--
	c.count--
	c.slots = c.slots[1:]
	h.bump(c, -1)
	if c.count == 0 {
		delete(h.cells, c.key)
		delete(h.dense, c)
		for _, o := range c.nbrs {
			if i := slices.Index(o.nbrs, c); i >= 0 {
				last := len(o.nbrs) - 1
				o.nbrs[i], o.nbrs[last] = o.nbrs[last], nil
				o.nbrs = o.nbrs[:last]
			}
		}
		c.nbrs = nil
	}
}

// bump adds delta to the block counts around c and tracks dense cubes.
func (h *Hotspots) bump(c *hcell, delta int) {
	if c.dense {
		h.dirty = true // a hotspot's points change
	}
	h.recount(c, delta)
	for _, o := range c.nbrs {
		h.recount(o, delta)
	}
}

func (h *Hotspots) recount(o *hcell, delta int) {
	o.block += delta
	if is := o.block >= h.spec.MinPoints && o.count > 0; is != o.dense {
		h.dirty = true
		o.dense = is
		if is {
			h.dense[o] = struct{}{}
		} else {
			delete(h.dense, o)
		}
	}
}

// lookupNeighbours calls f for every existing cube of the 3^d block of the
// new cube c (not yet in h.cells).
func (h *Hotspots) lookupNeighbours(c *hcell, f func(*hcell)) {
	d := len(c.at)
	if d > 12 || pow3(d) > 2*len(h.cells) {
		for _, o := range h.cells {
			if touching(c.at, o.at) {
				f(o)
			}
		}
		return
	}
	for k := range h.nb {
		h.nb[k] = c.at[k] - 1
	}
	for {
		if o, ok := h.cells[string(h.cubeKey(h.nb))]; ok {
			f(o)
		}
		k := 0
		for ; k < d; k++ {
			if h.nb[k] < c.at[k]+1 {
				h.nb[k]++
				break
			}
			h.nb[k] = c.at[k] - 1
		}
		if k == d {
			return
		}
	}
}

func pow3(d int) int {
	n := 1
	for range d {
		n *= 3
	}
	return n
}

func touching(a, b []int64) bool {
	for k := range a {
		if x := a[k] - b[k]; x < -1 || x > 1 {
			return false
		}
	}
	return true
}

type hotspot struct {
	density  int
	min, max []float64
}

// current returns the window's HOTSPOTS_RESULT.
func (h *Hotspots) current() string {
	if !h.dirty {
		return h.result
	}
	h.dirty = false
	d := len(h.dims)
	var spots []hotspot
	var queue []*hcell
	for c := range h.dense {
		c.seen = false
	}
	for start := range h.dense {
		if start.seen {
			continue
		}
		start.seen = true
		queue = append(queue[:0], start)
		s := hotspot{min: make([]float64, d), max: make([]float64, d)}
		for k := range s.min {
			s.min[k], s.max[k] = math.Inf(1), math.Inf(-1)
		}
		for len(queue) > 0 {
			c := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			s.density += c.count
			for _, slot := range c.slots {
				p := h.coords[int(slot)*d : int(slot+1)*d]
				for k, v := range p {
					s.min[k] = min(s.min[k], v)
					s.max[k] = max(s.max[k], v)
				}
			}
			for _, o := range c.nbrs {
				if o.dense && !o.seen {
					o.seen = true
					queue = append(queue, o)
				}
			}
		}
		if s.density >= h.spec.MinPoints {
			spots = append(spots, s)
		}
	}
	slices.SortFunc(spots, func(a, b hotspot) int {
		if a.density != b.density {
			return b.density - a.density
		}
		if c := slices.Compare(a.min, b.min); c != 0 {
			return c
		}
		return slices.Compare(a.max, b.max)
	})
	var b strings.Builder
	b.WriteString(`{"hotspots":[`)
	for i, s := range spots {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"density":`)
		b.WriteString(strconv.Itoa(s.density))
		b.WriteString(`,"minValues":`)
		writeFloats(&b, s.min)
		b.WriteString(`,"maxValues":`)
		writeFloats(&b, s.max)
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	h.result = b.String()
	return h.result
}

func writeFloats(b *strings.Builder, v []float64) {
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		}
	}
	b.WriteByte(']')
}

type hotspotsState struct {
	Dims   int
	Points []float64 // the window, oldest first
}

// Snapshot implements operators.Stateful.
func (h *Hotspots) Snapshot(w io.Writer) error {
	d := len(h.dims)
	st := hotspotsState{Dims: d, Points: make([]float64, 0, h.n*d)}
	for j := 0; j < h.n; j++ {
		slot := (h.head + j) % h.spec.WindowSize
		st.Points = append(st.Points, h.coords[slot*d:(slot+1)*d]...)
	}
	return writeSnap(w, tagHotspots, &st)
}

// Restore implements operators.Stateful.
func (h *Hotspots) Restore(r io.Reader) error {
	var st hotspotsState
	if err := readSnap(r, tagHotspots, &st); err != nil {
		return fmt.Errorf("HOTSPOTS: %w", err)
	}
	d := len(h.dims)
	if st.Dims != d || len(st.Points)%d != 0 || len(st.Points)/d > h.spec.WindowSize {
		return fmt.Errorf("HOTSPOTS: restore: the snapshot is of a different input or window size")
	}
	h.reset()
	for j := 0; j < len(st.Points); j += d {
		h.push(st.Points[j : j+d])
	}
	return nil
}
