package delivery

import "testing"

func TestRecordIDsAreDistinctAcrossAndWithinCalls(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		ids := recordIDs(500)
		if len(ids) != 500 {
			t.Fatalf("%d ids", len(ids))
		}
		for i, id := range ids {
			if len(id) != 56 || seen[id] {
				t.Fatalf("id %d %q: length %d, seen before %v", i, id, len(id), seen[id])
			}
			seen[id] = true
		}
		if ids[0][:48] != ids[499][:48] || ids[499][48:] != "000001f3" {
			t.Fatalf("ids of one call: %s … %s", ids[0], ids[499])
		}
	}
}
