package window

import (
	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
)

// slideUser is a user aggregate OVER a sliding window. Each partition keeps
// the aggregate's argument values in rings laid out like spart.times
// (spart.uv); a row whose accumulate threw is marked NULL there, so it is
// neither retracted nor accumulated again.
type slideUser struct {
	*userOps
	k       int   // the plan's index
	args    []vec // the batch's argument values
	retract bool  // incremental (retract) or recompute each window
}

func newSlideUser(k int, p aggPlan) (*slideUser, error) {
	u, err := newUserOps(p.user)
	if err != nil {
		return nil, err
	}
	return &slideUser{userOps: u, k: k, args: make([]vec, len(p.uargs)), retract: p.user.CanRetract()}, nil
}

// newRings gives partition p its argument rings, of p.times's size.
func (u *slideUser) newRings(p *spart) {
	vs := make([]vec, len(u.args))
	for a := range vs {
		ph, _ := physOf(u.params[a])
		vs[a] = vec{p: ph}
		vs[a].resize(len(p.times))
	}
	p.uv[u.k] = vs
}

// alloc starts partition g afresh.
func (u *slideUser) alloc(g int32) {
	if u.retract {
		u.queue(UserClear, g, 0, -1, nil, 0)
	}
}

// evict retracts the oldest row of partition g (at ring position pos).
func (u *slideUser) evict(g int32, p *spart, pos int, seq int64) {
	if u.retract && !p.ulost[u.k] && argsOK(p.uv[u.k], pos) {
		u.queue(UserRetract, g, seq, -1, p.uv[u.k], pos)
	}
}

// add stores batch row i, just placed at ring position pos as sequence
// seq, accumulates it and queues the row's result into out.
func (u *slideUser) add(g int32, p *spart, pos int, seq int64, i int, now int64, out *vec) {
	vs := p.uv[u.k]
	for a := range vs {
		vs[a].set(pos, &u.args[a], i)
	}
	mask := len(p.times) - 1
	if !u.retract {
		u.queue(UserClear, UserScratch, 0, -1, nil, 0)
		for s := p.head; s <= seq; s++ {
			if at := int(s) & mask; argsOK(vs, at) {
				u.queue(UserAccumulate, UserScratch, s, int32(i), vs, at)
			}
		}
		u.result(out, UserScratch, now, int32(i))
		return
	}
	if p.ulost[u.k] {
		// The state went with an interrupted call: rebuild it from the
		// rows still in the window.
		u.queue(UserClear, g, 0, -1, nil, 0)
		for s := p.head; s < seq; s++ {
			if at := int(s) & mask; argsOK(vs, at) {
				u.queue(UserAccumulate, g, s, -1, vs, at)
			}
		}
		p.ulost[u.k] = false
	}
	if argsOK(vs, pos) {
		u.queue(UserAccumulate, g, seq, int32(i), vs, pos)
	}
	u.result(out, g, now, int32(i))
}

// finish runs the queue. A row whose accumulate threw is marked so that it
// is not retracted later; when the states were lost, every partition
// rebuilds its state at its next row.
func (u *slideUser) finish(ctx *operators.Context, rec arrow.Record, rt []int64, now int64, parts []*spart) {
	var failed [][2]int64
	lost := u.runKeep(ctx, rec, rt, now, func(b *UserBatch) {
		if !u.retract {
			return
		}
		for _, e := range b.Errors {
			if b.Ops[e.Op] == UserAccumulate && b.Groups[e.Op] >= 0 {
				failed = append(failed, [2]int64{int64(b.Groups[e.Op]), b.Tags[e.Op]})
			}
		}
	})
	for _, f := range failed {
		p := parts[f[0]]
		if p == nil || f[1] < p.head || f[1] >= p.head+int64(p.n) {
			continue
		}
		pos := int(f[1]) & (len(p.times) - 1)
		p.uv[u.k][0].ok[pos] = false
	}
	if lost && u.retract {
		for _, p := range parts {
			if p != nil {
				p.ulost[u.k] = true
			}
		}
	}
}

// runKeep is run, with a look at the batch's errors before it is reset.
func (u *userOps) runKeep(ctx *operators.Context, rec arrow.Record, rt []int64, now int64, look func(*UserBatch)) bool {
	u.look = look
	defer func() { u.look = nil }()
	return u.run(ctx, rec, rt, now)
}

// saveSlide writes partition p's rings and lost flag for u.
func (u *slideUser) savePart(w *wbuf, p *spart) {
	mask := len(p.times) - 1
	for a := range p.uv[u.k] {
		live := vec{p: p.uv[u.k][a].p}
		for seq := p.head; seq < p.head+int64(p.n); seq++ {
			live.appendFrom(&p.uv[u.k][a], int(seq)&mask)
		}
		w.vec(&live)
	}
	w.bool(p.ulost[u.k])
}

// loadPart reads what savePart wrote into p, whose times ring is sized.
func (u *slideUser) loadPart(r *rbuf, p *spart) {
	u.newRings(p)
	mask := len(p.times) - 1
	for a := range p.uv[u.k] {
		var live vec
		r.vec(&live)
		if live.p != p.uv[u.k][a].p || live.len() != p.n {
			r.fail("user aggregate window values")
			return
		}
		for x := 0; x < p.n; x++ {
			p.uv[u.k][a].set(int(p.head+int64(x))&mask, &live, x)
		}
	}
	p.ulost[u.k] = r.bool()
}

// growRings re-lays p's rings for user aggregates into the new size.
func growUserRings(users []*slideUser, p *spart, size int) {
	old := len(p.times)
	for _, u := range users {
		vs := make([]vec, len(p.uv[u.k]))
		for a := range vs {
			vs[a] = vec{p: p.uv[u.k][a].p}
			vs[a].resize(size)
			for seq := p.head; seq < p.head+int64(p.n); seq++ {
				vs[a].set(int(seq)&(size-1), &p.uv[u.k][a], int(seq)&(old-1))
			}
		}
		p.uv[u.k] = vs
	}
}
