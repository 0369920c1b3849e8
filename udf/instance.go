package udf

import (
	"context"
	"sync"
	"time"
)

// Instance is one runtime of a pool's script pinned to one owner, for code
// whose JavaScript state must live from one call to the next (the
// per-group states of an aggregate). Pool.Do lends any idle runtime; an
// Instance always runs its calls in the same runtime, under the pool's
// limits and watchdog, until a call is interrupted: then, as with Do, the
// runtime is thrown away, and the next call starts in a fresh runtime with
// the script loaded again — and every JavaScript value the owner kept in
// the old one is gone. Do's fresh argument tells the owner so.
//
// An Instance is meant for one goroutine; a mutex keeps concurrent calls
// from sharing the runtime anyway. It never returns its runtime to the
// pool's idle list.
type Instance struct {
	p  *Pool
	mu sync.Mutex
	rt *Runtime
}

// Pin returns an Instance of the pool's script. Its runtime is made at its
// first call.
func (p *Pool) Pin() *Instance { return &Instance{p: p} }

// Do runs f in the instance's runtime under the pool's limits. fresh is
// true when the runtime was made for this call (the first call, or the
// first after an interruption or Reset). Errors are as Pool.Do's: a
// *ScriptError for an uncaught exception, an *InterruptedError for a call
// stopped by its limits or ctx, after which the runtime is discarded.
func (in *Instance) Do(ctx context.Context, f func(rt *Runtime, fresh bool) error) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := in.p
	fresh := in.rt == nil
	c := &call{rt: in.rt, deadline: time.Now().Add(p.opts.Limits.Timeout), ctx: ctx}
	p.begin(c)
	err := p.run(c, func(rt *Runtime) error { return f(rt, fresh) })
	stopped := p.end(c)
	in.rt = c.rt // nil when the runtime was discarded
	if stopped != nil {
		return p.interrupted(stopped, err)
	}
	return p.scriptError(err)
}

// Reset throws the runtime away: the next call starts afresh. Owners call
// it when a call failed halfway and the JavaScript state can no longer be
// trusted.
func (in *Instance) Reset() {
	in.mu.Lock()
	in.rt = nil
	in.mu.Unlock()
}
