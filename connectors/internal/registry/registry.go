// Package registry is the table of kinds behind delivery's destination
// connectors and source's source connectors: values registered once by
// kind, looked up by kind, listed sorted. Safe for concurrent use.
package registry

import (
	"fmt"
	"sort"
	"sync"
)

// Kinds maps kind names to values of type V. The zero value is ready.
type Kinds[V any] struct {
	mu    sync.RWMutex
	kinds map[string]V
}

// Add registers v under kind; what names the registry in errors
// ("connector", "source").
func (r *Kinds[V]) Add(what, kind string, v V) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.kinds[kind]; ok {
		return fmt.Errorf("register %s %q: already registered", what, kind)
	}
	if r.kinds == nil {
		r.kinds = map[string]V{}
	}
	r.kinds[kind] = v
	return nil
}

// Lookup finds a kind.
func (r *Kinds[V]) Lookup(kind string) (V, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.kinds[kind]
	return v, ok
}

// Names lists the registered kinds, sorted.
func (r *Kinds[V]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
