package kinesisapi

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader is a small pull parser for the hot request shapes (PutRecords,
// PutRecord, GetRecords). It accepts exactly what encoding/json accepts for
// those shapes and produces the same values — including encoding/json's
// quirks: case-insensitive member names, U+FFFD for invalid UTF-8 and broken
// surrogate escapes, last duplicate member wins, base64 that ignores CR/LF —
// which FuzzDecodeJSON checks against encoding/json. Being a pull parser it
// allocates only the values it returns.
type jsonReader struct {
	b     []byte
	i     int
	depth int // open objects and arrays
}

// maxJSONDepth matches encoding/json's nesting limit.
const maxJSONDepth = 10000

func (r *jsonReader) syntax(what string) error {
	return serializationError("malformed JSON at offset " + strconv.Itoa(r.i) + ": " + what)
}

// mismatch reports a value of the wrong type at field, or a syntax error
// when what follows cannot start a value at all.
func (r *jsonReader) mismatch(field, want string) error {
	switch c := r.peek(); {
	case c == '{' || c == '[' || c == '"' || c == 't' || c == 'f' || c == 'n' || c == '-' || (c >= '0' && c <= '9'):
		return serializationError("unexpected JSON value at '" + field + "': expected " + want)
	}
	return r.syntax("expected a value")
}

func typeError(field, want string) error {
	return serializationError("unexpected JSON value at '" + field + "': expected " + want)
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\r', '\n':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *jsonReader) literal(lit string) bool {
	if len(r.b)-r.i >= len(lit) && string(r.b[r.i:r.i+len(lit)]) == lit {
		r.i += len(lit)
		return true
	}
	return false
}

// null consumes a null literal when one is next.
func (r *jsonReader) null() (bool, error) {
	if r.peek() != 'n' {
		return false, nil
	}
	if !r.literal("null") {
		return false, r.syntax("invalid literal")
	}
	return true, nil
}

// object iterates over the members of an object, calling member with each
// (unescaped) name; member must consume the value. The opening brace must be
// next.
func (r *jsonReader) object(member func(name []byte) error) error {
	if r.peek() != '{' {
		return r.syntax("expected an object")
	}
	if err := r.open(); err != nil {
		return err
	}
	if r.peek() == '}' {
		r.close()
		return nil
	}
	for {
		if r.peek() != '"' {
			return r.syntax("expected a member name")
		}
		name, _, err := r.str(nil)
		if err != nil {
			return err
		}
		if r.peek() != ':' {
			return r.syntax("expected ':'")
		}
		r.i++
		if err := member(name); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.close()
			return nil
		default:
			return r.syntax("expected ',' or '}'")
		}
	}
}

// array iterates over the elements of an array; elem must consume each.
func (r *jsonReader) array(elem func() error) error {
	if r.peek() != '[' {
		return r.syntax("expected an array")
	}
	if err := r.open(); err != nil {
		return err
	}
	if r.peek() == ']' {
		r.close()
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.close()
			return nil
		default:
			return r.syntax("expected ',' or ']'")
		}
	}
}

// str reads a string. It returns the bytes between the quotes when they need
// no unescaping and no UTF-8 repair (raw is true; the slice aliases the
// input), else the decoded bytes appended to scratch.
func (r *jsonReader) str(scratch []byte) (s []byte, raw bool, err error) {
	if r.peek() != '"' {
		return nil, false, r.syntax("expected a string")
	}
	r.i++
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s = r.b[start:r.i]
			r.i++
			return s, true, nil
		case c == '\\' || c >= utf8.RuneSelf:
			return r.slowStr(start, scratch)
		case c < 0x20:
			return nil, false, r.syntax("control character in string")
		}
		r.i++
	}
	return nil, false, r.syntax("unterminated string")
}

// slowStr finishes a string that has escapes or non-ASCII bytes, decoding it
// the way encoding/json does.
func (r *jsonReader) slowStr(start int, out []byte) ([]byte, bool, error) {
	out = append(out[:0], r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return out, false, nil
		case c < 0x20:
			return nil, false, r.syntax("control character in string")
		case c == '\\':
			r.i++
			if r.i >= len(r.b) {
				return nil, false, r.syntax("unterminated string")
			}
			e := r.b[r.i]
			r.i++
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr, ok := r.hex4()
				if !ok {
					return nil, false, r.syntax("invalid \\u escape")
				}
				if utf16.IsSurrogate(rr) {
					// A high surrogate may be followed by its low half; a
					// lone or mismatched half becomes U+FFFD, and an escape
					// that does not pair is left for the next round.
					save := r.i
					if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
						r.i += 2
						if r2, ok := r.hex4(); ok {
							if dec := utf16.DecodeRune(rr, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								break
							}
						}
					}
					r.i = save
					rr = utf8.RuneError
				}
				out = utf8.AppendRune(out, rr)
			default:
				return nil, false, r.syntax("invalid escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			r.i++
		default:
			rr, size := utf8.DecodeRune(r.b[r.i:])
			if rr == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, r.b[r.i:r.i+size]...)
			}
			r.i += size
		}
	}
	return nil, false, r.syntax("unterminated string")
}

func (r *jsonReader) hex4() (rune, bool) {
	if len(r.b)-r.i < 4 {
		return 0, false
	}
	var v rune
	for _, c := range r.b[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	r.i += 4
	return v, true
}

// number reads a JSON number literal and returns its text.
func (r *jsonReader) number() ([]byte, error) {
	r.ws()
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.b) && r.b[r.i] == '0':
		r.i++
	case r.i < len(r.b) && r.b[r.i] >= '1' && r.b[r.i] <= '9':
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
		}
	default:
		return nil, r.syntax("invalid number")
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if r.i >= len(r.b) || r.b[r.i] < '0' || r.b[r.i] > '9' {
			return nil, r.syntax("invalid number")
		}
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if r.i >= len(r.b) || r.b[r.i] < '0' || r.b[r.i] > '9' {
			return nil, r.syntax("invalid number")
		}
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
		}
	}
	return r.b[start:r.i], nil
}

// open consumes the opening bracket of an object or array.
func (r *jsonReader) open() error {
	r.depth++
	if r.depth > maxJSONDepth {
		return r.syntax("exceeded max depth")
	}
	r.i++
	return nil
}

// close consumes the closing bracket of an object or array.
func (r *jsonReader) close() {
	r.depth--
	r.i++
}

// skip consumes one value of any type, checking its syntax.
func (r *jsonReader) skip() error {
	switch r.peek() {
	case '{':
		return r.object(func([]byte) error { return r.skip() })
	case '[':
		return r.array(func() error { return r.skip() })
	case '"':
		_, _, err := r.str(nil)
		return err
	case 't':
		if r.literal("true") {
			return nil
		}
	case 'f':
		if r.literal("false") {
			return nil
		}
	case 'n':
		if r.literal("null") {
			return nil
		}
	default:
		_, err := r.number()
		return err
	}
	return r.syntax("invalid literal")
}

// readStringPtr reads a string or null into *dst.
func (r *jsonReader) readStringPtr(field string, dst **string, scratch *[]byte) error {
	if isNull, err := r.null(); isNull || err != nil {
		if isNull {
			*dst = nil
		}
		return err
	}
	if r.peek() != '"' {
		return r.mismatch(field, "a string")
	}
	s, raw, err := r.str((*scratch)[:0])
	if err != nil {
		return err
	}
	if !raw {
		*scratch = s
	}
	v := string(s)
	*dst = &v
	return nil
}

// readBlob reads a base64 string or null into *dst. Decoded bytes are
// carved from *slab when it has room, so a batch of records shares one
// allocation; each blob gets a capped slice so appends cannot spill into the
// next.
func (r *jsonReader) readBlob(field string, dst *[]byte, slab *[]byte, scratch *[]byte) error {
	if isNull, err := r.null(); isNull || err != nil {
		if isNull {
			*dst = nil
		}
		return err
	}
	if r.peek() != '"' {
		return r.mismatch(field, "a base64 string")
	}
	s, raw, err := r.str((*scratch)[:0])
	if err != nil {
		return err
	}
	if !raw {
		*scratch = s
	}
	n := base64.StdEncoding.DecodedLen(len(s))
	// An empty blob decodes to an empty, non-null slice, as in encoding/json.
	fromSlab := n > 0 && cap(*slab)-len(*slab) >= n
	var buf []byte
	if fromSlab {
		off := len(*slab)
		buf = (*slab)[off : off+n]
	} else {
		buf = make([]byte, n)
	}
	m, err := base64.StdEncoding.Decode(buf, s)
	if err != nil {
		return serializationError("a blob at '" + field + "' is not valid base64: " + err.Error())
	}
	if fromSlab {
		*slab = (*slab)[:len(*slab)+m]
	}
	*dst = buf[:m:m]
	return nil
}

func (r *jsonReader) readIntPtr(field string, dst **int) error {
	if isNull, err := r.null(); isNull || err != nil {
		if isNull {
			*dst = nil
		}
		return err
	}
	if c := r.peek(); c != '-' && (c < '0' || c > '9') {
		return r.mismatch(field, "an integer")
	}
	num, err := r.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(num), 10, strconv.IntSize)
	if err != nil {
		return typeError(field, "an integer")
	}
	v := int(n)
	*dst = &v
	return nil
}

func (r *jsonReader) readBoolPtr(field string, dst **bool) error {
	if isNull, err := r.null(); isNull || err != nil {
		if isNull {
			*dst = nil
		}
		return err
	}
	var v bool
	switch r.peek() {
	case 't':
		if !r.literal("true") {
			return r.syntax("invalid literal")
		}
		v = true
	case 'f':
		if !r.literal("false") {
			return r.syntax("invalid literal")
		}
	default:
		return r.mismatch(field, "a boolean")
	}
	*dst = &v
	return nil
}

// document runs top, which must read one object, then checks that nothing
// but space follows.
func (r *jsonReader) document(top func() error) error {
	if r.peek() != '{' {
		return serializationError("the request body must be a JSON object")
	}
	if err := top(); err != nil {
		return err
	}
	if r.ws(); r.i != len(r.b) {
		return r.syntax("data after the top-level value")
	}
	return nil
}

// fieldIs reports whether a member name selects a field, matching as
// encoding/json does: exactly, or else case-insensitively.
func fieldIs(name []byte, field string) bool {
	return string(name) == field || strings.EqualFold(string(name), field)
}
