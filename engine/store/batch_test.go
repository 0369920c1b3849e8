package store

import "testing"

func TestBatchEncodingRoundTrips(t *testing.T) {
	recs := []PutRecordInput{{PartitionKey: "a", Data: []byte("one")}, {PartitionKey: "ключ", Data: nil}, {PartitionKey: "c", Data: make([]byte, 300)}}
	idx := []int{0, 1, 2}
	buf := encodeBatch(make([]byte, 0, exactBatchSize(recs, idx)), 1234, recs, idx)
	if len(buf) != exactBatchSize(recs, idx) {
		t.Fatalf("encoded %d bytes, exactBatchSize says %d", len(buf), exactBatchSize(recs, idx))
	}
	br, err := newBatchReader(buf)
	if err != nil || br.arrivalMs != 1234 || br.count != 3 {
		t.Fatalf("header: %+v %v", br, err)
	}
	for i := range recs {
		k, d, ok, err := br.next()
		if !ok || err != nil || k != recs[i].PartitionKey || string(d) != string(recs[i].Data) {
			t.Fatalf("record %d: %q %q %v %v", i, k, d, ok, err)
		}
	}
	if _, _, ok, _ := br.next(); ok {
		t.Fatal("read past the end")
	}
}

// FuzzBatchReader feeds arbitrary bytes to the record-value decoder: it must
// report corruption, never panic or read out of bounds.
func FuzzBatchReader(f *testing.F) {
	recs := []PutRecordInput{{PartitionKey: "k", Data: []byte("data")}}
	f.Add(encodeBatch(nil, 1, recs, []int{0}))
	f.Add([]byte{batchVersion, 0, 0, 0, 0, 0, 0, 0, 1, 5, 200})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		br, err := newBatchReader(b)
		if err != nil {
			return
		}
		for i := 0; i < 1<<16; i++ {
			_, _, ok, err := br.next()
			if !ok || err != nil {
				return
			}
		}
	})
}
