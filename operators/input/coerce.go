package input

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/sql/types"
)

// jkind is the JSON kind of a value found at a mapping (or a CSV field, which
// is always a string).
type jkind uint8

const (
	jMissing jkind = iota
	jNull
	jFalse
	jTrue
	jNumber
	jString
	jObject
	jArray
)

var jkindNames = [...]string{"missing value", "null", "boolean", "boolean", "number", "string", "object", "array"}

// jval is a value found in a record. raw is the number's text, the string
// unescaped, or an object's or array's JSON text. It points into scratch
// memory that stays valid until the record's rows are appended.
type jval struct {
	kind jkind
	raw  []byte
	// utf8 is set when raw is known to be valid UTF-8.
	utf8 bool
}

// cell is one coerced value, staged until its whole record has decoded so
// that a failing record leaves no partial row in the builders. i carries
// integers, booleans (0/1), DATE (days), TIME (ms of day) and TIMESTAMP (ms).
type cell struct {
	valid bool
	i     int64
	f     float64
	s     []byte
	d     decimal128.Num
}

// bstr views b as a string without copying, for parsers that do not keep
// their argument (strconv clones the text it puts into errors).
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

var (
	textTrue  = []byte("true")
	textFalse = []byte("false")
)

// coerce converts v to a value of t following KDA's JSON→SQL table
// (KDA-SQL.md §5.2). The error says what failed without naming the column;
// the caller adds that.
func coerce(t types.Type, v jval, c *cell) error {
	*c = cell{}
	switch v.kind {
	case jMissing, jNull:
		if t.NotNull {
			return errors.New("NULL for a NOT NULL column")
		}
		return nil
	}
	c.valid = true
	switch t.Kind {
	case types.Boolean:
		switch v.kind {
		case jTrue:
			c.i = 1
		case jFalse:
		case jNumber:
			f, err := strconv.ParseFloat(bstr(v.raw), 64)
			if err != nil {
				return convErr(v, t, "not a number")
			}
			if f != 0 {
				c.i = 1
			}
		case jString:
			if bytes.EqualFold(bytes.TrimSpace(v.raw), textTrue) {
				c.i = 1
			}
		default:
			return convErr(v, t, "")
		}
	case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
		switch v.kind {
		case jTrue:
			c.i = 1
		case jFalse:
		case jNumber, jString:
			n, err := parseIntExact(trimSpace(v), intBits(t.Kind))
			if err != nil {
				return convErr(v, t, err.Error())
			}
			c.i = n
		default:
			return convErr(v, t, "")
		}
	case types.Real, types.Double:
		switch v.kind {
		case jTrue:
			c.f = 1
		case jFalse:
		case jNumber, jString:
			f, err := strconv.ParseFloat(bstr(trimSpace(v)), 64)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return convErr(v, t, "overflow")
				}
				return convErr(v, t, "not a number")
			}
			if t.Kind == types.Real && math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
				return convErr(v, t, "overflow")
			}
			c.f = f
		default:
			return convErr(v, t, "")
		}
	case types.Decimal:
		switch v.kind {
		case jTrue:
			c.d = decimal128.FromI64(1).IncreaseScaleBy(int32(t.Scale))
		case jFalse:
		case jNumber, jString:
			d, err := parseDecimal(trimSpace(v), t.Precision, t.Scale)
			if err != nil {
				return convErr(v, t, err.Error())
			}
			c.d = d
		default:
			return convErr(v, t, "")
		}
	case types.Char, types.Varchar:
		switch v.kind {
		case jTrue:
			c.s = textTrue
		case jFalse:
			c.s = textFalse
		default:
			if !utf8.Valid(v.raw) {
				return convErr(v, t, "not valid UTF-8")
			}
			c.s = truncateRunes(v.raw, t.Length)
		}
	case types.Binary, types.Varbinary:
		if v.kind != jString {
			return convErr(v, t, "")
		}
		b, err := parseHexLiteral(trimSpace(v))
		if err != nil {
			return convErr(v, t, err.Error())
		}
		if t.Length > 0 && len(b) > t.Length {
			b = b[:t.Length]
		}
		c.s = b
	case types.Date, types.Time, types.Timestamp:
		if v.kind != jString {
			return convErr(v, t, "")
		}
		ms, err := parseDatetime(trimSpace(v), t.Kind)
		if err != nil {
			return convErr(v, t, err.Error())
		}
		c.i = ms
	default:
		return convErr(v, t, "unsupported column type")
	}
	return nil
}

// coerceFast is coerce with shortcuts for the common cases: a NULL, a
// valid UTF-8 string for a CHAR/VARCHAR, a plain integer for an integer
// column, a datetime string. It sets only the fields of c that the column's
// kind reads. Anything else, and every error, goes through coerce.
func coerceFast(t *types.Type, v jval, c *cell) error {
	switch v.kind {
	case jMissing, jNull:
		if !t.NotNull {
			c.valid = false
			return nil
		}
	case jString:
		switch t.Kind {
		case types.Char, types.Varchar:
			if v.utf8 || utf8.Valid(v.raw) {
				c.valid, c.s = true, truncateRunes(v.raw, t.Length)
				return nil
			}
		case types.Timestamp, types.Date, types.Time:
			if ms, err := parseDatetime(bytes.TrimSpace(v.raw), t.Kind); err == nil {
				c.valid, c.i = true, ms
				return nil
			}
		}
	case jNumber:
		switch t.Kind {
		case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
			if n, ok := parseSmallInt(v.raw, intBits(t.Kind)); ok {
				c.valid, c.i = true, n
				return nil
			}
		}
	}
	return coerce(*t, v, c)
}

// parseSmallInt parses an optional '-' and 1 to 18 digits into a value that
// fits bits bits; ok is false for anything else, which parseIntExact then
// reads.
func parseSmallInt(b []byte, bits int) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if bits < 64 && (n < -1<<(bits-1) || n >= 1<<(bits-1)) {
		return 0, false
	}
	return n, true
}

func trimSpace(v jval) []byte {
	if v.kind != jString {
		return v.raw
	}
	return bytes.TrimSpace(v.raw)
}

func intBits(k types.Kind) int {
	switch k {
	case types.TinyInt:
		return 8
	case types.SmallInt:
		return 16
	case types.Integer:
		return 32
	}
	return 64
}

// maxQuoted bounds how much of a value an error message repeats.
const maxQuoted = 64

// convErr formats "cannot convert string "abc" to INTEGER: not a number".
func convErr(v jval, t types.Type, why string) error {
	var val string
	switch v.kind {
	case jString:
		val = "string " + strconv.Quote(clip(v.raw))
	case jTrue:
		val = "boolean true"
	case jFalse:
		val = "boolean false"
	default:
		val = jkindNames[v.kind] + " " + clip(v.raw)
	}
	if why == "" {
		return fmt.Errorf("cannot convert %s to %s", val, t.Nullable())
	}
	return fmt.Errorf("cannot convert %s to %s: %s", val, t.Nullable(), why)
}

func clip(b []byte) string {
	if len(b) > maxQuoted {
		return string(b[:maxQuoted]) + "…"
	}
	return string(b)
}

// truncateRunes cuts s to at most n characters (n <= 0: no limit).
func truncateRunes(s []byte, n int) []byte {
	if n <= 0 || len(s) <= n {
		return s
	}
	count := 0
	for i := range bytesRunes(s) {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}

// bytesRunes yields the byte offsets of the runes of s.
func bytesRunes(s []byte) func(func(int) bool) {
	return func(yield func(int) bool) {
		for i := 0; i < len(s); {
			if !yield(i) {
				return
			}
			_, size := utf8.DecodeRune(s[i:])
			i += size
		}
	}
}

// parseIntExact parses an integer that must fit bits bits. Fractional and
// exponent forms are accepted when their value is a whole number (1.0, 1e3);
// 123.4 loses precision and is an error, as KDA specifies.
func parseIntExact(b []byte, bits int) (int64, error) {
	s := bstr(b)
	n, err := strconv.ParseInt(s, 10, bits)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, errors.New("overflow")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errors.New("overflow")
		}
		return 0, errors.New("not a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a finite number")
	}
	if f != math.Trunc(f) {
		return 0, errors.New("lost precision")
	}
	limit := math.Ldexp(1, bits-1)
	if f < -limit || f >= limit {
		return 0, errors.New("overflow")
	}
	return int64(f), nil
}

// parseDecimal parses a decimal number ([-+]digits[.digits][e[-+]digits])
// into a DECIMAL(prec, scale) value, refusing lost digits and overflow.
func parseDecimal(b []byte, prec, scale int) (decimal128.Num, error) {
	var zero decimal128.Num
	i := 0
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var digits [96]byte
	nd := 0       // significant digits kept in digits
	exp := 0      // value = digits × 10^exp
	seen := false // any digit at all
	dot := false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case isDigit(c):
			seen = true
			if dot {
				exp--
			}
			if nd == 0 && c == '0' {
				continue
			}
			if nd == len(digits) {
				return zero, errors.New("overflow")
			}
			digits[nd] = c - '0'
			nd++
		case c == '.' && !dot:
			dot = true
		default:
			goto tail
		}
	}
tail:
	if !seen {
		return zero, errors.New("not a number")
	}
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return zero, errors.New("not a number")
		}
		e, err := strconv.Atoi(bstr(b[i+1:]))
		if err != nil || e > 1000 || e < -1000 {
			return zero, errors.New("not a number")
		}
		exp += e
	}
	// Scale the digits: value × 10^scale must be an integer.
	shift := exp + scale
	if shift < 0 {
		drop := -shift
		if drop > nd {
			drop = nd
		}
		for _, d := range digits[nd-drop : nd] {
			if d != 0 {
				return zero, errors.New("lost precision")
			}
		}
		nd -= drop
		shift = 0
	}
	if nd > 0 && nd+shift > prec {
		return zero, errors.New("overflow")
	}
	n := decimal128.Num{}
	ten := decimal128.FromU64(10)
	for _, d := range digits[:nd] {
		n = n.Mul(ten).Add(decimal128.FromU64(uint64(d)))
	}
	for ; shift > 0 && nd > 0; shift-- {
		n = n.Mul(ten)
	}
	if neg {
		n = n.Negate()
	}
	return n, nil
}

// parseHexLiteral parses X'0aff' (either case of X and of the digits).
func parseHexLiteral(b []byte) ([]byte, error) {
	if len(b) < 3 || (b[0] != 'X' && b[0] != 'x') || b[1] != '\'' || b[len(b)-1] != '\'' {
		return nil, errors.New("binary values are written as hex literals like X'0aff'")
	}
	out := make([]byte, hex.DecodedLen(len(b)-3))
	if _, err := hex.Decode(out, b[2:len(b)-1]); err != nil {
		return nil, fmt.Errorf("bad hex literal: %w", err)
	}
	return out, nil
}

const msPerDay = 24 * 60 * 60 * 1000

// parseDatetime parses the datetime strings KDA accepts and returns the
// value in the unit of the Arrow type of k: days for DATE, milliseconds of
// the day for TIME, milliseconds since the epoch for TIMESTAMP.
//
//	1992-02-14                       DATE, TIMESTAMP (midnight)
//	1992-02-14 18:35:44[.0]          any; 'T' may replace the space
//	2018-08-01T20:17:20.797945Z      fractions past milliseconds are cut;
//	2018-08-01T20:17:20+02:00        a zone (Z, ±HH, ±HHMM, ±HH:MM) converts to UTC
//	18:35:44.123                     TIME only
func parseDatetime(b []byte, k types.Kind) (int64, error) {
	if k == types.Time && len(b) >= 3 && b[2] == ':' {
		ms, rest, ok := parseClock(b)
		if !ok || len(rest) != 0 {
			return 0, errors.New("not a time (HH:MM[:SS[.fff]])")
		}
		return ms, nil
	}
	ms, err := parseTimestamp(b)
	if err != nil {
		return 0, err
	}
	switch k {
	case types.Date:
		return floorDiv(ms, msPerDay), nil
	case types.Time:
		return ms - floorDiv(ms, msPerDay)*msPerDay, nil
	}
	return ms, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// errNotDatetime is returned by parseTimestamp; it is a constant sentinel so
// that the hot path does not allocate one per value.
var errNotDatetime = errors.New("not a datetime (e.g. 1992-02-14, 1992-02-14 18:35:44.0, 2018-08-01T20:17:20.797Z)")

func parseTimestamp(b []byte) (int64, error) {
	bad := errNotDatetime
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return 0, bad
	}
	y, ok1 := atoiN(b[0:4])
	mo, ok2 := atoiN(b[5:7])
	d, ok3 := atoiN(b[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, bad
	}
	ms := daysFromCivil(y, mo, d) * msPerDay
	rest := b[10:]
	if len(rest) == 0 {
		return ms, nil
	}
	if rest[0] != ' ' && rest[0] != 'T' && rest[0] != 't' {
		return 0, bad
	}
	clock, rest, ok := parseClock(rest[1:])
	if !ok {
		return 0, bad
	}
	ms += clock
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case rest[0] == '+' || rest[0] == '-':
		off, ok := parseOffset(rest[1:])
		if !ok {
			return 0, bad
		}
		if rest[0] == '+' {
			off = -off
		}
		ms += off
	default:
		return 0, bad
	}
	return ms, nil
}

// parseClock parses HH:MM[:SS[.fraction]] at the start of b.
func parseClock(b []byte) (ms int64, rest []byte, ok bool) {
	if len(b) < 5 || b[2] != ':' {
		return 0, nil, false
	}
	h, ok1 := atoiN(b[0:2])
	m, ok2 := atoiN(b[3:5])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, nil, false
	}
	ms = int64(h*3600+m*60) * 1000
	b = b[5:]
	if len(b) >= 3 && b[0] == ':' {
		s, ok := atoiN(b[1:3])
		if !ok || s > 59 {
			return 0, nil, false
		}
		ms += int64(s) * 1000
		b = b[3:]
		if len(b) >= 2 && (b[0] == '.' || b[0] == ',') && isDigit(b[1]) {
			b = b[1:]
			scale := int64(100)
			for len(b) > 0 && isDigit(b[0]) {
				ms += int64(b[0]-'0') * scale
				scale /= 10
				b = b[1:]
			}
		}
	}
	return ms, b, true
}

// parseOffset parses HH, HHMM or HH:MM into milliseconds.
func parseOffset(b []byte) (int64, bool) {
	var h, m int
	var ok1, ok2 = true, true
	switch len(b) {
	case 2:
		h, ok1 = atoiN(b)
	case 4:
		h, ok1 = atoiN(b[:2])
		m, ok2 = atoiN(b[2:])
	case 5:
		if b[2] != ':' {
			return 0, false
		}
		h, ok1 = atoiN(b[:2])
		m, ok2 = atoiN(b[3:])
	default:
		return 0, false
	}
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	return int64(h*60+m) * 60 * 1000, true
}

func atoiN(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (as time.Date counts them), without the cost
// of a time.Time.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 0 here: years start at 1
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
