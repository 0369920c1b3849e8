package input

import (
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// checkBatch checks that all columns have the batch's length, that ROWTIME
// has no NULL and that strings are valid UTF-8.
func checkBatch(t *testing.T, rec arrow.Record) {
	t.Helper()
	for i, c := range rec.Columns() {
		if int64(c.Len()) != rec.NumRows() {
			t.Fatalf("column %d has %d rows, batch %d", i, c.Len(), rec.NumRows())
		}
		if s, ok := c.(*array.String); ok {
			for r := 0; r < s.Len(); r++ {
				if !utf8.ValidString(s.Value(r)) {
					t.Fatalf("column %d row %d: invalid UTF-8 %q", i, r, s.Value(r))
				}
			}
		}
	}
	if rec.Column(0).NullN() != 0 {
		t.Fatal("ROWTIME has NULLs")
	}
}

// FuzzDecodeJSON checks that no payload makes the decoder panic, and that
// each record either produces rows or exactly one error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"n":1,"s":"x","items":[{"v":1.5},{"v":"2"}],"t":"2026-01-02T03:04:05.678Z"}`,
		`{"n":1}{"n":2}`, `[]`, `null`, `{"items":{}}`, `{"n":1e999}`, `{"s":"\ud800"}`,
		`{"n":"12abc","t":"1992-02-14 18:35:44.0"}`, `{`, ``, "\xff", `{"items":[null,1,[]]}`,
	} {
		f.Add([]byte(s))
	}
	s := jsonSchema(col("n", "INTEGER", "$.n"), col("s", "VARCHAR(4)", "$.s"), col("v", "DECIMAL(6,2)", "$.items[0:].v"),
		col("t", "TIMESTAMP", "$.t"), col("b", "BOOLEAN", "$.n"), col("raw", "VARCHAR(16)", "$"), col("bin", "VARBINARY(4)", "$.s"))
	d, err := NewDecoder(s, DecoderOptions{ExtraColumns: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, errs := d.Decode(nil, []Record{{Data: data, Rowtime: t0}})
		defer out.Release()
		if (out.NumRows() == 0) == (len(errs) == 0) {
			t.Fatalf("rows %d, errors %v", out.NumRows(), errs)
		}
		checkBatch(t, out)
	})
}

// FuzzDecodeCSV does the same for CSV with a multi-character delimiter.
func FuzzDecodeCSV(f *testing.F) {
	for _, s := range []string{
		"a,1,2.5,1992-02-14", `"a ""b""",1` + "\r\n" + "c,2", `"unterminated`, `"x"y`, "\n\n", "", ",,,", "a;;b,1",
	} {
		f.Add([]byte(s))
	}
	for _, delim := range []string{",", ";;"} {
		s := Schema{RecordFormat: RecordFormat{Type: "CSV", ColumnDelimiter: delim},
			Columns: []Column{{Name: "a", SQLType: "VARCHAR(8)"}, {Name: "b", SQLType: "INTEGER"}, {Name: "c", SQLType: "DOUBLE"}, {Name: "d", SQLType: "DATE"}}}
		if _, err := NewDecoder(s, DecoderOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, delim := range []string{",", ";;"} {
			s := Schema{RecordFormat: RecordFormat{Type: "CSV", ColumnDelimiter: delim},
				Columns: []Column{{Name: "a", SQLType: "VARCHAR(8)"}, {Name: "b", SQLType: "INTEGER"}, {Name: "c", SQLType: "DOUBLE"}, {Name: "d", SQLType: "DATE"}}}
			d, _ := NewDecoder(s, DecoderOptions{})
			out, errs := d.Decode(nil, []Record{{Data: data, Rowtime: t0}})
			if (out.NumRows() == 0) == (len(errs) == 0) {
				t.Fatalf("rows %d, errors %v", out.NumRows(), errs)
			}
			checkBatch(t, out)
			out.Release()
			d.Release()
		}
	})
}
