package anomaly

import "math"

// rng is splitmix64: tiny, fast, and its whole state is one uint64, which
// makes snapshots trivial.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a uniform value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) * (1.0 / (1 << 53)) }

// open returns a uniform value in (0, 1).
func (r *rng) open() float64 { return (float64(r.next()>>11) + 0.5) * (1.0 / (1 << 53)) }

// node is what the scoring walk reads of a tree node: its cut and
// children, 16 bytes, so that four nodes share a 64-byte cache line (the
// walk is a chain of dependent node loads, mostly cache misses). Node
// indices are below 2·SampleSize ≤ 2000 and dimensions below 30000, so
// int16 holds them. A node's parent and mass live in tree.parent and
// tree.mass.
type node struct {
	cutVal      float64
	left, right int16 // left < 0: a leaf
	cutDim      int16
	_           int16
}

// tree is one robust random cut tree over at most cap points, with its
// time-decayed reservoir sampler. Nodes live in flat arrays indexed by
// int32 (int16 inside node); a node is a leaf when nodes[i].left < 0. A node's bounding box is
// box[i*2d : i*2d+d] (min) and box[i*2d+d : (i+1)*2d] (max); a leaf's box
// is its point (min = max), so the point is stored nowhere else.
type tree struct {
	d    int // dimensions of a (shingled) point
	r    rng
	root int32

	nodes  []node
	parent []int32 // parent[i]: node i's parent, -1 for the root
	mass   []int32 // mass[i]: points under node i
	box    []float64
	free   []int32 // unused node indices (a stack)

	// Sampler: a max-heap of the kept points' keys; leafOf[k] is the leaf
	// holding the point of heap entry k (several entries may share a leaf
	// when points are equal, the leaf's mass counting them).
	keys   []float64
	leafOf []int32
	topExp float64 // exp(keys[0] + the forest's sampling base), see sample

	path []int32 // scratch for the scoring walk
}

func newTree(d, sampleSize int, seed uint64) *tree {
	n := 2 * sampleSize
	t := &tree{
		d: d, r: rng{seed}, root: -1,
		nodes:  make([]node, n),
		parent: make([]int32, n),
		mass:   make([]int32, n),
		box:    make([]float64, n*2*d),
		free:   make([]int32, 0, n),
		keys:   make([]float64, 0, sampleSize),
		leafOf: make([]int32, 0, sampleSize),
		path:   make([]int32, 0, 64),
	}
	for i := n - 1; i >= 0; i-- {
		t.free = append(t.free, int32(i))
	}
	return t
}

func (t *tree) alloc() int32 {
	i := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	return i
}

func (t *tree) release(i int32) { t.free = append(t.free, i) }

func (t *tree) lo(i int32) []float64 {
	o := int(i) * 2 * t.d
	return t.box[o : o+t.d : o+t.d]
}

func (t *tree) hi(i int32) []float64 {
	o := int(i)*2*t.d + t.d
	return t.box[o : o+t.d : o+t.d]
}

func (t *tree) newLeaf(p []float64, parent int32) int32 {
	l := t.alloc()
	t.nodes[l] = node{left: -1, right: -1}
	t.parent[l], t.mass[l] = parent, 1
	copy(t.lo(l), p)
	copy(t.hi(l), p)
	return l
}

func equalPoint(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// insert adds p and returns the leaf that holds it. The walk follows the
// paper's insertion: at each node a cut is drawn uniformly over the box
// of the node's points plus p (dimension chosen proportionally to its
// range); if the cut separates p from the node's box, a new internal node
// with that cut is placed above the node and p becomes its other child;
// otherwise the node's box grows to take p and the walk follows the node's
// own cut.
func (t *tree) insert(p []float64) int32 {
	if t.root < 0 {
		t.root = t.newLeaf(p, -1)
		return t.root
	}
	n := t.root
	for {
		lo, hi := t.lo(n), t.hi(n)
		if t.nodes[n].left < 0 && equalPoint(lo, p) {
			t.mass[n]++
			return n
		}
		// The builtins min and max follow math.Min and math.Max exactly
		// (±0, NaN) and are inlined, where math.Min is a call.
		total := 0.0
		for k, v := range p {
			total += max(hi[k], v) - min(lo[k], v)
		}
		r := t.r.float() * total
		dim, last := -1, -1
		var cut float64
		for k, v := range p {
			a, b := min(lo[k], v), max(hi[k], v)
			ext := b - a
			if ext <= 0 {
				continue
			}
			last = k
			if r < ext {
				dim, cut = k, a+r
				if cut >= b { // rounding
					cut = a
				}
				break
			}
			r -= ext
		}
		if dim < 0 { // rounding pushed r past the end: take the last dimension
			dim = last
			cut = min(lo[dim], p[dim])
		}
		v := p[dim]
		if (v <= cut && cut < lo[dim]) || (hi[dim] <= cut && cut < v) {
			par := t.parent[n]
			m := t.alloc()
			t.nodes[m].cutDim, t.nodes[m].cutVal, t.mass[m], t.parent[m] = int16(dim), cut, t.mass[n]+1, par
			ml, mh := t.lo(m), t.hi(m)
			for k, x := range p {
				ml[k] = min(lo[k], x)
				mh[k] = max(hi[k], x)
			}
			l := t.newLeaf(p, m)
			if v <= cut {
				t.nodes[m].left, t.nodes[m].right = int16(l), int16(n)
			} else {
				t.nodes[m].left, t.nodes[m].right = int16(n), int16(l)
			}
			t.parent[n] = m
			if par < 0 {
				t.root = m
			} else if int32(t.nodes[par].left) == n {
				t.nodes[par].left = int16(m)
			} else {
				t.nodes[par].right = int16(m)
			}
			return l
		}
		// The cut falls inside the node's box: n is internal (a leaf's box
		// is a point, so any cut separates it from a different p).
		t.mass[n]++
		for k, x := range p {
			if x < lo[k] {
				lo[k] = x
			}
			if x > hi[k] {
				hi[k] = x
			}
		}
		if p[t.nodes[n].cutDim] <= t.nodes[n].cutVal {
			n = int32(t.nodes[n].left)
		} else {
			n = int32(t.nodes[n].right)
		}
	}
}

// remove takes one copy of leaf l's point out of the tree: its sibling
// replaces their parent, and the ancestors' masses and boxes shrink.
func (t *tree) remove(l int32) {
	if t.mass[l] > 1 {
		for x := l; x >= 0; x = t.parent[x] {
			t.mass[x]--
		}
		return
	}
	par := t.parent[l]
	t.release(l)
	if par < 0 {
		t.root = -1
		return
	}
	sib := int32(t.nodes[par].left)
	if sib == l {
		sib = int32(t.nodes[par].right)
	}
	g := t.parent[par]
	t.parent[sib] = g
	t.release(par)
	if g < 0 {
		t.root = sib
		return
	}
	if int32(t.nodes[g].left) == par {
		t.nodes[g].left = int16(sib)
	} else {
		t.nodes[g].right = int16(sib)
	}
	for x := g; x >= 0; x = t.parent[x] {
		t.mass[x]--
		lo, hi := t.lo(x), t.hi(x)
		al, ah := t.lo(int32(t.nodes[x].left)), t.hi(int32(t.nodes[x].left))
		bl, bh := t.lo(int32(t.nodes[x].right)), t.hi(int32(t.nodes[x].right))
		for k := range lo {
			lo[k] = min(al[k], bl[k])
			hi[k] = max(ah[k], bh[k])
		}
	}
}

// descend walks from the root to the leaf p would land in, leaving the
// internal nodes passed in t.path (root first), and returns the leaf.
func (t *tree) descend(p []float64) int32 {
	t.path = t.path[:0]
	n := t.root
	for t.nodes[n].left >= 0 {
		t.path = append(t.path, n)
		if p[t.nodes[n].cutDim] <= t.nodes[n].cutVal {
			n = int32(t.nodes[n].left)
		} else {
			n = int32(t.nodes[n].right)
		}
	}
	return n
}

// score is the tree's anomaly score for p (see the package comment). The
// bottom-up recurrence s_i = (1-prob_i)·s_{i+1} + prob_i/(i+1) is unrolled
// into one top-down pass: s_0 = Σ_i W_i·prob_i/(i+1) + W_D·s_leaf with
// W_i = Π_{j<i}(1-prob_j), so each node is visited once.
//
// A child's box lies inside its parent's, so the walk has two phases:
// while p is inside the boxes, prob is 0 and only containment is tested;
// from the first box that does not hold p on, every node has prob > 0.
// Points of 1 to 4 dimensions take specialised copies of the walk
// (score1 … score4 in score.go) that compute exactly the same values.
func (t *tree) score(p []float64, log2 []float64) float64 {
	if t.root < 0 {
		return 0
	}
	switch t.d {
	case 1:
		return t.score1(p, log2)
	case 2:
		return t.score2(p, log2)
	case 3:
		return t.score3(p, log2)
	case 4:
		return t.score4(p, log2)
	}
	nodes, box, d := t.nodes, t.box, t.d
	acc, w := 0.0, 1.0
	n := t.root
	depth := 0
	// Phase 1: p inside the boxes.
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		o := int(n) * 2 * d
		bx := box[o : o+2*d : o+2*d]
		lo, hi := bx[:d:d], bx[d:]
		in := true
		for k, v := range p {
			if v < lo[k] || v > hi[k] {
				in = false
				break
			}
		}
		if !in {
			break
		}
		if p[nd.cutDim] <= nd.cutVal {
			n = int32(nd.left)
		} else {
			n = int32(nd.right)
		}
		depth++
	}
	// Phase 2: p outside the boxes.
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		o := int(n) * 2 * d
		bx := box[o : o+2*d : o+2*d]
		lo, hi := bx[:d:d], bx[d:]
		gap, span := 0.0, 0.0
		for k, v := range p {
			gap, span = gapSpan(v, lo[k], hi[k], gap, span)
		}
		acc, w = step(acc, w, gap, span, depth)
		if p[nd.cutDim] <= nd.cutVal {
			n = int32(nd.left)
		} else {
			n = int32(nd.right)
		}
		depth++
	}
	return t.leafScore(p, n, depth, acc, w, log2)
}

// gapSpan adds to gap how far v lies outside [a, b] and to span the range
// of [a, b] ∪ {v}.
func gapSpan(v, a, b, gap, span float64) (float64, float64) {
	if v < a {
		gap += a - v
		a = v
	} else if v > b {
		gap += v - b
		b = v
	}
	return gap, span + (b - a)
}

// step folds one node at depth into the score's accumulators: prob is the
// chance that a random cut of the node's box extended by p separates p.
func step(acc, w, gap, span float64, depth int) (float64, float64) {
	if gap > 0 {
		prob := gap / span
		acc += w * prob / float64(depth+1)
		w *= 1 - prob
	}
	return acc, w
}

// leafScore finishes the walk at leaf n.
func (t *tree) leafScore(p []float64, n int32, depth int, acc, w float64, log2 []float64) float64 {
	m := t.mass[t.root]
	var s float64
	if equalPoint(t.lo(n), p) {
		lm := float64(t.mass[n])
		s = (1 - lm/(2*float64(m))) / (float64(depth) + log2[t.mass[n]])
	} else {
		s = 1 / float64(depth+1)
	}
	return (acc + w*s) * log2[m]
}

// attribute adds the tree's score for p, split by dimension and side, to
// high and low (len d each) and returns the tree's score.
func (t *tree) attribute(p, high, low, vh, vl []float64) float64 {
	if t.root < 0 {
		return 0
	}
	leaf := t.descend(p)
	depth := len(t.path)
	treeMass := float64(t.mass[t.root])
	q := t.lo(leaf)
	var s float64
	if equalPoint(q, p) {
		m := float64(t.mass[leaf])
		s = (1 - m/(2*treeMass)) / (float64(depth) + math.Log2(m+1))
		e := s / float64(2*t.d)
		for k := range vh {
			vh[k], vl[k] = e, e
		}
	} else {
		s = 1 / float64(depth+1)
		tot := 0.0
		for k, v := range p {
			tot += math.Abs(v - q[k])
		}
		for k, v := range p {
			vh[k], vl[k] = 0, 0
			if v > q[k] {
				vh[k] = s * (v - q[k]) / tot
			} else if v < q[k] {
				vl[k] = s * (q[k] - v) / tot
			}
		}
	}
	for i := depth - 1; i >= 0; i-- {
		n := t.path[i]
		lo, hi := t.lo(n), t.hi(n)
		gap, span := 0.0, 0.0
		for k, v := range p {
			a, b := lo[k], hi[k]
			if v < a {
				gap += a - v
				a = v
			} else if v > b {
				gap += v - b
				b = v
			}
			span += b - a
		}
		if gap > 0 {
			prob := gap / span
			su := 1 / float64(i+1)
			s = (1-prob)*s + prob*su
			f := su / span
			for k, v := range p {
				vh[k] *= 1 - prob
				vl[k] *= 1 - prob
				if v < lo[k] {
					vl[k] += (lo[k] - v) * f
				} else if v > hi[k] {
					vh[k] += (v - hi[k]) * f
				}
			}
		}
	}
	norm := math.Log2(treeMass + 1)
	for k := range vh {
		high[k] += vh[k] * norm
		low[k] += vl[k] * norm
	}
	return s * norm
}

// sample offers p, observed at sequence number seq, to the tree's
// time-decayed reservoir. Its key is log(-log u) - seq/timeDecay, the log
// of the exponential-clock key -log(u)/exp(seq/timeDecay): the sampler
// keeps the sampleSize smallest keys, so each point's chance to stay
// decays by a factor e every timeDecay points (Efraimidis–Spirakis
// weighted reservoir sampling with weights exp(seq/timeDecay)).
//
// When the reservoir is full the test key < keys[0] is made without the
// second logarithm, as -log u < exp(keys[0] + seq/timeDecay) =
// t.topExp·grow, where topExp = exp(keys[0] + base) is kept up to date as
// the heap's top changes and grow = exp(seq/timeDecay - base) is computed
// once per point by the forest (see Forest.sampleBase). The key itself is
// computed only for a point that enters.
func (t *tree) sample(p []float64, seq uint64, lambda, base, grow float64, size int) {
	u := t.r.open()
	if len(t.keys) == size {
		// Most points are turned away. -log u ≥ 1-u, so when 1-u clears
		// the threshold by a margin far above the rounding of Log, the
		// test below would fail too: skip the logarithm.
		if 1-u > t.topExp*grow*(1+1e-9) {
			return
		}
	}
	e := -math.Log(u)
	if len(t.keys) < size {
		l := t.insert(p)
		t.keys = append(t.keys, math.Log(e)-float64(seq)*lambda)
		t.leafOf = append(t.leafOf, l)
		t.siftUp(len(t.keys) - 1)
		t.topExp = math.Exp(t.keys[0] + base)
		return
	}
	if !(e < t.topExp*grow) {
		return
	}
	t.remove(t.leafOf[0])
	t.keys[0] = math.Log(e) - float64(seq)*lambda
	t.leafOf[0] = t.insert(p)
	t.siftDown(0)
	t.topExp = math.Exp(t.keys[0] + base)
}

// rebase recomputes topExp for a new base.
func (t *tree) rebase(base float64) {
	t.topExp = 0
	if len(t.keys) > 0 {
		t.topExp = math.Exp(t.keys[0] + base)
	}
}

func (t *tree) siftUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if t.keys[p] >= t.keys[i] {
			return
		}
		t.keys[p], t.keys[i] = t.keys[i], t.keys[p]
		t.leafOf[p], t.leafOf[i] = t.leafOf[i], t.leafOf[p]
		i = p
	}
}

func (t *tree) siftDown(i int) {
	n := len(t.keys)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && t.keys[c+1] > t.keys[c] {
			c++
		}
		if t.keys[i] >= t.keys[c] {
			return
		}
		t.keys[c], t.keys[i] = t.keys[i], t.keys[c]
		t.leafOf[c], t.leafOf[i] = t.leafOf[i], t.leafOf[c]
		i = c
	}
}
