package delivery

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// Object keys are Firehose's:
//
//	<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><ext>
//
// A prefix holds literal text and expressions:
//
//	!{timestamp:<Java DateTimeFormatter pattern>}  the oldest record's arrival
//	!{firehose:random-string}                     11 random characters
//	!{firehose:error-output-type}                 processing-failed, … (ErrorOutputPrefix only)
//	!{partitionKeyFromQuery:k}                    dynamic partitioning, KdaPartitionKeys[k]
//	!{partitionKeyFromLambda:k}                   the transformation's metadata.partitionKeys.k
//
// Patterns take the letters y/u (year: yyyy, yy), M (MM, M), d, H, m, s, S
// (fraction) and 'quoted literals' ('' is a quote); any other letter is
// refused. All timestamps of one key are the same instant.
//
// Prefix rules, as Firehose's: a Prefix without a timestamp expression gets
// !{timestamp:yyyy/MM/dd/HH/} appended (the default prefix when empty);
// ErrorOutputPrefix may be empty only when Prefix has no expressions, and
// must then contain !{firehose:error-output-type} if it has any expression;
// an ErrorOutputPrefix without expressions gets
// !{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH/} appended.
// Evaluated prefixes are at most 512 characters.

// Error output types, the values of !{firehose:error-output-type}.
const (
	ErrProcessingFailed       = "processing-failed"
	ErrFormatConversionFailed = "format-conversion-failed"
	// ErrPartitioningFailed is kda's for records whose partition keys
	// could not be extracted.
	ErrPartitioningFailed = "partitioning-failed"
	// ErrDeliveryFailed is kda's for records a destination refused for
	// good (a *Permanent error).
	ErrDeliveryFailed = "delivery-failed"
)

const maxPrefixLen = 512

type partKind uint8

const (
	partLiteral partKind = iota
	partTimestamp
	partRandom
	partErrorType
	partQueryKey
	partLambdaKey
)

type prefixPart struct {
	kind partKind
	text string   // literal text, or the partition key name
	ts   []tsPart // timestamp pattern
}

// Prefix is a compiled key prefix.
type Prefix struct {
	text  string
	parts []prefixPart
	// has counts the parts of each kind.
	has [partLambdaKey + 1]int
}

func (p *Prefix) expressions() int {
	return p.has[partTimestamp] + p.has[partRandom] + p.has[partErrorType] + p.has[partQueryKey] + p.has[partLambdaKey]
}

// ParsePrefix compiles a prefix as written; field names it in errors.
func ParsePrefix(field, text string) (*Prefix, error) {
	p := &Prefix{text: text}
	rest := text
	for rest != "" {
		i := strings.Index(rest, "!{")
		if i < 0 {
			p.parts = append(p.parts, prefixPart{kind: partLiteral, text: rest})
			break
		}
		if i > 0 {
			p.parts = append(p.parts, prefixPart{kind: partLiteral, text: rest[:i]})
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, invalid("%s: the expression at %q has no closing '}'", field, rest[i:])
		}
		expr := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		ns, val, ok := strings.Cut(expr, ":")
		if !ok {
			return nil, invalid("%s: !{%s} is not an expression like !{namespace:value}", field, expr)
		}
		var part prefixPart
		switch ns {
		case "timestamp":
			ts, err := parseTimestampPattern(val)
			if err != nil {
				return nil, invalid("%s: !{timestamp:%s}: %v", field, val, err)
			}
			part = prefixPart{kind: partTimestamp, ts: ts}
		case "firehose":
			switch val {
			case "random-string":
				part = prefixPart{kind: partRandom}
			case "error-output-type":
				part = prefixPart{kind: partErrorType}
			default:
				return nil, invalid("%s: !{firehose:%s}: the firehose namespace has random-string and error-output-type", field, val)
			}
		case "partitionKeyFromQuery", "partitionKeyFromLambda":
			if val == "" {
				return nil, invalid("%s: !{%s:} names no key", field, ns)
			}
			part = prefixPart{kind: partQueryKey, text: val}
			if ns == "partitionKeyFromLambda" {
				part.kind = partLambdaKey
			}
		default:
			return nil, invalid("%s: !{%s}: unknown namespace %q (want timestamp, firehose, partitionKeyFromQuery or partitionKeyFromLambda)", field, expr, ns)
		}
		p.parts = append(p.parts, part)
	}
	for _, pt := range p.parts {
		p.has[pt.kind]++
	}
	return p, nil
}

var defaultTimePrefix = mustPrefix("!{timestamp:yyyy/MM/dd/HH/}")

func mustPrefix(s string) *Prefix {
	p, err := ParsePrefix("prefix", s)
	if err != nil {
		panic(err)
	}
	return p
}

func (p *Prefix) appendPrefix(q *Prefix) {
	p.parts = append(p.parts, q.parts...)
	for k, n := range q.has {
		p.has[k] += n
	}
}

// compilePrefixes applies Firehose's prefix rules; at names the
// destination field.
func compilePrefixes(prefix, errPrefix string, dynamic bool, queryKeys map[string]*fieldPath, lambda bool, at string) (*Prefix, *Prefix, error) {
	p, err := ParsePrefix(at+".Prefix", prefix)
	if err != nil {
		return nil, nil, err
	}
	e, err := ParsePrefix(at+".ErrorOutputPrefix", errPrefix)
	if err != nil {
		return nil, nil, err
	}
	if p.has[partErrorType] > 0 {
		return nil, nil, invalid("%s.Prefix: !{firehose:error-output-type} is allowed only in ErrorOutputPrefix", at)
	}
	if e.has[partQueryKey]+e.has[partLambdaKey] > 0 {
		return nil, nil, invalid("%s.ErrorOutputPrefix: partition keys are not allowed in ErrorOutputPrefix", at)
	}
	if p.expressions() > 0 && errPrefix == "" {
		return nil, nil, invalid("%s.ErrorOutputPrefix: cannot be empty when Prefix contains expressions", at)
	}
	if e.expressions() > 0 && e.has[partErrorType] == 0 {
		return nil, nil, invalid("%s.ErrorOutputPrefix: must contain !{firehose:error-output-type} when it contains expressions", at)
	}
	if dynamic {
		if p.has[partQueryKey]+p.has[partLambdaKey] == 0 {
			return nil, nil, invalid("%s.Prefix: dynamic partitioning is enabled, so Prefix must use !{partitionKeyFromQuery:key} or !{partitionKeyFromLambda:key}", at)
		}
		if errPrefix == "" {
			return nil, nil, invalid("%s.ErrorOutputPrefix: dynamic partitioning requires ErrorOutputPrefix", at)
		}
	} else if p.has[partQueryKey]+p.has[partLambdaKey] > 0 {
		return nil, nil, invalid("%s.Prefix: partition keys need DynamicPartitioningConfiguration.Enabled", at)
	}
	for _, pt := range p.parts {
		switch {
		case pt.kind == partQueryKey && queryKeys[pt.text] == nil:
			return nil, nil, invalid("%s.Prefix: !{partitionKeyFromQuery:%s} is not declared in DynamicPartitioningConfiguration.KdaPartitionKeys", at, pt.text)
		case pt.kind == partLambdaKey && !lambda:
			return nil, nil, invalid("%s.Prefix: !{partitionKeyFromLambda:%s} needs ProcessingConfiguration.KdaTransformation", at, pt.text)
		}
	}
	if p.has[partTimestamp] == 0 {
		p.appendPrefix(defaultTimePrefix)
	}
	if e.expressions() == 0 {
		e.appendPrefix(mustPrefix("!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH/}"))
	}
	return p, e, nil
}

// keyValues are what a prefix is evaluated with.
type keyValues struct {
	time      time.Time // already in the destination's zone
	errorType string
	query     map[string]string
	lambda    map[string]string
}

// Eval evaluates the prefix. It fails when a partition key is missing or
// the result is longer than 512 characters.
func (p *Prefix) eval(v *keyValues) (string, error) {
	var b strings.Builder
	for _, pt := range p.parts {
		switch pt.kind {
		case partLiteral:
			b.WriteString(pt.text)
		case partTimestamp:
			formatTimestamp(&b, pt.ts, v.time)
		case partRandom:
			b.WriteString(randomString(11))
		case partErrorType:
			b.WriteString(v.errorType)
		case partQueryKey, partLambdaKey:
			m := v.query
			if pt.kind == partLambdaKey {
				m = v.lambda
			}
			s, ok := m[pt.text]
			if !ok {
				return "", fmt.Errorf("partition key %q has no value", pt.text)
			}
			b.WriteString(s)
		}
	}
	if b.Len() > maxPrefixLen {
		return "", fmt.Errorf("the evaluated prefix is %d characters long, more than %d", b.Len(), maxPrefixLen)
	}
	return b.String(), nil
}

// objectName is the part of a key after the prefix.
func objectName(stream string, version int, t time.Time, ext string) string {
	return fmt.Sprintf("%s-%d-%s-%s%s", stream, version, t.Format("2006-01-02-15-04-05"), newUUID(), ext)
}

const randomAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = randomAlphabet[int(b[i])%len(randomAlphabet)]
	}
	return string(b)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// tsPart is one element of a timestamp pattern: a literal or a field.
type tsPart struct {
	lit   string
	field byte // 0 for a literal
	width int
}

// parseTimestampPattern compiles the subset of Java's DateTimeFormatter
// patterns kda supports.
func parseTimestampPattern(s string) ([]tsPart, error) {
	var out []tsPart
	lit := func(t string) {
		if n := len(out); n > 0 && out[n-1].field == 0 {
			out[n-1].lit += t
			return
		}
		out = append(out, tsPart{lit: t})
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				lit("'")
				i += 2
				continue
			}
			j := i + 1
			var b strings.Builder
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated quoted text at %q", s[i:])
			}
			lit(b.String())
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && s[j] == c {
				j++
			}
			n := j - i
			switch c {
			case 'y', 'u':
				if n == 3 {
					return nil, fmt.Errorf("%q: use yyyy or yy for the year", s[i:j])
				}
			case 'M':
				if n > 2 {
					return nil, fmt.Errorf("%q: month names are not supported; use MM or M", s[i:j])
				}
			case 'd', 'H', 'm', 's':
				if n > 2 {
					return nil, fmt.Errorf("%q: at most two letters", s[i:j])
				}
			case 'S':
				if n > 9 {
					return nil, fmt.Errorf("%q: at most nine fraction digits", s[i:j])
				}
			default:
				return nil, fmt.Errorf("pattern letter %q is not supported (kda supports y, u, M, d, H, m, s, S and 'quoted text')", string(c))
			}
			out = append(out, tsPart{field: c, width: n})
			i = j
		case c == '[' || c == ']' || c == '{' || c == '}' || c == '#':
			return nil, fmt.Errorf("%q is reserved in patterns; quote it as '%c'", string(c), c)
		default:
			lit(string(c))
			i++
		}
	}
	return out, nil
}

func formatTimestamp(b *strings.Builder, parts []tsPart, t time.Time) {
	pad := func(v, w int) {
		s := strconv.Itoa(v)
		for i := len(s); i < w; i++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	for _, p := range parts {
		switch p.field {
		case 0:
			b.WriteString(p.lit)
		case 'y', 'u':
			if p.width == 2 {
				pad(t.Year()%100, 2)
			} else {
				pad(t.Year(), p.width)
			}
		case 'M':
			pad(int(t.Month()), p.width)
		case 'd':
			pad(t.Day(), p.width)
		case 'H':
			pad(t.Hour(), p.width)
		case 'm':
			pad(t.Minute(), p.width)
		case 's':
			pad(t.Second(), p.width)
		case 'S':
			frac := fmt.Sprintf("%09d", t.Nanosecond())
			b.WriteString(frac[:p.width])
		}
	}
}

// fieldPath is a simple JSONPath for partition keys: $.a.b, $.a["b c"],
// $.a[0].
type fieldPath struct {
	text string
	keys []string // object members; an index is kept as "[n]"
}

func parseFieldPath(s string) (*fieldPath, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "$")
	if !ok {
		return nil, fmt.Errorf("%q is not a JSONPath starting with $ (e.g. $.customer_id)", s)
	}
	fp := &fieldPath{text: s}
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			j := strings.IndexAny(rest, ".[")
			if j < 0 {
				j = len(rest)
			}
			if j == 0 {
				return nil, fmt.Errorf("%q has an empty member name", s)
			}
			fp.keys = append(fp.keys, rest[:j])
			rest = rest[j:]
		case '[':
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				return nil, fmt.Errorf("%q has an unclosed '['", s)
			}
			in := rest[1:j]
			rest = rest[j+1:]
			if uq, err := strconv.Unquote(strings.ReplaceAll(in, "'", `"`)); err == nil && len(in) >= 2 {
				fp.keys = append(fp.keys, uq)
			} else if _, err := strconv.Atoi(in); err == nil {
				fp.keys = append(fp.keys, "["+in+"]")
			} else {
				return nil, fmt.Errorf("%q: [%s] is not a quoted member or an index", s, in)
			}
		default:
			return nil, fmt.Errorf("%q: unexpected %q", s, rest[:1])
		}
	}
	if len(fp.keys) == 0 {
		return nil, fmt.Errorf("%q names the whole record, not a field", s)
	}
	return fp, nil
}

// extract evaluates the path on a parsed record; strings come out without
// quotes, other scalars as JSON text. Objects, arrays, null and missing
// fields are errors.
func (fp *fieldPath) extract(v *fastjson.Value) (string, error) {
	for _, k := range fp.keys {
		if v == nil {
			break
		}
		if strings.HasPrefix(k, "[") {
			n, _ := strconv.Atoi(k[1 : len(k)-1])
			v = v.Get(strconv.Itoa(n))
		} else {
			v = v.Get(k)
		}
	}
	if v == nil {
		return "", fmt.Errorf("%s: no such field", fp.text)
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes()), nil
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return v.String(), nil
	default:
		return "", fmt.Errorf("%s: is %s, not a string, number or boolean", fp.text, v.Type())
	}
}
