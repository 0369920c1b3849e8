package input

import (
	"reflect"
	"strings"
	"testing"
)

func TestDiscoverJSON(t *testing.T) {
	tests := []struct {
		name    string
		samples []string
		want    []Column
		rowPath string
	}{
		{
			name:    "trades give names, mappings and types",
			samples: []string{`{"ticker":"AMZN","price":123.45,"qty":17,"ts":"2026-01-02T03:04:05.678Z","side":"BUY","ok":true,"day":"2026-01-02"}`},
			want: []Column{
				{"ticker", "VARCHAR(8)", "$.ticker"}, {"price", "DOUBLE", "$.price"}, {"qty", "INTEGER", "$.qty"},
				{"ts", "TIMESTAMP", "$.ts"}, {"side", "VARCHAR(8)", "$.side"}, {"ok", "BOOLEAN", "$.ok"}, {"COL_day", "DATE", "$.day"}, // DAY is reserved
			},
		},
		{
			name:    "types widen across samples",
			samples: []string{`{"a":1,"b":1,"c":"2026-01-02","d":1,"e":"x"}`, `{"a":3000000000,"b":2.5,"c":"2026-01-02 10:00:00","d":"one","e":null}`},
			want:    []Column{{"a", "BIGINT", "$.a"}, {"b", "DOUBLE", "$.b"}, {"c", "TIMESTAMP", "$.c"}, {"d", "VARCHAR(8)", "$.d"}, {"e", "VARCHAR(8)", "$.e"}},
		},
		{
			name:    "small integers are INTEGER, never TINYINT",
			samples: []string{`{"heart_rate":72}`, `{"heart_rate":65}`},
			want:    []Column{{"heart_rate", "INTEGER", "$.heart_rate"}},
		},
		{
			name:    "integers past 64 bits are DOUBLE",
			samples: []string{`{"n":12345678901234567890}`},
			want:    []Column{{"n", "DOUBLE", "$.n"}},
		},
		{
			name:    "VARCHAR lengths round up to a power of two",
			samples: []string{`{"s":"` + strings.Repeat("x", 9) + `"}`, `{"s":"` + strings.Repeat("y", 33) + `"}`, `{"t":"` + strings.Repeat("z", 70000) + `"}`},
			want:    []Column{{"s", "VARCHAR(64)", "$.s"}, {"t", "VARCHAR(65535)", "$.t"}},
		},
		{
			name:    "lengths count characters",
			samples: []string{`{"s":"` + strings.Repeat("é", 9) + `"}`},
			want:    []Column{{"s", "VARCHAR(16)", "$.s"}},
		},
		{
			name:    "nested objects become joined names and dotted paths",
			samples: []string{`{"order":{"id":7,"customer":{"name":"Ada"}},"total":3}`},
			want:    []Column{{"order_id", "INTEGER", "$.order.id"}, {"order_customer_name", "VARCHAR(8)", "$.order.customer.name"}, {"total", "INTEGER", "$.total"}},
		},
		{
			name:    "arrays are mapped whole as text",
			samples: []string{`{"tags":["a","b","c","d"]}`},
			want:    []Column{{"tags", "VARCHAR(32)", "$.tags[0:]"}},
		},
		{
			name:    "an object in one sample and a scalar in another is one text column",
			samples: []string{`{"geo":{"lat":1}}`, `{"geo":"unknown"}`},
			want:    []Column{{"geo", "VARCHAR(16)", "$.geo"}},
		},
		{
			name:    "members seen later are added in first-seen order",
			samples: []string{`{"a":1}`, `{"b":2,"a":3}`},
			want:    []Column{{"a", "INTEGER", "$.a"}, {"b", "INTEGER", "$.b"}},
		},
		{
			name:    "concatenated documents in one sample all count",
			samples: []string{`{"a":1}{"a":2.5}`},
			want:    []Column{{"a", "DOUBLE", "$.a"}},
		},
		{
			name:    "array documents make their elements the rows",
			samples: []string{`[{"a":1},{"a":2}]`},
			want:    []Column{{"a", "INTEGER", "$.a"}},
			rowPath: "$[0:]",
		},
		{
			name:    "JSON strings of digits stay VARCHAR",
			samples: []string{`{"zip":"98101"}`},
			want:    []Column{{"zip", "VARCHAR(8)", "$.zip"}},
		},
		{
			name:    "KDA's naming rules apply and keep the case",
			samples: []string{`{"USER":1,"user@domain":2,"1st":3,"":4,"select":5,"ROWTIME":6,"a b":7,"` + strings.Repeat("x", 101) + `":8,"é":9}`},
			want: []Column{
				{"COL_USER", "INTEGER", "$.USER"}, {"COL_userdomain", "INTEGER", `$["user@domain"]`}, {"COL_1st", "INTEGER", "$.1st"},
				{"COL_4", "INTEGER", `$[""]`}, {"COL_select", "INTEGER", "$.select"}, {"COL_ROWTIME", "INTEGER", "$.ROWTIME"},
				{"COL_ab", "INTEGER", `$["a b"]`}, {"COL_8", "INTEGER", "$." + strings.Repeat("x", 101)}, {"COL_9", "INTEGER", `$["é"]`},
			},
		},
		{
			name: "no name exceeds 100 characters, even with the prefix or a suffix",
			samples: []string{`{"` + strings.Repeat("a", 100) + `":1,"` + strings.Repeat("b", 97) + `@":2,"` +
				strings.Repeat("A", 100) + `":3,"` + strings.Repeat("9", 96) + `":4}`},
			want: []Column{
				{strings.Repeat("a", 100), "INTEGER", "$." + strings.Repeat("a", 100)},
				{"COL_2", "INTEGER", `$["` + strings.Repeat("b", 97) + `@"]`},
				{"COL_3", "INTEGER", "$." + strings.Repeat("A", 100)},
				{"COL_" + strings.Repeat("9", 96), "INTEGER", "$." + strings.Repeat("9", 96)},
			},
		},
		{
			name:    "duplicate names are made unique ignoring case",
			samples: []string{`{"a_b":1,"a":{"b":2},"A_B":3,"a-b":4,"COL_ab":5}`},
			want: []Column{{"a_b", "INTEGER", "$.a_b"}, {"a_b_2", "INTEGER", "$.a.b"}, {"A_B_3", "INTEGER", "$.A_B"},
				{"COL_ab", "INTEGER", `$["a-b"]`}, {"COL_ab_2", "INTEGER", "$.COL_ab"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var samples [][]byte
			for _, s := range tt.samples {
				samples = append(samples, []byte(s))
			}
			s, err := Discover(samples, "")
			if err != nil {
				t.Fatal(err)
			}
			if s.RecordFormat.Type != FormatJSON {
				t.Fatalf("format %q", s.RecordFormat.Type)
			}
			if want := tt.rowPath; want != "" && s.RecordFormat.RecordRowPath != want {
				t.Fatalf("row path %q, want %q", s.RecordFormat.RecordRowPath, want)
			}
			if !reflect.DeepEqual(s.Columns, tt.want) {
				t.Fatalf("columns\n%q\nwant\n%q", s.Columns, tt.want)
			}
			// A discovered schema decodes its own samples without error.
			d, err := NewDecoder(s, DecoderOptions{})
			if err != nil {
				t.Fatalf("discovered schema does not validate: %v", err)
			}
			var recs []Record
			for _, b := range samples {
				recs = append(recs, Record{Data: b, Rowtime: t0})
			}
			out, errs := d.Decode(recs)
			out.Release()
			if len(errs) > 0 {
				t.Fatalf("decoding the samples: %v", errs)
			}
		})
	}
}

func TestDiscoverCSV(t *testing.T) {
	tests := []struct {
		name    string
		samples []string
		delim   string
		want    []Column
	}{
		{
			name:    "positional columns are COL_1..n with inferred types",
			samples: []string{"AMZN,123.45,17,2026-01-02 03:04:05,true", "MSFT,99,3000000000,2026-01-03 00:00:00,FALSE"},
			delim:   ",",
			want: []Column{{"COL_1", "VARCHAR(8)", ""}, {"COL_2", "DOUBLE", ""}, {"COL_3", "BIGINT", ""},
				{"COL_4", "TIMESTAMP", ""}, {"COL_5", "BOOLEAN", ""}},
		},
		{
			name:    "a clear header names the columns and is not typed",
			samples: []string{"ticker,price,user\nAMZN,1.5,ada\nMSFT,2,bob\n"},
			delim:   ",",
			want:    []Column{{"ticker", "VARCHAR(8)", ""}, {"price", "DOUBLE", ""}, {"COL_user", "VARCHAR(8)", ""}},
		},
		{
			name:    "a first row of text above text is data",
			samples: []string{"a,b\nc,d"},
			delim:   ",",
			want:    []Column{{"COL_1", "VARCHAR(8)", ""}, {"COL_2", "VARCHAR(8)", ""}},
		},
		{
			name:    "the delimiter is detected",
			samples: []string{"a\t1\nb\t2"},
			delim:   "\t",
			want:    []Column{{"COL_1", "VARCHAR(8)", ""}, {"COL_2", "INTEGER", ""}},
		},
		{
			name:    "a semicolon with quoted commas",
			samples: []string{`"1,5";x` + "\n" + `"2,5";y`},
			delim:   ";",
			want:    []Column{{"COL_1", "VARCHAR(8)", ""}, {"COL_2", "VARCHAR(8)", ""}},
		},
		{
			name:    "ragged rows take the widest and empty fields are NULL",
			samples: []string{"1,,x", "2"},
			delim:   ",",
			want:    []Column{{"COL_1", "INTEGER", ""}, {"COL_2", "VARCHAR(8)", ""}, {"COL_3", "VARCHAR(8)", ""}},
		},
		{
			name:    "a single column of free text",
			samples: []string{"GET /index.html 200"},
			delim:   ",",
			want:    []Column{{"COL_1", "VARCHAR(32)", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var samples [][]byte
			for _, s := range tt.samples {
				samples = append(samples, []byte(s))
			}
			s, err := Discover(samples, "")
			if err != nil {
				t.Fatal(err)
			}
			if s.RecordFormat.Type != FormatCSV || s.RecordFormat.ColumnDelimiter != tt.delim {
				t.Fatalf("format %+v, want CSV with %q", s.RecordFormat, tt.delim)
			}
			if !reflect.DeepEqual(s.Columns, tt.want) {
				t.Fatalf("columns\n%q\nwant\n%q", s.Columns, tt.want)
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("discovered schema does not validate: %v", err)
			}
		})
	}
}

func TestDiscoverErrors(t *testing.T) {
	tests := []struct {
		name    string
		samples []string
		format  string
		want    string
	}{
		{"no samples", nil, "", "discover: no sample records"},
		{"an unknown format", []string{"a"}, "XML", `format "XML" is not JSON or CSV`},
		{"JSON that does not parse", []string{`{"a":1}`, `{"a":`}, "JSON", "discover: sample 2 is not JSON"},
		{"a JSON scalar", []string{`42`}, "JSON", "discover: sample 1 holds a JSON number, not an object"},
		{"arrays mixed with objects", []string{`[{"a":1}]`, `{"a":1}`}, "", "some samples are JSON arrays and others objects"},
		{"an empty object", []string{`{}`}, "", "the samples hold no members to map"},
		{"blank JSON samples", []string{" "}, "JSON", "no JSON document"},
		{"an unterminated CSV quote", []string{`"a,b`}, "CSV", "discover: unterminated quoted field"},
		{"blank CSV samples", []string{"\n"}, "CSV", "no CSV row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var samples [][]byte
			for _, s := range tt.samples {
				samples = append(samples, []byte(s))
			}
			_, err := Discover(samples, tt.format)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSampleRecords(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		limit int
		want  []string
	}{
		{"JSON lines give a record per line", "{\"a\":1}\n\n{\"a\":2}\n", 0, []string{`{"a":1}`, `{"a":2}`}},
		{"pretty-printed JSON gives a record per document", "{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n", 0, []string{`{"a":1}`, `{"a":2}`}},
		{"the limit keeps the first records", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 2, []string{`{"a":1}`, `{"a":2}`}},
		{"CSV gives a record per non-blank line", "a,b\r\n1,2\r\n\r\n3,4", 0, []string{"a,b", "1,2", "3,4"}},
		{"broken JSON falls back to lines", "{\"a\":1}\n{\"a\":\n", 0, []string{`{"a":1}`, `{"a":`}},
		{"nothing gives nothing", " \n", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range SampleRecords([]byte(tt.data), tt.limit) {
				got = append(got, string(r))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("SampleRecords = %q, want %q", got, tt.want)
			}
		})
	}
}
