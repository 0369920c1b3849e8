package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kdaproject/kda/sql/types"
)

// Column specifications of FIXED_COLUMN_LOG_PARSE, VARIABLE_COLUMN_LOG_PARSE
// and REGEX_LOG_PARSE's optional column list:
//
//	fixed     name TYPE type [NOT NULL] ['format'] START n [FOR len], ...
//	variable  name TYPE type [NOT NULL] ['format'], ...
//	regex     name [[TYPE] type] [NOT NULL] ['format'], ...   (type: VARCHAR(1024))
//
// Names follow SQL: unquoted ones are upper-cased, "quoted" ones keep their
// case. 'format' is a SimpleDateFormat for a DATE, TIME or TIMESTAMP column
// (inside the SQL literal its quotes are doubled: '... TIMESTAMP ''dd/MMM/yyyy'' ...').

type specKind int

const (
	specFixed specKind = iota
	specVariable
	specRegex
)

type specToken struct {
	text   string
	quoted byte // 0, '"' (a quoted name) or '\'' (a format)
	at     int
}

func specTokens(s string) ([]specToken, error) {
	var out []specToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, specToken{text: s[i : i+1], at: i})
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated %c at character %d", c, i+1)
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, specToken{text: b.String(), quoted: c, at: i})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r(),\"'", rune(s[j])) {
				j++
			}
			out = append(out, specToken{text: strings.ToUpper(s[i:j]), at: i})
			i = j
		}
	}
	return out, nil
}

// parseColumnSpec reads a column specification.
func parseColumnSpec(spec string, kind specKind) ([]logColumn, error) {
	toks, err := specTokens(spec)
	if err != nil {
		return nil, fmt.Errorf("column specification %q: %v", spec, err)
	}
	var cols []logColumn
	seen := map[string]bool{}
	k := 0
	peek := func() *specToken {
		if k < len(toks) {
			return &toks[k]
		}
		return nil
	}
	word := func(w string) bool {
		t := peek()
		if t != nil && t.quoted == 0 && t.text == w {
			k++
			return true
		}
		return false
	}
	for {
		n := len(cols) + 1
		bad := func(format string, args ...any) error {
			return fmt.Errorf("column %d of %q: %s", n, spec, fmt.Sprintf(format, args...))
		}
		t := peek()
		if t == nil || t.text == "," || t.quoted == '\'' || t.text == "(" || t.text == ")" {
			return nil, bad("expected a column name")
		}
		k++
		c := logColumn{name: t.text, t: defaultLogColumn, length: -1}
		if seen[c.name] {
			return nil, bad("the name %s is used twice", c.name)
		}
		seen[c.name] = true
		hasStart := false
		hasType := word("TYPE")
		if hasType || (kind == specRegex && peek() != nil && peek().quoted == 0 && peek().text != "," && !isSpecKeyword(peek().text)) {
			// The type runs to NOT, START, FOR, a format, or a comma outside parentheses.
			var words []string
			depth := 0
			for t := peek(); t != nil; t = peek() {
				if t.quoted != 0 || (depth == 0 && (t.text == "," || isSpecKeyword(t.text))) {
					break
				}
				switch t.text {
				case "(":
					depth++
				case ")":
					depth--
				}
				words = append(words, t.text)
				k++
			}
			if len(words) == 0 {
				return nil, bad("expected a type after TYPE")
			}
			ty, err := types.Parse(strings.Join(words, " "))
			if err != nil {
				return nil, bad("%v", err)
			}
			c.t = ty
		} else if kind != specRegex {
			return nil, bad("expected TYPE <type> after the name %s", c.name)
		}
		for {
			switch t := peek(); {
			case t == nil || t.text == ",":
			case t.quoted == '\'':
				if !c.t.IsDatetime() {
					return nil, bad("a date format is only allowed for DATE, TIME and TIMESTAMP columns, not %s", c.t)
				}
				f, err := compileSDF(t.text)
				if err != nil {
					return nil, bad("%v", err)
				}
				c.format = f
				k++
				continue
			case word("NOT"):
				if !word("NULL") {
					return nil, bad("expected NULL after NOT")
				}
				c.notNull = true
				continue
			case kind == specFixed && word("START"):
				if c.start, err = specInt(peek(), "START"); err != nil {
					return nil, bad("%v", err)
				}
				k++
				if word("FOR") {
					if c.length, err = specInt(peek(), "FOR"); err != nil {
						return nil, bad("%v", err)
					}
					k++
				}
				hasStart = true
				continue
			default:
				return nil, bad("unexpected %q", t.text)
			}
			break
		}
		if kind == specFixed && !hasStart {
			return nil, bad("START <position> is required")
		}
		c.t.NotNull = false // the field type; NOT NULL is checked per row
		cols = append(cols, c)
		if peek() == nil {
			return cols, nil
		}
		k++ // ,
	}
}

func isSpecKeyword(w string) bool {
	switch w {
	case "TYPE", "NOT", "START", "FOR":
		return true
	}
	return false
}

func specInt(t *specToken, after string) (int, error) {
	if t == nil || t.quoted != 0 {
		return 0, fmt.Errorf("expected a number after %s", after)
	}
	n, err := strconv.Atoi(t.text)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected a number of characters ≥ 0 after %s, got %s", after, t.text)
	}
	return n, nil
}

func bindFixedColumns(name string, args []Expr) ([]logColumn, lineParser, error) {
	spec, err := literalArg(name, args, 1, "column specification")
	if err != nil {
		return nil, nil, err
	}
	cols, err := parseColumnSpec(spec, specFixed)
	if err != nil {
		return nil, nil, argErr(1, "%s: %v", name, err)
	}
	return cols, func(line string, vals []string, set []bool) bool {
		for k, c := range cols {
			if s, ok := runeSlice(line, c.start, c.length); ok {
				if !c.t.IsString() {
					s = strings.TrimSpace(s)
				}
				if s != "" || c.t.IsString() {
					vals[k], set[k] = s, true
				}
			}
		}
		return true
	}, nil
}

func bindVariableColumns(name string, args []Expr) ([]logColumn, lineParser, error) {
	var cols []logColumn
	if l, ok := asLiteral(args[1]); ok && !l.null && l.t.IsInteger() {
		if l.i < 1 || l.i > 1000 {
			return nil, nil, argErr(1, "%s: the number of columns must be 1 to 1000, got %d", name, l.i)
		}
		cols = numberedColumns(int(l.i))
	} else {
		spec, err := literalArg(name, args, 1, "columns (a number or a column specification)")
		if err != nil {
			return nil, nil, err
		}
		if cols, err = parseColumnSpec(spec, specVariable); err != nil {
			return nil, nil, argErr(1, "%s: %v", name, err)
		}
	}
	delim, err := literalArg(name, args, 2, "delimiter")
	if err != nil {
		return nil, nil, err
	}
	if delim == "" {
		return nil, nil, argErr(2, "%s: the delimiter is empty", name)
	}
	var esc, qOpen, qClose string
	if len(args) > 3 {
		if esc, err = literalArg(name, args, 3, "escape"); err != nil {
			return nil, nil, err
		}
		if utf8.RuneCountInString(esc) > 1 {
			return nil, nil, argErr(3, "%s: the escape must be one character or empty, got %q", name, esc)
		}
	}
	if len(args) > 4 {
		q, err := literalArg(name, args, 4, "quote")
		if err != nil {
			return nil, nil, err
		}
		rs := []rune(q)
		switch len(rs) {
		case 0:
		case 1:
			qOpen, qClose = q, q
		case 2:
			qOpen, qClose = string(rs[0]), string(rs[1])
		default:
			return nil, nil, argErr(4, "%s: the quote must be one character, or two (open and close), got %q", name, q)
		}
	}
	return cols, func(line string, vals []string, set []bool) bool {
		fields := splitVariable(line, delim, esc, qOpen, qClose)
		for k, c := range cols {
			if k < len(fields) && (fields[k] != "" || c.t.IsString()) {
				vals[k], set[k] = fields[k], true
			}
		}
		return true
	}, nil
}

// splitVariable splits line at delim; esc makes the next character
// literal, and text between qOpen and qClose keeps its delimiters (the
// quotes are dropped).
func splitVariable(line, delim, esc, qOpen, qClose string) []string {
	if esc == "" && qOpen == "" {
		return strings.Split(line, delim) // substrings of line, no copies
	}
	var fields []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(line); {
		switch {
		case esc != "" && strings.HasPrefix(line[i:], esc):
			i += len(esc)
			if i < len(line) {
				_, w := utf8.DecodeRuneInString(line[i:])
				cur.WriteString(line[i : i+w])
				i += w
			}
		case quoted && strings.HasPrefix(line[i:], qClose):
			quoted = false
			i += len(qClose)
		case !quoted && qOpen != "" && strings.HasPrefix(line[i:], qOpen):
			quoted = true
			i += len(qOpen)
		case !quoted && strings.HasPrefix(line[i:], delim):
			fields = append(fields, cur.String())
			cur.Reset()
			i += len(delim)
		default:
			_, w := utf8.DecodeRuneInString(line[i:])
			cur.WriteString(line[i : i+w])
			i += w
		}
	}
	return append(fields, cur.String())
}
