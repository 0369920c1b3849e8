package expr

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/sql/types"
)

// Log parsing functions (KDA-SQL.md §4, "Log parsing"). Each takes a line
// and returns a ROW: REGEX_LOG_PARSE and FAST_REGEX_LOG_PARSE one column per
// capture group, W3C_LOG_PARSE one per % specifier, SYS_LOG_PARSE a time and
// a message, FIXED_COLUMN_LOG_PARSE and VARIABLE_COLUMN_LOG_PARSE the
// columns their specification names. A line that does not parse gives a
// NULL row; a value that does not convert to its column's type is a row
// error (CAST). Patterns, formats and specifications must be literals: they
// are compiled once, when the query is planned.
//
// The work per batch is column by column: the parser splits every line into
// field texts, which are gathered into one VARCHAR array per field and then
// converted with CAST's kernels (or a SimpleDateFormat) to the fields'
// types, and the field arrays become the children of one struct array.

// logColumn is one field of a log parser's ROW.
type logColumn struct {
	name    string
	t       types.Type
	format  *sdfPattern // DATE, TIME, TIMESTAMP columns given a SimpleDateFormat
	start   int         // FIXED_COLUMN_LOG_PARSE: 0-based character position
	length  int         // FIXED_COLUMN_LOG_PARSE: characters, -1 to the end of the line
	notNull bool
}

// defaultLogColumn is the type of generated COLUMNn fields.
var defaultLogColumn = types.VarcharOf(1024)

func numberedColumns(n int) []logColumn {
	cols := make([]logColumn, n)
	for i := range cols {
		cols[i] = logColumn{name: fmt.Sprintf("COLUMN%d", i+1), t: defaultLogColumn, length: -1}
	}
	return cols
}

func rowTypeOf(cols []logColumn) types.Type {
	fs := make([]types.Field, len(cols))
	for i, c := range cols {
		fs[i] = types.Field{Name: c.name, Type: c.t}
	}
	return types.RowOf(fs...)
}

// lineParser splits line into one text per column of vals; set[k] false
// leaves column k NULL. It returns false when the line does not parse.
type lineParser func(line string, vals []string, set []bool) bool

// logParseNode is a bound log parsing call.
type logParseNode struct {
	name  string
	args  []Expr
	input Expr // the line, as VARCHAR
	cols  []logColumn
	t     types.Type
	parse lineParser
}

func (l *logParseNode) Type() types.Type { return l.t }

func (l *logParseNode) String() string {
	parts := make([]string, len(l.args))
	for i, a := range l.args {
		parts[i] = a.String()
	}
	return l.name + "(" + strings.Join(parts, ", ") + ")"
}

func (l *logParseNode) Eval(ec *EvalContext, rec arrow.Record) (arrow.Array, error) {
	in, err := l.input.Eval(ec, rec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.name, err)
	}
	defer in.Release()
	n := in.Len()
	lines, isStr := in.(*array.String) // otherwise the NULL type: every row NULL
	texts := make([]*array.StringBuilder, len(l.cols))
	for k := range texts {
		texts[k] = array.NewStringBuilder(ec.Mem)
		defer texts[k].Release()
		texts[k].Reserve(n)
	}
	valid := make([]bool, n)
	vals := make([]string, len(l.cols))
	set := make([]bool, len(l.cols))
	for i := range n {
		if isStr && lines.IsValid(i) {
			clear(set)
			valid[i] = l.parse(lines.Value(i), vals, set)
		}
		for k, b := range texts {
			if valid[i] && set[k] {
				b.Append(vals[k])
			} else {
				b.AppendNull()
			}
		}
	}
	fields := make([]arrow.Array, len(l.cols))
	defer releaseAll(fields)
	for k, c := range l.cols {
		s := texts[k].NewStringArray()
		fields[k] = l.convert(ec, c, s)
		s.Release()
		if c.notNull {
			for i := range n {
				if valid[i] && fields[k].IsNull(i) && !ec.Errors.Failed(i) {
					ec.Errors.Add(i, "INVALID_ARGUMENT", "%s: column %s is NOT NULL but the line has no value for it", l.name, c.name)
				}
			}
		}
	}
	for i := range valid {
		if valid[i] && ec.Errors.Failed(i) {
			valid[i] = false // a failed row is NULL, as in every function
		}
	}
	return rowArray(ec.Mem, l.t, fields, valid, n), nil
}

// convert turns the texts of column c into its type.
func (l *logParseNode) convert(ec *EvalContext, c logColumn, s *array.String) arrow.Array {
	if c.format == nil {
		// CAST's errors, told as this function's.
		sub := *ec
		sub.Errors = &RowErrors{}
		a := castFromString(&sub, s, c.t)
		sub.Errors.Each(func(i int, e RowError) {
			ec.Errors.Add(i, e.Name, "%s: column %s: %s", l.name, c.name, e.Message)
		})
		return a
	}
	out := newRowOut(ec, c.t)
	defer out.b.Release()
	for i := 0; i < s.Len(); i++ {
		if s.IsNull(i) {
			out.Null()
			continue
		}
		ms, err := c.format.parse(s.Value(i))
		if err != nil {
			ec.Errors.Add(i, "CAST", "%s: column %s: %v", l.name, c.name, err)
			out.Null()
			continue
		}
		switch c.t.Kind {
		case types.Date:
			ms = floorDiv(ms, msPerDay)
		case types.Time:
			ms = floorMod(ms, msPerDay)
		}
		_ = out.Int(ms)
	}
	return out.b.NewArray()
}

// logBind checks the arguments of one log parsing function (the line is
// checked already) and returns its columns and parser.
type logBind func(name string, args []Expr) ([]logColumn, lineParser, error)

func (r *Registry) logFunc(name, sig, doc string, min, max int, bind logBind) {
	r.add(name, sig, "log parsing", doc, func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, min, max); err != nil {
			return nil, err
		}
		if err := need(name, args, 0, "a string", isStr); err != nil {
			return nil, err
		}
		cols, parse, err := bind(name, args)
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			return nil, typeErr("%s: the result would have no columns", name)
		}
		return &logParseNode{name: name, args: args, input: coerce(args[0], types.Type{Kind: types.Varchar}),
			cols: cols, t: rowTypeOf(cols), parse: parse}, nil
	})
}

// literalArg returns argument k, which must be a string literal.
func literalArg(name string, args []Expr, k int, what string) (string, error) {
	s, ok := literalString(args[k])
	if !ok {
		return "", argErr(k, "%s: the %s (argument %d) must be a string literal, got %s", name, what, k+1, args[k])
	}
	return s, nil
}

// compileJavaLine compiles a Java pattern that must match a whole line;
// lazy makes greedy quantifiers lazy and lazy ones greedy (RE2's (?U)).
func compileJavaLine(p string, lazy bool) (*regexp.Regexp, error) {
	src, err := translateJavaRegex(p)
	if err != nil {
		return nil, err
	}
	flags := "" // . stops at \n, as in Java without DOTALL
	if lazy {
		flags = "(?U)"
	}
	re, err := regexp.Compile(flags + `\A(?:` + src + `)\z`)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression '%s': %v", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return re, nil
}

// regexParser fills the columns from the capture groups of re; a group
// that did not take part in the match is NULL.
func regexParser(re *regexp.Regexp) lineParser {
	return func(line string, vals []string, set []bool) bool {
		m := re.FindStringSubmatchIndex(line)
		if m == nil {
			return false
		}
		for k := range vals {
			if lo := m[2*k+2]; lo >= 0 {
				vals[k], set[k] = line[lo:m[2*k+3]], true
			}
		}
		return true
	}
}

func registerLogParse(r *Registry) {
	regexBind := func(lazy bool) logBind {
		return func(name string, args []Expr) ([]logColumn, lineParser, error) {
			p, err := literalArg(name, args, 1, "regular expression")
			if err != nil {
				return nil, nil, err
			}
			re, err := compileJavaLine(p, lazy)
			if err != nil {
				return nil, nil, argWrap(1, name, err)
			}
			groups := re.NumSubexp()
			if groups == 0 {
				return nil, nil, argErr(1, "%s: the regular expression %q has no capture groups; each ( ) group is a column of the result", name, p)
			}
			cols := numberedColumns(groups)
			if len(args) == 3 {
				spec, err := literalArg(name, args, 2, "column list")
				if err != nil {
					return nil, nil, err
				}
				if cols, err = parseColumnSpec(spec, specRegex); err != nil {
					return nil, nil, argErr(2, "%s: %v", name, err)
				}
				if len(cols) != groups {
					return nil, nil, argErr(2, "%s: the column list names %s but the regular expression has %s", name, plural(len(cols), "column"), plural(groups, "capture group"))
				}
			}
			return cols, regexParser(re), nil
		}
	}
	r.logFunc("REGEX_LOG_PARSE", "REGEX_LOG_PARSE(s, javaRegex[, columns]) -> ROW(COLUMN1 VARCHAR(1024), ...)",
		"match the whole line with a java.util.regex pattern (greedy); one column per capture group; NULL if no match", 2, 3, regexBind(false))
	r.logFunc("FAST_REGEX_LOG_PARSE", "FAST_REGEX_LOG_PARSE(s, regex) -> ROW(COLUMN1 VARCHAR(1024), ...)",
		"as REGEX_LOG_PARSE with lazy quantifiers; one column per capture group; NULL if no match", 2, 2, regexBind(true))
	r.logFunc("SYS_LOG_PARSE", "SYS_LOG_PARSE(s) -> ROW(COLUMN1 TIMESTAMP, COLUMN2 VARCHAR(1024))",
		"split a syslog line 'Mon DD HH:MM:SS rest' into its time (year 1970, as Java reads a date without a year) and the rest", 1, 1,
		func(name string, args []Expr) ([]logColumn, lineParser, error) {
			format, err := compileSDF("MMM d HH:mm:ss")
			if err != nil {
				return nil, nil, err
			}
			cols := []logColumn{
				{name: "COLUMN1", t: types.TTimestamp, format: format, length: -1},
				{name: "COLUMN2", t: defaultLogColumn, length: -1},
			}
			return cols, sysLogLine, nil
		})
	r.logFunc("W3C_LOG_PARSE", "W3C_LOG_PARSE(s, 'COMMON'|'COMMON WITH VHOST'|'NCSA EXTENDED'|'REFERER'|'AGENT'|'IIS'|apacheFormat) -> ROW(COLUMN1 VARCHAR(1024), ...)",
		"parse a web server log line; one column per % specifier of the format; NULL if the line does not fit", 2, 2, bindW3C)
	r.logFunc("FIXED_COLUMN_LOG_PARSE", "FIXED_COLUMN_LOG_PARSE(s, 'name TYPE type [NOT NULL] START n [FOR len], ...') -> ROW(...)",
		"cut fixed-width fields (START is 0-based) and convert them to their types", 2, 2, bindFixedColumns)
	r.logFunc("VARIABLE_COLUMN_LOG_PARSE", "VARIABLE_COLUMN_LOG_PARSE(s, n | 'name TYPE type [NOT NULL], ...', delimiter[, escape[, quote]]) -> ROW(...)",
		"split at a delimiter, honouring an escape character and quotes, and convert the fields to their types", 3, 5, bindVariableColumns)
}

// sysLogRE reads "Mon DD HH:MM:SS rest" (the day may be space-padded).
var sysLogRE = regexp.MustCompile(`(?s)\A([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}:\d{2}:\d{2}) (.*)\z`)

func sysLogLine(line string, vals []string, set []bool) bool {
	m := sysLogRE.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	vals[0] = m[1] + " " + m[2] + " " + m[3]
	vals[1] = m[4]
	set[0], set[1] = true, true
	return true
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// runeSlice returns the characters [start, start+length) of s (length < 0:
// to the end), and false when s has fewer than start+1 characters.
func runeSlice(s string, start, length int) (string, bool) {
	off := 0
	for k := 0; k < start; k++ {
		if off >= len(s) {
			return "", false
		}
		_, w := utf8.DecodeRuneInString(s[off:])
		off += w
	}
	if off >= len(s) {
		return "", false
	}
	if length < 0 {
		return s[off:], true
	}
	end := off
	for k := 0; k < length && end < len(s); k++ {
		_, w := utf8.DecodeRuneInString(s[end:])
		end += w
	}
	return s[off:end], true
}
