package input

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The extraction plan is the decoder's fast path for JSON. When every
// mapping is a plain chain of member names ($.a.b.c) and the record row path
// is "$", the decoder does not build a parse tree: it walks the record's
// bytes once, following a trie of the mapped member names, takes the values
// it needs where they stand and skips everything else, checking as it goes
// that the skipped text is well-formed.
//
// The fast path gives exactly the values the fastjson tree would give:
// duplicate members resolve to the first one, strings are unescaped the way
// fastjson does it (best effort: unknown escapes are kept as written), and
// numbers keep their text. Whatever it is not sure about — malformed JSON,
// several documents in one payload, an escaped member name on the walked
// path, an object or array where a column wants a value, deep nesting, NaN
// and Inf — makes it give up on that record, and the record is decoded again
// by the tree-based path, which produces the very rows or error it always
// did. FuzzFastPath holds the two paths equal.

// planNode is a member name on the way to one or more mapped values.
type planNode struct {
	key      string
	children []int // indexes into extractPlan.nodes
	cols     []int // the columns whose mapping ends here
}

// extractPlan is the trie of a schema's member paths; nodes[0] is the record
// row itself.
type extractPlan struct {
	nodes []planNode
}

// maxFastDepth bounds the nesting the fast path follows; deeper records take
// the tree-based path (fastjson allows 300 levels).
const maxFastDepth = 64

// newExtractPlan returns the plan of c, or nil when some mapping needs the
// tree-based path: a record row path other than "$", array indexes or
// flattening, the whole row ("$"), or a member name with a backslash.
func newExtractPlan(c *compiled) *extractPlan {
	if c.rowPath == nil || len(c.rowPath.head) > 0 || c.rowPath.all {
		return nil
	}
	p := &extractPlan{nodes: []planNode{{}}}
	for ci := range c.cols {
		path := c.cols[ci].path
		if path == nil || path.all || len(path.head) == 0 {
			return nil
		}
		n := 0
		for _, s := range path.head {
			if s.kind != segKey || strings.IndexByte(s.key, '\\') >= 0 {
				return nil
			}
			next := -1
			for _, ch := range p.nodes[n].children {
				if p.nodes[ch].key == s.key {
					next = ch
					break
				}
			}
			if next < 0 {
				next = len(p.nodes)
				p.nodes = append(p.nodes, planNode{key: s.key})
				p.nodes[n].children = append(p.nodes[n].children, next)
			}
			n = next
		}
		p.nodes[n].cols = append(p.nodes[n].cols, ci)
	}
	return p
}

// extractor runs a plan over one record at a time. vals holds the value of
// each column (jMissing when absent); string values point into the record or
// into scratch.
type extractor struct {
	plan *extractPlan
	seen []bool // per node: its member was met in the current object
	// hint is, per node, where in its children the search for the next
	// member starts: just after the last one found, as the records of a
	// stream mostly keep their members in one order.
	hint    []int
	vals    []fval
	scratch []byte
	// utf8 says the whole record is valid UTF-8, so that each string
	// taken from it unescaped is too (a '"' never falls inside a
	// multi-byte sequence) and need not be checked again.
	utf8 bool
}

func newExtractor(p *extractPlan, ncols int) *extractor {
	return &extractor{plan: p, seen: make([]bool, len(p.nodes)), hint: make([]int, len(p.nodes)), vals: make([]fval, ncols)}
}

// extract fills x.vals from data, a payload that must hold exactly one JSON
// document. ok is false when the fast path gives up on the record; x.vals
// is then meaningless.
func (x *extractor) extract(data []byte) (ok bool) {
	clear(x.vals)
	clear(x.seen)
	x.scratch = x.scratch[:0]
	x.utf8 = utf8.Valid(data)
	i := skipSpace(data, 0)
	if i >= len(data) {
		return false
	}
	if data[i] == '{' {
		i, ok = x.object(data, i+1, 0, 1)
	} else {
		i, ok = skipValue(data, i, 1)
	}
	if !ok {
		return false
	}
	return skipSpace(data, i) == len(data)
}

// object reads the members of an object whose '{' is just before data[i],
// for plan node n, and returns the offset after its '}'.
func (x *extractor) object(data []byte, i, n, depth int) (int, bool) {
	if depth > maxFastDepth {
		return 0, false
	}
	nodes := x.plan.nodes
	i = skipSpace(data, i)
	if i >= len(data) {
		return 0, false
	}
	if data[i] == '}' {
		return i + 1, true
	}
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != '"' {
			return 0, false
		}
		child, j := x.hinted(data, i+1, n)
		if child < 0 {
			// Member names are short: a plain loop beats bytes.IndexByte.
			for j = i + 1; j < len(data) && data[j] != '"' && data[j] != '\\'; j++ {
			}
			if j >= len(data) || data[j] == '\\' {
				// An escaped name (fastjson compares those in an order
				// of its own), or no closing quote.
				return 0, false
			}
			child = x.lookup(n, data[i+1:j])
		}
		i = skipSpace(data, j+1)
		if i >= len(data) || data[i] != ':' {
			return 0, false
		}
		i = skipSpace(data, i+1)
		if i >= len(data) {
			return 0, false
		}
		var ok bool
		switch {
		case child < 0 || x.seen[child]:
			// Not mapped, or a duplicate member: the first one wins.
			i, ok = skipValue(data, i, depth+1)
		case data[i] == '{' || data[i] == '[':
			x.seen[child] = true
			if len(nodes[child].cols) > 0 {
				return 0, false // a column wants the JSON text
			}
			if data[i] == '{' {
				i, ok = x.object(data, i+1, child, depth+1)
			} else {
				i, ok = skipValue(data, i, depth+1)
			}
		default:
			x.seen[child] = true
			var v fval
			v, i, ok = x.scalar(data, i)
			for _, c := range nodes[child].cols {
				x.vals[c] = v
			}
		}
		if !ok {
			return 0, false
		}
		var closed bool
		if i, closed, ok = afterMember(data, i, '}'); !ok || closed {
			return i, ok
		}
	}
}

// hinted checks whether the member name starting at data[i] is the one
// expected next in node n's children (the one after the last found): the
// common case of records that keep one member order, settled with one
// comparison instead of a scan for the closing quote. It returns the child
// and the offset of the closing quote, or -1 when the name is another.
// A hinted key has no backslash, so text equal to it followed by a quote is
// the whole name.
func (x *extractor) hinted(data []byte, i, n int) (child, end int) {
	kids := x.plan.nodes[n].children
	h := x.hint[n]
	if h >= len(kids) {
		h = 0
	}
	if len(kids) == 0 {
		return -1, 0
	}
	ch := kids[h]
	key := x.plan.nodes[ch].key
	end = i + len(key)
	if end < len(data) && data[end] == '"' && string(data[i:end]) == key {
		x.hint[n] = h + 1
		return ch, end
	}
	return -1, 0
}

// lookup finds the child of node n named key, starting the search at the
// hint; -1 when no mapping goes through key.
func (x *extractor) lookup(n int, key []byte) int {
	nodes := x.plan.nodes
	kids := nodes[n].children
	for k, h := 0, x.hint[n]; k < len(kids); k++ {
		if h+k >= len(kids) {
			h -= len(kids)
		}
		if ch := kids[h+k]; len(nodes[ch].key) == len(key) && nodes[ch].key == string(key) {
			x.hint[n] = h + k + 1
			return ch
		}
	}
	return -1
}

// fval is a value the fast path found: its kind and where its text is,
// data[lo:hi] of the record, or scratch[lo:hi] for a string that had to be
// unescaped. Holding no pointer, a record's values are stored and cleared
// as plain memory.
type fval struct {
	lo, hi int32
	kind   jkind
	esc    bool
}

// value returns the value of column c found in data, the record extract
// read last.
func (x *extractor) value(data []byte, c int) jval {
	v := x.vals[c]
	switch {
	case v.esc:
		return jval{kind: v.kind, raw: x.scratch[v.lo:v.hi:v.hi]}
	case v.hi == 0: // no text: missing, null, true or false
		return jval{kind: v.kind}
	}
	return jval{kind: v.kind, raw: data[v.lo:v.hi:v.hi], utf8: x.utf8 && v.kind == jString}
}

// scalar reads the string, number, boolean or null at data[i].
func (x *extractor) scalar(data []byte, i int) (fval, int, bool) {
	switch data[i] {
	case '"':
		end, esc, ok := stringEnd(data, i+1)
		if !ok {
			return fval{}, 0, false
		}
		if esc {
			start := len(x.scratch)
			x.scratch = appendUnescaped(x.scratch, data[i+1:end])
			return fval{kind: jString, lo: int32(start), hi: int32(len(x.scratch)), esc: true}, end + 1, true
		}
		return fval{kind: jString, lo: int32(i + 1), hi: int32(end)}, end + 1, true
	case 't':
		if bytes.HasPrefix(data[i:], textTrue) {
			return fval{kind: jTrue}, i + 4, true
		}
	case 'f':
		if bytes.HasPrefix(data[i:], textFalse) {
			return fval{kind: jFalse}, i + 5, true
		}
	case 'n':
		if bytes.HasPrefix(data[i:], textNull) {
			return fval{kind: jNull}, i + 4, true
		}
	default:
		end, ok := numberEnd(data, i)
		if ok {
			return fval{kind: jNumber, lo: int32(i), hi: int32(end)}, end, true
		}
	}
	return fval{}, 0, false
}

var textNull = []byte("null")

// skipValue checks the value at data[i] and returns the offset after it.
func skipValue(data []byte, i, depth int) (int, bool) {
	if depth > maxFastDepth {
		return 0, false
	}
	switch data[i] {
	case '{':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1, true
		}
		for {
			i = skipSpace(data, i)
			if i >= len(data) || data[i] != '"' {
				return 0, false
			}
			end, _, ok := stringEnd(data, i+1)
			if !ok {
				return 0, false
			}
			i = skipSpace(data, end+1)
			if i >= len(data) || data[i] != ':' {
				return 0, false
			}
			i = skipSpace(data, i+1)
			if i >= len(data) {
				return 0, false
			}
			if i, ok = skipValue(data, i, depth+1); !ok {
				return 0, false
			}
			var closed bool
			if i, closed, ok = afterMember(data, i, '}'); !ok || closed {
				return i, ok
			}
		}
	case '[':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			i = skipSpace(data, i)
			if i >= len(data) {
				return 0, false
			}
			if i, ok = skipValue(data, i, depth+1); !ok {
				return 0, false
			}
			var closed bool
			if i, closed, ok = afterMember(data, i, ']'); !ok || closed {
				return i, ok
			}
		}
	case '"':
		end, _, ok := stringEnd(data, i+1)
		return end + 1, ok
	case 't':
		return i + 4, bytes.HasPrefix(data[i:], textTrue)
	case 'f':
		return i + 5, bytes.HasPrefix(data[i:], textFalse)
	case 'n':
		return i + 4, bytes.HasPrefix(data[i:], textNull)
	}
	return numberEnd(data, i)
}

// skipSpace skips the white space fastjson skips.
func skipSpace(data []byte, i int) int {
	for i < len(data) && data[i] <= ' ' {
		switch data[i] {
		case ' ', '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd finds the closing quote of the string whose text starts at
// data[i]: the first quote not escaped by an odd number of backslashes. esc
// reports a backslash in the text.
func stringEnd(data []byte, i int) (end int, esc, ok bool) {
	for {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return 0, false, false
		}
		end = i + j
		if bytes.IndexByte(data[i:end], '\\') < 0 {
			return end, esc, true
		}
		esc = true
		k := end
		for data[k-1] == '\\' {
			k--
		}
		if (end-k)%2 == 0 {
			return end, true, true
		}
		i = end + 1
	}
}

// numberEnd returns the end of the number at data[i]: a run of the
// characters fastjson takes for one ([0-9.eE+-]). A run that is empty or a
// lone sign is refused, as are fastjson's Inf and NaN.
func numberEnd(data []byte, i int) (int, bool) {
	j := i
	for j < len(data) {
		c := data[j]
		if isDigit(c) || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+' {
			j++
			continue
		}
		break
	}
	if j == i || j == i+1 && (data[i] == '-' || data[i] == '+') {
		return 0, false
	}
	return j, true
}

// appendUnescaped appends s with its escapes resolved the way fastjson
// resolves them: the JSON escapes, \uXXXX and surrogate pairs; anything
// else (an unknown escape, a short or bad \u, a lone surrogate) is kept as
// written.
func appendUnescaped(dst, s []byte) []byte {
	for {
		n := bytes.IndexByte(s, '\\')
		if n < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:n]...)
		s = s[n+1:]
		if len(s) == 0 {
			return dst
		}
		ch := s[0]
		s = s[1:]
		switch ch {
		case '"', '\\', '/':
			dst = append(dst, ch)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			x, ok := hex4(s)
			if !ok {
				dst = append(dst, `\u`...)
				break
			}
			xs := s[:4]
			s = s[4:]
			if !utf16.IsSurrogate(rune(x)) {
				dst = utf8.AppendRune(dst, rune(x))
				break
			}
			var x1 uint16
			if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
				x1, ok = hex4(s[2:])
			} else {
				ok = false
			}
			if !ok {
				dst = append(dst, `\u`...)
				dst = append(dst, xs...)
				break
			}
			dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(x), rune(x1)))
			s = s[6:]
		default:
			dst = append(dst, '\\', ch)
		}
	}
}

// hex4 parses four hex digits at the start of s.
func hex4(s []byte) (uint16, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var x uint16
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		x = x<<4 | uint16(c)
	}
	return x, true
}

// afterMember reads what follows a member or element of an object or
// array: a comma (next is the index after it) or the closing byte close
// (closed, and next is the index after it); anything else is not ok.
func afterMember(data []byte, i int, close byte) (next int, closed, ok bool) {
	i = skipSpace(data, i)
	if i >= len(data) {
		return 0, false, false
	}
	switch data[i] {
	case ',':
		return i + 1, false, true
	case close:
		return i + 1, true, true
	}
	return 0, false, false
}
