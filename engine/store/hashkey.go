package store

import (
	"crypto/md5"
	"encoding/binary"
	"math/big"
	"math/bits"
	"strconv"
)

// u128 is an unsigned 128-bit integer: a point of the hash-key space, or a
// sequence number.
type u128 struct{ hi, lo uint64 }

var maxU128 = u128{^uint64(0), ^uint64(0)}

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) add64(n uint64) u128 {
	lo, carry := bits.Add64(a.lo, n, 0)
	return u128{a.hi + carry, lo}
}

func (a u128) sub64(n uint64) u128 {
	lo, borrow := bits.Sub64(a.lo, n, 0)
	return u128{a.hi - borrow, lo}
}

func (a u128) sub(b u128) u128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	return u128{a.hi - b.hi - borrow, lo}
}

func (a u128) add(b u128) u128 {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	return u128{a.hi + b.hi + carry, lo}
}

// rsh1 halves a.
func (a u128) rsh1() u128 { return u128{a.hi >> 1, a.lo>>1 | a.hi<<63} }

// divSmall divides a by a small n.
func (a u128) divSmall(n uint64) u128 {
	qhi, r := bits.Div64(0, a.hi, n)
	qlo, _ := bits.Div64(r, a.lo, n)
	return u128{qhi, qlo}
}

func (a u128) mulSmall(n uint64) u128 {
	hi, lo := bits.Mul64(a.lo, n)
	return u128{a.hi*n + hi, lo}
}

const pow10_19 = 10000000000000000000

// divmod divides a by d, returning the quotient and remainder.
func (a u128) divmod(d uint64) (u128, uint64) {
	qhi, r := a.hi/d, a.hi%d
	qlo, r := bits.Div64(r, a.lo, d)
	return u128{qhi, qlo}, r
}

func (a u128) isZero() bool { return a.hi == 0 && a.lo == 0 }

// String writes a in decimal without going through math/big: it runs for
// every record GetRecords returns.
func (a u128) String() string {
	if a.hi == 0 {
		return strconv.FormatUint(a.lo, 10)
	}
	var chunks [3]uint64 // least significant first; 2^128 has 39 digits
	n := 0
	for !a.isZero() {
		a, chunks[n] = a.divmod(pow10_19)
		n++
	}
	buf := make([]byte, 0, 40)
	buf = strconv.AppendUint(buf, chunks[n-1], 10)
	for i := n - 2; i >= 0; i-- {
		var tmp [20]byte
		s := strconv.AppendUint(tmp[:0], chunks[i], 10)
		for j := len(s); j < 19; j++ {
			buf = append(buf, '0')
		}
		buf = append(buf, s...)
	}
	return string(buf)
}

var two128 = new(big.Int).Lsh(big.NewInt(1), 128)

// parseU128 reads a decimal in [0, 2^128-1]. ok is false for anything else.
func parseU128(s string) (u128, bool) {
	if s == "" || len(s) > 39 {
		return u128{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return u128{}, false
		}
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 || n.Cmp(two128) >= 0 {
		return u128{}, false
	}
	var b [16]byte
	n.FillBytes(b[:])
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, true
}

// hashPartitionKey is MD5(utf8(key)) read as a big-endian unsigned integer.
func hashPartitionKey(key string) u128 {
	sum := md5.Sum([]byte(key))
	return u128{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// uniformRanges splits the whole hash-key space into n contiguous ranges of
// floor(2^128/n) keys; the last range ends at 2^128-1.
func uniformRanges(n int) [][2]u128 {
	// width = floor(2^128 / n) = floor((2^128-1)/n) unless n divides 2^128,
	// i.e. n is a power of two; handle both through (2^128-1)/n and a fix-up.
	width := maxU128.divSmall(uint64(n))
	if rem := maxU128.sub(width.mulSmall(uint64(n))); rem.cmp(u128{0, uint64(n) - 1}) == 0 {
		width = width.add64(1) // n divides 2^128 exactly
	}
	out := make([][2]u128, n)
	start := u128{}
	for i := 0; i < n; i++ {
		end := start.add(width).sub64(1)
		if i == n-1 {
			end = maxU128
		}
		out[i] = [2]u128{start, end}
		start = end.add64(1)
	}
	return out
}
