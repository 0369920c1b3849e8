package input

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// rec makes a record at t0 from text.
func rec(data string) Record { return Record{Data: []byte(data), Rowtime: t0} }

// decode runs a decoder over recs and renders the mapped columns (skipping
// ROWTIME and APPROXIMATE_ARRIVAL_TIME) as text.
func decode(t *testing.T, s Schema, opts DecoderOptions, recs ...Record) ([][]string, []operators.RowError) {
	t.Helper()
	d, err := NewDecoder(s, opts)
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	out, errs := d.Decode(recs)
	defer out.Release()
	if !out.Schema().Equal(d.Schema().Arrow()) {
		t.Fatalf("batch schema %v, want %v", out.Schema(), d.Schema().Arrow())
	}
	return render(out, 2), errs
}

// render formats each row of rec from column first on.
func render(rec arrow.Record, first int) [][]string {
	var rows [][]string
	for r := 0; r < int(rec.NumRows()); r++ {
		var row []string
		for c := first; c < int(rec.NumCols()); c++ {
			row = append(row, cellText(rec.Column(c), r))
		}
		rows = append(rows, row)
	}
	return rows
}

func cellText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Int8:
		return strconv.Itoa(int(a.Value(i)))
	case *array.Int16:
		return strconv.Itoa(int(a.Value(i)))
	case *array.Int32:
		return strconv.Itoa(int(a.Value(i)))
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return fmt.Sprintf("X'%x'", a.Value(i))
	case *array.Date32:
		return time.UnixMilli(int64(a.Value(i)) * msPerDay).UTC().Format("2006-01-02")
	case *array.Time32:
		return time.UnixMilli(int64(a.Value(i))).UTC().Format("15:04:05.000")
	case *array.Timestamp:
		return time.UnixMilli(int64(a.Value(i))).UTC().Format("2006-01-02 15:04:05.000")
	}
	return a.ValueStr(i)
}

func jsonSchema(cols ...Column) Schema {
	return Schema{RecordFormat: RecordFormat{Type: "JSON"}, Columns: cols}
}

func col(name, typ, mapping string) Column { return Column{Name: name, SQLType: typ, Mapping: mapping} }
