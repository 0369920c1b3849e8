package expr

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Java regular expressions on RE2. KDA's REGEX_REPLACE and log parsing
// functions take java.util.regex patterns; Go's regexp is RE2, which
// shares most of the syntax but not all of it. translateJavaRegex rewrites
// the Java-only constructs that have a faithful RE2 equivalent and refuses,
// naming the construct, the ones that need backtracking:
//
//	\Q...\E                    quoted text (also inside [...])
//	\p{Alpha} \p{Lower} ...    POSIX classes -> [[:alpha:]] ...
//	\p{javaLowerCase} ...      -> \p{Ll} ...; \p{IsLatin}, \p{IsLu},
//	                           \p{script=Greek}, \p{gc=Lu} -> \p{Latin} ...
//	\h \H \v \V \R \e \cX      the Java meanings (RE2's \v is a vertical tab)
//	\uFFFF \0nn                -> \x{FFFF}, \x{nn}
//	\s \S                      Java's set, which includes \x0B
//	\Z                         an optional final line terminator, then \z
//	[a-z[0-9]]                 nested (union) classes are flattened
//	(?u) (?d)                  dropped (Unicode case folding, UNIX_LINES)
//
// Refused, with their position: backreferences \1 and \k<name>, lookahead
// (?= (?!, lookbehind (?<= (?<!, atomic groups (?>, possessive quantifiers
// *+ ++ ?+ {n}+, class intersections &&, negated nested classes, (?x)
// comments mode, Java's (?U) (UNICODE_CHARACTER_CLASS, not RE2's ungreedy),
// \G, \X, \N{...}, \p{InBlock} Unicode blocks and \p{javaMirrored}-style
// Character methods without an RE2 class.
//
// Semantics RE2 gives: leftmost-first matching like Java's, greedy and lazy
// quantifiers as in Java, but never backtracking (linear time). A pattern
// that translates matches the same strings; only \Z and Java's $ before a
// final line terminator differ in what the match covers.

// JavaRegexError is a java.util.regex construct kda cannot run.
type JavaRegexError struct {
	Pattern   string
	Offset    int // byte offset of the construct in Pattern
	Construct string
	Why       string
}

func (e *JavaRegexError) Error() string {
	char := utf8.RuneCountInString(e.Pattern[:min(e.Offset, len(e.Pattern))]) + 1
	return fmt.Sprintf("%s at character %d of the regular expression '%s' is not supported: %s", e.Construct, char, e.Pattern, e.Why)
}

// compileJava translates a java.util.regex pattern and compiles it.
func compileJava(p string) (*regexp.Regexp, error) {
	src, err := translateJavaRegex(p)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression '%s': %v", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

// translateJavaRegex rewrites a java.util.regex pattern in RE2 syntax.
func translateJavaRegex(p string) (string, error) {
	t := &javaRE{p: p}
	if err := t.run(); err != nil {
		return "", err
	}
	return t.out.String(), nil
}

type javaRE struct {
	p   string
	i   int
	out strings.Builder
}

func (t *javaRE) fail(at int, construct, why string) error {
	return &JavaRegexError{Pattern: t.p, Offset: at, Construct: construct, Why: why}
}

func (t *javaRE) run() error {
	p := t.p
	for t.i < len(p) {
		c := p[t.i]
		switch c {
		case '\\':
			s, err := t.escape(false)
			if err != nil {
				return err
			}
			t.out.WriteString(s)
		case '[':
			s, err := t.class()
			if err != nil {
				return err
			}
			t.out.WriteString(s)
		case '(':
			if err := t.group(); err != nil {
				return err
			}
		case '*', '+', '?':
			t.out.WriteByte(c)
			t.i++
			if err := t.quantifierSuffix(); err != nil {
				return err
			}
		case '{':
			j := strings.IndexByte(p[t.i:], '}')
			if j < 0 || !isRepeat(p[t.i+1:t.i+j]) {
				t.out.WriteString(`\{`) // Java rejects a stray {; RE2 would read it literally
				t.i++
				continue
			}
			t.out.WriteString(p[t.i : t.i+j+1])
			t.i += j + 1
			if err := t.quantifierSuffix(); err != nil {
				return err
			}
		default:
			t.out.WriteByte(c)
			t.i++
		}
	}
	return nil
}

func isRepeat(s string) bool {
	lo, hi, comma := strings.Cut(s, ",")
	if _, err := strconv.Atoi(lo); err != nil {
		return false
	}
	if comma && hi != "" {
		if _, err := strconv.Atoi(hi); err != nil {
			return false
		}
	}
	return true
}

// quantifierSuffix copies a lazy ? and refuses a possessive +.
func (t *javaRE) quantifierSuffix() error {
	if t.i >= len(t.p) {
		return nil
	}
	switch t.p[t.i] {
	case '?':
		t.out.WriteByte('?')
		t.i++
	case '+':
		return t.fail(t.i-1, "possessive quantifier "+t.p[t.i-1:t.i+1],
			"RE2 never backtracks, so it has no possessive quantifiers; use the greedy form without the +")
	}
	return nil
}

// group handles ( and the (? constructs.
func (t *javaRE) group() error {
	p, at := t.p, t.i
	rest := p[at:]
	switch {
	case !strings.HasPrefix(rest, "(?"):
		t.out.WriteByte('(')
		t.i++
		return nil
	case strings.HasPrefix(rest, "(?:"):
		t.out.WriteString("(?:")
		t.i += 3
		return nil
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
		return t.fail(at, "lookahead "+rest[:3], "RE2 has no lookaround; match the text and capture the part you need instead")
	case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		return t.fail(at, "lookbehind "+rest[:4], "RE2 has no lookaround; match the text and capture the part you need instead")
	case strings.HasPrefix(rest, "(?>"):
		return t.fail(at, "atomic group (?>", "RE2 never backtracks, so it has no atomic groups; use a plain group (?:")
	case strings.HasPrefix(rest, "(?<"):
		t.out.WriteString("(?P<") // a named group
		t.i += 3
		return nil
	}
	// Inline flags: (?imsux-imsux) or (?imsux-imsux:...).
	j := at + 2
	var flags strings.Builder
	for ; j < len(p) && p[j] != ')' && p[j] != ':'; j++ {
		switch f := p[j]; f {
		case 'i', 'm', 's', '-':
			flags.WriteByte(f)
		case 'u', 'd':
			// UNICODE_CASE and UNIX_LINES: RE2 folds Unicode case and ends
			// lines at \n only already.
		case 'x':
			return t.fail(at, "comments mode (?x)", "write the pattern without white space and # comments")
		case 'U':
			return t.fail(at, "(?U) UNICODE_CHARACTER_CLASS", "use \\p{...} classes instead")
		default:
			return t.fail(at, "group "+p[at:min(j+1, len(p))], "unknown group or flag")
		}
	}
	if j >= len(p) {
		return t.fail(at, "group "+rest, "unterminated group")
	}
	f := strings.TrimSuffix(flags.String(), "-")
	if p[j] == ':' {
		t.out.WriteString("(?" + f + ":")
	} else if f != "" {
		t.out.WriteString("(?" + f + ")")
	}
	t.i = j + 1
	return nil
}

// Java's \s set (space, \t \n \x0B \f \r) and the \h and \v sets.
const (
	javaSpace  = `\t-\r `
	javaHSpace = ` \t\x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}`
	javaVSpace = `\n\x0B\f\r\x{85}\x{2028}\x{2029}`
)

// escape translates the escape at t.i (a backslash); inClass says whether
// the result goes inside [...], where it must be class items.
func (t *javaRE) escape(inClass bool) (string, error) {
	p, at := t.p, t.i
	if at+1 >= len(p) {
		return "", t.fail(at, `trailing \`, "the pattern ends with a backslash")
	}
	c := p[at+1]
	t.i += 2
	set := func(body string, neg bool, name string) (string, error) {
		return t.classItem(at, body, neg, inClass, name)
	}
	switch c {
	case 'Q':
		end := strings.Index(p[t.i:], `\E`)
		lit := p[t.i:]
		if end >= 0 {
			lit = p[t.i : t.i+end]
			t.i += end + 2
		} else {
			t.i = len(p)
		}
		if inClass {
			return classQuote(lit), nil
		}
		return regexp.QuoteMeta(lit), nil
	case 'E':
		return "", nil // a \E without \Q is ignored, as Java does
	case '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "", t.fail(at, `backreference \`+string(c), "RE2 cannot match a group's text again; compare the captured columns in SQL instead")
	case 'k':
		return "", t.fail(at, `backreference \k<...>`, "RE2 cannot match a group's text again; compare the captured columns in SQL instead")
	case '0':
		j := t.i
		for j < len(p) && j < t.i+3 && p[j] >= '0' && p[j] <= '7' {
			j++
		}
		v, err := strconv.ParseUint(p[t.i:j], 8, 16)
		if j == t.i || err != nil || v > 0377 {
			return "", t.fail(at, `octal escape \0`, "write \\0 followed by one to three octal digits up to 377")
		}
		t.i = j
		return fmt.Sprintf(`\x{%X}`, v), nil
	case 'u':
		if t.i+4 > len(p) {
			return "", t.fail(at, `\u escape`, "write \\u followed by four hex digits")
		}
		v, err := strconv.ParseUint(p[t.i:t.i+4], 16, 32)
		if err != nil {
			return "", t.fail(at, `\u escape`, "write \\u followed by four hex digits")
		}
		t.i += 4
		return fmt.Sprintf(`\x{%X}`, v), nil
	case 'e':
		return `\x1B`, nil
	case 'c':
		if t.i >= len(p) {
			return "", t.fail(at, `\c escape`, "write \\c followed by a letter")
		}
		v := p[t.i] ^ 0x40
		t.i++
		return fmt.Sprintf(`\x{%X}`, v), nil
	case 's':
		return set(javaSpace, false, `\s`)
	case 'S':
		if inClass {
			return `\S`, nil // RE2's \S, which also excludes \x0B
		}
		return set(javaSpace, true, `\S`)
	case 'h':
		return set(javaHSpace, false, `\h`)
	case 'H':
		return set(javaHSpace, true, `\H`)
	case 'v':
		return set(javaVSpace, false, `\v`)
	case 'V':
		return set(javaVSpace, true, `\V`)
	case 'R':
		if inClass {
			return "", t.fail(at, `\R inside [...]`, "Java does not allow it there either")
		}
		return `(?:\r\n|[` + javaVSpace + `])`, nil
	case 'Z':
		if inClass {
			return "", t.fail(at, `\Z inside [...]`, "Java does not allow it there either")
		}
		return `(?:(?:\r\n|[` + javaVSpace + `])?\z)`, nil
	case 'G':
		return "", t.fail(at, `\G`, "there is no previous match to anchor at")
	case 'X':
		return "", t.fail(at, `\X (grapheme cluster)`, "RE2 has no grapheme clusters; use . or \\p{M} classes")
	case 'N':
		return "", t.fail(at, `\N{...}`, "write the character itself or \\x{...}")
	case 'p', 'P':
		return t.property(at, c == 'P', inClass)
	case 'b':
		if inClass {
			return "", t.fail(at, `\b inside [...]`, "Java does not allow it there either")
		}
		return `\b`, nil
	case 'x':
		if t.i < len(p) && p[t.i] == '{' {
			end := strings.IndexByte(p[t.i:], '}')
			if end < 0 {
				return "", t.fail(at, `\x{`, "unterminated \\x{...}")
			}
			s := `\x` + p[t.i:t.i+end+1]
			t.i += end + 1
			return s, nil
		}
		if t.i+2 > len(p) {
			return "", t.fail(at, `\x escape`, "write \\x followed by two hex digits")
		}
		s := `\x` + p[t.i:t.i+2]
		t.i += 2
		return s, nil
	}
	if c >= 0x80 {
		// \ before a non-ASCII character quotes it.
		r, w := utf8.DecodeRuneInString(p[at+1:])
		t.i = at + 1 + w
		if inClass {
			return classQuote(string(r)), nil
		}
		return regexp.QuoteMeta(string(r)), nil
	}
	return p[at : at+2], nil // \d \w \t \n \. \\ ... mean the same in RE2
}

// classQuote escapes text for use inside [...].
func classQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\]^-[`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// posixClasses are Java's \p{Alpha}-style US-ASCII classes, which RE2
// has under the same meaning as [:alpha:].
var posixClasses = map[string]string{
	"Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha", "Digit": "digit", "Alnum": "alnum",
	"Punct": "punct", "Graph": "graph", "Print": "print", "Blank": "blank", "Cntrl": "cntrl", "XDigit": "xdigit",
	"Space": "space",
}

// javaProperties are the \p{javaXxx} and \p{IsXxx} binary properties with
// an RE2 equivalent, as class items.
var javaProperties = map[string]string{
	"javaLowerCase": `\p{Ll}`, "javaUpperCase": `\p{Lu}`, "javaTitleCase": `\p{Lt}`,
	"javaLetter": `\p{L}`, "javaDigit": `\p{Nd}`, "javaLetterOrDigit": `\p{L}\p{Nd}`,
	"javaAlphabetic": `\p{L}\p{Nl}`, "javaSpaceChar": `\p{Z}`, "javaISOControl": `\x00-\x1F\x7F-\x{9F}`,
	"javaWhitespace": `\t-\r\x1C-\x1F\p{Zl}\p{Zp} \x{1680}\x{2000}-\x{2006}\x{2008}-\x{200A}\x{205F}\x{3000}`,
	"IsAlphabetic":   `\p{L}\p{Nl}`, "IsLetter": `\p{L}`, "IsLowercase": `\p{Ll}`, "IsUppercase": `\p{Lu}`,
	"IsTitlecase": `\p{Lt}`, "IsDigit": `\p{Nd}`, "IsPunctuation": `\p{P}`, "IsControl": `\p{Cc}`,
	"IsWhite_Space": `\t-\r \x{85}\p{Z}`, "IsWhiteSpace": `\t-\r \x{85}\p{Z}`,
}

// classItem writes a character set body (RE2 class syntax without the
// brackets), negated or not: as a class of its own outside brackets, as
// items inside them. A negated set inside brackets would need class
// subtraction, which RE2 lacks: construct names it in the error.
func (t *javaRE) classItem(at int, body string, neg, inClass bool, construct string) (string, error) {
	switch {
	case !inClass && neg:
		return "[^" + body + "]", nil
	case !inClass:
		return "[" + body + "]", nil
	case neg:
		return "", t.fail(at, construct+" inside [...]", "RE2 cannot subtract it inside a class; put it outside the brackets")
	}
	return body, nil
}

// property translates \p{...} or \P{...} (neg) starting at at.
func (t *javaRE) property(at int, neg, inClass bool) (string, error) {
	p := t.p
	var name string
	switch {
	case t.i < len(p) && p[t.i] == '{':
		end := strings.IndexByte(p[t.i:], '}')
		if end < 0 {
			return "", t.fail(at, `\p{`, "unterminated \\p{...}")
		}
		name = p[t.i+1 : t.i+end]
		t.i += end + 1
	case t.i < len(p):
		name = p[t.i : t.i+1]
		t.i++
	default:
		return "", t.fail(at, `\p`, "write \\p{Name}")
	}
	construct := p[at:t.i]
	if pc, ok := posixClasses[name]; ok {
		item := "[:" + pc + ":]"
		if neg {
			item = "[:^" + pc + ":]"
		}
		if inClass {
			return item, nil
		}
		return "[" + item + "]", nil
	}
	if body, ok := javaProperties[name]; ok {
		return t.classItem(at, body, neg, inClass, construct)
	}
	re2 := name
	for _, pre := range []string{"script=", "sc=", "general_category=", "gc=", "Is"} {
		if strings.HasPrefix(name, pre) {
			re2 = strings.TrimPrefix(name, pre)
			break
		}
	}
	if strings.HasPrefix(name, "In") || strings.HasPrefix(name, "block=") || strings.HasPrefix(name, "blk=") {
		return "", t.fail(at, "Unicode block "+construct, "RE2 knows scripts, not blocks; use a script such as \\p{IsGreek} or a range \\x{370}-\\x{3FF}")
	}
	if _, err := regexp.Compile(`\p{` + re2 + `}`); err != nil || re2 == "" || strings.ContainsAny(re2, `{}\`) {
		return "", t.fail(at, "property "+construct, "no RE2 class has that meaning")
	}
	letter := "p"
	if neg {
		letter = "P"
	}
	return `\` + letter + "{" + re2 + "}", nil
}

// class translates [...] at t.i into an RE2 class, flattening nested
// (union) classes.
func (t *javaRE) class() (string, error) {
	body, neg, err := t.classBody()
	if err != nil {
		return "", err
	}
	if neg {
		return "[^" + body + "]", nil
	}
	return "[" + body + "]", nil
}

func (t *javaRE) classBody() (string, bool, error) {
	p, open := t.p, t.i
	t.i++ // [
	neg := false
	if t.i < len(p) && p[t.i] == '^' {
		neg = true
		t.i++
	}
	var b strings.Builder
	first := true
	for {
		if t.i >= len(p) {
			return "", false, t.fail(open, "character class [", "unterminated [...]")
		}
		c := p[t.i]
		switch {
		case c == ']' && !first:
			t.i++
			return b.String(), neg, nil
		case c == ']':
			b.WriteString(`\]`)
			t.i++
		case c == '\\':
			s, err := t.escape(true)
			if err != nil {
				return "", false, err
			}
			b.WriteString(s)
		case c == '[':
			at := t.i
			inner, innerNeg, err := t.classBody()
			if err != nil {
				return "", false, err
			}
			if innerNeg {
				return "", false, t.fail(at, "negated nested class [^...] inside [...]", "RE2 cannot subtract classes; write the set out")
			}
			b.WriteString(inner)
		case c == '&' && strings.HasPrefix(p[t.i:], "&&"):
			return "", false, t.fail(t.i, "class intersection &&", "RE2 cannot intersect classes; write the set out")
		default:
			_, w := utf8.DecodeRuneInString(p[t.i:])
			b.WriteString(p[t.i : t.i+w])
			t.i += w
		}
		first = false
	}
}
