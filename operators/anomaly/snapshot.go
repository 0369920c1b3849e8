package anomaly

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Snapshot format (little endian), version 1:
//
//	"KDARCF" uint16(version)
//	options: Trees, SampleSize, ShingleSize, Dimensions uint32; TimeDecay float64; Seed uint64
//	seen uint64; filled uint32; shingle [d]float64
//	per tree: rng uint64; root int32; nodes uint32 (= 2·SampleSize);
//	  left, right, parent, cutDim, mass [nodes]int32; cutVal [nodes]float64;
//	  box [nodes·2d]float64; free: n uint32, [n]int32;
//	  sample: n uint32, keys [n]float64, leafOf [n]int32
const (
	snapshotMagic   = "KDARCF"
	snapshotVersion = 1
)

// Snapshot writes the whole forest; Restore on a forest built from any
// options reads it back, and the restored forest continues exactly as this
// one would.
func (f *Forest) Snapshot(w io.Writer) error {
	bw := bufio.NewWriter(w)
	e := &enc{w: bw}
	e.bytes([]byte(snapshotMagic))
	e.u16(snapshotVersion)
	o := f.opts
	e.u32(uint32(o.Trees))
	e.u32(uint32(o.SampleSize))
	e.u32(uint32(o.ShingleSize))
	e.u32(uint32(o.Dimensions))
	e.f64(o.TimeDecay)
	e.u64(o.Seed)
	e.u64(f.seen)
	e.u32(uint32(f.filled))
	e.f64s(f.shingle)
	for _, t := range f.trees {
		e.u64(t.r.s)
		e.u32(uint32(t.root))
		e.u32(uint32(len(t.nodes)))
		for i := range t.nodes {
			e.u32(uint32(t.nodes[i].left))
		}
		for i := range t.nodes {
			e.u32(uint32(t.nodes[i].right))
		}
		for i := range t.nodes {
			e.u32(uint32(t.parent[i]))
		}
		for i := range t.nodes {
			e.u32(uint32(t.nodes[i].cutDim))
		}
		for i := range t.nodes {
			e.u32(uint32(t.mass[i]))
		}
		for i := range t.nodes {
			e.f64(t.nodes[i].cutVal)
		}
		e.f64s(t.box)
		e.u32(uint32(len(t.free)))
		e.i32s(t.free)
		e.u32(uint32(len(t.keys)))
		e.f64s(t.keys)
		e.i32s(t.leafOf)
	}
	if e.err != nil {
		return fmt.Errorf("random cut forest snapshot: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("random cut forest snapshot: %w", err)
	}
	return nil
}

// Restore replaces f's whole state (options included) with a snapshot.
// ScoreAfter is a setting of the query, not state: f keeps its own.
func (f *Forest) Restore(r io.Reader) error {
	g, err := readForest(bufio.NewReader(r))
	if err != nil {
		return fmt.Errorf("random cut forest restore: %w", err)
	}
	scoreAfter := f.opts.ScoreAfter
	*f = *g
	if scoreAfter >= 1 && scoreAfter <= f.opts.SampleSize {
		f.opts.ScoreAfter = scoreAfter
	}
	return nil
}

func readForest(r io.Reader) (*Forest, error) {
	d := &dec{r: r}
	magic := make([]byte, len(snapshotMagic))
	d.bytes(magic)
	if d.err == nil && string(magic) != snapshotMagic {
		return nil, errors.New("not a random cut forest snapshot")
	}
	if v := d.u16(); d.err == nil && v != snapshotVersion {
		return nil, fmt.Errorf("snapshot version %d is not supported (want %d)", v, snapshotVersion)
	}
	var o ForestOptions
	o.Trees = int(d.u32())
	o.SampleSize = int(d.u32())
	o.ShingleSize = int(d.u32())
	o.Dimensions = int(d.u32())
	o.TimeDecay = d.f64()
	o.Seed = d.u64()
	if d.err != nil {
		return nil, d.err
	}
	if o.Trees == 0 || o.SampleSize == 0 || o.ShingleSize == 0 || o.Dimensions == 0 || o.TimeDecay == 0 {
		return nil, errors.New("snapshot has zero options")
	}
	f, err := NewForest(o)
	if err != nil {
		return nil, err
	}
	f.seen = d.u64()
	f.filled = int(d.u32())
	if f.filled > o.ShingleSize {
		return nil, errors.New("corrupt shingle")
	}
	d.f64s(f.shingle)
	nodes := 2 * o.SampleSize
	for _, t := range f.trees {
		t.r.s = d.u64()
		t.root = int32(d.u32())
		if n := int(d.u32()); d.err == nil && n != nodes {
			return nil, fmt.Errorf("tree has %d nodes, want %d", n, nodes)
		}
		for i := range t.nodes {
			t.nodes[i].left = d.i16()
		}
		for i := range t.nodes {
			t.nodes[i].right = d.i16()
		}
		for i := range t.nodes {
			t.parent[i] = int32(d.u32())
		}
		for i := range t.nodes {
			t.nodes[i].cutDim = d.i16()
		}
		for i := range t.nodes {
			t.mass[i] = int32(d.u32())
		}
		for i := range t.nodes {
			t.nodes[i].cutVal = d.f64()
		}
		d.f64s(t.box)
		n := int(d.u32())
		if d.err == nil && n > nodes {
			return nil, errors.New("corrupt free list")
		}
		t.free = t.free[:n]
		d.i32s(t.free)
		n = int(d.u32())
		if d.err == nil && n > o.SampleSize {
			return nil, errors.New("corrupt sample")
		}
		t.keys, t.leafOf = t.keys[:n], t.leafOf[:n]
		d.f64s(t.keys)
		d.i32s(t.leafOf)
		if d.err != nil {
			return nil, d.err
		}
		if err := t.check(); err != nil {
			return nil, err
		}
	}
	f.rebase()
	return f, d.err
}

// check verifies the indices a snapshot supplies, so that a corrupt one
// fails Restore instead of panicking later.
func (t *tree) check() error {
	n := int32(len(t.nodes))
	ok := func(i int32) bool { return i >= 0 && i < n }
	if t.root != -1 && !ok(t.root) {
		return errors.New("corrupt tree root")
	}
	for _, i := range t.free {
		if !ok(i) {
			return errors.New("corrupt free list")
		}
	}
	for _, i := range t.leafOf {
		if !ok(i) || t.nodes[i].left >= 0 {
			return errors.New("corrupt sample")
		}
	}
	for i := range t.nodes {
		nd := &t.nodes[i]
		l, r, p := int32(nd.left), int32(nd.right), t.parent[i]
		if (l >= 0 && (!ok(l) || !ok(r) || nd.cutDim < 0 || int(nd.cutDim) >= t.d)) || (p != -1 && !ok(p)) {
			return errors.New("corrupt tree node")
		}
	}
	return nil
}

type enc struct {
	w   io.Writer
	buf [8]byte
	err error
}

func (e *enc) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
func (e *enc) u16(v uint16)  { binary.LittleEndian.PutUint16(e.buf[:], v); e.bytes(e.buf[:2]) }
func (e *enc) u32(v uint32)  { binary.LittleEndian.PutUint32(e.buf[:], v); e.bytes(e.buf[:4]) }
func (e *enc) u64(v uint64)  { binary.LittleEndian.PutUint64(e.buf[:], v); e.bytes(e.buf[:8]) }
func (e *enc) f64(v float64) { e.u64(math.Float64bits(v)) }
func (e *enc) f64s(v []float64) {
	for _, x := range v {
		e.f64(x)
	}
}
func (e *enc) i32s(v []int32) {
	for _, x := range v {
		e.u32(uint32(x))
	}
}

type dec struct {
	r   io.Reader
	buf [8]byte
	err error
}

func (d *dec) bytes(b []byte) {
	if d.err == nil {
		_, d.err = io.ReadFull(d.r, b)
		if d.err == io.EOF {
			d.err = io.ErrUnexpectedEOF
		}
	} else {
		clear(b)
	}
}
func (d *dec) u16() uint16  { d.bytes(d.buf[:2]); return binary.LittleEndian.Uint16(d.buf[:]) }
func (d *dec) u32() uint32  { d.bytes(d.buf[:4]); return binary.LittleEndian.Uint32(d.buf[:]) }
func (d *dec) u64() uint64  { d.bytes(d.buf[:8]); return binary.LittleEndian.Uint64(d.buf[:]) }
func (d *dec) f64() float64 { return math.Float64frombits(d.u64()) }
func (d *dec) f64s(v []float64) {
	for i := range v {
		v[i] = d.f64()
	}
}
func (d *dec) i32s(v []int32) {
	for i := range v {
		v[i] = int32(d.u32())
	}
}

// i16 reads an int32 that must fit in an int16 (node indices and cut
// dimensions are stored as int16 in memory, as int32 in the snapshot).
func (d *dec) i16() int16 {
	v := int32(d.u32())
	if v != int32(int16(v)) && d.err == nil {
		d.err = errors.New("corrupt tree node")
	}
	return int16(v)
}
