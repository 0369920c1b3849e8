package window

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow/go/v17/arrow/decimal128"
)

// Snapshots are a small binary format: the magic "KDAW", a format version
// byte, an operator tag byte, then the operator's fields in a fixed order,
// integers as varints, floats as their IEEE bits, strings length-prefixed.
const (
	snapMagic   = "KDAW"
	snapVersion = 1

	tagTumbling byte = 'T'
	tagStagger  byte = 'G'
	tagSliding  byte = 'S'
)

type wbuf struct{ b []byte }

func (w *wbuf) i64(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *wbuf) int(v int)     { w.i64(int64(v)) }
func (w *wbuf) f64(v float64) { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v)) }
func (w *wbuf) str(s string)  { w.int(len(s)); w.b = append(w.b, s...) }
func (w *wbuf) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *wbuf) dec(d decimal128.Num) {
	w.i64(d.HighBits())
	w.b = binary.LittleEndian.AppendUint64(w.b, d.LowBits())
}

func (w *wbuf) decs(v []decimal128.Num) {
	w.int(len(v))
	for _, d := range v {
		w.dec(d)
	}
}

func (w *wbuf) i64s(v []int64) {
	w.int(len(v))
	for _, x := range v {
		w.i64(x)
	}
}

func (w *wbuf) f64s(v []float64) {
	w.int(len(v))
	for _, x := range v {
		w.f64(x)
	}
}

func (w *wbuf) bools(v []bool) {
	w.int(len(v))
	for _, x := range v {
		w.bool(x)
	}
}

func (w *wbuf) vec(v *vec) {
	w.b = append(w.b, byte(v.p))
	w.bools(v.ok)
	switch v.p {
	case pInt:
		w.i64s(v.i)
	case pFloat:
		w.f64s(v.f)
	case pStr:
		w.int(len(v.s))
		for _, s := range v.s {
			w.str(s)
		}
	case pDec:
		w.int(len(v.d))
		for _, d := range v.d {
			w.dec(d)
		}
	}
}

func (w *wbuf) header(tag byte) { w.b = append(w.b, snapMagic...); w.b = append(w.b, snapVersion, tag) }

func (w *wbuf) flush(out io.Writer) error {
	if _, err := out.Write(w.b); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// rbuf reads what wbuf wrote; the first error sticks and later reads return
// zero values.
type rbuf struct {
	b   []byte
	err error
}

func readAll(r io.Reader, tag byte) (*rbuf, error) {
	b, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if len(b) < 6 || string(b[:4]) != snapMagic {
		return nil, errors.New("restore: not a window operator snapshot")
	}
	if b[4] != snapVersion {
		return nil, fmt.Errorf("restore: snapshot format version %d, this build reads %d", b[4], snapVersion)
	}
	if b[5] != tag {
		return nil, fmt.Errorf("restore: snapshot of operator kind %q, expected %q", b[5], tag)
	}
	return &rbuf{b: b[6:]}, nil
}

func (r *rbuf) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("restore: truncated or corrupt snapshot (%s)", what)
	}
	r.b = nil
}

func (r *rbuf) i64() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) int() int {
	v := r.i64()
	if v < 0 || v > 1<<40 {
		r.fail("length")
		return 0
	}
	return int(v)
}

func (r *rbuf) f64() float64 {
	if len(r.b) < 8 {
		r.fail("float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *rbuf) byte1() byte {
	if len(r.b) < 1 {
		r.fail("byte")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *rbuf) bool() bool { return r.byte1() != 0 }

func (r *rbuf) str() string {
	n := r.int()
	if n > len(r.b) {
		r.fail("string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *rbuf) count() int {
	n := r.int()
	if n > len(r.b) { // every element takes at least one byte
		r.fail("count")
		return 0
	}
	return n
}

func (r *rbuf) dec() decimal128.Num {
	hi := r.i64()
	if len(r.b) < 8 {
		r.fail("decimal")
		return decimal128.Num{}
	}
	lo := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return decimal128.New(hi, lo)
}

func (r *rbuf) decs() []decimal128.Num {
	v := make([]decimal128.Num, r.count())
	for k := range v {
		v[k] = r.dec()
	}
	return v
}

func (r *rbuf) i64s() []int64 {
	v := make([]int64, r.count())
	for k := range v {
		v[k] = r.i64()
	}
	return v
}

func (r *rbuf) f64s() []float64 {
	v := make([]float64, r.count())
	for k := range v {
		v[k] = r.f64()
	}
	return v
}

func (r *rbuf) bools() []bool {
	v := make([]bool, r.count())
	for k := range v {
		v[k] = r.bool()
	}
	return v
}

func (r *rbuf) vec(v *vec) {
	v.p = phys(r.byte1())
	v.ok = r.bools()
	v.i, v.f, v.s = nil, nil, nil
	switch v.p {
	case pInt:
		v.i = r.i64s()
	case pFloat:
		v.f = r.f64s()
	case pStr:
		v.s = make([]string, r.count())
		for k := range v.s {
			v.s[k] = r.str()
		}
	case pDec:
		v.d = make([]decimal128.Num, r.count())
		for k := range v.d {
			v.d[k] = r.dec()
		}
	default:
		r.fail("vector kind")
	}
}

func (r *rbuf) done() error {
	if r.err == nil && len(r.b) != 0 {
		return errors.New("restore: trailing bytes after snapshot")
	}
	return r.err
}
