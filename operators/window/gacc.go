package window

import (
	"math"
	"strings"

	"github.com/apache/arrow/go/v17/arrow/decimal128"
)

// groupAcc holds the running state of one aggregate for every group of a
// tumbling or stagger operator, in arrays indexed by group id. Rows are only
// ever added: a group's slot is cleared when its window closes and the id is
// reused.
type groupAcc struct {
	p    aggPlan
	n    []int64          // rows (COUNT(*)) or non-NULL values aggregated
	si   []int64          // integer SUM / AVG
	sd   []decimal128.Num // DECIMAL SUM / AVG
	s1   []float64        // float sums; Σ(x-k) for variance; Σ v·w for EXP_AVG
	s2   []float64        // Σ(x-k)² for variance; Σ w for EXP_AVG
	k    []float64        // variance shift; EXP_AVG reference time
	v    vec              // MIN/MAX/FIRST/LAST value; ANY/EVERY flag
	seen []map[string]struct{}
	u    *groupUser // a user aggregate (useragg.go); the arrays above stay zero
}

func newGroupAcc(p aggPlan) *groupAcc {
	a := &groupAcc{p: p}
	a.v.p = p.argPhys
	return a
}

// grow makes room for group ids [0, n).
func (a *groupAcc) grow(n int) {
	for len(a.n) < n {
		a.n = append(a.n, 0)
		a.si = append(a.si, 0)
		a.sd = append(a.sd, decimal128.Num{})
		a.s1 = append(a.s1, 0)
		a.s2 = append(a.s2, 0)
		a.k = append(a.k, 0)
		a.v.appendNull()
		if a.intMinMax() {
			a.v.i[len(a.v.i)-1] = a.sentinel()
		}
		if a.p.distinct {
			a.seen = append(a.seen, nil)
		}
	}
	if a.u != nil {
		a.u.grow(n)
	}
}

func (a *groupAcc) intMinMax() bool {
	return (a.p.kind == kMin || a.p.kind == kMax) && a.v.p == pInt && !a.p.distinct
}

// clear empties slot g.
func (a *groupAcc) clear(g int32) {
	a.n[g], a.si[g], a.s1[g], a.s2[g], a.k[g] = 0, 0, 0, 0, 0
	a.sd[g] = decimal128.Num{}
	a.v.ok[g] = false
	if a.intMinMax() {
		a.v.i[g] = a.sentinel()
	}
	if a.v.p == pStr {
		a.v.s[g] = ""
	}
	if a.p.distinct {
		a.seen[g] = nil
	}
	if a.u != nil {
		a.u.clear(g)
	}
}

// update adds rows [lo, hi) of the argument column x to groups gids[i]
// (gid < 0: skip the row). rt is ROWTIME in ms.
func (a *groupAcc) update(x *vec, rt []int64, gids []int32, lo, hi int) {
	gids = gids[:hi]
	if a.u != nil {
		a.u.update(gids, lo, hi)
		return
	}
	if !a.p.distinct {
		switch a.p.kind {
		case kCountStar:
			for i := lo; i < hi; i++ {
				if g := gids[i]; g >= 0 {
					a.n[g]++
				}
			}
			return
		case kCount:
			ok := x.ok[:hi]
			for i := lo; i < hi; i++ {
				if g := gids[i]; g >= 0 && ok[i] {
					a.n[g]++
				}
			}
			return
		case kSum, kAvg:
			ok := x.ok[:hi]
			if x.p == pDec {
				break
			}
			if x.p == pInt {
				vs := x.i[:hi]
				for i := lo; i < hi; i++ {
					if g := gids[i]; g >= 0 && ok[i] {
						a.si[g] += vs[i]
						a.n[g]++
					}
				}
			} else {
				vs := x.f[:hi]
				for i := lo; i < hi; i++ {
					if g := gids[i]; g >= 0 && ok[i] {
						a.s1[g] += vs[i]
						a.n[g]++
					}
				}
			}
			return
		case kMin, kMax:
			if x.p == pInt {
				a.minMaxInt(x, gids, lo, hi)
				return
			}
			if x.p == pFloat {
				a.minMaxFloat(x, gids, lo, hi)
				return
			}
		}
	}
	for i := lo; i < hi; i++ {
		if g := gids[i]; g >= 0 {
			a.add1(x, rt, g, i)
		}
	}
}

// minMaxInt relies on empty slots holding the identity (math.MaxInt64 for
// MIN, math.MinInt64 for MAX; see sentinel), so no branch per row.
func (a *groupAcc) minMaxInt(x *vec, gids []int32, lo, hi int) {
	ok, vs, cur, has := x.ok[:hi], x.i[:hi], a.v.i, a.v.ok
	if a.p.kind == kMin {
		for i := lo; i < hi; i++ {
			if g := gids[i]; g >= 0 && ok[i] {
				cur[g] = min(cur[g], vs[i])
				has[g] = true
			}
		}
		return
	}
	for i := lo; i < hi; i++ {
		if g := gids[i]; g >= 0 && ok[i] {
			cur[g] = max(cur[g], vs[i])
			has[g] = true
		}
	}
}

// sentinel is the value an empty MIN/MAX slot holds for the branch-free
// integer loop.
func (a *groupAcc) sentinel() int64 {
	if a.p.kind == kMin {
		return math.MaxInt64
	}
	return math.MinInt64
}

func (a *groupAcc) minMaxFloat(x *vec, gids []int32, lo, hi int) {
	ok, vs, cur, has := x.ok[:hi], x.f[:hi], a.v.f, a.v.ok
	isMin := a.p.kind == kMin
	for i := lo; i < hi; i++ {
		g := gids[i]
		if g < 0 || !ok[i] {
			continue
		}
		v := vs[i]
		if !has[g] || (isMin && v < cur[g]) || (!isMin && v > cur[g]) {
			cur[g], has[g] = v, true
		}
	}
}

// add1 adds row i to group g: the general, row-at-a-time path.
func (a *groupAcc) add1(x *vec, rt []int64, g int32, i int) {
	k := a.p.kind
	if k == kCountStar {
		a.n[g]++
		return
	}
	if k == kFirst {
		if a.n[g] == 0 {
			a.v.set(int(g), x, i)
			a.n[g] = 1
		}
		return
	}
	if k == kLast {
		a.v.set(int(g), x, i)
		a.n[g] = 1
		return
	}
	if !x.ok[i] {
		return
	}
	if a.p.distinct {
		key := x.key(i)
		m := a.seen[g]
		if m == nil {
			m = map[string]struct{}{}
			a.seen[g] = m
		}
		if _, dup := m[key]; dup {
			return
		}
		if x.p == pStr {
			key = strings.Clone(key) // x aliases the batch's buffers
		}
		m[key] = struct{}{}
	}
	switch k {
	case kCount:
		a.n[g]++
	case kSum, kAvg:
		switch x.p {
		case pInt:
			a.si[g] += x.i[i]
		case pDec:
			a.sd[g] = a.sd[g].Add(x.d[i])
		default:
			a.s1[g] += x.f[i]
		}
		a.n[g]++
	case kMin, kMax:
		if !a.v.ok[g] {
			a.v.set(int(g), x, i)
		} else if c := x.cmp(i, &a.v, int(g)); (k == kMin && c < 0) || (k == kMax && c > 0) {
			a.v.set(int(g), x, i)
		}
	case kVarPop, kVarSamp, kStddevPop, kStddevSamp:
		f := asFloat(x, i, a.p.argScale)
		if a.n[g] == 0 {
			a.k[g] = f
		}
		d := f - a.k[g]
		a.s1[g] += d
		a.s2[g] += d * d
		a.n[g]++
	case kExpAvg:
		t := float64(rt[i])
		if a.n[g] == 0 {
			a.k[g] = t
		}
		e := (t - a.k[g]) / a.p.halfLife
		if e > 500 { // rebase before the weights overflow
			scale := math.Exp2(-e)
			a.s1[g] *= scale
			a.s2[g] *= scale
			a.k[g], e = t, 0
		}
		w := math.Exp2(e)
		a.s1[g] += asFloat(x, i, a.p.argScale) * w
		a.s2[g] += w
		a.n[g]++
	case kAny:
		a.n[g]++
		if x.i[i] != 0 {
			a.si[g]++
		}
	case kEvery:
		a.n[g]++
		if x.i[i] != 0 {
			a.si[g]++
		}
	}
}

// result appends group g's aggregate to out.
// For a user aggregate it appends a placeholder that finish fills; at is
// the output row's ROWTIME.
func (a *groupAcc) result(out *vec, g int32, at int64) {
	if a.u != nil {
		if a.u.lost[g] {
			out.appendNull()
		} else {
			a.u.result(out, g, at, -1)
		}
		return
	}
	n := a.n[g]
	switch a.p.kind {
	case kCountStar, kCount:
		out.i = append(out.i, n)
		out.ok = append(out.ok, true)
		return
	case kMin, kMax, kFirst, kLast:
		out.appendFrom(&a.v, int(g))
		return
	}
	if n == 0 {
		out.appendNull()
		return
	}
	switch a.p.kind {
	case kSum:
		switch out.p {
		case pInt:
			out.i = append(out.i, a.si[g])
		case pDec:
			out.d = append(out.d, a.sd[g])
		default:
			out.f = append(out.f, a.s1[g])
		}
	case kAvg:
		s := a.s1[g]
		switch a.p.argPhys {
		case pInt:
			s = float64(a.si[g])
		case pDec:
			s = a.sd[g].ToFloat64(a.p.argScale)
		}
		out.f = append(out.f, s/float64(n))
	case kVarPop, kVarSamp, kStddevPop, kStddevSamp:
		v, ok := finishVar(a.p.kind, n, a.s1[g], a.s2[g])
		if !ok {
			out.appendNull()
			return
		}
		out.f = append(out.f, v)
	case kExpAvg:
		out.f = append(out.f, a.s1[g]/a.s2[g])
	case kAny:
		out.i = append(out.i, b2i(a.si[g] > 0))
	case kEvery:
		out.i = append(out.i, b2i(a.si[g] == n))
	}
	out.ok = append(out.ok, true)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (a *groupAcc) save(w *wbuf) error {
	w.i64s(a.n)
	w.i64s(a.si)
	w.decs(a.sd)
	w.f64s(a.s1)
	w.f64s(a.s2)
	w.f64s(a.k)
	w.vec(&a.v)
	if a.p.distinct {
		w.int(len(a.seen))
		for _, m := range a.seen {
			w.int(len(m))
			for k := range m {
				w.str(k)
			}
		}
	}
	if a.u != nil {
		return a.u.save(w)
	}
	return nil
}

func (a *groupAcc) load(r *rbuf) error {
	a.n, a.si, a.sd = r.i64s(), r.i64s(), r.decs()
	a.s1, a.s2, a.k = r.f64s(), r.f64s(), r.f64s()
	r.vec(&a.v)
	if a.p.distinct {
		a.seen = make([]map[string]struct{}, r.count())
		for g := range a.seen {
			if n := r.count(); n > 0 {
				m := make(map[string]struct{}, n)
				for ; n > 0; n-- {
					m[r.str()] = struct{}{}
				}
				a.seen[g] = m
			}
		}
	}
	if len(a.si) != len(a.n) || len(a.sd) != len(a.n) || len(a.s1) != len(a.n) || len(a.s2) != len(a.n) || len(a.k) != len(a.n) || a.v.len() != len(a.n) {
		r.fail("aggregate arrays of different lengths")
	}
	if a.u != nil {
		return a.u.load(r, len(a.n))
	}
	return nil
}
