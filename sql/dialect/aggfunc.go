package dialect

import "github.com/kdaproject/kda/sql/types"

// CreateAggregateFunction is kda's CREATE [OR REPLACE] AGGREGATE FUNCTION
// name(params) RETURNS type [LANGUAGE JAVASCRIPT] AS $$<object>$$ (or
// AS '<object>'): an aggregate written in JavaScript as an object with
// init(), accumulate(state, x...), merge(a, b), result(state) and
// optionally retract(state, x...). See docs/javascript.md.
type CreateAggregateFunction struct {
	Pos       Pos
	OrReplace bool
	Name      string
	Params    []ColumnDef
	Returns   types.Type
	Language  string // "JAVASCRIPT"
	// Body is the script: the text between $$ and $$, or the string
	// literal's value.
	Body string
	// BodyPos is where Body starts in the source, to place the script's
	// syntax errors (exact for $$ bodies; in a string literal, columns
	// after a doubled quote on the same line are one off per quote).
	BodyPos Pos
}

func (s *CreateAggregateFunction) Position() Pos { return s.Pos }

// createAggregate parses what follows CREATE [OR REPLACE] AGGREGATE.
func (p *parser) createAggregate(start token, orReplace bool) (Statement, error) {
	if err := p.expect("FUNCTION", "after CREATE AGGREGATE"); err != nil {
		return nil, err
	}
	name, _, err := p.name("an aggregate function name")
	if err != nil {
		return nil, err
	}
	f := &CreateAggregateFunction{Pos: p.li.pos(start.start), OrReplace: orReplace, Name: name, Language: "JAVASCRIPT"}
	if f.Params, err = p.columnDefs("parameter", false); err != nil {
		return nil, err
	}
	if err := p.expect("RETURNS", "after the parameter list"); err != nil {
		return nil, err
	}
	if f.Returns, err = p.typ(); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case p.accept("LANGUAGE"):
			lang := p.next()
			if !lang.is("JAVASCRIPT") {
				return nil, p.errAt(lang, "an aggregate function is written in JavaScript: LANGUAGE JAVASCRIPT, found %s", describe(lang))
			}
			continue
		case p.accept("DETERMINISTIC"):
			continue
		case t.is("NOT") && p.peekAt(1).is("DETERMINISTIC"):
			p.i += 2
			continue
		}
		break
	}
	t := p.peek()
	switch {
	case t.is("RETURN"):
		return nil, p.errAt(t, "an aggregate function takes its JavaScript object as AS $$ { init() {...}, accumulate(state, x) {...}, merge(a, b) {...}, result(state) {...} } $$, not RETURN")
	case !t.is("AS"):
		return nil, p.errAt(t, "expected AS $$ { init() {...}, accumulate(state, x) {...}, merge(a, b) {...}, result(state) {...} } $$, found %s", describe(t))
	}
	p.i++
	body := p.next()
	switch body.kind {
	case tkDollar:
		f.BodyPos = p.li.pos(body.start + 2)
	case tkString:
		f.BodyPos = p.li.pos(body.start + 1)
	default:
		return nil, p.errAt(body, "AS takes the aggregate's JavaScript as $$...$$ or a string literal, found %s", describe(body))
	}
	f.Body = body.val
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.errAt(t, "unexpected %s after the aggregate function's body", describe(t))
	}
	return f, nil
}
