package dialect

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Flink's window join (docs/sql.md, "Window joins on event time"):
//
//	FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(c), INTERVAL '1' MINUTE)) AS l
//	JOIN TABLE(TUMBLE(TABLE t, DESCRIPTOR(c), INTERVAL '1' MINUTE)) AS r
//	ON l.id = r.id AND l.window_start = r.window_start
//
// is lowered to kda's tumbling-window join on a STEP key. Each window table
// function becomes the plain FROM item "s AS l", recorded in
// Query.WindowTVFs["L"], and its window columns become expressions over
// the stream's own columns:
//
//	l.window_start -> STEP(l.c, INTERVAL '1' MINUTE)
//	l.window_end   -> (STEP(l.c, INTERVAL '1' MINUTE) + INTERVAL '1' MINUTE)
//	l.window_time  -> (STEP(l.c, ...) + INTERVAL '1' MINUTE - INTERVAL '1' MILLISECOND)
//
// A SELECT item that is only a window column is named after it
// (AS window_start). The planner (sql/plan/windowjoin.go) checks that both
// sides use the same window and that the condition pairs window_start, and
// bounds the ROWTIMEs of the pairs. HOP with a size of one slide is a
// TUMBLE; a HOP of n slides is n such joins, one pump each, whose windows
// are shifted by 0, slide, ... (hopjoin.go). CUMULATE, SESSION, the offset
// argument, named arguments and a query as the function's table are
// refused here.

// WindowTVF is one TABLE(TUMBLE(TABLE s, DESCRIPTOR(c), size)) FROM item
// (or HOP(TABLE s, DESCRIPTOR(c), slide, size), size a multiple of slide).
type WindowTVF struct {
	Pos  Pos    // the TABLE keyword
	Kind string // TUMBLE or HOP, as written
	// Table is the stream the function reads; Alias the name its rows
	// take in the query (Table when there is no AS).
	Table, Alias string
	// Column is the DESCRIPTOR's column, the rows' time: ROWTIME or an
	// event-time TIMESTAMP column.
	Column    string
	ColumnPos Pos
	// Size is the window's length; Slide is HOP's slide (Size for TUMBLE).
	Size, Slide time.Duration
	// Shift is how far this query's windows are moved from multiples of
	// the size: 0, or (k−1) × Slide in the pump P$HOPk of a HOP window
	// join (hopjoin.go). Its window columns and STEP key include it.
	Shift time.Duration
	// Text is the call as the user wrote it, for messages.
	Text string

	end      int    // token index after the FROM item
	top      bool   // in a SELECT block of the outermost query
	sizeVal  string // the size's literal and singular unit, to write STEP
	sizeUnit string
	tableTok token
	aliasTok *token
}

// windowTVFKinds are the windowing table functions of Flink SQL.
var windowTVFKinds = map[string]bool{"TUMBLE": true, "HOP": true, "CUMULATE": true, "SESSION": true}

// windowColumns are the columns a window table function adds.
var windowColumns = map[string]bool{"WINDOW_START": true, "WINDOW_END": true, "WINDOW_TIME": true}

// isWindowTVF reports whether TABLE at i opens TABLE(TUMBLE(...)) and the
// like.
func (r *rewriter) isWindowTVF(i, hi int) bool {
	return r.toks[i].is("TABLE") && r.peek(i+1, hi).isOp("(") && windowTVFKinds[r.peek(i+2, hi).val] &&
		r.peek(i+2, hi).kind == tkWord && r.peek(i+3, hi).isOp("(")
}

// scanWindowTVFs reads the window table functions among the FROM items of
// block b (the span from) before the block is written, so that the window
// columns of the SELECT list, which comes first, can be rewritten. sel is
// the span of the SELECT list.
func (r *rewriter) scanWindowTVFs(b *blockState, from, sel span) error {
	if from.lo < 0 {
		return nil
	}
	var first *WindowTVF
	joined := false
	for k := from.lo; k < from.hi; k = r.skip(k) {
		t := r.toks[k]
		if t.is("JOIN") || t.isOp(",") {
			joined = true
		}
		if !r.isWindowTVF(k, from.hi) {
			continue
		}
		tvf, err := r.windowTVF(k, from.hi)
		if err != nil {
			return err
		}
		if r.q.WindowTVFs[tvf.Alias] != nil {
			at := tvf.tableTok
			if tvf.aliasTok != nil {
				at = *tvf.aliasTok
			}
			return r.li.errAt(at.start, "two window table functions are named %s: give them different aliases", tvf.Alias)
		}
		if r.q.WindowTVFs == nil {
			r.q.WindowTVFs = map[string]*WindowTVF{}
		}
		r.q.WindowTVFs[tvf.Alias] = tvf
		if b.tvfAt == nil {
			b.tvfAt, b.tvfs = map[int]*WindowTVF{}, map[string]*WindowTVF{}
		}
		b.tvfAt[k], b.tvfs[tvf.Alias] = tvf, tvf
		tvf.top = b.top
		if first == nil {
			first = tvf
		}
	}
	if first == nil {
		return nil
	}
	if !joined {
		return r.li.errAt(first.Pos.Offset, "%s as a table function is supported only as a side of a window join, "+
			"FROM TABLE(%s(...)) AS l JOIN TABLE(%s(...)) AS r ON ... AND l.window_start = r.window_start; "+
			"to aggregate per event-time window, write GROUP BY %s(%s, ...) (docs/sql.md, Event-time windows)",
			first.Kind, first.Kind, first.Kind, first.Kind, strings.ToLower(first.Column))
	}
	// The SELECT items, to name one that is only a window column.
	b.items = map[int]int{}
	start := sel.lo
	for k := sel.lo; k <= sel.hi; k = r.skip(k) {
		if k == sel.hi || r.toks[k].isOp(",") {
			b.items[start] = k
			start = k + 1
		}
		if k == sel.hi {
			break
		}
	}
	return nil
}

// windowTVF parses the FROM item TABLE(kind(args)) [[AS] alias] at i.
func (r *rewriter) windowTVF(i, hi int) (*WindowTVF, error) {
	open := i + 1
	cl := r.match[open]
	kind := r.toks[i+2]
	fopen := i + 3
	fcl := r.match[fopen]
	if fcl+1 != cl {
		return nil, r.errAt(fcl+1, "TABLE(...) takes one window function call, as in TABLE(TUMBLE(TABLE s, DESCRIPTOR(evt), INTERVAL '1' MINUTE))")
	}
	switch kind.val {
	case "CUMULATE":
		return nil, r.errAt(i+2, "CUMULATE windows are not supported in a join: kda joins on TUMBLE and HOP windows (docs/sql.md, Window joins on event time)")
	case "SESSION":
		return nil, r.errAt(i+2, "SESSION windows cannot be joined: a session's bounds depend on the rows of one side; aggregate sessions with GROUP BY SESSION(evt, INTERVAL ...) instead")
	}
	tvf := &WindowTVF{Pos: r.li.pos(r.toks[i].start), Kind: kind.val, Text: r.li.src[r.toks[i+2].start:r.toks[fcl].end]}
	// The arguments, split at the commas of the call.
	var args []span
	lo := fopen + 1
	for k := lo; k <= fcl; k = r.skip(k) {
		if k == fcl || r.toks[k].isOp(",") {
			if k == lo {
				return nil, r.errAt(k, "expected an argument of %s, found %s", kind.val, describe(r.toks[k]))
			}
			args = append(args, span{lo, k})
			lo = k + 1
		}
		if k == fcl {
			break
		}
		if r.toks[k].isOp("=") && r.toks[k+1].isOp(">") {
			return nil, r.errAt(k, "named arguments (=>) are not supported: pass %s's arguments in order, %s", kind.val, windowTVFUsage(kind.val))
		}
	}
	want := 3
	if kind.val == "HOP" {
		want = 4
	}
	if len(args) == want+1 {
		a := args[want]
		return nil, r.errAt(a.lo, "the offset argument of %s is not supported: windows start at multiples of their size from the epoch", kind.val)
	}
	if len(args) != want {
		return nil, r.errAt(fopen, "%s takes %d arguments, %s", kind.val, want, windowTVFUsage(kind.val))
	}
	// TABLE s
	a := args[0]
	if !r.toks[a.lo].is("TABLE") {
		if r.toks[a.lo].isOp("(") {
			return nil, r.errAt(a.lo, "the table of %s must be a stream named directly, TABLE s: derive other inputs in a pump of their own", kind.val)
		}
		return nil, r.errAt(a.lo, "expected TABLE <stream> as the first argument of %s, found %s", kind.val, describe(r.toks[a.lo]))
	}
	if a.hi != a.lo+2 || !r.toks[a.lo+1].isIdent() {
		return nil, r.errAt(a.lo+1, "the table of %s must be a stream named directly, TABLE s: derive other inputs in a pump of their own", kind.val)
	}
	tvf.tableTok = r.toks[a.lo+1]
	tvf.Table = tvf.tableTok.val
	// DESCRIPTOR(c)
	a = args[1]
	if !r.toks[a.lo].is("DESCRIPTOR") || !r.toks[a.lo+1].isOp("(") || r.match[a.lo+1]+1 != a.hi {
		return nil, r.errAt(a.lo, "expected DESCRIPTOR(column) as the second argument of %s, found %s", kind.val, describe(r.toks[a.lo]))
	}
	if c := r.toks[a.lo+2]; !c.isIdent() || a.lo+3 != r.match[a.lo+1] {
		return nil, r.errAt(a.lo+2, "DESCRIPTOR takes one column, the rows' time: ROWTIME or an event-time TIMESTAMP column")
	}
	tvf.Column, tvf.ColumnPos = r.toks[a.lo+2].val, r.li.pos(r.toks[a.lo+2].start)
	// The size (TUMBLE) or slide and size (HOP).
	var err error
	last := args[len(args)-1]
	if tvf.Size, tvf.sizeVal, tvf.sizeUnit, err = r.windowInterval(last, kind.val, "size"); err != nil {
		return nil, err
	}
	tvf.Slide = tvf.Size
	if kind.val == "HOP" {
		if tvf.Slide, _, _, err = r.windowInterval(args[2], kind.val, "slide"); err != nil {
			return nil, err
		}
		if tvf.Size%tvf.Slide != 0 {
			return nil, r.errAt(last.lo, "HOP's size (%s) must be a whole multiple of its slide (%s)", tvf.Size, tvf.Slide)
		}
		if n := tvf.Size / tvf.Slide; n > 1 {
			if !r.hop.pump {
				return nil, r.errAt(i+2, "a HOP window join of several slides needs a pump: a window of %s every %s is %d tumbling windows shifted by the slide, "+
					"which kda joins in %d pumps of their own, merged into the pump's stream; write CREATE PUMP p AS INSERT INTO s SELECT STREAM ... (docs/sql.md, Window joins on event time)",
					tvf.Size, tvf.Slide, n, n)
			}
			tvf.Shift = r.hop.shift
		}
	}
	// [[AS] alias]
	next := cl + 1
	tvf.Alias = tvf.Table
	if t := r.peek(next, hi); t.is("AS") && r.peek(next+1, hi).isIdent() {
		at := r.toks[next+1]
		tvf.Alias, tvf.aliasTok, next = at.val, &at, next+2
	} else if t.kind == tkQuoted || (t.kind == tkWord && !notAlias[t.val] && !clauseStarts[t.val] && !passKeywords[t.val]) {
		tvf.Alias, tvf.aliasTok, next = t.val, &t, next+1
	}
	if r.peek(next, hi).isOp("(") {
		return nil, r.errAt(next, "a window table function's columns cannot be renamed: refer to them as %s.column and %s.window_start", tvf.Alias, tvf.Alias)
	}
	if r.peek(next, hi).is("OVER") {
		return nil, r.errAt(next, "a window table function takes no OVER window: its window is the join's")
	}
	tvf.end = next
	return tvf, nil
}

func windowTVFUsage(kind string) string {
	if kind == "HOP" {
		return "HOP(TABLE s, DESCRIPTOR(evt), slide, size)"
	}
	return kind + "(TABLE s, DESCRIPTOR(evt), INTERVAL '1' MINUTE)"
}

// windowInterval reads the argument a, INTERVAL 'n' unit, where the unit
// may also be plural as Flink allows (MINUTES). It returns the duration
// and the literal and singular unit.
func (r *rewriter) windowInterval(a span, fn, what string) (time.Duration, string, string, error) {
	if !r.toks[a.lo].is("INTERVAL") {
		return 0, "", "", r.errAt(a.lo, "expected the %s of %s as INTERVAL '<n>' unit, found %s", what, fn, describe(r.toks[a.lo]))
	}
	if a.hi != a.lo+3 {
		return 0, "", "", r.errAt(a.lo, "the %s of %s takes one unit, as in INTERVAL '1' MINUTE", what, fn)
	}
	v, u := r.toks[a.lo+1], r.toks[a.lo+2]
	if v.kind != tkString && v.kind != tkNumber {
		return 0, "", "", r.errAt(a.lo+1, "expected the interval's value, as in INTERVAL '5' MINUTE, found %s", describe(v))
	}
	per := map[string]time.Duration{"SECOND": time.Second, "MINUTE": time.Minute, "HOUR": time.Hour, "DAY": 24 * time.Hour}
	unit := u.val
	if u.kind == tkWord && per[unit] == 0 && per[strings.TrimSuffix(unit, "S")] > 0 {
		unit = strings.TrimSuffix(unit, "S")
	}
	if u.kind != tkWord || per[unit] == 0 {
		return 0, "", "", r.errAt(a.lo+2, "expected an interval unit (DAY, HOUR, MINUTE or SECOND), found %s", describe(u))
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v.val), 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) || n*float64(per[unit]) > float64(24*time.Hour) {
		return 0, "", "", r.errAt(a.lo+1, "the %s of %s must be a positive interval of at most a day, not %q %s", what, fn, v.val, unit)
	}
	d := time.Duration(n * float64(per[unit]))
	if d%time.Millisecond != 0 || d == 0 {
		return 0, "", "", r.errAt(a.lo+1, "the %s of %s must be a whole number of milliseconds", what, fn)
	}
	return d, strings.TrimSpace(v.val), unit, nil
}

// windowFromItem writes the FROM item of the window table function that
// starts at i as "s [AS alias]", if there is one.
func (r *rewriter) windowFromItem(e *emitter, i, hi int) (int, bool, error) {
	b := r.cur()
	if b == nil || b.tvfAt[i] == nil {
		if r.isWindowTVF(i, hi) {
			return 0, false, r.errAt(i, "a window table function must be a FROM item of a join, FROM TABLE(%s(...)) AS l JOIN TABLE(%s(...)) AS r ON ...",
				r.toks[i+2].val, r.toks[i+2].val)
		}
		return 0, false, nil
	}
	tvf := b.tvfAt[i]
	e.ident(tvf.Table, tvf.tableTok)
	if tvf.aliasTok != nil {
		e.word("AS", *tvf.aliasTok)
		e.ident(tvf.Alias, *tvf.aliasTok)
	}
	return tvf.end, true, nil
}

// windowColumn rewrites "alias.window_start" (or _end, _time) at i, where
// alias names a window table function of an enclosing block. It reports
// false for any other name.
func (r *rewriter) windowColumn(e *emitter, i, hi int) (int, bool, error) {
	t := r.toks[i]
	afterDot := i > 0 && r.toks[i-1].isOp(".")
	if !r.peek(i+1, hi).isOp(".") && !afterDot && !(i > 0 && r.toks[i-1].is("AS")) && windowColumns[strings.ToUpper(t.val)] {
		if b := r.cur(); b != nil && len(b.tvfs) > 0 {
			first := -1
			for k := range b.tvfAt {
				if first < 0 || k < first {
					first = k
				}
			}
			return 0, false, r.errAt(i, "%s needs the alias of its side, as in %s.%s", t.val, b.tvfAt[first].Alias, t.val)
		}
	}
	if !r.peek(i+1, hi).isOp(".") || afterDot {
		return 0, false, nil
	}
	ct := r.peek(i+2, hi)
	col := strings.ToUpper(ct.val)
	if !ct.isIdent() || !windowColumns[col] {
		return 0, false, nil
	}
	var tvf *WindowTVF
	var b *blockState
	for k := len(r.stack) - 1; k >= 0 && tvf == nil; k-- {
		b, tvf = r.stack[k], r.stack[k].tvfs[t.val]
	}
	if tvf == nil {
		return 0, false, nil
	}
	end, isItem := b.items[i]
	isItem = isItem && end == i+3 && b == r.cur()
	if col != "WINDOW_START" || tvf.Shift > 0 {
		e.word("(", t)
	}
	e.word("STEP", t)
	e.word("(", t)
	e.ident(tvf.Alias, t)
	e.word(".", r.toks[i+1])
	e.ident(tvf.Column, ct)
	if tvf.Shift > 0 {
		// The windows of a shifted copy start at multiples of the size
		// plus the shift: STEP(c - shift, size) + shift.
		e.word("-", ct)
		shiftInterval(e, tvf.Shift, ct)
	}
	e.word(",", ct)
	tvf.interval(e, ct)
	e.word(")", ct)
	if tvf.Shift > 0 {
		e.word("+", ct)
		shiftInterval(e, tvf.Shift, ct)
	}
	if col == "WINDOW_START" && tvf.Shift > 0 {
		e.word(")", ct)
	}
	if col != "WINDOW_START" {
		e.word("+", ct)
		tvf.interval(e, ct)
		if col == "WINDOW_TIME" {
			e.word("-", ct)
			e.word("INTERVAL", ct)
			e.str("1", ct)
			e.word("MILLISECOND", ct)
		}
		e.word(")", ct)
	}
	if isItem {
		e.word("AS", ct)
		e.ident(ct.val, ct)
	}
	return i + 3, true, nil
}

// interval writes the window's size as INTERVAL 'n' UNIT.
func (tvf *WindowTVF) interval(e *emitter, src token) {
	e.word("INTERVAL", src)
	e.str(tvf.sizeVal, src)
	e.word(tvf.sizeUnit, src)
}
