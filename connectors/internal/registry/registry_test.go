package registry

import (
	"strings"
	"testing"
)

func TestKinds(t *testing.T) {
	var r Kinds[int]
	if err := r.Add("thing", "b", 2); err != nil {
		t.Fatal(err)
	}
	if err := r.Add("thing", "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Add("thing", "a", 3); err == nil || !strings.Contains(err.Error(), `register thing "a": already registered`) {
		t.Fatalf("a second a: %v", err)
	}
	if v, ok := r.Lookup("a"); !ok || v != 1 {
		t.Fatalf("lookup a: %v %v", v, ok)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Fatal("c found")
	}
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Fatalf("names %s", got)
	}
}
