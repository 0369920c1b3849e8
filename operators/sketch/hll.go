package sketch

import (
	"math"
	"math/bits"
)

// hllP is the HyperLogLog precision: 2^14 registers, a relative standard
// error of about 1.04/sqrt(2^14) = 0.81%.
const hllP = 14

// hll is a HyperLogLog sketch (Flajolet et al. 2007) over 64-bit hashes,
// estimated with Ertl's improved estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017), which needs neither the
// linear-counting switch nor empirical bias tables.
type hll struct {
	Reg []uint8
}

func newHLL() hll { return hll{Reg: make([]uint8, 1<<hllP)} }

func (h *hll) add(x uint64) {
	const q = 64 - hllP
	i := x >> q
	rest := x << hllP
	r := uint8(q + 1)
	if rest != 0 {
		r = uint8(bits.LeadingZeros64(rest) + 1)
	}
	if r > h.Reg[i] {
		h.Reg[i] = r
	}
}

func (h *hll) estimate() float64 {
	const q = 64 - hllP
	m := float64(len(h.Reg))
	var c [q + 2]float64
	for _, r := range h.Reg {
		c[r]++
	}
	z := m * hllTau(1-c[q+1]/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + c[k])
	}
	z += m * hllSigma(c[0]/m)
	return m * m / (2 * math.Ln2) / z
}

// hllSigma is x + sum_{k>=1} x^(2^k) 2^(k-1).
func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

// hllTau is (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3.
func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}
