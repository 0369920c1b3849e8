package dialect

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a position in the user's source text. Offset is a 0-based byte
// offset; Line and Col are 1-based, and Col counts characters (runes), not
// bytes.
type Pos struct {
	Offset, Line, Col int
}

// String writes the position as "line L, column C".
func (p Pos) String() string { return fmt.Sprintf("line %d, column %d", p.Line, p.Col) }

// IsValid reports whether p was set (Line is never 0 for a real position).
func (p Pos) IsValid() bool { return p.Line > 0 }

// SyntaxError is the error Parse returns: what is wrong, where, and the
// source it was found in, so that Error can show the line with a caret.
type SyntaxError struct {
	Pos    Pos
	Msg    string
	Source string
}

// Error writes "line 3, column 14: <msg>", then the source line and a caret
// under the offending character.
func (e *SyntaxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Pos, e.Msg)
	line := sourceLine(e.Source, e.Pos)
	if line == "" && e.Pos.Col <= 1 {
		return b.String()
	}
	b.WriteByte('\n')
	b.WriteString(line)
	b.WriteByte('\n')
	// Keep tabs so that the caret lines up under the character.
	n := 0
	for _, r := range line {
		if n >= e.Pos.Col-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < e.Pos.Col-1; n++ {
		b.WriteByte(' ')
	}
	b.WriteByte('^')
	return b.String()
}

// sourceLine returns the text of the line p is on, without its newline.
func sourceLine(src string, p Pos) string {
	if p.Offset < 0 || p.Offset > len(src) {
		return ""
	}
	start := strings.LastIndexByte(src[:p.Offset], '\n') + 1
	end := strings.IndexByte(src[p.Offset:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += p.Offset
	}
	return strings.TrimRight(src[start:end], "\r")
}

// lineIndex turns byte offsets into Pos values.
type lineIndex struct {
	src    string
	starts []int // byte offset of the first character of each line
}

func newLineIndex(src string) *lineIndex {
	li := &lineIndex{src: src, starts: []int{0}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	return li
}

func (li *lineIndex) pos(offset int) Pos {
	if offset < 0 {
		offset = 0
	}
	if offset > len(li.src) {
		offset = len(li.src)
	}
	line := sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > offset }) - 1
	col := utf8.RuneCountInString(li.src[li.starts[line]:offset]) + 1
	return Pos{Offset: offset, Line: line + 1, Col: col}
}

// errAt builds a *SyntaxError at a byte offset of the source.
func (li *lineIndex) errAt(offset int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: li.pos(offset), Msg: fmt.Sprintf(format, args...), Source: li.src}
}
