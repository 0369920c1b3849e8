package anomaly

// Specialised copies of tree.score for points of 1 to 4 dimensions. Each
// is the generic walk with the dimension loop unrolled, the point held in
// locals and one bounds check per box, and computes exactly the same
// floating-point operations in the same order. Keep them in step with
// tree.score.

func (t *tree) score1(p []float64, log2 []float64) float64 {
	nodes, box := t.nodes, t.box
	q0 := p[0]
	n, depth := t.root, 0
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
	nodes, box := t.nodes, t.box
	var q [2]float64
	copy(q[:], p)
	q0, q1 := q[0], q[1]
	n, depth := t.root, 0
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
	nodes, box := t.nodes, t.box
	var q [4]float64
	copy(q[:], p)
	q0, q1, q2 := q[0], q[1], q[2]
	n, depth := t.root, 0
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
	nodes, box := t.nodes, t.box
	var q [4]float64
	copy(q[:], p)
	q0, q1, q2, q3 := q[0], q[1], q[2], q[3]
	n, depth := t.root, 0
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
