package input

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"
)

func TestJSONMapping(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		data   []string
		want   [][]string
	}{
		{
			name: "nested members are reached with dots",
			schema: jsonSchema(col("city", "VARCHAR(16)", "$.address.city"),
				col("zip", "INTEGER", "$.address.zip")),
			data: []string{`{"address":{"city":"Seattle","zip":98101}}`},
			want: [][]string{{"Seattle", "98101"}},
		},
		{
			name:   "bracketed names may hold spaces, dots and quotes",
			schema: jsonSchema(col("a", "VARCHAR(8)", `$["first name"]`), col("b", "INTEGER", `$['a.b']`), col("c", "INTEGER", `$["say \"x\""]`)),
			data:   []string{`{"first name":"Ada","a.b":2,"say \"x\"":3}`},
			want:   [][]string{{"Ada", "2", "3"}},
		},
		{
			name:   "paths are case-sensitive",
			schema: jsonSchema(col("t", "VARCHAR(8)", "$.Ticker")),
			data:   []string{`{"ticker":"AMZN"}`},
			want:   [][]string{{"NULL"}},
		},
		{
			name:   "an array element is reached by index",
			schema: jsonSchema(col("first", "VARCHAR(8)", "$.tags[0]"), col("third", "VARCHAR(8)", "$.tags[2]"), col("x", "INTEGER", "$.m[1].x")),
			data:   []string{`{"tags":["a","b"],"m":[{"x":1},{"x":2}]}`},
			want:   [][]string{{"a", "NULL", "2"}},
		},
		{
			name:   "[0:] alone gives the whole array as text",
			schema: jsonSchema(col("tags", "VARCHAR(32)", "$.tags[0:]")),
			data:   []string{`{"tags": ["a", "b", 3]}`},
			want:   [][]string{{`["a","b",3]`}},
		},
		{
			name:   "walking through a scalar gives NULL",
			schema: jsonSchema(col("x", "INTEGER", "$.a.b.c")),
			data:   []string{`{"a":{"b":5}}`},
			want:   [][]string{{"NULL"}},
		},
		{
			name:   "the record row path selects the row inside each document",
			schema: Schema{RecordFormat: RecordFormat{Type: "JSON", RecordRowPath: "$.data"}, Columns: []Column{col("p", "DOUBLE", "$.price")}},
			data:   []string{`{"meta":{},"data":{"price":1.5}}`},
			want:   [][]string{{"1.5"}},
		},
		{
			name:   "a record row path ending in [0:] makes each element a row",
			schema: Schema{RecordFormat: RecordFormat{Type: "JSON", RecordRowPath: "$.records[0:]"}, Columns: []Column{col("p", "DOUBLE", "$.price")}},
			data:   []string{`{"records":[{"price":1},{"price":2}]}`},
			want:   [][]string{{"1"}, {"2"}},
		},
		{
			name:   "concatenated documents in one payload give one row each",
			schema: jsonSchema(col("n", "INTEGER", "$.n")),
			data:   []string{`{"n":1}{"n":2}` + "\n" + ` {"n":3}`},
			want:   [][]string{{"1"}, {"2"}, {"3"}},
		},
		{
			name: "flattening gives one row per element and repeats the other columns",
			schema: jsonSchema(col("order", "INTEGER", "$.id"), col("sku", "VARCHAR(8)", "$.items[0:].sku"),
				col("qty", "INTEGER", "$.items[0:].qty")),
			data: []string{`{"id":7,"items":[{"sku":"A1","qty":2},{"sku":"B2"},{"qty":5}]}`},
			want: [][]string{{"7", "A1", "2"}, {"7", "B2", "NULL"}, {"7", "NULL", "5"}},
		},
		{
			name:   "an empty flattened array gives one row of NULLs for the flattened columns",
			schema: jsonSchema(col("order", "INTEGER", "$.id"), col("sku", "VARCHAR(8)", "$.items[0:].sku")),
			data:   []string{`{"id":7,"items":[]}`, `{"id":8}`, `{"id":9,"items":null}`},
			want:   [][]string{{"7", "NULL"}, {"8", "NULL"}, {"9", "NULL"}},
		},
		{
			name:   "flattened elements may be reached deeper",
			schema: jsonSchema(col("c", "VARCHAR(8)", "$.a.items[0:].x.y")),
			data:   []string{`{"a":{"items":[{"x":{"y":"p"}},{"x":{"y":"q"}}]}}`},
			want:   [][]string{{"p"}, {"q"}},
		},
		{
			name:   "several records keep their order",
			schema: jsonSchema(col("n", "INTEGER", "$.n")),
			data:   []string{`{"n":1}`, `{"n":2}`},
			want:   [][]string{{"1"}, {"2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []Record
			for _, d := range tt.data {
				recs = append(recs, rec(d))
			}
			rows, errs := decode(t, tt.schema, DecoderOptions{}, recs...)
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Fatalf("rows %q, want %q", rows, tt.want)
			}
		})
	}
}

func TestCSVMapping(t *testing.T) {
	three := []Column{{Name: "name", SQLType: "VARCHAR(16)"}, {Name: "qty", SQLType: "INTEGER"}, {Name: "price", SQLType: "DECIMAL(8,2)"}}
	csv := func(colDel, rowDel string, cols ...Column) Schema {
		return Schema{RecordFormat: RecordFormat{Type: "CSV", ColumnDelimiter: colDel, RowDelimiter: rowDel}, Columns: cols}
	}
	tests := []struct {
		name   string
		schema Schema
		data   []string
		want   [][]string
	}{
		{"fields map to columns by position", csv("", "", three...), []string{"widget,3,1.25"}, [][]string{{"widget", "3", "1.25"}}},
		{"one payload may hold several rows", csv("", "", three...), []string{"a,1,1\nb,2,2\n"}, [][]string{{"a", "1", "1.00"}, {"b", "2", "2.00"}}},
		{"CRLF line ends are accepted", csv("", "", three...), []string{"a,1,1\r\nb,2,2\r\n"}, [][]string{{"a", "1", "1.00"}, {"b", "2", "2.00"}}},
		{"empty lines are skipped", csv("", "", three...), []string{"\na,1,1\n\n"}, [][]string{{"a", "1", "1.00"}}},
		{"quoted fields hold delimiters and doubled quotes", csv("", "", three...), []string{`"Smith, ""Jr""",2,"3.5"` + "\n" + `"two` + "\n" + `lines",1,1`}, [][]string{{`Smith, "Jr"`, "2", "3.50"}, {"two\nlines", "1", "1.00"}}},
		{"custom delimiters of several characters", csv("||", "#", three...), []string{"a||1||2#b||3||4"}, [][]string{{"a", "1", "2.00"}, {"b", "3", "4.00"}}},
		{"a tab and a semicolon", csv("\t", ";", three...), []string{"a\t1\t2;b\t3\t4"}, [][]string{{"a", "1", "2.00"}, {"b", "3", "4.00"}}},
		{"missing trailing fields are NULL", csv("", "", three...), []string{"a,1"}, [][]string{{"a", "1", "NULL"}}},
		{"extra fields are ignored", csv("", "", three[:1]...), []string{"a,1,2,3"}, [][]string{{"a"}}},
		{"an empty field is NULL in a number and empty in a string", csv("", "", three...), []string{",,"}, [][]string{{"", "NULL", "NULL"}}},
		{"raw text read as one column with a delimiter that never appears", csv("\x00", "\n", Column{Name: "line", SQLType: "VARCHAR(64)"}), []string{"127.0.0.1 - GET /index.html 200"}, [][]string{{"127.0.0.1 - GET /index.html 200"}}},
		{"CSV values follow the string coercion rules", csv("", "", Column{Name: "ok", SQLType: "BOOLEAN"}, Column{Name: "at", SQLType: "TIMESTAMP"}), []string{"TRUE,1992-02-14 18:35:44.0"}, [][]string{{"true", "1992-02-14 18:35:44.000"}}},
		{"the mapping is ignored for CSV", csv("", "", Column{Name: "a", SQLType: "INTEGER", Mapping: "$.whatever"}), []string{"5"}, [][]string{{"5"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []Record
			for _, d := range tt.data {
				recs = append(recs, rec(d))
			}
			rows, errs := decode(t, tt.schema, DecoderOptions{}, recs...)
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Fatalf("rows %q, want %q", rows, tt.want)
			}
		})
	}
}

// TestRecordErrors checks that every failing record becomes exactly one
// error_stream row naming the problem, and that its neighbours still decode.
func TestRecordErrors(t *testing.T) {
	jsonCols := jsonSchema(col("n", "INTEGER", "$.n"), col("tag", "INTEGER", "$.items[0:].tag"))
	csvCols := Schema{RecordFormat: RecordFormat{Type: "CSV"}, Columns: []Column{{Name: "name", SQLType: "VARCHAR(8)"}, {Name: "qty", SQLType: "INTEGER"}}}
	rowPath := Schema{RecordFormat: RecordFormat{Type: "JSON", RecordRowPath: "$.data"}, Columns: []Column{col("n", "INTEGER", "$.n")}}
	strCols := jsonSchema(col("n", "INTEGER", "$.n"), col("s", "VARCHAR(8)", "$.s"))
	tests := []struct {
		name    string
		schema  Schema
		data    string
		errName string
		message string
	}{
		{"a record that is not JSON", jsonCols, `ticker=AMZN`, ErrParse, "invalid JSON in document 1"},
		{"a truncated document", jsonCols, `{"n":1`, ErrParse, "invalid JSON in document 1"},
		{"a bad second document fails the whole record", jsonCols, `{"n":1} {"n":`, ErrParse, "invalid JSON in document 2"},
		{"an empty record", jsonCols, ``, ErrParse, "empty record: no JSON document"},
		{"a blank record", jsonCols, " \n ", ErrParse, "empty record"},
		{"a coercion failure names column, path and value", jsonCols, `{"n":"seven"}`, ErrCoercion, `column "n" (INTEGER) at $.n: cannot convert string "seven" to INTEGER: not a number`},
		{"a failure in a later document says which", jsonCols, `{"n":1}{"n":2.5}`, ErrCoercion, `document 2: column "n" (INTEGER) at $.n: cannot convert number 2.5 to INTEGER: lost precision`},
		{"a failure in a flattened element says which", jsonCols, `{"n":1,"items":[{"tag":4},{"tag":"x"}]}`, ErrCoercion, `array element 1: column "tag" (INTEGER) at $.items[0:].tag: cannot convert string "x" to INTEGER`},
		{"flattening a scalar", jsonCols, `{"n":1,"items":"abc"}`, ErrCoercion, `cannot flatten a string: not an array`},
		{"a record row path that finds nothing", rowPath, `{"other":{}}`, ErrParse, `document 1: nothing at record row path $.data`},
		{"a CSV value that does not convert names the field", csvCols, "a,1\nb,x", ErrCoercion, `row 2: column "qty" (INTEGER), field 2: cannot convert string "x" to INTEGER: not a number`},
		{"an unterminated CSV quote", csvCols, `"abc,1`, ErrParse, `row 1: unterminated quoted field starting at byte 0`},
		{"text after a closing CSV quote", csvCols, `"abc"x,1`, ErrParse, `row 1: unexpected 'x' after the closing quote at byte 5`},
		{"an empty CSV record", csvCols, "\n\n", ErrParse, `empty record: no CSV row`},
		{"invalid UTF-8 in a VARCHAR", csvCols, "\xff\xfe,1", ErrCoercion, `not valid UTF-8`},
		{"invalid UTF-8 in a JSON string", strCols, "{\"n\":1,\"s\":\"a\xffb\"}", ErrCoercion, `not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := `{"n":1}`
			if tt.schema.RecordFormat.Type == "CSV" {
				good = "ok,1"
			}
			if tt.schema.RecordFormat.RecordRowPath != "" {
				good = `{"data":{"n":1}}`
			}
			bad := Record{Data: []byte(tt.data), Rowtime: t0.Add(time.Second)}
			rows, errs := decode(t, tt.schema, DecoderOptions{}, rec(good), bad, rec(good))
			if len(rows) != 2 {
				t.Errorf("rows %q: the good neighbours should decode", rows)
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			e := errs[0]
			if e.Name != tt.errName || !strings.Contains(e.Message, tt.message) {
				t.Errorf("error %s %q, want %s containing %q", e.Name, e.Message, tt.errName, tt.message)
			}
			if e.Level != "ERROR" || e.DataRow != tt.data || !e.DataRowtime.Equal(bad.Rowtime) || !e.Time.Equal(bad.Rowtime) {
				t.Errorf("error %+v does not carry the raw record and its rowtime", e)
			}
		})
	}
}

func TestImplicitAndExtraColumns(t *testing.T) {
	s := jsonSchema(col("n", "INTEGER", "$.n"))
	d, err := NewDecoder(s, DecoderOptions{ExtraColumns: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range d.Schema().Fields {
		names = append(names, f.Name+" "+f.Type.String())
	}
	want := []string{"ROWTIME TIMESTAMP NOT NULL", "APPROXIMATE_ARRIVAL_TIME TIMESTAMP", "n INTEGER",
		"PARTITION_KEY VARCHAR(256)", "SEQUENCE_NUMBER VARCHAR(128)", "SHARD_ID VARCHAR(64)"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("schema %q, want %q", names, want)
	}
	arrival := t0.Add(-2 * time.Second)
	recs := []Record{
		{Data: []byte(`{"n":1}{"n":2}`), Rowtime: t0, ArrivalTime: arrival, PartitionKey: "pk-1", SequenceNumber: "4960", ShardID: "shardId-000000000001"},
		{Data: []byte(`{"n":3}`), Rowtime: t0.Add(time.Millisecond)},
	}
	out, errs := d.Decode(recs)
	defer out.Release()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := render(out, 0)
	wantRows := [][]string{
		{"2026-03-04 05:06:07.890", "2026-03-04 05:06:05.890", "1", "pk-1", "4960", "shardId-000000000001"},
		{"2026-03-04 05:06:07.890", "2026-03-04 05:06:05.890", "2", "pk-1", "4960", "shardId-000000000001"},
		{"2026-03-04 05:06:07.891", "NULL", "3", "", "", ""},
	}
	if !reflect.DeepEqual(got, wantRows) {
		t.Fatalf("rows %q, want %q", got, wantRows)
	}
	if out.Column(0).NullN() != 0 {
		t.Fatal("ROWTIME has nulls")
	}
}

// TestDecoderReuse checks that batches stay valid after the next Decode
// reuses the decoder's scratch memory and builders.
func TestDecoderReuse(t *testing.T) {
	d, err := NewDecoder(jsonSchema(col("s", "VARCHAR(16)", "$.s"), col("o", "VARCHAR(16)", "$.o")), DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.Decode([]Record{rec(`{"s":"first\n","o":{"k":1}}`)})
	defer a.Release()
	b, _ := d.Decode([]Record{rec(`{"s":"second","o":[2]}`)})
	defer b.Release()
	if got := a.Column(2).(*array.String).Value(0); got != "first\n" {
		t.Fatalf("first batch changed to %q", got)
	}
	if got := render(a, 2)[0][1] + render(b, 2)[0][1]; got != `{"k":1}[2]` {
		t.Fatalf("object texts %q", got)
	}
}

func TestDecoderDoesNotModifyRecords(t *testing.T) {
	data := []byte(`{"s":"a\tb\u0041"}`)
	orig := string(data)
	decode(t, jsonSchema(col("s", "VARCHAR(8)", "$.s")), DecoderOptions{}, Record{Data: data, Rowtime: t0})
	if string(data) != orig {
		t.Fatalf("record changed to %q", data)
	}
}

// TestInvalidUTF8OutsideTheMappedStringsDoesNotMatter: a record that is not
// valid UTF-8 as a whole has each mapped string checked on its own.
func TestInvalidUTF8OutsideTheMappedStringsDoesNotMatter(t *testing.T) {
	s := jsonSchema(col("s", "VARCHAR(8)", "$.s"))
	rows, errs := decode(t, s, DecoderOptions{}, rec("{\"junk\":\"\xff\",\"s\":\"caf\u00e9\"}"))
	if len(errs) != 0 || len(rows) != 1 || rows[0][0] != "café" {
		t.Fatalf("rows %q errors %v", rows, errs)
	}
}
