package window

// intMap maps int64 keys to group ids with open addressing and linear
// probing: about three times faster than a Go map for the one-integer-key
// GROUP BY, the common case. Deletion shifts the following entries back, so
// there are no tombstones.
type intMap struct {
	keys []int64
	vals []int32 // -1: empty slot
	n    int
	mask uint64
}

func newIntMap() *intMap {
	m := &intMap{}
	m.init(64)
	return m
}

func (m *intMap) init(size int) {
	m.keys = make([]int64, size)
	m.vals = make([]int32, size)
	for i := range m.vals {
		m.vals[i] = -1
	}
	m.mask = uint64(size - 1)
	m.n = 0
}

func hash64(k int64) uint64 {
	x := uint64(k) * 0x9E3779B97F4A7C15
	return x ^ (x >> 32)
}

func (m *intMap) get(k int64) (int32, bool) {
	for i := hash64(k) & m.mask; ; i = (i + 1) & m.mask {
		v := m.vals[i]
		if v < 0 {
			return 0, false
		}
		if m.keys[i] == k {
			return v, true
		}
	}
}

func (m *intMap) put(k int64, v int32) {
	if 2*(m.n+1) > len(m.keys) {
		old, oldV := m.keys, m.vals
		m.init(2 * len(old))
		for i, ov := range oldV {
			if ov >= 0 {
				m.put(old[i], ov)
			}
		}
	}
	for i := hash64(k) & m.mask; ; i = (i + 1) & m.mask {
		if m.vals[i] < 0 {
			m.keys[i], m.vals[i] = k, v
			m.n++
			return
		}
		if m.keys[i] == k {
			m.vals[i] = v
			return
		}
	}
}

func (m *intMap) del(k int64) {
	i := hash64(k) & m.mask
	for {
		if m.vals[i] < 0 {
			return
		}
		if m.keys[i] == k {
			break
		}
		i = (i + 1) & m.mask
	}
	m.n--
	for j := (i + 1) & m.mask; m.vals[j] >= 0; j = (j + 1) & m.mask {
		home := hash64(m.keys[j]) & m.mask
		// Entry j may move back to i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			m.keys[i], m.vals[i] = m.keys[j], m.vals[j]
			i = j
		}
	}
	m.vals[i] = -1
}

func (m *intMap) clear() {
	if m.n == 0 {
		return
	}
	for i := range m.vals {
		m.vals[i] = -1
	}
	m.n = 0
}
