package dialect

import (
	"strconv"
	"strings"
)

// call rewrites a function call at i (name, "(" at i+1) including the
// special syntaxes of SQL:2008 and a trailing OVER window.
func (r *rewriter) call(e *emitter, i, hi int, from span) (int, error) {
	t := r.toks[i]
	open := i + 1
	cl := r.match[open]
	next := cl + 1
	mods, at, err := r.analyticModifiers(cl+1, hi) // analytic.go
	if err != nil {
		return 0, err
	}
	over := r.peek(at, hi).is("OVER")
	if len(mods) > 0 && !over {
		return 0, r.errAt(cl+1, "%s needs OVER a window after it: %s(...) %s OVER w", strings.Join(mods, " "), t.val, strings.Join(mods, " "))
	}
	var key string
	if over {
		var err error
		if key, next, err = r.overSpec(at, hi, false); err != nil {
			return 0, err
		}
		e.word("KDA_OVER", t)
		e.word("(", t)
	}
	if err := r.callBody(e, i, open, cl, from); err != nil {
		return 0, err
	}
	if over {
		e.word(",", r.toks[cl+1])
		e.str(key, r.toks[cl+1])
		for _, m := range mods {
			e.word(",", r.toks[cl+1])
			e.str(m, r.toks[cl+1])
		}
		e.word(")", r.toks[cl+1])
	}
	return next, nil
}

// arg emits the tokens of [lo, hi) as one argument of fn.
func (r *rewriter) arg(e *emitter, lo, hi int, fn token, what string, from span) error {
	if lo >= hi {
		return r.li.errAt(r.toks[lo].start, "%s needs %s", fn.val, what)
	}
	return r.exprs(e, lo, hi, from)
}

func (r *rewriter) callBody(e *emitter, i, open, cl int, from span) error {
	t := r.toks[i]
	a := open + 1
	name := t.val
	if t.kind == tkWord {
		switch name {
		case "STEP":
			if by := r.findTop(a, cl, "BY"); by >= 0 {
				e.word("STEP", t)
				e.word("(", r.toks[open])
				if err := r.arg(e, a, by, t, "a value before BY", from); err != nil {
					return err
				}
				e.word(",", r.toks[by])
				if err := r.arg(e, by+1, cl, t, "a width after BY", from); err != nil {
					return err
				}
				e.word(")", r.toks[cl])
				return nil
			}
		case "FLOOR", "CEIL", "CEILING":
			if to := r.findTop(a, cl, "TO"); to >= 0 {
				u := r.toks[to+1]
				if u.kind != tkWord || !timeUnits[u.val] || to+2 != cl {
					return r.errAt(to+1, "%s(... TO unit) needs a time unit such as SECOND, MINUTE, HOUR or DAY, found %s", name, describe(u))
				}
				fn := "KDA_FLOOR_TO"
				if name != "FLOOR" {
					fn = "KDA_CEIL_TO"
				}
				e.word(fn, t)
				e.word("(", r.toks[open])
				if err := r.arg(e, a, to, t, "a value before TO", from); err != nil {
					return err
				}
				e.word(",", r.toks[to])
				e.str(u.val, u)
				e.word(")", r.toks[cl])
				return nil
			}
		case "EXTRACT":
			u := r.toks[a]
			if u.kind != tkWord || !timeUnits[u.val] || !r.toks[a+1].is("FROM") {
				return r.errAt(a, "EXTRACT needs the form EXTRACT(unit FROM value), e.g. EXTRACT(HOUR FROM ROWTIME)")
			}
			e.word("KDA_EXTRACT", t)
			e.word("(", r.toks[open])
			e.str(u.val, u)
			e.word(",", r.toks[a+1])
			if err := r.arg(e, a+2, cl, t, "a value after FROM", from); err != nil {
				return err
			}
			e.word(")", r.toks[cl])
			return nil
		case "POSITION":
			in := r.findTop(a, cl, "IN")
			if in < 0 {
				return r.errAt(open, "POSITION needs the form POSITION(substring IN string)")
			}
			return r.emitCall(e, "KDA_POSITION", t, open, cl, []span{{a, in}, {in + 1, cl}}, []string{"a substring", "a string after IN"}, from)
		case "TRIM":
			k := a
			mode := "BOTH"
			if w := r.toks[k]; w.is("BOTH") || w.is("LEADING") || w.is("TRAILING") {
				mode = w.val
				k++
			}
			f := r.findTop(k, cl, "FROM")
			if f < 0 && k > a {
				return r.errAt(k, "TRIM(%s ...) needs FROM: TRIM(%s 'x' FROM s)", mode, mode)
			}
			e.word("KDA_TRIM", t)
			e.word("(", r.toks[open])
			e.str(mode, r.toks[a])
			e.word(",", r.toks[a])
			src := span{k, cl}
			if f >= 0 {
				src = span{f + 1, cl}
			}
			if f >= 0 && f > k {
				if err := r.exprs(e, k, f, from); err != nil {
					return err
				}
			} else {
				e.str(" ", r.toks[a])
			}
			e.word(",", r.toks[a])
			if err := r.arg(e, src.lo, src.hi, t, "a string to trim", from); err != nil {
				return err
			}
			e.word(")", r.toks[cl])
			return nil
		case "OVERLAY":
			pl := r.findTop(a, cl, "PLACING")
			f := -1
			if pl >= 0 {
				f = r.findTop(pl, cl, "FROM")
			}
			if pl < 0 || f < 0 {
				return r.errAt(open, "OVERLAY needs the form OVERLAY(s PLACING r FROM n [FOR m])")
			}
			parts := []span{{a, pl}, {pl + 1, f}}
			if fo := r.findTop(f, cl, "FOR"); fo >= 0 {
				parts = append(parts, span{f + 1, fo}, span{fo + 1, cl})
			} else {
				parts = append(parts, span{f + 1, cl})
			}
			return r.emitCall(e, "KDA_OVERLAY", t, open, cl, parts, []string{"a string", "a replacement", "a start position", "a length"}, from)
		case "SUBSTRING":
			if f := r.findTop(a, cl, "FROM"); f >= 0 {
				parts := []span{{a, f}}
				if fo := r.findTop(f, cl, "FOR"); fo >= 0 {
					parts = append(parts, span{f + 1, fo}, span{fo + 1, cl})
				} else {
					parts = append(parts, span{f + 1, cl})
				}
				return r.emitCall(e, "KDA_SUBSTRING", t, open, cl, parts, []string{"a string", "a start position", "a length"}, from)
			}
			e.word("KDA_SUBSTRING", t)
			e.word("(", r.toks[open])
			if err := r.exprs(e, a, cl, from); err != nil {
				return err
			}
			e.word(")", r.toks[cl])
			return nil
		case "CAST":
			as := r.findTop(a, cl, "AS")
			if as < 0 {
				return r.errAt(open, "CAST needs the form CAST(value AS type)")
			}
			p := &parser{li: r.li, toks: append(append([]token{}, r.toks[as+1:cl]...), token{kind: tkEOF, start: r.toks[cl].start})}
			typ, err := p.typ()
			if err != nil {
				return err
			}
			if p.peek().kind != tkEOF {
				return r.li.errAt(p.peek().start, "unexpected %s after the type of CAST", describe(p.peek()))
			}
			e.word("KDA_CAST", t)
			e.word("(", r.toks[open])
			if err := r.arg(e, a, as, t, "a value before AS", from); err != nil {
				return err
			}
			e.word(",", r.toks[as])
			e.str(typ.String(), r.toks[as+1])
			e.word(")", r.toks[cl])
			return nil
		}
	}
	// An ordinary call; ALL in AVG(ALL x) is the default and dropped.
	e.ident(name, t)
	e.word("(", r.toks[open])
	if r.toks[a].is("ALL") && a+1 < cl {
		a++
	}
	if err := r.exprs(e, a, cl, from); err != nil {
		return err
	}
	e.word(")", r.toks[cl])
	return nil
}

// emitCall emits fn(part, part...) for the given argument ranges.
func (r *rewriter) emitCall(e *emitter, fn string, t token, open, cl int, parts []span, what []string, from span) error {
	e.word(fn, t)
	e.word("(", r.toks[open])
	for k, p := range parts {
		if k > 0 {
			e.word(",", r.toks[p.lo-1])
		}
		if err := r.arg(e, p.lo, p.hi, t, what[k], from); err != nil {
			return err
		}
	}
	e.word(")", r.toks[cl])
	return nil
}

// tableFunction rewrites TABLE(fn(CURSOR(query), args...)) [AS] alias
// [(cols)] into the derived table "(query) AS alias" and records fn and its
// arguments in Query.TableFunctions.
func (r *rewriter) tableFunction(e *emitter, i, hi int) (int, error) {
	open := i + 1
	cl := r.match[open]
	fn := r.toks[i+2]
	if !fn.isIdent() || !r.toks[i+3].isOp("(") || r.match[i+3]+1 != cl {
		return 0, r.errAt(i+2, "TABLE(...) takes one table function call, as in TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM ...)))")
	}
	fcl := r.match[i+3]
	c := i + 4
	if !r.toks[c].is("CURSOR") || !r.toks[c+1].isOp("(") || !r.startsQuery(c+2) {
		return 0, r.errAt(c, "the first argument of %s must be CURSOR(SELECT STREAM ...)", fn.val)
	}
	ccl := r.match[c+1]
	args := span{ccl + 1, ccl + 1}
	if r.toks[ccl+1].isOp(",") {
		args = span{ccl + 2, fcl}
		if args.lo >= args.hi {
			return 0, r.errAt(ccl+1, "expected an argument of %s after \",\"", fn.val)
		}
	} else if ccl+1 != fcl {
		return 0, r.errAt(ccl+1, "expected \",\" or \")\" after the CURSOR argument of %s", fn.val)
	}
	if r.q.TableFunctions == nil {
		r.q.TableFunctions = map[string]*TableFunction{}
	}
	next := cl + 1
	alias, aliasTok := "", fn
	if a := r.peek(next, hi); a.is("AS") && r.peek(next+1, hi).isIdent() {
		alias, aliasTok, next = r.toks[next+1].val, r.toks[next+1], next+2
	} else if a.kind == tkQuoted || (a.kind == tkWord && !notAlias[a.val] && !clauseStarts[a.val] && !passKeywords[a.val]) {
		alias, aliasTok, next = a.val, a, next+1
	} else {
		alias = fn.val
		for n := 2; r.q.TableFunctions[alias] != nil; n++ {
			alias = fn.val + "_" + strconv.Itoa(n)
		}
	}
	if r.q.TableFunctions[alias] != nil {
		return 0, r.li.errAt(aliasTok.start, "two table functions are named %s: give them different aliases", alias)
	}
	tf := &TableFunction{Pos: r.li.pos(r.toks[i].start), Name: fn.val, Alias: alias}
	r.q.TableFunctions[alias] = tf
	e.word("(", r.toks[c])
	if err := r.query(e, c+2, ccl); err != nil {
		return 0, err
	}
	e.word(")", r.toks[ccl])
	e.word("AS", aliasTok)
	e.ident(alias, aliasTok)
	if args.lo < args.hi {
		exprs, err := r.exprList(args.lo, args.hi, fn.val+"'s arguments")
		if err != nil {
			return 0, err
		}
		tf.Args = exprs
	}
	if r.peek(next, hi).isOp("(") {
		m := r.match[next]
		var cols []string
		for k := next + 1; k < m; k += 2 {
			if !r.toks[k].isIdent() || (k+1 < m && !r.toks[k+1].isOp(",")) {
				return 0, r.errAt(k, "expected a column name in the alias list of %s", alias)
			}
			cols = append(cols, r.toks[k].val)
		}
		if r.q.ColumnAliases == nil {
			r.q.ColumnAliases = map[string][]string{}
		}
		r.q.ColumnAliases[alias] = cols
		next = m + 1
	}
	return next, nil
}
