package store

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

func toBig(a u128) *big.Int {
	n := new(big.Int).SetUint64(a.hi)
	n.Lsh(n, 64)
	return n.Or(n, new(big.Int).SetUint64(a.lo))
}

func TestU128DecimalRoundTripsAgainstMathBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []u128{{}, {0, 1}, {0, ^uint64(0)}, {1, 0}, maxU128, {pow10_19 % 7, pow10_19}}
	for i := 0; i < 2000; i++ {
		cases = append(cases, u128{r.Uint64() >> r.UintN(64), r.Uint64()})
	}
	for _, c := range cases {
		want := toBig(c).String()
		if got := c.String(); got != want {
			t.Fatalf("String(%v) = %s, want %s", c, got, want)
		}
		back, ok := parseU128(want)
		if !ok || back != c {
			t.Fatalf("parseU128(%s) = %v %v, want %v", want, back, ok, c)
		}
	}
}

func TestParseU128RejectsOutOfRange(t *testing.T) {
	for _, s := range []string{"", "-1", "1e5", "340282366920938463463374607431768211456", "12a", " 1"} {
		if _, ok := parseU128(s); ok {
			t.Errorf("parseU128(%q) accepted", s)
		}
	}
	if v, ok := parseU128("340282366920938463463374607431768211455"); !ok || v != maxU128 {
		t.Errorf("2^128-1 not parsed: %v %v", v, ok)
	}
}

func TestUniformRangesCoverTheWholeSpace(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 100} {
		rs := uniformRanges(n)
		width := new(big.Int).Div(two128, big.NewInt(int64(n)))
		if rs[0][0] != (u128{}) || rs[n-1][1] != maxU128 {
			t.Fatalf("n=%d: ranges do not span the space", n)
		}
		for i, r := range rs {
			if i > 0 && rs[i-1][1].add64(1) != r[0] {
				t.Fatalf("n=%d: gap before range %d", n, i)
			}
			if i < n-1 {
				got := new(big.Int).Sub(toBig(r[1]), toBig(r[0]))
				got.Add(got, big.NewInt(1))
				if got.Cmp(width) != 0 {
					t.Fatalf("n=%d range %d width %s, want %s", n, i, got, width)
				}
			}
		}
	}
}

func TestHashPartitionKeyMatchesKinesis(t *testing.T) {
	// MD5("a") = 0cc175b9c0f1b6a831c399e269772661
	got := hashPartitionKey("a").String()
	want, _ := new(big.Int).SetString("0cc175b9c0f1b6a831c399e269772661", 16)
	if got != want.String() {
		t.Fatalf("hash(a) = %s, want %s", got, want)
	}
}
