package dialect

// Analytic function modifiers (KDA-SQL.md §4, SR sql-reference-lag,
// sql-reference-nth-value, sql-reference-first-value):
//
//	NTH_VALUE(x, n) [FROM FIRST | FROM LAST] [IGNORE NULLS | RESPECT NULLS] OVER w
//	LAG(x [, n [, default]]) [IGNORE NULLS | RESPECT NULLS] OVER w
//	FIRST_VALUE(x) [IGNORE NULLS | RESPECT NULLS] OVER w
//
// The modifiers sit between the call's ")" and OVER. They are written as
// extra string arguments of KDA_OVER, in source order:
// KDA_OVER(NTH_VALUE(X, 2), 'W', 'FROM LAST', 'IGNORE NULLS'). The planner
// decides which function accepts which.

// analyticModifiers reads the modifiers that start at i and returns them
// ("FROM FIRST", "FROM LAST", "IGNORE NULLS", "RESPECT NULLS") with the
// index after them.
func (r *rewriter) analyticModifiers(i, hi int) ([]string, int, error) {
	var mods []string
	if t := r.peek(i, hi); t.is("FROM") && r.analyticFrom(i) {
		mods = append(mods, "FROM "+r.toks[i+1].val)
		i += 2
	}
	if t := r.peek(i, hi); t.is("IGNORE") || t.is("RESPECT") {
		if !r.peek(i+1, hi).is("NULLS") && !r.peek(i+1, hi).is("NULL") {
			return nil, 0, r.errAt(i+1, "expected NULLS after %s, found %s", t.val, describe(r.peek(i+1, hi)))
		}
		mods = append(mods, t.val+" NULLS")
		i += 2
		if n := r.peek(i, hi); n.is("FROM") && r.analyticFrom(i) {
			return nil, 0, r.errAt(i, "FROM %s comes before %s NULLS", r.toks[i+1].val, t.val)
		}
	}
	return mods, i, nil
}

// analyticFrom reports whether the FROM at i is the FROM FIRST / FROM LAST
// of an analytic call — "NTH_VALUE(x, 2) FROM LAST OVER w" — rather than a
// FROM clause: it follows a ")" and FIRST or LAST follows it, then OVER,
// IGNORE or RESPECT.
func (r *rewriter) analyticFrom(i int) bool {
	if i == 0 || i+2 >= len(r.toks) || !r.toks[i-1].isOp(")") {
		return false
	}
	if !r.toks[i+1].is("FIRST") && !r.toks[i+1].is("LAST") {
		return false
	}
	n := r.toks[i+2]
	return n.is("OVER") || n.is("IGNORE") || n.is("RESPECT")
}
