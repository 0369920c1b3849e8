package kinesisapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Content types the face speaks. The response always carries the request's
// content type.
const (
	contentTypeJSON11 = "application/x-amz-json-1.1"
	contentTypeJSON10 = "application/x-amz-json-1.0"
	contentTypePlain  = "application/json"
	contentTypeCBOR   = "application/x-amz-cbor-1.1"
)

// wireFormat is how a body is encoded.
type wireFormat uint8

const (
	formatJSON wireFormat = iota
	formatCBOR
)

// parseContentType maps a Content-Type header to a wire format and the
// content type to answer with. ok is false for anything else.
func parseContentType(header string) (f wireFormat, answer string, ok bool) {
	mt := header
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch mt {
	case contentTypeJSON11, contentTypeJSON10, contentTypePlain:
		return formatJSON, mt, true
	case contentTypeCBOR:
		return formatCBOR, mt, true
	}
	// Tolerate odd spellings that mime can normalise (e.g. upper case with
	// parameters); anything still unknown is rejected.
	if parsed, _, err := mime.ParseMediaType(header); err == nil && parsed != mt {
		return parseContentType(parsed)
	}
	return 0, "", false
}

// codecs holds the CBOR modes. They are immutable once built and shared by
// every request of one handler.
type codecs struct {
	cborDec cbor.DecMode
	cborEnc cbor.EncMode
}

func newCodecs() (codecs, error) {
	dec, err := cbor.DecOptions{
		// Requests are small documents; these bounds keep a hostile body
		// from costing much more than its size.
		MaxNestedLevels:  16,
		MaxArrayElements: 10_000,
		MaxMapPairs:      10_000,
		// Never turn an unknown tag into time.Time behind our back: wireTime
		// decodes timestamps itself.
		TimeTag: cbor.DecTagIgnored,
	}.DecMode()
	if err != nil {
		return codecs{}, fmt.Errorf("build CBOR decoder: %w", err)
	}
	enc, err := cbor.EncOptions{}.EncMode()
	if err != nil {
		return codecs{}, fmt.Errorf("build CBOR encoder: %w", err)
	}
	return codecs{cborDec: dec, cborEnc: enc}, nil
}

// decode decodes a request body into v, a pointer to an input structure.
// Every failure is a SerializationException: the body is not a well-formed
// object of the expected shape.
func (c *codecs) decode(f wireFormat, body []byte, v any) error {
	switch f {
	case formatCBOR:
		if len(body) == 0 || body[0]>>5 != 5 { // major type 5: map
			return serializationError("the request body must be a CBOR map")
		}
		if err := c.cborDec.Unmarshal(body, v); err != nil {
			return serializationError(describeCBORError(err))
		}
		return nil
	default:
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return serializationError("the request body must be a JSON object")
		}
		if err := json.Unmarshal(body, v); err != nil {
			return serializationError(describeJSONError(err))
		}
		return nil
	}
}

// encode encodes a response body.
func (c *codecs) encode(f wireFormat, v any) ([]byte, error) {
	if f == formatCBOR {
		b, err := c.cborEnc.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode CBOR response: %w", err)
		}
		return b, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON response: %w", err)
	}
	return b, nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the request"
		}
		return fmt.Sprintf("unexpected JSON %s at '%s': expected %s", te.Value, field, jsonKind(te.Type.String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at offset %d: %v", se.Offset, se)
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return fmt.Sprintf("a blob is not valid base64 (illegal data at input byte %d)", int64(ce))
	}
	return "malformed JSON: " + err.Error()
}

// jsonKind names a Go type in the request's terms.
func jsonKind(goType string) string {
	switch {
	case goType == "string" || goType == "*string":
		return "a string"
	case goType == "[]uint8":
		return "a base64 string"
	case strings.Contains(goType, "int"):
		return "an integer"
	case goType == "bool" || goType == "*bool":
		return "a boolean"
	case strings.HasPrefix(goType, "[]") || strings.HasPrefix(goType, "*[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a map"
	default:
		return "a structure"
	}
}

func describeCBORError(err error) string {
	var te *cbor.UnmarshalTypeError
	if errors.As(err, &te) {
		return "unexpected CBOR type: " + te.Error()
	}
	return "malformed CBOR: " + err.Error()
}

// wireTime is a timestamp on the wire. JSON writes it as fractional epoch
// seconds; CBOR as tag 1 carrying epoch milliseconds.
type wireTime struct{ time.Time }

func newWireTime(t time.Time) wireTime { return wireTime{t} }

// untaggedMillisThreshold tells seconds from milliseconds in an untagged CBOR
// number: 1e11 seconds is the year 5138, 1e11 milliseconds is March 1973.
const untaggedMillisThreshold = 1e11

// UnmarshalJSON accepts a JSON number of epoch seconds (fractions allowed)
// or null.
func (t *wireTime) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		t.Time = time.Time{}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || (len(s) > 0 && s[0] == '"') {
		return fmt.Errorf("timestamp %s is not a number of epoch seconds", s)
	}
	tt, err := timeFromSeconds(f)
	if err != nil {
		return err
	}
	t.Time = tt
	return nil
}

// MarshalJSON writes epoch seconds with millisecond precision as a plain
// decimal, never in exponent notation.
func (t wireTime) MarshalJSON() ([]byte, error) {
	return appendEpochSeconds(nil, t.Time), nil
}

func appendEpochSeconds(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec--
		frac += 1000
	}
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return b
}

// UnmarshalCBOR accepts tag 1 carrying epoch milliseconds (what the AWS
// Java SDKs send), tag 0 carrying an RFC 3339 string, and an untagged number,
// read as milliseconds when it is at least 1e11 and as seconds otherwise.
func (t *wireTime) UnmarshalCBOR(b []byte) error {
	if len(b) == 0 {
		return errors.New("empty CBOR timestamp")
	}
	if b[0] == 0xf6 || b[0] == 0xf7 { // null, undefined
		t.Time = time.Time{}
		return nil
	}
	tagged := false
	switch b[0] {
	case 0xc1: // tag 1
		tagged = true
		b = b[1:]
	case 0xc0: // tag 0: RFC 3339 text
		var s string
		if err := cbor.Unmarshal(b[1:], &s); err != nil {
			return fmt.Errorf("timestamp tag 0 must carry text: %w", err)
		}
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("timestamp tag 0: %w", err)
		}
		t.Time = tt
		return nil
	}
	var v any
	if err := cbor.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	var f float64
	switch n := v.(type) {
	case uint64:
		f = float64(n)
	case int64:
		f = float64(n)
	case float64:
		f = n
	default:
		return fmt.Errorf("timestamp must be a number, got %T", v)
	}
	var (
		tt  time.Time
		err error
	)
	if tagged || math.Abs(f) >= untaggedMillisThreshold {
		tt, err = timeFromSeconds(f / 1000)
	} else {
		tt, err = timeFromSeconds(f)
	}
	if err != nil {
		return err
	}
	t.Time = tt
	return nil
}

// MarshalCBOR writes tag 1 carrying epoch milliseconds.
func (t wireTime) MarshalCBOR() ([]byte, error) {
	return appendCBORMillis(make([]byte, 0, 10), t.Time), nil
}

func appendCBORMillis(b []byte, t time.Time) []byte {
	b = append(b, 0xc1)
	ms := t.UnixMilli()
	if ms >= 0 {
		return appendCBORHead(b, 0, uint64(ms))
	}
	return appendCBORHead(b, 1, uint64(-1-ms))
}

// appendCBORHead appends a CBOR initial byte and argument.
func appendCBORHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// maxEpochSeconds bounds accepted timestamps to years 0001–9999 so that
// time arithmetic never overflows.
const (
	minEpochSeconds = -62135596800
	maxEpochSeconds = 253402300799
)

func timeFromSeconds(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < minEpochSeconds || f > maxEpochSeconds {
		return time.Time{}, fmt.Errorf("timestamp %v is out of range", f)
	}
	sec := math.Floor(f)
	micros := math.Round((f - sec) * 1e6)
	return time.Unix(int64(sec), int64(micros)*1e3).UTC(), nil
}
