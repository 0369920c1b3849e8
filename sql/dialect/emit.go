package dialect

import (
	"strings"
)

// tokClass says what a rewritten token can stand for in the AST, so that the
// locator does not take the string 'A' for the column A.
type tokClass uint8

const (
	clsOther tokClass = iota // keywords, operators, synthesized names
	clsIdent                 // identifiers (backticked in the output)
	clsLit                   // string, number and binary literals
)

// outTok is one token of the rewritten text and the source token it came
// from.
type outTok struct {
	start, end int // in the rewritten text
	src        token
	class      tokClass
	key        string // what the AST node will hold: the name, the literal's value, the keyword
}

// emitter builds the MySQL text handed to sqlparser, one token at a time,
// remembering for each output token where it came from in the user's source.
type emitter struct {
	b    strings.Builder
	toks []outTok
}

func (e *emitter) put(text string, src token, class tokClass, key string) {
	if e.b.Len() > 0 {
		e.b.WriteByte(' ')
	}
	start := e.b.Len()
	e.b.WriteString(text)
	e.toks = append(e.toks, outTok{start: start, end: e.b.Len(), src: src, class: class, key: key})
}

// word emits a keyword, operator or synthesized name as is.
func (e *emitter) word(text string, src token) { e.put(text, src, clsOther, text) }

// ident emits an identifier between backticks, so that MySQL keywords
// (STATUS, VALUE, KEY...) and any character of a quoted name are safe.
func (e *emitter) ident(name string, src token) {
	e.put("`"+strings.ReplaceAll(name, "`", "``")+"`", src, clsIdent, name)
}

// str emits a string literal in MySQL's escaping: KDA strings have no
// backslash escapes, MySQL's do.
func (e *emitter) str(val string, src token) {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(val); i++ {
		switch c := val[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	e.put(b.String(), src, clsLit, val)
}

// lit emits a number or a binary literal.
func (e *emitter) lit(text, key string, src token) { e.put(text, src, clsLit, key) }

func (e *emitter) text() string { return e.b.String() }

// at returns the output token that holds output offset off, or the last one
// before it.
func (e *emitter) at(off int) (outTok, bool) {
	var best outTok
	found := false
	for _, t := range e.toks {
		if t.start > off {
			break
		}
		best, found = t, true
	}
	return best, found
}
