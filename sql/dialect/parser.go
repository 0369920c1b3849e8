package dialect

import (
	"strconv"
	"strings"

	"github.com/kdaproject/kda/sql/types"
)

// Parse parses KDA SQL application code: ;-separated CREATE STREAM, CREATE
// PUMP, CREATE FUNCTION and SELECT statements. Any error is a *SyntaxError.
func Parse(src string) (*Program, error) {
	li := newLineIndex(src)
	toks, err := lex(li)
	if err != nil {
		return nil, err
	}
	prog := &Program{Source: src}
	start := 0
	for i, t := range toks {
		if !t.isOp(";") && t.kind != tkEOF {
			continue
		}
		if i > start {
			st, err := parseStatement(li, toks[start:i], t)
			if err != nil {
				return nil, err
			}
			if cp, ok := st.(*CreatePump); ok && cp.hop != nil {
				// A HOP window join: a pump per shift, merged (hopjoin.go).
				hs, err := hopStatements(prog.Statements, cp)
				if err != nil {
					return nil, err
				}
				prog.Statements = append(prog.Statements, hs...)
			} else {
				prog.Statements = append(prog.Statements, st)
			}
		}
		start = i + 1
	}
	return prog, nil
}

// parser walks the tokens of one statement. toks ends with the statement's
// terminator (";" or EOF), which the parser treats as the end.
type parser struct {
	li   *lineIndex
	toks []token
	i    int
}

func parseStatement(li *lineIndex, toks []token, term token) (Statement, error) {
	all := append(toks[:len(toks):len(toks)], token{kind: tkEOF, start: term.start, end: term.start})
	p := &parser{li: li, toks: all}
	first := p.peek()
	switch {
	case first.is("CREATE"):
		return p.create()
	case first.is("SELECT") || first.isOp("(") || first.is("VALUES"):
		q, err := parseQuery(li, all, 0, len(all)-1)
		if err != nil {
			return nil, err
		}
		return &SelectStatement{Pos: li.pos(first.start), Query: q}, nil
	case first.is("INSERT"):
		return nil, li.errAt(first.start, "INSERT must be the body of a pump: CREATE PUMP name AS INSERT INTO ...")
	}
	return nil, li.errAt(first.start, "unknown statement %s: expected CREATE STREAM, CREATE PUMP, CREATE FUNCTION or SELECT", describe(first))
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

// accept consumes the keyword kw if it is next.
func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) acceptOp(op string) bool {
	if p.peek().isOp(op) {
		p.i++
		return true
	}
	return false
}

func (p *parser) errAt(t token, format string, args ...any) *SyntaxError {
	return p.li.errAt(t.start, format, args...)
}

func (p *parser) expect(kw string, what string) error {
	if p.accept(kw) {
		return nil
	}
	return p.errAt(p.peek(), "expected %s %s, found %s", kw, what, describe(p.peek()))
}

func (p *parser) expectOp(op string, what string) error {
	if p.acceptOp(op) {
		return nil
	}
	return p.errAt(p.peek(), "expected %q %s, found %s", op, what, describe(p.peek()))
}

// name reads an identifier: unquoted folds to upper case, quoted keeps case.
func (p *parser) name(what string) (string, token, error) {
	t := p.peek()
	if !t.isIdent() {
		return "", t, p.errAt(t, "expected %s, found %s", what, describe(t))
	}
	p.i++
	return t.val, t, nil
}

// describe names a token for error messages.
func describe(t token) string {
	switch t.kind {
	case tkEOF:
		return "end of statement"
	case tkWord:
		return strconv.Quote(t.val)
	case tkQuoted:
		return "identifier " + strconv.Quote(t.val)
	case tkString:
		return "string literal"
	case tkDollar:
		return "$$ body"
	case tkNumber:
		return "number " + t.val
	}
	return strconv.Quote(t.val)
}

func (p *parser) create() (Statement, error) {
	start := p.next() // CREATE
	orReplace := false
	if p.accept("OR") {
		if err := p.expect("REPLACE", "after CREATE OR"); err != nil {
			return nil, err
		}
		orReplace = true
	}
	kind := p.peek()
	switch {
	case p.accept("STREAM"):
		return p.createStream(start, orReplace)
	case p.accept("PUMP"):
		return p.createPump(start, orReplace)
	case p.accept("FUNCTION"):
		return p.createFunction(start, orReplace)
	case p.accept("AGGREGATE"):
		return p.createAggregate(start, orReplace) // aggfunc.go
	case kind.is("TABLE") || kind.is("VIEW"):
		return nil, p.errAt(kind, "CREATE %s is not part of KDA SQL: use CREATE STREAM, CREATE PUMP or CREATE FUNCTION (reference tables come from the application's configuration)", kind.val)
	}
	return nil, p.errAt(kind, "expected STREAM, PUMP, FUNCTION or AGGREGATE FUNCTION after CREATE, found %s", describe(kind))
}

func (p *parser) createStream(start token, orReplace bool) (Statement, error) {
	name, _, err := p.name("a stream name")
	if err != nil {
		return nil, err
	}
	st := &CreateStream{Pos: p.li.pos(start.start), OrReplace: orReplace, Name: name}
	if st.Columns, err = p.columnDefs("column", true); err != nil {
		return nil, err
	}
	if p.accept("DESCRIPTION") {
		t := p.next()
		if t.kind != tkString {
			return nil, p.errAt(t, "DESCRIPTION takes a string literal, found %s", describe(t))
		}
		st.Description = t.val
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.errAt(t, "unexpected %s after the column list of CREATE STREAM %s", describe(t), name)
	}
	return st, nil
}

// columnDefs reads "(name type [NOT NULL], ...)". what is "column" or
// "parameter"; a stream needs at least one column, a function may have none.
func (p *parser) columnDefs(what string, needOne bool) ([]ColumnDef, error) {
	if err := p.expectOp("(", "to open the "+what+" list"); err != nil {
		return nil, err
	}
	var cols []ColumnDef
	seen := map[string]bool{}
	if !needOne && p.acceptOp(")") {
		return cols, nil
	}
	for {
		name, nt, err := p.name("a " + what + " name")
		if err != nil {
			return nil, err
		}
		if name == "ROWTIME" && what == "column" {
			return nil, p.errAt(nt, "ROWTIME is implicit in every stream: do not declare it")
		}
		if seen[name] {
			return nil, p.errAt(nt, "%s %s is declared twice", what, name)
		}
		seen[name] = true
		if t := p.peek(); t.isOp(",") || t.isOp(")") || t.kind == tkEOF {
			return nil, p.errAt(t, "%s %s has no type", what, name)
		}
		typ, err := p.typ()
		if err != nil {
			return nil, err
		}
		if p.peek().is("NOT") && p.peekAt(1).is("NULL") {
			p.i += 2
			typ.NotNull = true
		} else {
			p.accept("NULL") // an explicit NULL is the default
		}
		cols = append(cols, ColumnDef{Pos: p.li.pos(nt.start), Name: name, Type: typ})
		if p.acceptOp(",") {
			continue
		}
		if err := p.expectOp(")", "or \",\" in the "+what+" list"); err != nil {
			return nil, err
		}
		return cols, nil
	}
}

// typ reads a type name of KDA-SQL.md §5.1.
func (p *parser) typ() (types.Type, error) {
	t := p.peek()
	if t.kind != tkWord {
		return types.Type{}, p.errAt(t, "expected a type name, found %s", describe(t))
	}
	p.i++
	name := t.val
	if name == "DOUBLE" && p.accept("PRECISION") {
		name = "DOUBLE PRECISION"
	}
	if typ, ok := types.Lookup(name); ok {
		return typ, nil
	}
	var typ types.Type
	switch name {
	case "DECIMAL", "DEC", "NUMERIC":
		typ = types.Type{Kind: types.Decimal, Precision: types.DefaultDecimalPrecision}
		if p.acceptOp("(") {
			prec, err := p.int("a precision", 1, types.MaxDecimalDigits)
			if err != nil {
				return typ, err
			}
			typ.Precision = prec
			if p.acceptOp(",") {
				if typ.Scale, err = p.int("a scale", 0, prec); err != nil {
					return typ, err
				}
			}
			if err := p.expectOp(")", "after the precision of "+t.val); err != nil {
				return typ, err
			}
		}
	case "CHAR", "CHARACTER", "VARCHAR", "BINARY", "VARBINARY":
		kind := map[string]types.Kind{"CHAR": types.Char, "CHARACTER": types.Char, "VARCHAR": types.Varchar,
			"BINARY": types.Binary, "VARBINARY": types.Varbinary}[t.val]
		if (kind == types.Char || kind == types.Binary) && p.accept("VARYING") {
			kind++ // CHARACTER VARYING, BINARY VARYING
		}
		typ = types.Type{Kind: kind}
		if kind == types.Char || kind == types.Binary {
			typ.Length = 1
		}
		if p.acceptOp("(") {
			n, err := p.int("a length", 1, types.MaxCharLength)
			if err != nil {
				return typ, err
			}
			typ.Length = n
			if err := p.expectOp(")", "after the length of "+t.val); err != nil {
				return typ, err
			}
		}
	case "INTERVAL":
		return typ, p.errAt(t, "INTERVAL is not a column type in KDA SQL: store a BIGINT of milliseconds instead")
	default:
		return typ, p.errAt(t, "unknown type %s", t.val)
	}
	return typ, nil
}

// int reads an unsigned integer in [lo, hi].
func (p *parser) int(what string, lo, hi int) (int, error) {
	t := p.peek()
	n, err := strconv.Atoi(t.val)
	if t.kind != tkNumber || err != nil {
		return 0, p.errAt(t, "expected %s, found %s", what, describe(t))
	}
	if n < lo || n > hi {
		return 0, p.errAt(t, "%s must be between %d and %d, not %d", what, lo, hi, n)
	}
	p.i++
	return n, nil
}

func (p *parser) createPump(start token, orReplace bool) (Statement, error) {
	name, _, err := p.name("a pump name")
	if err != nil {
		return nil, err
	}
	st := &CreatePump{Pos: p.li.pos(start.start), OrReplace: orReplace, Name: name}
	if err := p.expect("AS", "after the pump name"); err != nil {
		return nil, err
	}
	if err := p.expect("INSERT", "after CREATE PUMP ... AS"); err != nil {
		return nil, err
	}
	st.Expedited = p.accept("EXPEDITED")
	if err := p.expect("INTO", "after INSERT"); err != nil {
		return nil, err
	}
	if st.Target, _, err = p.name("the target stream name"); err != nil {
		return nil, err
	}
	// "(" starts either a column list or a parenthesized query.
	if p.peek().isOp("(") && !p.peekAt(1).is("SELECT") && !p.peekAt(1).isOp("(") {
		p.i++
		for {
			col, _, err := p.name("a column name")
			if err != nil {
				return nil, err
			}
			st.Columns = append(st.Columns, col)
			if p.acceptOp(",") {
				continue
			}
			if err := p.expectOp(")", "or \",\" in the INSERT column list"); err != nil {
				return nil, err
			}
			break
		}
	}
	if t := p.peek(); !t.is("SELECT") && !t.isOp("(") && !t.is("VALUES") {
		return nil, p.errAt(t, "expected the pump's SELECT after INSERT INTO %s, found %s", st.Target, describe(t))
	}
	if st.Query, err = parseQueryWith(p.li, p.toks, p.i, len(p.toks)-1, hopCopy{pump: true}); err != nil {
		return nil, err
	}
	if st.hop, err = hopWindow(p.li, p.toks, p.i, len(p.toks)-1, st.Query); err != nil {
		return nil, err
	}
	return st, nil
}

func (p *parser) createFunction(start token, orReplace bool) (Statement, error) {
	name, _, err := p.name("a function name")
	if err != nil {
		return nil, err
	}
	f := &CreateFunction{Pos: p.li.pos(start.start), OrReplace: orReplace, Name: name}
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
			if !lang.is("SQL") && !lang.is("JAVASCRIPT") {
				return nil, p.errAt(lang, "LANGUAGE must be SQL or JAVASCRIPT, found %s", describe(lang))
			}
			f.Language = lang.val
			continue
		case p.accept("DETERMINISTIC"):
			f.Deterministic = true
			continue
		case t.is("NOT") && p.peekAt(1).is("DETERMINISTIC"):
			p.i += 2
			f.Deterministic = false
			continue
		case p.accept("CONTAINS"):
			if err := p.expect("SQL", "after CONTAINS"); err != nil {
				return nil, err
			}
			continue
		case p.accept("NO"):
			if err := p.expect("SQL", "after NO"); err != nil {
				return nil, err
			}
			continue
		case p.accept("READS") || p.accept("MODIFIES"):
			if err := p.expect("SQL", "after "+t.val); err != nil {
				return nil, err
			}
			if err := p.expect("DATA", "after "+t.val+" SQL"); err != nil {
				return nil, err
			}
			continue
		case p.accept("SPECIFIC"):
			if _, _, err := p.name("a specific name"); err != nil {
				return nil, err
			}
			continue
		case t.is("RETURNS") && p.peekAt(1).is("NULL"):
			p.i += 2
			for _, kw := range []string{"ON", "NULL", "INPUT"} {
				if err := p.expect(kw, "in RETURNS NULL ON NULL INPUT"); err != nil {
					return nil, err
				}
			}
			f.ReturnsNullOnNullInput = true
			continue
		case p.accept("CALLED"):
			for _, kw := range []string{"ON", "NULL", "INPUT"} {
				if err := p.expect(kw, "in CALLED ON NULL INPUT"); err != nil {
					return nil, err
				}
			}
			f.ReturnsNullOnNullInput = false
			continue
		}
		break
	}
	t := p.peek()
	switch {
	case t.is("RETURN"):
		if f.Language == "JAVASCRIPT" {
			return nil, p.errAt(t, "a LANGUAGE JAVASCRIPT function takes its body as AS '<script>' or AS $$<script>$$, not RETURN")
		}
		f.Language = "SQL"
		p.i++
		body := p.peek()
		end := p.toks[len(p.toks)-1]
		if body.kind == tkEOF {
			return nil, p.errAt(body, "RETURN needs an expression")
		}
		f.Body = strings.TrimSpace(p.li.src[body.start:end.start])
		q := &Query{}
		r := newRewriter(p.li, p.toks, q)
		exprs, err := r.exprList(p.i, len(p.toks)-1, "the RETURN expression")
		if err != nil {
			return nil, err
		}
		if len(exprs) != 1 {
			return nil, p.errAt(body, "RETURN takes exactly one expression")
		}
		if len(q.Windows) > 0 {
			return nil, p.errAt(body, "a function body cannot use OVER windows")
		}
		f.BodyExpr = exprs[0]
		f.Locations = q.Locations
	case t.is("AS"):
		p.i++
		body := p.next()
		if body.kind != tkString && body.kind != tkDollar {
			return nil, p.errAt(body, "AS takes the function's script as a string literal or $$...$$, found %s", describe(body))
		}
		if f.Language == "" {
			f.Language = "JAVASCRIPT"
		}
		if f.Language != "JAVASCRIPT" {
			return nil, p.errAt(t, "a LANGUAGE SQL function takes its body as RETURN <expression>")
		}
		f.Body = body.val
		f.BodyPos = p.li.pos(body.start + 1) // after the quote
		if body.kind == tkDollar {
			f.BodyPos = p.li.pos(body.start + 2) // after $$
		}
		if t := p.peek(); t.kind != tkEOF {
			return nil, p.errAt(t, "unexpected %s after the function body", describe(t))
		}
	default:
		return nil, p.errAt(t, "expected RETURN <expression> (or AS '<script>' for LANGUAGE JAVASCRIPT), found %s", describe(t))
	}
	return f, nil
}
