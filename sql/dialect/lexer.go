package dialect

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies the tokens of KDA SQL.
type tokKind uint8

const (
	tkEOF    tokKind = iota
	tkWord           // an unquoted identifier or keyword; val is its upper-case form
	tkQuoted         // a "quoted identifier"; val keeps its case, "" undoubled
	tkString         // a '...' or u&'...' literal; val is the decoded text
	tkHex            // X'0F' binary literal; val is the hex digits
	tkDollar         // a $$...$$ body; val is the text between the markers
	tkNumber         // 12, 1.5, .5, 1e3
	tkOp             // punctuation and operators: ( ) , ; . + - * / % = < > <= >= <> != || ?
)

// token is one lexical unit with its place in the source.
type token struct {
	kind       tokKind
	val        string
	start, end int // byte offsets of the token in the source
}

// is reports whether t is the unquoted keyword kw (upper case).
func (t token) is(kw string) bool { return t.kind == tkWord && t.val == kw }

// isOp reports whether t is the operator op.
func (t token) isOp(op string) bool { return t.kind == tkOp && t.val == op }

// isIdent reports whether t can name something: an unquoted word or a
// quoted identifier.
func (t token) isIdent() bool { return t.kind == tkWord || t.kind == tkQuoted }

// lex splits src into tokens, dropping whitespace and comments. The last
// token is always tkEOF at len(src).
func lex(li *lineIndex) ([]token, error) {
	src := li.src
	var toks []token
	i := 0
	for {
		// Whitespace and comments.
		for i < len(src) {
			c := src[i]
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
				i++
				continue
			case strings.HasPrefix(src[i:], "--") || strings.HasPrefix(src[i:], "//"):
				for i < len(src) && src[i] != '\n' {
					i++
				}
				continue
			case strings.HasPrefix(src[i:], "/*"):
				end := strings.Index(src[i+2:], "*/")
				if end < 0 {
					return nil, li.errAt(i, "unterminated comment: /* has no closing */")
				}
				i += 2 + end + 2
				continue
			}
			if r, n := utf8.DecodeRuneInString(src[i:]); r != utf8.RuneError && unicode.IsSpace(r) {
				i += n
				continue
			}
			break
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tkEOF, start: len(src), end: len(src)})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case c == '\'':
			val, end, err := lexQuoted(li, i, '\'')
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tkString, val: val, start: start, end: end})
			i = end
		case c == '"':
			val, end, err := lexQuoted(li, i, '"')
			if err != nil {
				return nil, err
			}
			if val == "" {
				return nil, li.errAt(start, `empty quoted identifier ""`)
			}
			toks = append(toks, token{kind: tkQuoted, val: val, start: start, end: end})
			i = end
		case (c == 'u' || c == 'U') && strings.HasPrefix(src[i+1:], "&'"):
			t, end, err := lexUnicodeString(li, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = end
		case (c == 'x' || c == 'X') && i+1 < len(src) && src[i+1] == '\'':
			val, end, err := lexQuoted(li, i+1, '\'')
			if err != nil {
				return nil, err
			}
			for j, r := range val {
				if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
					return nil, li.errAt(i+2+j, "binary literal X'...' may hold only hexadecimal digits")
				}
			}
			if len(val)%2 != 0 {
				return nil, li.errAt(start, "binary literal X'...' needs an even number of hexadecimal digits")
			}
			toks = append(toks, token{kind: tkHex, val: val, start: start, end: end})
			i = end
		case strings.HasPrefix(src[i:], "$$"):
			end := strings.Index(src[i+2:], "$$")
			if end < 0 {
				return nil, li.errAt(i, "unterminated $$ body: no closing $$")
			}
			toks = append(toks, token{kind: tkDollar, val: src[i+2 : i+2+end], start: start, end: i + 2 + end + 2})
			i += 2 + end + 2
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			i = lexNumber(src, i)
			if i < len(src) && isIdentStart(src[i:]) {
				return nil, li.errAt(start, "malformed number %q", src[start:i+1])
			}
			toks = append(toks, token{kind: tkNumber, val: src[start:i], start: start, end: i})
		case isIdentStart(src[i:]):
			for i < len(src) && isIdentPart(src[i:]) {
				_, n := utf8.DecodeRuneInString(src[i:])
				i += n
			}
			toks = append(toks, token{kind: tkWord, val: strings.ToUpper(src[start:i]), start: start, end: i})
		default:
			op := ""
			for _, two := range []string{"||", "<=", ">=", "<>", "!="} {
				if strings.HasPrefix(src[i:], two) {
					op = two
					break
				}
			}
			if op == "" && strings.IndexByte("(),;.+-*/%=<>?[]", c) >= 0 {
				op = src[i : i+1]
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, li.errAt(i, "unexpected character %q", r)
			}
			toks = append(toks, token{kind: tkOp, val: op, start: start, end: i + len(op)})
			i += len(op)
		}
	}
}

// lexQuoted reads a literal quoted by q starting at src[i] == q, where a
// doubled quote stands for one. It returns the value and the offset just
// past the closing quote.
func lexQuoted(li *lineIndex, i int, q byte) (string, int, error) {
	src := li.src
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		if src[j] != q {
			b.WriteByte(src[j])
			continue
		}
		if j+1 < len(src) && src[j+1] == q {
			b.WriteByte(q)
			j++
			continue
		}
		return b.String(), j + 1, nil
	}
	if q == '"' {
		return "", 0, li.errAt(i, `unterminated quoted identifier: " has no closing "`)
	}
	return "", 0, li.errAt(i, "unterminated string: ' has no closing '")
}

// lexUnicodeString reads u&'...' [UESCAPE 'c'] starting at src[i] ('u').
// Escapes are <esc>XXXX, <esc>+XXXXXX and <esc><esc>; esc defaults to \.
func lexUnicodeString(li *lineIndex, i int) (token, int, error) {
	src := li.src
	raw, end, err := lexQuoted(li, i+2, '\'')
	if err != nil {
		return token{}, 0, err
	}
	esc := byte('\\')
	// Look past blanks for UESCAPE 'c'.
	j := end
	for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
		j++
	}
	if len(src)-j >= 7 && strings.EqualFold(src[j:j+7], "UESCAPE") && (j+7 == len(src) || !isIdentPart(src[j+7:])) {
		k := j + 7
		for k < len(src) && (src[k] == ' ' || src[k] == '\t' || src[k] == '\n' || src[k] == '\r') {
			k++
		}
		if k >= len(src) || src[k] != '\'' {
			return token{}, 0, li.errAt(j, "UESCAPE must be followed by a one-character string such as '!'")
		}
		e, eend, err := lexQuoted(li, k, '\'')
		if err != nil {
			return token{}, 0, err
		}
		if len(e) != 1 || isHexDigit(e[0]) || e[0] == '+' || e[0] == '\'' || e[0] == '"' || e[0] == ' ' {
			return token{}, 0, li.errAt(k, "UESCAPE character must be one character other than a hexadecimal digit, +, quote or space")
		}
		esc = e[0]
		end = eend
	}
	var b strings.Builder
	body := i + 3 // offset of raw[0] in src (ignoring doubled quotes, close enough for errors)
	for k := 0; k < len(raw); k++ {
		if raw[k] != esc {
			b.WriteByte(raw[k])
			continue
		}
		if k+1 < len(raw) && raw[k+1] == esc {
			b.WriteByte(esc)
			k++
			continue
		}
		n, skip := 4, 1
		if k+1 < len(raw) && raw[k+1] == '+' {
			n, skip = 6, 2
		}
		if k+skip+n > len(raw) {
			return token{}, 0, li.errAt(body+k, "unicode escape needs %d hexadecimal digits", n)
		}
		hex := raw[k+skip : k+skip+n]
		cp, perr := strconv.ParseUint(hex, 16, 32)
		if perr != nil || cp > unicode.MaxRune || (cp >= 0xD800 && cp <= 0xDFFF) {
			return token{}, 0, li.errAt(body+k, "invalid unicode escape %q", raw[k:k+skip+n])
		}
		b.WriteRune(rune(cp))
		k += skip + n - 1
	}
	return token{kind: tkString, val: b.String(), start: i, end: end}, end, nil
}

func lexNumber(src string, i int) int {
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	if i < len(src) && src[i] == '.' {
		i++
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isDigit(src[j]) {
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			i = j
		}
	}
	return i
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isHexDigit(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

func isIdentStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r)
}

func isIdentPart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
