package anomaly

// Specialised copies of tree.score for points of 1 to 4 dimensions. Each
// is the generic walk with the dimension loop unrolled, the point held in
// locals and one bounds check per box, and computes exactly the same
// floating-point operations in the same order. Keep them in step with
// tree.score. (The four copies differ only in the dimension.)

// pair sets a and b to ta.score(p, log2) and tb.score(p, log2) for points
// of 1 to 4 dimensions and two non-empty trees.
func pair(ta, tb *tree, p []float64, log2 []float64) (a, b float64) {
	switch ta.d {
	case 1:
		return pair1(ta, tb, p, log2)
	case 2:
		return pair2(ta, tb, p, log2)
	case 3:
		return pair3(ta, tb, p, log2)
	}
	return pair4(ta, tb, p, log2)
}

func (t *tree) score1(p []float64, log2 []float64) float64 {
	return t.score1from(p, t.root, 0, log2)
}

// pair1 is score1 for two trees at once: their first phases are walked
// in lockstep, so that the two chains of node loads overlap.
func pair1(ta, tb *tree, p []float64, log2 []float64) (float64, float64) {
	q0 := p[0]
	na, nb := ta.root, tb.root
	depth := 0
	for {
		ndA, ndB := &ta.nodes[na], &tb.nodes[nb]
		if ndA.left < 0 || ndB.left < 0 {
			break
		}
		a := (*[2]float64)(ta.box[int(na)*2:])
		b := (*[2]float64)(tb.box[int(nb)*2:])
		if q0 < a[0] || q0 > a[1] {
			break
		}
		if q0 < b[0] || q0 > b[1] {
			break
		}
		na = int32(ndA.right)
		if q0 <= ndA.cutVal {
			na = int32(ndA.left)
		}
		nb = int32(ndB.right)
		if q0 <= ndB.cutVal {
			nb = int32(ndB.left)
		}
		depth++
	}
	return ta.score1from(p, na, depth, log2), tb.score1from(p, nb, depth, log2)
}

// score1from continues the walk of score1 at node n, depth deep, in
// its first phase.
func (t *tree) score1from(p []float64, n int32, depth int, log2 []float64) float64 {
	nodes, box := t.nodes, t.box
	q0 := p[0]
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[2]float64)(box[int(n)*2:])
		if q0 < b[0] || q0 > b[1] {
			break
		}
		n = int32(nd.right)
		if q0 <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	acc, w := 0.0, 1.0
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[2]float64)(box[int(n)*2:])
		gap, span := gapSpan(q0, b[0], b[1], 0, 0)
		acc, w = step(acc, w, gap, span, depth)
		n = int32(nd.right)
		if q0 <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	return t.leafScore(p, n, depth, acc, w, log2)
}

func (t *tree) score2(p []float64, log2 []float64) float64 {
	return t.score2from(p, t.root, 0, log2)
}

// pair2 is score2 for two trees at once: their first phases are walked
// in lockstep, so that the two chains of node loads overlap.
func pair2(ta, tb *tree, p []float64, log2 []float64) (float64, float64) {
	var q [2]float64
	copy(q[:], p)
	q0, q1 := q[0], q[1]
	na, nb := ta.root, tb.root
	depth := 0
	for {
		ndA, ndB := &ta.nodes[na], &tb.nodes[nb]
		if ndA.left < 0 || ndB.left < 0 {
			break
		}
		a := (*[4]float64)(ta.box[int(na)*4:])
		b := (*[4]float64)(tb.box[int(nb)*4:])
		if q0 < a[0] || q0 > a[2] || q1 < a[1] || q1 > a[3] {
			break
		}
		if q0 < b[0] || q0 > b[2] || q1 < b[1] || q1 > b[3] {
			break
		}
		na = int32(ndA.right)
		if q[ndA.cutDim&1] <= ndA.cutVal {
			na = int32(ndA.left)
		}
		nb = int32(ndB.right)
		if q[ndB.cutDim&1] <= ndB.cutVal {
			nb = int32(ndB.left)
		}
		depth++
	}
	return ta.score2from(p, na, depth, log2), tb.score2from(p, nb, depth, log2)
}

// score2from continues the walk of score2 at node n, depth deep, in
// its first phase.
func (t *tree) score2from(p []float64, n int32, depth int, log2 []float64) float64 {
	nodes, box := t.nodes, t.box
	var q [2]float64
	copy(q[:], p)
	q0, q1 := q[0], q[1]
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[4]float64)(box[int(n)*4:])
		if q0 < b[0] || q0 > b[2] || q1 < b[1] || q1 > b[3] {
			break
		}
		n = int32(nd.right)
		if q[nd.cutDim&1] <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	acc, w := 0.0, 1.0
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[4]float64)(box[int(n)*4:])
		gap, span := gapSpan(q0, b[0], b[2], 0, 0)
		gap, span = gapSpan(q1, b[1], b[3], gap, span)
		acc, w = step(acc, w, gap, span, depth)
		n = int32(nd.right)
		if q[nd.cutDim&1] <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	return t.leafScore(p, n, depth, acc, w, log2)
}

func (t *tree) score3(p []float64, log2 []float64) float64 {
	return t.score3from(p, t.root, 0, log2)
}

// pair3 is score3 for two trees at once: their first phases are walked
// in lockstep, so that the two chains of node loads overlap.
func pair3(ta, tb *tree, p []float64, log2 []float64) (float64, float64) {
	var q [4]float64
	copy(q[:], p)
	q0, q1, q2 := q[0], q[1], q[2]
	na, nb := ta.root, tb.root
	depth := 0
	for {
		ndA, ndB := &ta.nodes[na], &tb.nodes[nb]
		if ndA.left < 0 || ndB.left < 0 {
			break
		}
		a := (*[6]float64)(ta.box[int(na)*6:])
		b := (*[6]float64)(tb.box[int(nb)*6:])
		if q0 < a[0] || q0 > a[3] || q1 < a[1] || q1 > a[4] || q2 < a[2] || q2 > a[5] {
			break
		}
		if q0 < b[0] || q0 > b[3] || q1 < b[1] || q1 > b[4] || q2 < b[2] || q2 > b[5] {
			break
		}
		na = int32(ndA.right)
		if q[ndA.cutDim&3] <= ndA.cutVal {
			na = int32(ndA.left)
		}
		nb = int32(ndB.right)
		if q[ndB.cutDim&3] <= ndB.cutVal {
			nb = int32(ndB.left)
		}
		depth++
	}
	return ta.score3from(p, na, depth, log2), tb.score3from(p, nb, depth, log2)
}

// score3from continues the walk of score3 at node n, depth deep, in
// its first phase.
func (t *tree) score3from(p []float64, n int32, depth int, log2 []float64) float64 {
	nodes, box := t.nodes, t.box
	var q [4]float64
	copy(q[:], p)
	q0, q1, q2 := q[0], q[1], q[2]
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[6]float64)(box[int(n)*6:])
		if q0 < b[0] || q0 > b[3] || q1 < b[1] || q1 > b[4] || q2 < b[2] || q2 > b[5] {
			break
		}
		n = int32(nd.right)
		if q[nd.cutDim&3] <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	acc, w := 0.0, 1.0
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[6]float64)(box[int(n)*6:])
		gap, span := gapSpan(q0, b[0], b[3], 0, 0)
		gap, span = gapSpan(q1, b[1], b[4], gap, span)
		gap, span = gapSpan(q2, b[2], b[5], gap, span)
		acc, w = step(acc, w, gap, span, depth)
		n = int32(nd.right)
		if q[nd.cutDim&3] <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	return t.leafScore(p, n, depth, acc, w, log2)
}

func (t *tree) score4(p []float64, log2 []float64) float64 {
	return t.score4from(p, t.root, 0, log2)
}

// pair4 is score4 for two trees at once: their first phases are walked
// in lockstep, so that the two chains of node loads overlap.
func pair4(ta, tb *tree, p []float64, log2 []float64) (float64, float64) {
	var q [4]float64
	copy(q[:], p)
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	na, nb := ta.root, tb.root
	depth := 0
	for {
		ndA, ndB := &ta.nodes[na], &tb.nodes[nb]
		if ndA.left < 0 || ndB.left < 0 {
			break
		}
		a := (*[8]float64)(ta.box[int(na)*8:])
		b := (*[8]float64)(tb.box[int(nb)*8:])
		if q0 < a[0] || q0 > a[4] || q1 < a[1] || q1 > a[5] || q2 < a[2] || q2 > a[6] || q3 < a[3] || q3 > a[7] {
			break
		}
		if q0 < b[0] || q0 > b[4] || q1 < b[1] || q1 > b[5] || q2 < b[2] || q2 > b[6] || q3 < b[3] || q3 > b[7] {
			break
		}
		na = int32(ndA.right)
		if q[ndA.cutDim&3] <= ndA.cutVal {
			na = int32(ndA.left)
		}
		nb = int32(ndB.right)
		if q[ndB.cutDim&3] <= ndB.cutVal {
			nb = int32(ndB.left)
		}
		depth++
	}
	return ta.score4from(p, na, depth, log2), tb.score4from(p, nb, depth, log2)
}

// score4from continues the walk of score4 at node n, depth deep, in
// its first phase.
func (t *tree) score4from(p []float64, n int32, depth int, log2 []float64) float64 {
	nodes, box := t.nodes, t.box
	var q [4]float64
	copy(q[:], p)
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[8]float64)(box[int(n)*8:])
		if q0 < b[0] || q0 > b[4] || q1 < b[1] || q1 > b[5] || q2 < b[2] || q2 > b[6] || q3 < b[3] || q3 > b[7] {
			break
		}
		n = int32(nd.right)
		if q[nd.cutDim&3] <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	acc, w := 0.0, 1.0
	for {
		nd := &nodes[n]
		if nd.left < 0 {
			break
		}
		b := (*[8]float64)(box[int(n)*8:])
		gap, span := gapSpan(q0, b[0], b[4], 0, 0)
		gap, span = gapSpan(q1, b[1], b[5], gap, span)
		gap, span = gapSpan(q2, b[2], b[6], gap, span)
		gap, span = gapSpan(q3, b[3], b[7], gap, span)
		acc, w = step(acc, w, gap, span, depth)
		n = int32(nd.right)
		if q[nd.cutDim&3] <= nd.cutVal {
			n = int32(nd.left)
		}
		depth++
	}
	return t.leafScore(p, n, depth, acc, w, log2)
}
