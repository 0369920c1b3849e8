package operators

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// TimestampLayout is how kda writes TIMESTAMP values in JSON and CSV output,
// as Kinesis Data Analytics did: "2026-01-02 03:04:05.678" (UTC).
const TimestampLayout = "2006-01-02 15:04:05.000"

// FormatTimestamp writes epoch milliseconds with TimestampLayout.
func FormatTimestamp(ms int64) string { return time.UnixMilli(ms).UTC().Format(TimestampLayout) }

// RowJSON renders row i of rec as a JSON object, columns in schema order.
// Outputs, error_stream's DATA_ROW and the golden tests all use it.
func RowJSON(rec arrow.Record, i int) string {
	var b strings.Builder
	b.WriteByte('{')
	for c, f := range rec.Schema().Fields() {
		if c > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(f.Name))
		b.WriteByte(':')
		b.WriteString(ValueJSON(rec.Column(c), i))
	}
	b.WriteByte('}')
	return b.String()
}

// ValueJSON renders one value as JSON: numbers as numbers, TIMESTAMP as
// "yyyy-MM-dd HH:mm:ss.SSS", DATE as "yyyy-MM-dd", TIME as "HH:mm:ss.SSS",
// DECIMAL as its exact decimal text, binary as base64, a ROW as an object
// of its fields, NULL as null.
func ValueJSON(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return "null"
	}
	switch a := col.(type) {
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float32:
		return formatFloat(float64(a.Value(i)), 32)
	case *array.Float64:
		return formatFloat(a.Value(i), 64)
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		return a.Value(i).ToString(dt.Scale)
	case *array.String:
		return strconv.Quote(a.Value(i))
	case *array.Binary:
		return strconv.Quote(base64.StdEncoding.EncodeToString(a.Value(i)))
	case *array.Timestamp:
		return strconv.Quote(FormatTimestamp(int64(a.Value(i))))
	case *array.Date32:
		return strconv.Quote(a.Value(i).ToTime().UTC().Format("2006-01-02"))
	case *array.Time32:
		return strconv.Quote(time.UnixMilli(int64(a.Value(i))).UTC().Format("15:04:05.000"))
	case *array.Duration:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Struct:
		// A ROW value: an object of its fields, in order.
		var b strings.Builder
		b.WriteByte('{')
		for k, f := range a.DataType().(*arrow.StructType).Fields() {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(f.Name))
			b.WriteByte(':')
			b.WriteString(ValueJSON(a.Field(k), i))
		}
		b.WriteByte('}')
		return b.String()
	}
	return strconv.Quote(col.ValueStr(i))
}

// formatFloat writes the shortest text that reads back as the same value,
// without exponent notation for ordinary magnitudes.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return `"NaN"`
	case math.IsInf(f, 1):
		return `"Infinity"`
	case math.IsInf(f, -1):
		return `"-Infinity"`
	}
	if f == 0 {
		return "0" // and not "-0"
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}
