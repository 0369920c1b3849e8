package window

import (
	"math/rand"
	"testing"
)

func TestIntMapAgreesWithAGoMap(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	m, ref := newIntMap(), map[int64]int32{}
	for step := 0; step < 200_000; step++ {
		k := int64(rnd.Intn(3000)) - 1500
		switch rnd.Intn(3) {
		case 0, 1:
			v := int32(rnd.Intn(1 << 20))
			m.put(k, v)
			ref[k] = v
		case 2:
			m.del(k)
			delete(ref, k)
		}
		if step%1000 == 0 {
			for q := int64(-1500); q < 1500; q++ {
				got, ok := m.get(q)
				want, wok := ref[q]
				if ok != wok || got != want {
					t.Fatalf("step %d key %d: got %d,%v want %d,%v", step, q, got, ok, want, wok)
				}
			}
		}
	}
	if m.n != len(ref) {
		t.Fatalf("size %d, want %d", m.n, len(ref))
	}
}
