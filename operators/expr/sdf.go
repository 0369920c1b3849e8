package expr

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A translator for the Java SimpleDateFormat patterns KDA's CHAR_TO_* and
// *_TO_CHAR functions take. Supported letters: G y M d D E u a H k K h m s
// S z Z X, 'quoted text' ('' is a quote), and any other character as a
// literal. Two-digit years (yy) parse into 1970..2069. Times are UTC.

type sdfField struct {
	letter byte // 0 for a literal
	count  int
	lit    string
}

type sdfPattern struct {
	src    string
	fields []sdfField
}

var (
	monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

func compileSDF(p string) (*sdfPattern, error) {
	out := &sdfPattern{src: p}
	for k := 0; k < len(p); {
		c := p[k]
		switch {
		case c == '\'':
			if k+1 < len(p) && p[k+1] == '\'' {
				out.fields = append(out.fields, sdfField{lit: "'"})
				k += 2
				continue
			}
			var lit strings.Builder
			k++
			for {
				if k >= len(p) {
					return nil, fmt.Errorf("unterminated quote in date format %q", p)
				}
				if p[k] == '\'' {
					if k+1 < len(p) && p[k+1] == '\'' {
						lit.WriteByte('\'')
						k += 2
						continue
					}
					k++
					break
				}
				lit.WriteByte(p[k])
				k++
			}
			out.fields = append(out.fields, sdfField{lit: lit.String()})
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			j := k
			for j < len(p) && p[j] == c {
				j++
			}
			if !strings.ContainsRune("GyMdDEuaHkKhmsSzZX", rune(c)) {
				return nil, fmt.Errorf("unsupported letter %q in date format %q", c, p)
			}
			out.fields = append(out.fields, sdfField{letter: c, count: j - k})
			k = j
		default:
			out.fields = append(out.fields, sdfField{lit: string(c)})
			k++
		}
	}
	return out, nil
}

func pad(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for k := len(s); k < width; k++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// format writes the UTC time t (from epoch milliseconds) with the pattern.
func (p *sdfPattern) format(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	b := make([]byte, 0, 32)
	for _, f := range p.fields {
		n := f.count
		switch f.letter {
		case 0:
			b = append(b, f.lit...)
		case 'G':
			b = append(b, "AD"...)
		case 'y':
			if n == 2 {
				b = pad(b, t.Year()%100, 2)
			} else {
				b = pad(b, t.Year(), n)
			}
		case 'M':
			switch {
			case n >= 4:
				b = append(b, monthNames[t.Month()-1]...)
			case n == 3:
				b = append(b, monthNames[t.Month()-1][:3]...)
			default:
				b = pad(b, int(t.Month()), n)
			}
		case 'd':
			b = pad(b, t.Day(), n)
		case 'D':
			b = pad(b, t.YearDay(), n)
		case 'E':
			name := dayNames[t.Weekday()]
			if n < 4 {
				name = name[:3]
			}
			b = append(b, name...)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b = pad(b, wd, n)
		case 'a':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'H':
			b = pad(b, t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			b = pad(b, h, n)
		case 'K':
			b = pad(b, t.Hour()%12, n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = pad(b, h, n)
		case 'm':
			b = pad(b, t.Minute(), n)
		case 's':
			b = pad(b, t.Second(), n)
		case 'S':
			b = pad(b, t.Nanosecond()/1e6, n)
		case 'z':
			b = append(b, "UTC"...)
		case 'Z':
			b = append(b, "+0000"...)
		case 'X':
			b = append(b, 'Z')
		}
	}
	return string(b)
}

func isNumericLetter(c byte, n int) bool {
	switch c {
	case 'y', 'd', 'D', 'u', 'H', 'k', 'K', 'h', 'm', 's', 'S':
		return true
	case 'M':
		return n <= 2
	}
	return false
}

// parse reads s with the pattern into epoch milliseconds. Every field must
// be in range (no lenient roll-over) and all of s must be consumed.
func (p *sdfPattern) parse(s string) (int64, error) {
	year, month, day, yday := 1970, 1, 1, 0
	hour, min, sec, ms := 0, 0, 0, 0
	pm, h12 := -1, false
	offset := 0
	pos := 0
	fail := func(what string) (int64, error) {
		return 0, fmt.Errorf("%q does not match date format %q (%s at position %d)", s, p.src, what, pos+1)
	}
	for k, f := range p.fields {
		if f.letter == 0 {
			if !strings.HasPrefix(s[pos:], f.lit) {
				return fail("expected " + strconv.Quote(f.lit))
			}
			pos += len(f.lit)
			continue
		}
		if isNumericLetter(f.letter, f.count) {
			// Fixed width when the next field is also a number (yyyyMMdd).
			maxw := 10
			if k+1 < len(p.fields) && p.fields[k+1].letter != 0 && isNumericLetter(p.fields[k+1].letter, p.fields[k+1].count) {
				maxw = f.count
			}
			j := pos
			if f.letter == 'y' && j < len(s) && s[j] == '-' {
				j++
			}
			for j < len(s) && j-pos < maxw && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == pos || (s[pos] == '-' && j == pos+1) {
				return fail("expected a number for " + strings.Repeat(string(f.letter), f.count))
			}
			v, _ := strconv.Atoi(s[pos:j])
			digits := j - pos
			pos = j
			switch f.letter {
			case 'y':
				if f.count <= 2 && digits <= 2 {
					if v < 70 {
						v += 2000
					} else {
						v += 1900
					}
				}
				year = v
			case 'M':
				month = v
			case 'd':
				day = v
			case 'D':
				yday = v
			case 'u':
			case 'H':
				hour = v
			case 'k':
				hour = v % 24
			case 'K':
				hour, h12 = v, true
			case 'h':
				hour, h12 = v%12, true
				if v < 1 || v > 12 {
					return fail("hour out of 1..12")
				}
			case 'm':
				min = v
			case 's':
				sec = v
			case 'S':
				// S counts milliseconds, whatever the number of letters.
				ms = v
			}
			continue
		}
		rest := s[pos:]
		switch f.letter {
		case 'M':
			found := false
			for m, name := range monthNames {
				for _, cand := range []string{name, name[:3]} {
					if len(rest) >= len(cand) && strings.EqualFold(rest[:len(cand)], cand) {
						month, pos, found = m+1, pos+len(cand), true
						break
					}
				}
				if found {
					break
				}
			}
			if !found {
				return fail("expected a month name")
			}
		case 'E':
			found := false
			for _, name := range dayNames {
				for _, cand := range []string{name, name[:3]} {
					if len(rest) >= len(cand) && strings.EqualFold(rest[:len(cand)], cand) {
						pos, found = pos+len(cand), true
						break
					}
				}
				if found {
					break
				}
			}
			if !found {
				return fail("expected a day name")
			}
		case 'a':
			switch {
			case len(rest) >= 2 && strings.EqualFold(rest[:2], "AM"):
				pm = 0
			case len(rest) >= 2 && strings.EqualFold(rest[:2], "PM"):
				pm = 1
			default:
				return fail("expected AM or PM")
			}
			pos += 2
		case 'G':
			if !strings.HasPrefix(rest, "AD") {
				return fail("expected AD")
			}
			pos += 2
		case 'z', 'Z', 'X':
			o, w, err := parseZone(rest)
			if err != nil {
				return fail(err.Error())
			}
			offset, pos = o, pos+w
		}
	}
	if pos != len(s) {
		return fail("unexpected trailing text")
	}
	if pm == 1 && (h12 || hour < 12) {
		hour += 12
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 59 || ms > 999 {
		return fail("field out of range")
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, ms*1e6, time.UTC)
	if yday > 0 {
		t = time.Date(year, 1, yday, hour, min, sec, ms*1e6, time.UTC)
	} else if t.Day() != day {
		return fail("no such day")
	}
	return t.UnixMilli() - int64(offset)*1000, nil
}

// parseZone reads Z, UTC, GMT, or an offset ±HH[[:]mm]; it returns the
// offset in seconds and the width read.
func parseZone(s string) (int, int, error) {
	for _, name := range []string{"UTC", "GMT", "Z"} {
		if strings.HasPrefix(s, name) {
			if name != "Z" && len(s) > len(name) && (s[len(name)] == '+' || s[len(name)] == '-') {
				o, w, err := parseZone(s[len(name):])
				return o, w + len(name), err
			}
			return 0, len(name), nil
		}
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, fmt.Errorf("expected a time zone")
	}
	h, ok := digits(s, 1, 2)
	if !ok {
		return 0, 0, fmt.Errorf("expected a time zone")
	}
	w, m := 3, 0
	if len(s) >= 6 && s[3] == ':' {
		m, ok = digits(s, 4, 2)
		w = 6
	} else if len(s) >= 5 {
		if v, ok2 := digits(s, 3, 2); ok2 {
			m, w = v, 5
		}
	}
	if !ok {
		return 0, 0, fmt.Errorf("expected a time zone")
	}
	o := h*3600 + m*60
	if s[0] == '-' {
		o = -o
	}
	return o, w, nil
}

// sdfCache compiles date formats once: fixed for a literal pattern,
// otherwise a small cache safe for concurrent Evals.
type sdfCache struct {
	fixed *sdfPattern
	mu    sync.Mutex
	seen  map[string]*sdfPattern
}

func newSDFCache(e Expr) (*sdfCache, error) {
	c := &sdfCache{}
	if p, ok := literalString(e); ok {
		f, err := compileSDF(p)
		if err != nil {
			return nil, typeErr("%v", err)
		}
		c.fixed = f
	}
	return c, nil
}

func (c *sdfCache) get(p string) (*sdfPattern, error) {
	if c.fixed != nil {
		return c.fixed, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.seen[p]; ok {
		return f, nil
	}
	f, err := compileSDF(p)
	if err != nil {
		return nil, err
	}
	if c.seen == nil || len(c.seen) > 256 {
		c.seen = map[string]*sdfPattern{}
	}
	c.seen[p] = f
	return f, nil
}
