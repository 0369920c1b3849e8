package input

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseJSONPathErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.b", "must start with '$'"},
		{"$.", "empty member name at offset 1"},
		{"$..a", "empty member name at offset 1"},
		{"$a", "expected '.' or '[' at offset 1"},
		{"$.a[", "unterminated '[' at offset 3"},
		{`$["a`, "unterminated quoted name at offset 2"},
		{`$["a"`, "expected ']' at offset 5"},
		{"$.a[1:]", "only the slice [0:] is supported, found [1:] at offset 3"},
		{"$.a[0:].b[0:].c", "only one array may be flattened"},
		{"$.a[x]", "expected a quoted name, an index, [0:] or [*] at offset 4"},
		{"$.a[99999999999]", "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := parseJSONPath(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseJSONPath(%q) error %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestSchemaValidation(t *testing.T) {
	good := jsonSchema(col("a", "INTEGER", "$.a"))
	tests := []struct {
		name   string
		schema Schema
		opts   DecoderOptions
		want   []string
	}{
		{"a format type is required", Schema{Columns: good.Columns}, DecoderOptions{}, []string{`recordFormat.type: missing: use "JSON" or "CSV"`}},
		{"an unknown format type", Schema{RecordFormat: RecordFormat{Type: "XML"}, Columns: good.Columns}, DecoderOptions{}, []string{`recordFormat.type: "XML" is not "JSON" or "CSV"`}},
		{"an unsupported encoding", Schema{RecordFormat: RecordFormat{Type: "JSON"}, RecordEncoding: "UTF-16", Columns: good.Columns}, DecoderOptions{}, []string{`recordEncoding: "UTF-16" is not supported`}},
		{"no columns", jsonSchema(), DecoderOptions{}, []string{"columns: at least one column is needed"}},
		{"every bad column is named with its index", jsonSchema(col("a", "INTEGER", "$.a"), col("", "INT", "$.b"), col("c", "VARCHAR", "$.c"), col("d", "INT", "$.d[")),
			DecoderOptions{}, []string{"columns[1].name: empty", "columns[2].sqlType: type \"VARCHAR\": VARCHAR needs a length", `columns[3].mapping: "$.d[": unterminated '[' at offset 3`}},
		{"a JSON column needs a mapping", jsonSchema(col("price", "DOUBLE", "")), DecoderOptions{}, []string{`columns[0].mapping: missing: JSON columns need a JSONPath such as "$.price"`}},
		{"duplicate names", jsonSchema(col("a", "INT", "$.a"), col("a", "INT", "$.b")), DecoderOptions{}, []string{`columns[1].name: "a" is already the name of columns[0]`}},
		{"an implicit column name is taken", jsonSchema(col("rowtime", "TIMESTAMP", "$.t")), DecoderOptions{}, []string{`columns[0].name: "rowtime" clashes with the implicit column ROWTIME`}},
		{"extra column names are taken when extras are on", jsonSchema(col("SHARD_ID", "VARCHAR(8)", "$.s")), DecoderOptions{ExtraColumns: true}, []string{`clashes with the implicit column SHARD_ID`}},
		{"two arrays cannot both be flattened", jsonSchema(col("a", "INT", "$.x[0:].a"), col("b", "INT", "$.y[0:].b")), DecoderOptions{}, []string{`columns[1].mapping: "$.y[0:].b" flattens a second array`}},
		{"a bad record row path", Schema{RecordFormat: RecordFormat{Type: "JSON", RecordRowPath: "data"}, Columns: good.Columns}, DecoderOptions{}, []string{`recordFormat.recordRowPath: "data": must start with '$'`}},
		{"a record row path cannot flatten", Schema{RecordFormat: RecordFormat{Type: "JSON", RecordRowPath: "$.r[0:].x"}, Columns: good.Columns}, DecoderOptions{}, []string{`recordFormat.recordRowPath`}},
		{"CSV delimiters must differ", Schema{RecordFormat: RecordFormat{Type: "CSV", ColumnDelimiter: ";", RowDelimiter: ";"}, Columns: good.Columns}, DecoderOptions{}, []string{`recordFormat: the column and row delimiters are both ";"`}},
		{"CSV delimiters cannot hold the quote", Schema{RecordFormat: RecordFormat{Type: "CSV", ColumnDelimiter: `"`}, Columns: good.Columns}, DecoderOptions{}, []string{`may not contain the quote`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoder(tt.schema, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "input schema: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good schema: %v", err)
	}
}

// TestSchemaJSON checks the configuration file form.
func TestSchemaJSON(t *testing.T) {
	text := `{"recordFormat":{"type":"csv","columnDelimiter":"|"},
	  "columns":[{"name":"a","sqlType":"DECIMAL(5,2)"}]}`
	var s Schema
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		t.Fatal(err)
	}
	s = s.WithDefaults()
	if s.RecordFormat.Type != "CSV" || s.RecordFormat.ColumnDelimiter != "|" || s.RecordFormat.RowDelimiter != "\n" || s.RecordEncoding != "UTF-8" {
		t.Fatalf("defaults: %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}
