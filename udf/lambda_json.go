package udf

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// goja's JSON.parse reads through encoding/json's token stream, which
// allocates an interface value per token and builds an error value to find
// the end of every document; parsing record payloads dominated a typical
// pre-processor's time. fastJSONParse is a direct parser that builds the
// JavaScript values itself. It takes only the common case — a string
// argument, no reviver, well-formed JSON, no "__proto__" key, no escaped
// surrogate, no negative zero — and hands anything else to the original
// JSON.parse, so results and error messages stay exactly goja's.

// fastJSONMark marks a JSON.parse that is already the fast one.
const fastJSONMark = "__kdaFastParse"

// useFastJSON installs the fast JSON.parse in rt once.
func (rt *Runtime) useFastJSON() {
	vm := rt.VM
	j, ok := vm.Get("JSON").(*goja.Object)
	if !ok {
		return
	}
	cur, ok := j.Get("parse").(*goja.Object)
	if !ok || cur.Get(fastJSONMark) != nil {
		return
	}
	orig, ok := goja.AssertFunction(cur)
	if !ok {
		return
	}
	fast := vm.ToValue(func(call goja.FunctionCall) goja.Value {
		if len(call.Arguments) == 1 {
			// A string with lone surrogates exports with U+FFFD in their
			// place: those go to goja.
			if s, ok := call.Arguments[0].Export().(string); ok && !strings.ContainsRune(s, utf8.RuneError) {
				p := jsonParser{vm: vm, s: s}
				if v, ok := p.document(); ok {
					return v
				}
			}
		}
		v, err := orig(goja.Undefined(), call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	}).(*goja.Object)
	_ = fast.DefineDataProperty(fastJSONMark, goja.Undefined(), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	_ = fast.DefineDataProperty("name", vm.ToValue("parse"), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	_ = j.DefineDataProperty("parse", fast, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

// jsonParser parses one JSON text; ok false means "let goja do it".
type jsonParser struct {
	vm  *goja.Runtime
	s   string
	i   int
	buf []byte
}

func (p *jsonParser) document() (goja.Value, bool) {
	v, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.s)
}

func (p *jsonParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// maxJSONDepth leaves deeply nested documents to goja.
const maxJSONDepth = 512

func (p *jsonParser) value(depth int) (goja.Value, bool) {
	p.space()
	if p.i >= len(p.s) || depth > maxJSONDepth {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		o := p.vm.NewObject()
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return o, true
		}
		for {
			p.space()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, false
			}
			k, ok := p.str()
			if !ok || k == "__proto__" {
				return nil, false
			}
			p.space()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, false
			}
			p.i++
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			if o.Set(k, v) != nil {
				return nil, false
			}
			p.space()
			if p.i >= len(p.s) {
				return nil, false
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == '}' {
				p.i++
				return o, true
			}
			return nil, false
		}
	case c == '[':
		p.i++
		var items []any
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return p.vm.NewArray(), true
		}
		for {
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			items = append(items, v)
			p.space()
			if p.i >= len(p.s) {
				return nil, false
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ']' {
				p.i++
				return p.vm.NewArray(items...), true
			}
			return nil, false
		}
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return p.vm.ToValue(s), true
	case c == 't':
		return p.word("true", goja.Value(p.vm.ToValue(true)))
	case c == 'f':
		return p.word("false", goja.Value(p.vm.ToValue(false)))
	case c == 'n':
		return p.word("null", goja.Null())
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *jsonParser) word(w string, v goja.Value) (goja.Value, bool) {
	if len(p.s)-p.i < len(w) || p.s[p.i:p.i+len(w)] != w {
		return nil, false
	}
	p.i += len(w)
	return v, true
}

func (p *jsonParser) number() (goja.Value, bool) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	n := digits()
	if n == 0 || n > 1 && p.s[intStart] == '0' {
		return nil, false
	}
	integer := true
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		integer = false
		if digits() == 0 {
			return nil, false
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		integer = false
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	text := p.s[start:p.i]
	if integer && n <= 15 {
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil || v == 0 && text[0] == '-' {
			return nil, false // -0 is goja's to get right
		}
		return p.vm.ToValue(v), true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f == 0 && text[0] == '-' {
		return nil, false
	}
	return p.vm.ToValue(f), true
}

// str reads a string starting at its opening quote.
func (p *jsonParser) str() (string, bool) {
	p.i++
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			return s, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

// escaped reads the rest of a string that has escapes.
func (p *jsonParser) escaped(start int) (string, bool) {
	b := append(p.buf[:0], p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			p.buf = b
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			return "", false
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if p.i+4 > len(p.s) {
				return "", false
			}
			r, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
			if err != nil || r >= 0xd800 && r <= 0xdfff {
				return "", false // surrogates: goja keeps them as UTF-16
			}
			p.i += 4
			b = utf8.AppendRune(b, rune(r))
		default:
			return "", false
		}
	}
	return "", false
}
