package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/valyala/fastjson"
)

// object parses a record that must be one JSON object. The sink reads
// records with fastjson rather than fields.Object, which costs ten times
// as much and builds a map the sink does not need; lookup and value keep
// the rules of fields.Lookup and fields.Object.
func object(p *fastjson.Parser, data []byte) (*fastjson.Object, error) {
	v, err := p.ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("record is not a JSON object: %w", err)
	}
	o, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("record is not a JSON object but %s", v.Type())
	}
	return o, nil
}

// lookup finds a field by its exact name, else ignoring case, like
// fields.Lookup.
func lookup(o *fastjson.Object, name string) (*fastjson.Value, bool) {
	if v := o.Get(name); v != nil {
		return v, true
	}
	var found *fastjson.Value
	o.Visit(func(k []byte, v *fastjson.Value) {
		if found == nil && strings.EqualFold(string(k), name) {
			found = v
		}
	})
	return found, found != nil
}

// value is a field's value as fields.Object has it (string, json.Number,
// bool, nil), except that objects and arrays stay JSON text
// (json.RawMessage): columns take them as JSON or as text.
func value(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		return json.Number(v.MarshalTo(nil))
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	case fastjson.TypeNull:
		return nil
	}
	return json.RawMessage(v.MarshalTo(nil))
}

// converter turns a JSON value into the Go value pgx encodes for one
// column type.
type converter struct {
	fam      family
	typeName string // as the server formats it, for errors
	min, max int64  // range of an integer type
}

// converterFor picks the converter of a column's real type.
func converterFor(oid uint32, typeName string) (converter, bool) {
	c := converter{typeName: typeName}
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		c.fam = familyText
	case pgtype.Int2OID:
		c.fam, c.min, c.max = familyInt, math.MinInt16, math.MaxInt16
	case pgtype.Int4OID:
		c.fam, c.min, c.max = familyInt, math.MinInt32, math.MaxInt32
	case pgtype.Int8OID:
		c.fam, c.min, c.max = familyInt, math.MinInt64, math.MaxInt64
	case pgtype.Float4OID, pgtype.Float8OID:
		c.fam = familyFloat
	case pgtype.NumericOID:
		c.fam = familyNumeric
	case pgtype.BoolOID:
		c.fam = familyBool
	case pgtype.TimestampOID, pgtype.TimestamptzOID:
		c.fam = familyTimestamp
	case pgtype.DateOID:
		c.fam = familyDate
	case pgtype.JSONOID, pgtype.JSONBOID:
		c.fam = familyJSON
	default:
		return c, false
	}
	return c, true
}

// timeLayouts are the timestamp texts a record may hold: kda's own output
// format (with any number of fraction digits) and RFC 3339.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02",
}

// convert returns the value for v, which is not nil.
func (c converter) convert(v any) (any, error) {
	switch c.fam {
	case familyText:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			b, _ := json.Marshal(v)
			s = string(b)
		}
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("text is not valid UTF-8")
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("text contains a NUL character, which PostgreSQL refuses")
		}
		return s, nil
	case familyInt:
		s, ok := numberText(v)
		if !ok {
			return nil, fmt.Errorf("%s is not a number", describe(v))
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
				return nil, fmt.Errorf("%s is not an integer that %s holds", s, c.typeName)
			}
			n = int64(f)
		}
		if n < c.min || n > c.max {
			return nil, fmt.Errorf("%s is out of the range of %s", s, c.typeName)
		}
		return n, nil
	case familyFloat:
		s, ok := numberText(v)
		if !ok {
			return nil, fmt.Errorf("%s is not a number", describe(v))
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case familyNumeric:
		s, ok := numberText(v)
		if !ok {
			return nil, fmt.Errorf("%s is not a number", describe(v))
		}
		var n pgtype.Numeric
		if err := n.Scan(s); err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return n, nil
	case familyBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string, json.Number:
			b, err := strconv.ParseBool(fmt.Sprint(x))
			if err != nil {
				return nil, fmt.Errorf("%s is not a boolean", describe(v))
			}
			return b, nil
		}
		return nil, fmt.Errorf("%s is not a boolean", describe(v))
	case familyTimestamp, familyDate:
		t, err := parseTime(v)
		if err != nil {
			return nil, err
		}
		if c.fam == familyDate {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
		return t, nil
	case familyJSON:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(b), nil
	}
	return nil, fmt.Errorf("unsupported column type %s", c.typeName)
}

// numberText is the text of a number or of a string holding one.
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case string:
		return strings.TrimSpace(x), true
	}
	return "", false
}

// parseTime reads a timestamp: text in one of timeLayouts (UTC unless it
// says otherwise) or milliseconds since the Unix epoch. The result is in
// UTC, so that TIMESTAMP columns store UTC wall-clock times.
func parseTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case string:
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, x); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a timestamp (want \"2006-01-02 15:04:05.000\" or RFC 3339)", x)
	case json.Number:
		ms, err := x.Int64()
		if err != nil {
			return time.Time{}, fmt.Errorf("%s is not a timestamp (a number must be whole milliseconds since 1970)", x)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s is not a timestamp", describe(v))
}

// describe names a JSON value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case json.RawMessage:
		if len(x) > 0 && x[0] == '[' {
			return "an array"
		}
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprint(v)
}
