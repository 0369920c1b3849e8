package input

import (
	"fmt"
	"strconv"
	"strings"
)

// The JSONPath subset of KDA's input mappings (KDA-SQL.md §5.2):
//
//	$                 the record row itself
//	$.a.b             object members, case-sensitive
//	$["x y"] $['x']   members whose names need quoting (\" \' \\ escapes)
//	$.arr[0]          an array element
//	$.arr[0:]         the whole array (as JSON text in a CHAR column)
//	$.arr[0:].f       flattening: one row per element of arr
//
// [*] is accepted as a synonym of [0:]. At most one [0:] may appear in a path.

type segKind uint8

const (
	segKey   segKind = iota // .name or ["name"]
	segIndex                // [n]
	segAll                  // [0:] or [*]
)

type segment struct {
	kind  segKind
	key   string
	index int
}

// jsonPath is a parsed mapping. When all is set, head reaches an array and
// tail applies to each of its elements.
type jsonPath struct {
	text string
	head []segment
	all  bool
	tail []segment
}

// flattens reports a path that produces one row per array element.
func (p *jsonPath) flattens() bool { return p.all && len(p.tail) > 0 }

// headKey identifies the array a flattening path walks, to check that all
// flattening columns walk the same one.
func (p *jsonPath) headKey() string {
	var b strings.Builder
	for _, s := range p.head {
		switch s.kind {
		case segKey:
			b.WriteString(strconv.Quote(s.key))
		case segIndex:
			fmt.Fprintf(&b, "[%d]", s.index)
		}
	}
	return b.String()
}

func parseJSONPath(text string) (*jsonPath, error) {
	p := &jsonPath{text: text}
	if !strings.HasPrefix(text, "$") {
		return nil, fmt.Errorf("must start with '$'")
	}
	i := 1
	add := func(s segment) error {
		if s.kind == segAll {
			if p.all {
				return fmt.Errorf("only one array may be flattened ('[0:]' appears twice)")
			}
			p.all = true
			return nil
		}
		if p.all {
			p.tail = append(p.tail, s)
		} else {
			p.head = append(p.head, s)
		}
		return nil
	}
	for i < len(text) {
		switch text[i] {
		case '.':
			j := i + 1
			for j < len(text) && text[j] != '.' && text[j] != '[' {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("empty member name at offset %d", i)
			}
			if err := add(segment{kind: segKey, key: text[i+1 : j]}); err != nil {
				return nil, err
			}
			i = j
		case '[':
			s, n, err := parseBracket(text, i)
			if err != nil {
				return nil, err
			}
			if err := add(s); err != nil {
				return nil, err
			}
			i = n
		default:
			return nil, fmt.Errorf("expected '.' or '[' at offset %d, found %q", i, text[i])
		}
	}
	return p, nil
}

// parseBracket parses the bracket at text[i] and returns the offset after it.
func parseBracket(text string, i int) (segment, int, error) {
	j := i + 1
	if j >= len(text) {
		return segment{}, 0, fmt.Errorf("unterminated '[' at offset %d", i)
	}
	switch c := text[j]; {
	case c == '"' || c == '\'':
		var b strings.Builder
		j++
		for {
			if j >= len(text) {
				return segment{}, 0, fmt.Errorf("unterminated quoted name at offset %d", i+1)
			}
			ch := text[j]
			if ch == c {
				j++
				break
			}
			if ch == '\\' && j+1 < len(text) {
				j++
				ch = text[j]
			}
			b.WriteByte(ch)
			j++
		}
		if j >= len(text) || text[j] != ']' {
			return segment{}, 0, fmt.Errorf("expected ']' at offset %d", j)
		}
		return segment{kind: segKey, key: b.String()}, j + 1, nil
	case c == '*':
		if j+1 < len(text) && text[j+1] == ']' {
			return segment{kind: segAll}, j + 2, nil
		}
		return segment{}, 0, fmt.Errorf("expected ']' at offset %d", j+1)
	case isDigit(c):
		k := j
		for k < len(text) && isDigit(text[k]) {
			k++
		}
		n, err := strconv.Atoi(text[j:k])
		if err != nil || k-j > 9 {
			return segment{}, 0, fmt.Errorf("array index %q at offset %d is too large", text[j:k], j)
		}
		if k+1 < len(text) && text[k] == ':' && text[k+1] == ']' {
			if n != 0 {
				return segment{}, 0, fmt.Errorf("only the slice [0:] is supported, found [%d:] at offset %d", n, i)
			}
			return segment{kind: segAll}, k + 2, nil
		}
		if k >= len(text) || text[k] != ']' {
			return segment{}, 0, fmt.Errorf("expected ']' at offset %d", k)
		}
		return segment{kind: segIndex, index: n}, k + 1, nil
	default:
		return segment{}, 0, fmt.Errorf("expected a quoted name, an index, [0:] or [*] at offset %d", j)
	}
}

// quoteMember writes a member name as a path segment: .name when the name is
// plain, ["name"] otherwise.
func quoteMember(name string) string {
	plain := name != ""
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = isLetter(c) || isDigit(c) || c == '_'
	}
	if plain {
		return "." + name
	}
	var b strings.Builder
	b.WriteString(`["`)
	for i := 0; i < len(name); i++ {
		if name[i] == '"' || name[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	b.WriteString(`"]`)
	return b.String()
}
