package expr

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestTranslateJavaRegex(t *testing.T) {
	tests := []struct {
		name, java, re2 string
		match, miss     string // a string the pattern matches (whole) and one it does not
	}{
		{name: "plain syntax passes through", java: `(\d+)-([a-z]*?)\.x`, re2: `(\d+)-([a-z]*?)\.x`, match: "12-ab.x", miss: "12-ab-x"},
		{name: "quoted text is literal", java: `\Q1+1=2\E!`, re2: `1\+1=2!`, match: "1+1=2!", miss: "11=2!"},
		{name: "quoted text runs to the end without an E", java: `a\Q.*`, re2: `a\.\*`, match: "a.*", miss: "ab"},
		{name: "quoted text inside a class", java: `[\Q]-\E]+`, re2: `[\]\-]+`, match: "]-]", miss: "a"},
		{name: "POSIX classes become RE2 classes", java: `\p{Alpha}+\P{Digit}`, re2: `[[:alpha:]]+[[:^digit:]]`, match: "abc-", miss: "abc1"},
		{name: "POSIX classes inside a class", java: `[\p{Upper}\p{Digit}_]+`, re2: `[[:upper:][:digit:]_]+`, match: "A_9", miss: "a"},
		{name: "java Character classes", java: `\p{javaLowerCase}+\p{javaUpperCase}`, re2: `[\p{Ll}]+[\p{Lu}]`, match: "éaB", miss: "aa"},
		{name: "scripts and categories", java: `\p{IsLatin}\p{Lu}\p{gc=Nd}\p{script=Greek}`, re2: `\p{Latin}\p{Lu}\p{Nd}\p{Greek}`, match: "aB1α", miss: "aB1b"},
		{name: "named groups", java: `(?<year>\d{4})`, re2: `(?P<year>\d{4})`, match: "2024", miss: "24"},
		{name: "Java s includes vertical tab", java: `a\sb\Sc`, re2: `a[\t-\r ]b[^\t-\r ]c`, match: "a\x0bbxc", miss: "a b c"},
		{name: "horizontal and vertical space", java: `a\hb\vc`, re2: `a[` + javaHSpace + `]b[` + javaVSpace + `]c`, match: "a\u00a0b\nc", miss: "a\nb c"},
		{name: "line breaks", java: `a\Rb`, match: "a\r\nb", miss: "ab"},
		{name: "Z allows a final line terminator", java: `abc\Z`, match: "abc\n", miss: "abc\nx"},
		{name: "escapes e, cA, u and octal", java: `\e\cA\u00e9\011`, re2: `\x1B\x{1}\x{E9}\x{9}`, match: "\x1b\x01é\t", miss: "e"},
		{name: "nested union classes are flattened", java: `[a-c[x-z]]+`, re2: `[a-cx-z]+`, match: "abzx", miss: "d"},
		{name: "inline flags pass, (?u) and (?d) are dropped", java: `(?iu)ab(?d)(?s:.)`, re2: `(?i)ab(?s:.)`, match: "AB\n", miss: "AC\n"},
		{name: "a stray brace is literal", java: `a{b`, re2: `a\{b`, match: "a{b", miss: "ab"},
		{name: "bounded repeats and lazy quantifiers", java: `a{2,3}?b{2}`, re2: `a{2,3}?b{2}`, match: "aabb", miss: "abb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := translateJavaRegex(tt.java)
			if err != nil {
				t.Fatalf("translate %q: %v", tt.java, err)
			}
			if tt.re2 != "" && got != tt.re2 {
				t.Errorf("translate %q = %q, want %q", tt.java, got, tt.re2)
			}
			re, err := regexp.Compile(`\A(?:` + got + `)\z`)
			if err != nil {
				t.Fatalf("RE2 rejects %q: %v", got, err)
			}
			if !re.MatchString(tt.match) {
				t.Errorf("%q does not match %q", got, tt.match)
			}
			if re.MatchString(tt.miss) {
				t.Errorf("%q matches %q", got, tt.miss)
			}
		})
	}
}

func TestTranslateJavaRegexRefuses(t *testing.T) {
	tests := []struct {
		name, java, construct string
		offset                int
	}{
		{"backreferences", `(a)\1`, `backreference \1`, 3},
		{"named backreferences", `(?<x>a)\k<x>`, `backreference \k<...>`, 7},
		{"lookahead", `a(?=b)`, `lookahead (?=`, 1},
		{"negative lookahead", `a(?!b)`, `lookahead (?!`, 1},
		{"lookbehind", `(?<=a)b`, `lookbehind (?<=`, 0},
		{"negative lookbehind", `(?<!a)b`, `lookbehind (?<!`, 0},
		{"atomic groups", `(?>ab)c`, `atomic group (?>`, 0},
		{"possessive star", `a*+b`, `possessive quantifier *+`, 1},
		{"possessive plus", `xa++`, `possessive quantifier ++`, 2},
		{"possessive repeat", `a{2}+`, `possessive quantifier }+`, 3},
		{"class intersection", `[a-z&&[^aeiou]]`, `class intersection &&`, 4},
		{"negated nested class", `[a[^b]]`, `negated nested class [^...] inside [...]`, 2},
		{"comments mode", `(?x) a b`, `comments mode (?x)`, 0},
		{"Java's (?U)", `(?U)\w`, `(?U) UNICODE_CHARACTER_CLASS`, 0},
		{"Unicode blocks", `\p{InGreek}`, `Unicode block \p{InGreek}`, 0},
		{"unknown properties", `\p{javaMirrored}`, `property \p{javaMirrored}`, 0},
		{"G anchor", `\Ga`, `\G`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := translateJavaRegex(tt.java)
			var je *JavaRegexError
			if !errors.As(err, &je) {
				t.Fatalf("translate %q: got %v, want a JavaRegexError", tt.java, err)
			}
			if je.Construct != tt.construct || je.Offset != tt.offset {
				t.Errorf("translate %q: construct %q at %d, want %q at %d", tt.java, je.Construct, je.Offset, tt.construct, tt.offset)
			}
			if !strings.Contains(err.Error(), "is not supported") {
				t.Errorf("message %q", err)
			}
		})
	}
}
