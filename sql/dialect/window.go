package dialect

import (
	"math"
	"strconv"
	"time"
)

// overSpec reads what follows OVER at index over: a window name or an
// inline "(spec)". It returns the window's key in Query.Windows and the
// index after the spec. join is true for "JOIN s OVER ...", where FOLLOWING
// is allowed and PARTITION BY is not.
func (r *rewriter) overSpec(over, hi int, join bool) (string, int, error) {
	b := r.cur()
	if b == nil {
		return "", 0, r.errAt(over, "OVER is allowed only inside a SELECT")
	}
	t := r.peek(over+1, hi)
	var key string
	var next int
	switch {
	case t.isOp("("):
		m := r.match[over+1]
		spec, err := r.windowSpec(over+1, m)
		if err != nil {
			return "", 0, err
		}
		r.inline++
		key = "$" + strconv.Itoa(r.inline)
		for r.q.Windows[key] != nil {
			r.inline++
			key = "$" + strconv.Itoa(r.inline)
		}
		r.q.Windows[key] = spec
		next = m + 1
	case t.isIdent():
		k, ok := b.names[t.val]
		if !ok {
			return "", 0, r.errAt(over+1, "unknown window %s: define it with WINDOW %s AS (...) after the FROM/WHERE/GROUP BY clauses", t.val, t.val)
		}
		key, next = k, over+2
	default:
		return "", 0, r.errAt(over+1, "expected a window name or (PARTITION BY ... RANGE ...) after OVER, found %s", describe(t))
	}
	spec := r.q.Windows[key]
	if join && len(spec.PartitionBy) > 0 {
		return "", 0, r.errAt(over+1, "a join window cannot be partitioned: remove PARTITION BY")
	}
	if !join && spec.Following {
		return "", 0, r.errAt(over+1, "an aggregate's window must end at CURRENT ROW: FOLLOWING is allowed only on a joined stream")
	}
	return key, next, nil
}

// windowClause reads "name AS (spec) [, name AS (spec)]..." in [lo, hi).
func (r *rewriter) windowClause(b *blockState, lo, hi int) error {
	i := lo
	for {
		t := r.peek(i, hi)
		if !t.isIdent() {
			return r.li.errAt(t.start, "expected a window name after WINDOW, found %s", describe(t))
		}
		if _, dup := b.names[t.val]; dup {
			return r.errAt(i, "window %s is defined twice", t.val)
		}
		if !r.peek(i+1, hi).is("AS") || !r.peek(i+2, hi).isOp("(") {
			return r.errAt(i+1, "expected AS (...) after WINDOW %s", t.val)
		}
		m := r.match[i+2]
		spec, err := r.windowSpec(i+2, m)
		if err != nil {
			return err
		}
		spec.Name = t.val
		key := t.val
		for n := 2; r.q.Windows[key] != nil; n++ {
			key = t.val + "#" + strconv.Itoa(n)
		}
		r.q.Windows[key] = spec
		b.names[t.val] = key
		b.Windows = append(b.Windows, key)
		i = m + 1
		if i >= hi {
			return nil
		}
		if !r.toks[i].isOp(",") {
			return r.errAt(i, "expected \",\" or the end of the WINDOW clause, found %s", describe(r.toks[i]))
		}
		i++
	}
}

// windowSpec reads the inside of "(...)" at open: [PARTITION BY exprs]
// {RANGE | ROWS} {n PRECEDING | CURRENT ROW | BETWEEN n PRECEDING AND CURRENT ROW}.
func (r *rewriter) windowSpec(open, cl int) (*WindowSpec, error) {
	ws := &WindowSpec{Pos: r.li.pos(r.toks[open].start)}
	i := open + 1
	if r.toks[i].is("PARTITION") {
		if !r.toks[i+1].is("BY") {
			return nil, r.errAt(i+1, "expected BY after PARTITION")
		}
		end := r.findTop(i+2, cl, "ORDER", "RANGE", "ROWS")
		if end < 0 {
			end = cl
		}
		exprs, err := r.exprList(i+2, end, "PARTITION BY")
		if err != nil {
			return nil, err
		}
		ws.PartitionBy = exprs
		i = end
	}
	if r.toks[i].is("ORDER") {
		return nil, r.errAt(i, "ORDER BY is not allowed in a KDA window: rows are ordered by ROWTIME")
	}
	switch {
	case r.toks[i].is("ROWS"):
		ws.IsRows = true
	case r.toks[i].is("RANGE"):
	default:
		return nil, r.errAt(i, "expected RANGE INTERVAL '...' unit PRECEDING or ROWS n PRECEDING in the window, found %s", describe(r.toks[i]))
	}
	i++
	between := r.toks[i].is("BETWEEN")
	if between {
		i++
	}
	next, err := r.windowBound(ws, i, cl)
	if err != nil {
		return nil, err
	}
	i = next
	if between {
		if !r.toks[i].is("AND") {
			return nil, r.errAt(i, "expected AND in BETWEEN ... AND CURRENT ROW")
		}
		if !r.toks[i+1].is("CURRENT") || !r.toks[i+2].is("ROW") {
			return nil, r.errAt(i+1, "a window must end at CURRENT ROW")
		}
		if ws.Following {
			return nil, r.errAt(i+1, "a window must end at CURRENT ROW")
		}
		i += 3
	}
	if i != cl {
		return nil, r.errAt(i, "unexpected %s in the window specification", describe(r.toks[i]))
	}
	return ws, nil
}

// windowBound reads "n PRECEDING", "INTERVAL ... PRECEDING", "CURRENT ROW"
// or an UNBOUNDED bound (rejected) at i.
func (r *rewriter) windowBound(ws *WindowSpec, i, cl int) (int, error) {
	t := r.toks[i]
	switch {
	case t.is("CURRENT"):
		if !r.toks[i+1].is("ROW") {
			return 0, r.errAt(i+1, "expected ROW after CURRENT")
		}
		return i + 2, nil
	case t.is("UNBOUNDED"):
		if r.toks[i+1].is("FOLLOWING") {
			return 0, r.errAt(i, "UNBOUNDED FOLLOWING is not allowed: a window must end at CURRENT ROW")
		}
		return 0, r.errAt(i, "unbounded windows are not supported: give a size, e.g. RANGE INTERVAL '1' HOUR PRECEDING")
	}
	if ws.IsRows {
		n, err := strconv.Atoi(t.val)
		if t.kind != tkNumber || err != nil || n < 0 {
			return 0, r.errAt(i, "expected a row count after ROWS, as in ROWS 10 PRECEDING, found %s", describe(t))
		}
		ws.Rows = n
	} else {
		if !t.is("INTERVAL") {
			return 0, r.errAt(i, "expected INTERVAL after RANGE, as in RANGE INTERVAL '1' MINUTE PRECEDING, found %s", describe(t))
		}
		d, next, err := r.intervalDuration(i, cl)
		if err != nil {
			return 0, err
		}
		ws.Range = d
		i = next - 1
	}
	i++
	switch {
	case r.toks[i].is("PRECEDING"):
	case r.toks[i].is("FOLLOWING"):
		ws.Following = true
	default:
		return 0, r.errAt(i, "expected PRECEDING after the window size, found %s", describe(r.toks[i]))
	}
	if (ws.IsRows && ws.Rows == 0) || (!ws.IsRows && ws.Range == 0) {
		return 0, r.errAt(i-1, "a window of 0 %s is not allowed: write CURRENT ROW", r.toks[i].val)
	}
	return i + 1, nil
}

// stagger reads "(PARTITION BY exprs RANGE INTERVAL ...)" at open.
func (r *rewriter) stagger(open, cl int) (*StaggerSpec, error) {
	st := &StaggerSpec{Pos: r.li.pos(r.toks[open-3].start)}
	i := open + 1
	if !r.toks[i].is("PARTITION") || !r.toks[i+1].is("BY") {
		return nil, r.errAt(i, "WINDOWED BY STAGGER needs (PARTITION BY ... RANGE INTERVAL ...)")
	}
	rg := r.findTop(i+2, cl, "RANGE")
	if rg < 0 {
		return nil, r.errAt(cl, "WINDOWED BY STAGGER needs RANGE INTERVAL '...' unit after the partition keys")
	}
	exprs, err := r.exprList(i+2, rg, "PARTITION BY")
	if err != nil {
		return nil, err
	}
	st.PartitionBy = exprs
	d, next, err := r.intervalDuration(rg+1, cl)
	if err != nil {
		return nil, err
	}
	if next != cl {
		return nil, r.errAt(next, "unexpected %s after the stagger window's RANGE", describe(r.toks[next]))
	}
	if d <= 0 {
		return nil, r.errAt(rg+1, "a stagger window needs a positive length")
	}
	st.Range = d
	return st, nil
}

// orderWithin checks "ORDER BY expr WITHIN interval": o is ORDER, w is
// WITHIN, end the end of the interval.
func (r *rewriter) orderWithin(b *blockState, o, w, end int) error {
	if !r.toks[o+1].is("BY") || o+2 >= w {
		return r.errAt(o, "expected ORDER BY <timestamp expression> WITHIN <interval>")
	}
	for i := o + 2; i < w; i = r.skip(i) {
		if r.toks[i].isOp(",") {
			return r.errAt(i, "ORDER BY ... WITHIN sorts by one timestamp expression only")
		}
		if r.toks[i].is("DESC") {
			return r.errAt(i, "ORDER BY ... WITHIN sorts ascending only: remove DESC")
		}
	}
	d, next, err := r.intervalDuration(w+1, end)
	if err != nil {
		return err
	}
	if next != end {
		return r.errAt(next, "unexpected %s after the WITHIN interval", describe(r.toks[next]))
	}
	if d <= 0 {
		return r.errAt(w+1, "WITHIN needs a positive interval")
	}
	b.OrderWithin = &OrderWithin{Pos: r.li.pos(r.toks[o].start), Within: d}
	b.orderStart = o + 2
	return nil
}

// intervalDuration reads INTERVAL 'n' unit at i (a window size) and
// returns it with the index after the unit.
func (r *rewriter) intervalDuration(i, hi int) (time.Duration, int, error) {
	if !r.peek(i, hi).is("INTERVAL") {
		return 0, 0, r.li.errAt(r.peek(i, hi).start, "expected INTERVAL '<n>' unit, found %s", describe(r.peek(i, hi)))
	}
	v := r.peek(i+1, hi)
	if v.kind != tkString && v.kind != tkNumber {
		return 0, 0, r.li.errAt(v.start, "expected the interval's value, as in INTERVAL '5' MINUTE, found %s", describe(v))
	}
	unit, err := r.intervalUnit(i+2, hi)
	if err != nil {
		return 0, 0, err
	}
	if r.peek(i+3, hi).is("TO") {
		return 0, 0, r.errAt(i+3, "a window size takes a single unit, as in INTERVAL '90' SECOND")
	}
	n, perr := strconv.ParseFloat(v.val, 64)
	if perr != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, 0, r.li.errAt(v.start, "interval value %q is not a non-negative number", v.val)
	}
	per := map[string]time.Duration{"SECOND": time.Second, "MINUTE": time.Minute, "HOUR": time.Hour, "DAY": 24 * time.Hour}[unit]
	if n*float64(per) > float64(math.MaxInt64/2) {
		return 0, 0, r.li.errAt(v.start, "interval %s %s is too long", v.val, unit)
	}
	return time.Duration(n * float64(per)), i + 3, nil
}
