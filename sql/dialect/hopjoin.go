package dialect

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xwb1989/sqlparser"
)

// HOP window joins of several slides (docs/sql.md, "Window joins on event
// time"). A HOP window of size n × slide is n tumbling windows of the
// size, shifted by 0, slide, ..., (n−1) × slide, and a pair of rows shares
// a HOP window exactly when it shares one of the shifted tumbling windows.
// So the pump
//
//	CREATE PUMP P AS INSERT INTO T SELECT STREAM ...
//	FROM TABLE(HOP(TABLE a, DESCRIPTOR(c), slide, size)) AS l
//	JOIN TABLE(HOP(TABLE b, DESCRIPTOR(c), slide, size)) AS r ON ...
//
// becomes n joins, one per shift, each a pump P$HOPk (k = 1...n, shift
// (k−1) × slide) into a stream P$HOPk of T's columns, and the pump P that
// merges those streams into T with UNION ALL. Each join is the user's
// query rewritten again with its shift (windowtvf.go's windowColumn):
//
//	l.window_start -> (STEP(l.c - shift, size) + shift)
//
// and window_end and window_time from it, on both sides alike, so each is
// a tumbling-window join of its own, bounded like a TUMBLE of the size. A
// pair comes out once per window it shares, as in Flink.
//
// The joins do not insert into T themselves: a join emits a row when its
// stream time has passed the row's ROWTIME (a match's later row, an outer
// row's bound), so in one step of stream time one join may emit a row
// later than one the next join is about to emit, and T would drop that
// one as OUT_OF_ORDER. UNION ALL holds each row until every join has got
// past its ROWTIME. The copies are rewritten from the tokens, not cloned
// from the AST, so every node keeps its position for the planner's errors.
//
// The streams and pumps of the shifts carry the pump's name (Lowered), so
// that the planner drops them when a later CREATE OR REPLACE PUMP P does
// not make them again (sql/plan/streamchain.go, which lowers joins of
// three streams or more the same way, into pumps P$Jk, but in the
// planner: it needs the inputs' columns).

// hopCopy says how the rewriter lowers HOP windows of several slides:
// only in a pump's query (pump), with this copy's shift.
type hopCopy struct {
	pump  bool
	shift time.Duration
}

// hopJoin is a pump's HOP window join of several slides: the window, and
// the query's tokens toks[lo:hi] to rewrite once per shift.
type hopJoin struct {
	tvf    *WindowTVF
	li     *lineIndex
	toks   []token
	lo, hi int
}

// hopWindow returns the HOP window join of several slides of q, the query
// toks[lo:hi], or nil. Copying the query once per shift is right only
// when the join is the query: a window table function nested in a
// subquery or a UNION, or a window other than the HOP's, would be
// repeated in every copy, so it is refused.
func hopWindow(li *lineIndex, toks []token, lo, hi int, q *Query) (*hopJoin, error) {
	var tvfs []*WindowTVF
	for _, tvf := range q.WindowTVFs {
		tvfs = append(tvfs, tvf)
	}
	sort.Slice(tvfs, func(i, j int) bool { return tvfs[i].Pos.Offset < tvfs[j].Pos.Offset })
	var hop *WindowTVF
	for _, tvf := range tvfs {
		if tvf.Size > tvf.Slide {
			hop = tvf
			break
		}
	}
	if hop == nil {
		return nil, nil
	}
	_, single := q.AST.(*sqlparser.Select)
	for _, tvf := range tvfs {
		if !tvf.top || !single {
			return nil, li.errAt(tvf.Pos.Offset, "a HOP window join of several slides must be the pump's own SELECT, not part of a subquery or a UNION: "+
				"kda runs it as one join per shift of the slide (docs/sql.md, Window joins on event time)")
		}
		if tvf.Size != hop.Size || tvf.Slide != hop.Slide {
			// The planner's words for two sides that differ, said here
			// before the query is copied.
			a, b := hop, tvf
			if b.Pos.Offset < a.Pos.Offset {
				a, b = b, a
			}
			return nil, li.errAt(b.Pos.Offset, "the two sides of a window join must use the same window: %s is %s but %s is %s",
				QuoteName(a.Alias), a.Text, QuoteName(b.Alias), b.Text)
		}
	}
	return &hopJoin{tvf: hop, li: li, toks: toks, lo: lo, hi: hi}, nil
}

// hopStatements returns what the pump st, whose query is a HOP window join
// of several slides, stands for: per shift a stream and a pump that joins
// into it, then st's own pump merging them into its target. before are
// the statements before st, where its target is declared; when it is not
// (or the INSERT names a column it lacks), st is returned alone, shift 0,
// for the planner to refuse as any pump.
func hopStatements(before []Statement, st *CreatePump) ([]Statement, error) {
	h := st.hop
	st.hop = nil
	cols, ok := hopColumns(before, st)
	if !ok {
		return []Statement{st}, nil
	}
	var out, joins []Statement
	var names []string
	for k := 0; k < int(h.tvf.Size/h.tvf.Slide); k++ {
		name := st.Name + "$HOP" + strconv.Itoa(k+1)
		shift := time.Duration(k) * h.tvf.Slide
		q := st.Query
		if k > 0 {
			var err error
			if q, err = parseQueryWith(h.li, h.toks, h.lo, h.hi, hopCopy{pump: true, shift: shift}); err != nil {
				return nil, err
			}
		}
		out = append(out, &CreateStream{Pos: st.Pos, OrReplace: st.OrReplace, Name: name, Columns: cols,
			Description: "pump " + st.Name + "'s HOP window join, windows shifted by " + shift.String(), Lowered: st.Name})
		joins = append(joins, &CreatePump{Pos: st.Pos, OrReplace: st.OrReplace, Name: name, Target: name, Query: q, Lowered: st.Name})
		names = append(names, name)
	}
	merge, err := hopMerge(st, cols, names)
	if err != nil {
		return nil, err
	}
	return append(append(out, joins...), merge), nil
}

// hopColumns returns the columns of the streams of the shifts: those of
// st's target, or those its INSERT names, as the last CREATE STREAM of
// before declares them.
func hopColumns(before []Statement, st *CreatePump) ([]ColumnDef, bool) {
	var target *CreateStream
	for _, s := range before {
		if cs, ok := s.(*CreateStream); ok && cs.Name == st.Target {
			target = cs
		}
	}
	if target == nil {
		return nil, false
	}
	if st.Columns == nil {
		return target.Columns, true
	}
	var cols []ColumnDef
	for _, n := range st.Columns {
		i := 0
		for i < len(target.Columns) && target.Columns[i].Name != n {
			i++
		}
		if i == len(target.Columns) {
			return nil, false
		}
		cols = append(cols, target.Columns[i])
	}
	return cols, true
}

// hopMerge returns st as the pump that inserts the rows of the streams
// names into st's target: SELECT STREAM <cols> FROM name UNION ALL ...
// Its nodes are placed at st's query, the text the user wrote.
func hopMerge(st *CreatePump, cols []ColumnDef, names []string) (*CreatePump, error) {
	var list []string
	for _, c := range cols {
		list = append(list, hopIdent(c.Name))
	}
	var sels []string
	for _, n := range names {
		sels = append(sels, "SELECT STREAM "+strings.Join(list, ", ")+" FROM "+hopIdent(n))
	}
	li := newLineIndex(strings.Join(sels, " UNION ALL "))
	toks, err := lex(li)
	if err != nil {
		return nil, err
	}
	q, err := parseQuery(li, toks, 0, len(toks)-1)
	if err != nil {
		return nil, err
	}
	at := st.Query.Pos
	q.Pos = at
	for n := range q.Locations.m {
		q.Locations.m[n] = at
	}
	for _, b := range q.Blocks {
		b.Pos = at
	}
	m := *st
	m.Query = q
	return &m, nil
}

// hopIdent quotes a name so that it keeps its case.
func hopIdent(n string) string {
	return `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
}

// QuoteName writes an identifier as the user would, for messages: bare
// when it is upper case, quoted otherwise.
func QuoteName(n string) string {
	if n == strings.ToUpper(n) && !strings.ContainsAny(n, " -\"") {
		return n
	}
	return `"` + n + `"`
}

// shiftInterval writes d as INTERVAL 'n' UNIT in its largest whole unit.
func shiftInterval(e *emitter, d time.Duration, src token) {
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "DAY"}, {time.Hour, "HOUR"}, {time.Minute, "MINUTE"}, {time.Second, "SECOND"}, {time.Millisecond, "MILLISECOND"}}
	for _, u := range units {
		if d%u.d == 0 {
			e.word("INTERVAL", src)
			e.str(strconv.FormatInt(int64(d/u.d), 10), src)
			e.word(u.name, src)
			return
		}
	}
}
