package expr

import (
	"fmt"
	"regexp"
	"strings"
)

// W3C_LOG_PARSE: web server access logs described by Apache mod_log_config
// format strings. A format becomes one anchored regular expression: its
// literal text must appear as written, and each % specifier is a lazy
// capture group (%t without parameters is the bracketed time, captured
// without its brackets), so a field runs up to the text that follows it.
// Every column is VARCHAR(1024), holding the text as logged ("-" stays
// "-"); CAST converts it.

// w3cCommon is the Common Log Format.
const w3cCommon = `%h %l %u %t "%r" %>s %b`

// w3cFormats are the predefined formats. IIS is the comma-separated
// Microsoft IIS log format (client IP, user name, date, time, service,
// server name, server IP, time taken, bytes received, bytes sent, status,
// Windows status, method, target, parameters), which has no % form.
var w3cFormats = map[string]string{
	"COMMON":            w3cCommon,
	"COMMON WITH VHOST": `%v %h %l %u %t "%r" %>s %b`,
	"NCSA EXTENDED":     `%h %l %u %t "%r" %>s %b "%[Referer]i" "%[User-agent]i"`,
	"AGENT":             `%[User-agent]i`,
}

// iisLine reads the 15 fields of an IIS log line, separated by ", " and
// ended by an optional ",".
var iisLine = regexp.MustCompile(`(?s)\A` + strings.Repeat(`([^,]*), `, 14) + `([^,]*),?\z`)

// refererLine is the REFERER format, %[Referer]i -> %U: the SR writes the
// arrow as --->, Apache as ->; kda accepts any number of dashes.
var refererLine = regexp.MustCompile(`(?s)\A(.*?) -+> (.*?)\z`)

// w3cSpecifiers are the format letters of mod_log_config.
const w3cSpecifiers = "aABbCDefhHiklLmnopPqrRsStTuUvVXIO"

func bindW3C(name string, args []Expr) ([]logColumn, lineParser, error) {
	f, err := literalArg(name, args, 1, "log format")
	if err != nil {
		return nil, nil, err
	}
	key := strings.Join(strings.Fields(strings.ToUpper(f)), " ")
	switch key {
	case "IIS":
		return numberedColumns(15), regexParser(iisLine), nil
	case "REFERER":
		return numberedColumns(2), regexParser(refererLine), nil
	}
	if std, ok := w3cFormats[key]; ok {
		f = std
	} else if !strings.Contains(f, "%") {
		return nil, nil, argErr(1, "%s: unknown log format %q: use COMMON, COMMON WITH VHOST, NCSA EXTENDED, REFERER, AGENT, IIS or an Apache format such as '%%h %%l %%u %%t \"%%r\" %%>s %%b'", name, f)
	}
	re, lits, err := w3cRegexp(f)
	if err != nil {
		return nil, nil, argErr(1, "%s: %v", name, err)
	}
	return numberedColumns(len(lits) - 1), w3cParser(lits, regexParser(re)), nil
}

// w3cParser reads a line of lits[0] field lits[1] field ... lits[n] by
// taking, for each field, the text up to the first occurrence of the
// literal after it (the last field runs to the final literal). That is
// the match the regular expression's lazy groups prefer, found without
// backtracking; when it fails, slow (the regular expression) decides,
// since a field may also contain its closing literal.
func w3cParser(lits []string, slow lineParser) lineParser {
	n := len(lits) - 1
	return func(line string, vals []string, set []bool) bool {
		rest, ok := strings.CutPrefix(line, lits[0])
		if !ok {
			return false
		}
		for k := 0; k < n; k++ {
			lit := lits[k+1]
			var j int
			if k == n-1 {
				if !strings.HasSuffix(rest, lit) {
					return slow(line, vals, set)
				}
				j = len(rest) - len(lit)
			} else if j = strings.Index(rest, lit); j < 0 {
				return slow(line, vals, set)
			}
			vals[k], set[k] = rest[:j], true
			rest = rest[j+len(lit):]
		}
		return true
	}
}

// w3cRegexp compiles an Apache format into a whole-line pattern and
// returns the literal texts around its specifiers (one more than there are
// specifiers).
func w3cRegexp(f string) (*regexp.Regexp, []string, error) {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	lits := []string{""}
	lit := func(s string) {
		b.WriteString(regexp.QuoteMeta(s))
		lits[len(lits)-1] += s
	}
	for i := 0; i < len(f); {
		c := f[i]
		if c != '%' {
			j := strings.IndexByte(f[i:], '%')
			if j < 0 {
				j = len(f) - i
			}
			lit(f[i : i+j])
			i += j
			continue
		}
		at := i
		i++
		if i < len(f) && f[i] == '%' {
			lit("%")
			i++
			continue
		}
		// Modifiers: !, status codes 400,501, < or >, then {param} or [param].
		for i < len(f) && (f[i] == '!' || f[i] == ',' || f[i] == '<' || f[i] == '>' || (f[i] >= '0' && f[i] <= '9')) {
			i++
		}
		param := false
		if i < len(f) && (f[i] == '{' || f[i] == '[') {
			closer := byte('}')
			if f[i] == '[' {
				closer = ']'
			}
			j := strings.IndexByte(f[i:], closer)
			if j < 0 {
				return nil, nil, fmt.Errorf("unterminated %c in the format specifier at character %d of %q", f[i], at+1, f)
			}
			i += j + 1
			param = true
		}
		if i >= len(f) || !strings.ContainsRune(w3cSpecifiers, rune(f[i])) {
			spec := f[at:min(i+1, len(f))]
			return nil, nil, fmt.Errorf("unknown format specifier %s at character %d of %q", spec, at+1, f)
		}
		bracket := f[i] == 't' && !param
		if bracket {
			lit("[")
		}
		b.WriteString(`(.*?)`)
		lits = append(lits, "")
		if bracket {
			lit("]")
		}
		i++
	}
	if len(lits) == 1 {
		return nil, nil, fmt.Errorf("the format %q has no %% specifiers", f)
	}
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, nil, fmt.Errorf("format %q: %v", f, err)
	}
	return re, lits, nil
}
