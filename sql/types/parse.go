package types

import (
	"fmt"
	"strconv"
	"strings"
)

// Bounds of the parameterised types. KDA documents 0 < n < 65535 for CHAR;
// kda accepts 65535 itself so that discovery's widest VARCHAR fits. DECIMAL
// precision stops at Arrow's decimal128 limit of 38 digits (KDA promised 19).
const (
	MaxCharLength    = 65535
	MaxDecimalDigits = 38
	// DefaultDecimalPrecision is the precision of a bare DECIMAL.
	DefaultDecimalPrecision = 19
)

// Parse reads a type as SQL text (input schemas, CAST targets, configs):
// BOOLEAN, TINYINT, SMALLINT, INTEGER | INT, BIGINT, REAL, FLOAT (= DOUBLE),
// DOUBLE [PRECISION], DECIMAL | DEC | NUMERIC [(p[,s])], CHAR | CHARACTER
// [(n)], VARCHAR | CHAR VARYING | CHARACTER VARYING (n), BINARY [(n)],
// VARBINARY (n), DATE, TIME, TIMESTAMP, each optionally followed by NOT NULL.
// Names are case-insensitive and words may be separated by any white space.
func Parse(s string) (Type, error) {
	toks, err := typeTokens(s)
	if err != nil {
		return Type{}, fmt.Errorf("type %q: %w", s, err)
	}
	t, err := parseTypeTokens(toks)
	if err != nil {
		return Type{}, fmt.Errorf("type %q: %w", s, err)
	}
	return t, nil
}

// typeTokens splits a type into upper-cased words, numbers and the
// punctuation ( , ).
func typeTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, s[i:i+1])
			i++
		case isLetter(c) || isDigit(c) || c == '_':
			j := i
			for j < len(s) && (isLetter(s[j]) || isDigit(s[j]) || s[j] == '_') {
				j++
			}
			toks = append(toks, strings.ToUpper(s[i:j]))
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty type")
	}
	return toks, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// simpleTypes are the type names without parameters.
var simpleTypes = map[string]Type{
	"BOOLEAN": TBoolean, "TINYINT": TTinyInt, "SMALLINT": TSmallInt, "INTEGER": TInteger, "INT": TInteger,
	"BIGINT": TBigInt, "REAL": TReal, "FLOAT": TDouble, "DOUBLE": TDouble, "DOUBLE PRECISION": TDouble,
	"DATE": TDate, "TIME": TTime, "TIMESTAMP": TTimestamp,
}

// Lookup returns the type a parameterless type name (upper case, words
// separated by one space) stands for.
func Lookup(name string) (Type, bool) {
	t, ok := simpleTypes[name]
	return t, ok
}

func parseTypeTokens(toks []string) (Type, error) {
	// NOT NULL may close any type.
	notNull := false
	if n := len(toks); n >= 2 && toks[n-2] == "NOT" && toks[n-1] == "NULL" {
		notNull = true
		toks = toks[:n-2]
	}
	if len(toks) == 0 {
		return Type{}, fmt.Errorf("missing type name before NOT NULL")
	}
	// The name is the leading words; the parameters follow in parentheses.
	nameEnd := 0
	for nameEnd < len(toks) && toks[nameEnd] != "(" {
		nameEnd++
	}
	name := strings.Join(toks[:nameEnd], " ")
	params, err := typeParams(toks[nameEnd:])
	if err != nil {
		return Type{}, err
	}
	if t, ok := Lookup(name); ok {
		if len(params) > 0 {
			return Type{}, fmt.Errorf("%s takes no parameters", name)
		}
		t.NotNull = notNull
		return t, nil
	}
	switch name {
	case "DECIMAL", "DEC", "NUMERIC":
		t := Type{Kind: Decimal, Precision: DefaultDecimalPrecision}
		if len(params) > 2 {
			return Type{}, fmt.Errorf("%s takes at most (precision, scale)", name)
		}
		if len(params) >= 1 {
			t.Precision = params[0]
		}
		if len(params) == 2 {
			t.Scale = params[1]
		}
		if t.Precision < 1 || t.Precision > MaxDecimalDigits {
			return Type{}, fmt.Errorf("precision %d is outside 1..%d", t.Precision, MaxDecimalDigits)
		}
		if t.Scale > t.Precision {
			return Type{}, fmt.Errorf("scale %d exceeds precision %d", t.Scale, t.Precision)
		}
		t.NotNull = notNull
		return t, nil
	case "CHAR", "CHARACTER", "BINARY":
		k := Char
		if name == "BINARY" {
			k = Binary
		}
		// Without a length, SQL gives CHAR(1).
		return lengthType(name, k, params, 1, notNull)
	case "VARCHAR", "CHAR VARYING", "CHARACTER VARYING", "VARBINARY":
		k := Varchar
		if name == "VARBINARY" {
			k = Varbinary
		}
		return lengthType(name, k, params, 0, notNull)
	case "":
		return Type{}, fmt.Errorf("missing type name")
	}
	return Type{}, fmt.Errorf("unknown type %s", name)
}

func lengthType(name string, k Kind, params []int, def int, notNull bool) (Type, error) {
	n := def
	switch len(params) {
	case 0:
		if def == 0 {
			return Type{}, fmt.Errorf("%s needs a length, e.g. %s(64)", name, name)
		}
	case 1:
		n = params[0]
	default:
		return Type{}, fmt.Errorf("%s takes one length", name)
	}
	if n < 1 || n > MaxCharLength {
		return Type{}, fmt.Errorf("length %d is outside 1..%d", n, MaxCharLength)
	}
	return Type{Kind: k, Length: n, NotNull: notNull}, nil
}

// typeParams parses "(" n {"," n} ")" or nothing.
func typeParams(toks []string) ([]int, error) {
	if len(toks) == 0 {
		return nil, nil
	}
	if toks[0] != "(" || toks[len(toks)-1] != ")" {
		return nil, fmt.Errorf("parameters must be in parentheses")
	}
	inner := toks[1 : len(toks)-1]
	if len(inner) == 0 {
		return nil, fmt.Errorf("empty parentheses")
	}
	var out []int
	for i, tk := range inner {
		if i%2 == 1 {
			if tk != "," {
				return nil, fmt.Errorf("expected ',' between parameters, found %q", tk)
			}
			continue
		}
		n, err := strconv.Atoi(tk)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("parameter %q is not a non-negative integer", tk)
		}
		out = append(out, n)
	}
	if len(inner)%2 == 0 {
		return nil, fmt.Errorf("trailing ',' in parameters")
	}
	return out, nil
}
