package expr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/sql/types"
)

// String functions. Positions and lengths count characters (runes), 1-based
// as in SQL.

func registerStrings(r *Registry) {
	str := types.Type{Kind: types.Varchar}
	strArgs := func(name string, args []Expr, ks ...int) error {
		for _, k := range ks {
			if err := need(name, args, k, "a string", isStr); err != nil {
				return err
			}
		}
		return nil
	}
	intArg := func(name string, args []Expr, k int) (Expr, error) {
		if err := need(name, args, k, "an integer", isInt); err != nil {
			return nil, err
		}
		return coerce(args[k], types.TBigInt), nil
	}
	r.rowFunc("||", "s || t", "string", "concatenation", 2, 2, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := strArgs("||", args, 0, 1); err != nil {
				return types.Type{}, nil, nil, err
			}
			rt := str
			if l0, l1 := args[0].Type().Length, args[1].Type().Length; l0 > 0 && l1 > 0 {
				rt.Length = l0 + l1
			}
			cargs := []Expr{coerce(args[0], str), coerce(args[1], str)}
			return rt, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				return out.Str(argStr(a[0], i) + argStr(a[1], i))
			}, nil
		})
	for _, name := range []string{"CHAR_LENGTH", "CHARACTER_LENGTH"} {
		r.rowFunc(name, name+"(s) -> INTEGER", "string", "number of characters", 1, 1, rowOpts{},
			func(args []Expr) (types.Type, []Expr, rowFn, error) {
				if err := strArgs(name, args, 0); err != nil {
					return types.Type{}, nil, nil, err
				}
				return types.TInteger, []Expr{coerce(args[0], str)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					return out.Int(int64(utf8.RuneCountInString(argStr(a[0], i))))
				}, nil
			})
	}
	mapper := func(name, doc string, f func(string) string) {
		r.rowFunc(name, name+"(s) -> VARCHAR", "string", doc, 1, 1, rowOpts{},
			func(args []Expr) (types.Type, []Expr, rowFn, error) {
				if err := strArgs(name, args, 0); err != nil {
					return types.Type{}, nil, nil, err
				}
				rt := args[0].Type().Nullable()
				if rt.Kind != types.Varchar {
					rt = types.Type{Kind: types.Varchar, Length: rt.Length}
				}
				return rt, []Expr{coerce(args[0], str)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					return out.Str(f(argStr(a[0], i)))
				}, nil
			})
	}
	mapper("LOWER", "lower case", strings.ToLower)
	mapper("UPPER", "upper case", strings.ToUpper)
	mapper("INITCAP", "first letter of each word upper case, the rest lower case", initcap)
	r.rowFunc("SUBSTRING", "SUBSTRING(s, from INTEGER[, len INTEGER]) -> VARCHAR", "string",
		"characters from position from (1-based) for len characters", 2, 3, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := strArgs("SUBSTRING", args, 0); err != nil {
				return types.Type{}, nil, nil, err
			}
			cargs := []Expr{coerce(args[0], str)}
			for k := 1; k < len(args); k++ {
				e, err := intArg("SUBSTRING", args, k)
				if err != nil {
					return types.Type{}, nil, nil, err
				}
				cargs = append(cargs, e)
			}
			rt := types.Type{Kind: types.Varchar, Length: args[0].Type().Length}
			return rt, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				rs := []rune(argStr(a[0], i))
				from := argInt(a[1], i)
				end := int64(len(rs)) + 1
				if len(a) == 3 {
					l := argInt(a[2], i)
					if l < 0 {
						return fmt.Errorf("negative length %d", l)
					}
					end = min(end, from+l)
				}
				from = max(from, 1)
				if from >= end {
					return out.Str("")
				}
				return out.Str(string(rs[from-1 : end-1]))
			}, nil
		})
	r.rowFunc("KDA_POSITION", "KDA_POSITION(sub, s) -> INTEGER", "string",
		"POSITION(sub IN s): 1-based character position of sub in s, 0 if absent", 2, 2, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := strArgs("POSITION", args, 0, 1); err != nil {
				return types.Type{}, nil, nil, err
			}
			return types.TInteger, []Expr{coerce(args[0], str), coerce(args[1], str)}, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				s := argStr(a[1], i)
				k := strings.Index(s, argStr(a[0], i))
				if k < 0 {
					return out.Int(0)
				}
				return out.Int(int64(utf8.RuneCountInString(s[:k])) + 1)
			}, nil
		})
	r.rowFunc("KDA_TRIM", "KDA_TRIM('BOTH'|'LEADING'|'TRAILING', chars, s) -> VARCHAR", "string",
		"TRIM([BOTH|LEADING|TRAILING] [chars] FROM s): remove the characters of chars from the ends of s", 3, 3, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := strArgs("TRIM", args, 0, 1, 2); err != nil {
				return types.Type{}, nil, nil, err
			}
			if m, ok := literalString(args[0]); ok && !validTrimMode(m) {
				return types.Type{}, nil, nil, typeErr("TRIM: mode must be BOTH, LEADING or TRAILING, got %q", m)
			}
			rt := types.Type{Kind: types.Varchar, Length: args[2].Type().Length}
			cargs := []Expr{coerce(args[0], str), coerce(args[1], str), coerce(args[2], str)}
			return rt, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				mode, chars, s := strings.ToUpper(argStr(a[0], i)), argStr(a[1], i), argStr(a[2], i)
				switch mode {
				case "BOTH":
					s = strings.Trim(s, chars)
				case "LEADING":
					s = strings.TrimLeft(s, chars)
				case "TRAILING":
					s = strings.TrimRight(s, chars)
				default:
					return fmt.Errorf("mode must be BOTH, LEADING or TRAILING, got %q", mode)
				}
				return out.Str(s)
			}, nil
		})
	r.rowFunc("KDA_OVERLAY", "KDA_OVERLAY(s, r, from INTEGER[, len INTEGER]) -> VARCHAR", "string",
		"OVERLAY(s PLACING r FROM from [FOR len]): replace len characters (default: r's length) at from", 3, 4, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := strArgs("OVERLAY", args, 0, 1); err != nil {
				return types.Type{}, nil, nil, err
			}
			cargs := []Expr{coerce(args[0], str), coerce(args[1], str)}
			for k := 2; k < len(args); k++ {
				e, err := intArg("OVERLAY", args, k)
				if err != nil {
					return types.Type{}, nil, nil, err
				}
				cargs = append(cargs, e)
			}
			return str, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				s, rep := []rune(argStr(a[0], i)), argStr(a[1], i)
				from := argInt(a[2], i)
				l := int64(utf8.RuneCountInString(rep))
				if len(a) == 4 {
					l = argInt(a[3], i)
				}
				if from < 1 || l < 0 {
					return fmt.Errorf("position %d or length %d out of range", from, l)
				}
				head := min(from-1, int64(len(s)))
				tail := min(from-1+l, int64(len(s)))
				return out.Str(string(s[:head]) + rep + string(s[tail:]))
			}, nil
		})
	r.rowFunc("REGEX_REPLACE", "REGEX_REPLACE(s, regex, replacement, start INTEGER, occurrence INTEGER) -> VARCHAR", "string",
		"replace the occurrence-th match (0: all) at or after character start; $n in replacement refers to group n; start < 1 is a row error", 5, 5, rowOpts{},
		func(args []Expr) (types.Type, []Expr, rowFn, error) {
			if err := strArgs("REGEX_REPLACE", args, 0, 1, 2); err != nil {
				return types.Type{}, nil, nil, err
			}
			cargs := []Expr{coerce(args[0], str), coerce(args[1], str), coerce(args[2], str)}
			for k := 3; k < 5; k++ {
				e, err := intArg("REGEX_REPLACE", args, k)
				if err != nil {
					return types.Type{}, nil, nil, err
				}
				cargs = append(cargs, e)
			}
			pat, err := patternFor(args[1], compileJava) // javaregex.go
			if err != nil {
				return types.Type{}, nil, nil, argWrap(1, "REGEX_REPLACE", errors.Unwrap(err))
			}
			return str, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
				re, err := pat.get(argStr(a[1], i))
				if err != nil {
					return err
				}
				start, occ := argInt(a[3], i), argInt(a[4], i)
				if start < 1 {
					return fmt.Errorf("start position %d is less than 1", start)
				}
				if occ < 0 {
					return fmt.Errorf("negative occurrence %d", occ)
				}
				return out.Str(regexReplace(argStr(a[0], i), re, javaReplacement(argStr(a[2], i)), int(start), int(occ)))
			}, nil
		})
	matchFunc := func(name, doc string, translate func(pat string, esc rune) (string, error)) {
		r.rowFunc(name, name+"(s, pattern[, escape]) -> BOOLEAN", "string", doc, 2, 3, rowOpts{errName: "INVALID_PATTERN"},
			func(args []Expr) (types.Type, []Expr, rowFn, error) {
				ks := []int{0, 1}
				if len(args) == 3 {
					ks = append(ks, 2)
				}
				if err := strArgs(name, args, ks...); err != nil {
					return types.Type{}, nil, nil, err
				}
				cargs := make([]Expr, len(args))
				for k, e := range args {
					cargs[k] = coerce(e, str)
				}
				escOf := func(s string) (rune, error) {
					if utf8.RuneCountInString(s) != 1 {
						return 0, fmt.Errorf("escape must be one character, got %q", s)
					}
					r, _ := utf8.DecodeRuneInString(s)
					return r, nil
				}
				// The cache key is the pattern plus the escape character.
				compile := func(key string) (*regexp.Regexp, error) {
					p, e, _ := strings.Cut(key, "\x00")
					var esc rune = -1
					if e != "" {
						var err error
						if esc, err = escOf(e); err != nil {
							return nil, err
						}
					}
					src, err := translate(p, esc)
					if err != nil {
						return nil, err
					}
					return regexp.Compile(src)
				}
				pc := &patternCache{compile: compile}
				if p, ok := literalString(args[1]); ok && (len(args) == 2 || isLit(args[2])) {
					key := p + "\x00"
					if len(args) == 3 {
						e, _ := literalString(args[2])
						key += e
					}
					re, err := compile(key)
					if err != nil {
						return types.Type{}, nil, nil, typeErr("%s: %v", name, err)
					}
					pc.fixed = re
				}
				return types.TBoolean, cargs, func(_ *EvalContext, a []arrow.Array, i int, out *rowOut) error {
					key := argStr(a[1], i) + "\x00"
					if len(a) == 3 {
						key += argStr(a[2], i)
					}
					re, err := pc.get(key)
					if err != nil {
						return err
					}
					return out.Bool(re.MatchString(argStr(a[0], i)))
				}, nil
			})
	}
	matchFunc("LIKE", "SQL LIKE: % any string, _ one character; escape makes them literal", likeToRegexp)
	matchFunc("SIMILAR_TO", "SQL SIMILAR TO: LIKE's wildcards plus | * + ? {m,n} ( ) [ ]", similarToRegexp)
}

func isLit(e Expr) bool { _, ok := asLiteral(e); return ok }

func validTrimMode(m string) bool {
	switch strings.ToUpper(m) {
	case "BOTH", "LEADING", "TRAILING":
		return true
	}
	return false
}

// initcap upper-cases the first character of each space-delimited word
// and lower-cases the rest, as the SR INITCAP page says: punctuation inside
// a word does not start a new one ('wide-world' -> 'Wide-world').
func initcap(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			b.WriteRune(r)
			start = true
		case start:
			b.WriteRune(unicode.ToUpper(r))
			start = false
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// patternCache compiles patterns once: fixed when the pattern is a literal,
// otherwise a small cache safe for concurrent Evals.
type patternCache struct {
	compile func(string) (*regexp.Regexp, error)
	fixed   *regexp.Regexp
	mu      sync.Mutex
	seen    map[string]*regexp.Regexp
}

func patternFor(e Expr, compile func(string) (*regexp.Regexp, error)) (*patternCache, error) {
	pc := &patternCache{compile: compile}
	if p, ok := literalString(e); ok {
		re, err := compile(p)
		if err != nil {
			return nil, &ArgError{Arg: 1, Message: err.Error(), Err: err}
		}
		pc.fixed = re
	}
	return pc, nil
}

func (pc *patternCache) get(key string) (*regexp.Regexp, error) {
	if pc.fixed != nil {
		return pc.fixed, nil
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if re, ok := pc.seen[key]; ok {
		return re, nil
	}
	re, err := pc.compile(key)
	if err != nil {
		return nil, err
	}
	if pc.seen == nil || len(pc.seen) > 256 {
		pc.seen = map[string]*regexp.Regexp{}
	}
	pc.seen[key] = re
	return re, nil
}

// likeToRegexp translates a LIKE pattern; esc < 0 means no escape.
func likeToRegexp(p string, esc rune) (string, error) {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	rs := []rune(p)
	for k := 0; k < len(rs); k++ {
		c := rs[k]
		switch {
		case c == esc:
			if k+1 == len(rs) {
				return "", fmt.Errorf("pattern %q ends with the escape character", p)
			}
			k++
			if rs[k] != '%' && rs[k] != '_' && rs[k] != esc {
				return "", fmt.Errorf("escape must precede %%, _ or itself in %q", p)
			}
			b.WriteString(regexp.QuoteMeta(string(rs[k])))
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return b.String(), nil
}

// similarToRegexp translates a SIMILAR TO pattern: % and _ as in LIKE,
// the regular-expression operators | * + ? {m,n} ( ) [ ] kept, every other
// character (including . ^ $ and \) literal.
func similarToRegexp(p string, esc rune) (string, error) {
	var b strings.Builder
	b.WriteString(`(?s)\A(?:`)
	rs := []rune(p)
	inClass := false
	for k := 0; k < len(rs); k++ {
		c := rs[k]
		switch {
		case c == esc:
			if k+1 == len(rs) {
				return "", fmt.Errorf("pattern %q ends with the escape character", p)
			}
			k++
			b.WriteString(regexp.QuoteMeta(string(rs[k])))
		case inClass:
			if c == ']' {
				inClass = false
			}
			if c == '\\' {
				b.WriteString(`\\`)
			} else {
				b.WriteRune(c)
			}
		case c == '[':
			inClass = true
			b.WriteRune(c)
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteString(".")
		case strings.ContainsRune("|*+?{}()", c):
			b.WriteRune(c)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if inClass {
		return "", fmt.Errorf("unterminated [ in %q", p)
	}
	b.WriteString(`)\z`)
	return b.String(), nil
}

// javaReplacement turns a java.util.regex replacement ($1, ${name}, \$
// for a literal dollar) into a Go Expand template.
func javaReplacement(r string) string {
	var b strings.Builder
	for k := 0; k < len(r); k++ {
		c := r[k]
		switch {
		case c == '\\' && k+1 < len(r):
			k++
			if r[k] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[k])
			}
		case c == '$' && k+1 < len(r) && r[k+1] >= '0' && r[k+1] <= '9':
			j := k + 1
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			b.WriteString("${" + r[k+1:j] + "}")
			k = j - 1
		case c == '$' && k+1 < len(r) && r[k+1] == '{' && strings.IndexByte(r[k:], '}') > 2:
			j := k + strings.IndexByte(r[k:], '}')
			b.WriteString("${" + r[k+2:j] + "}") // a named group, ${name}
			k = j
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// regexReplace replaces the occ-th match (0: every match) of re in s at or
// after character position start (1-based).
func regexReplace(s string, re *regexp.Regexp, tmpl string, start, occ int) string {
	off := 0
	for k := 1; k < start; k++ {
		if off >= len(s) {
			return s
		}
		_, w := utf8.DecodeRuneInString(s[off:])
		off += w
	}
	if off >= len(s) && start > 1 {
		return s
	}
	sub := s[off:]
	ms := re.FindAllStringSubmatchIndex(sub, -1)
	if occ > len(ms) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:off])
	last := 0
	for k, m := range ms {
		if occ != 0 && k+1 != occ {
			continue
		}
		b.WriteString(sub[last:m[0]])
		b.Write(re.ExpandString(nil, tmpl, sub, m))
		last = m[1]
	}
	b.WriteString(sub[last:])
	return b.String()
}
