package input

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func csvSchema(cols ...Column) Schema {
	return Schema{RecordFormat: RecordFormat{Type: "CSV"}, Columns: cols}
}

var companies = []Column{col("Ticker", "VARCHAR(8)", "$.ticker"), col("Company", "VARCHAR(32)", "$.name"), col("Employees", "INTEGER", "$.staff")}

func TestDecodeTable(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		opts   TableOptions
		data   string
		want   [][]string
		bad    []BadRow
	}{
		{
			name:   "CSV rows map by position and a quoted field may hold the delimiters",
			schema: csvSchema(companies...),
			data:   "AMZN,Amazon,1500000\r\n\nMSFT,\"Microsoft, Inc.\nRedmond\",220000\nNEW,,",
			want:   [][]string{{"AMZN", "Amazon", "1500000"}, {"MSFT", "Microsoft, Inc.\nRedmond", "220000"}, {"NEW", "", "NULL"}},
		},
		{
			name:   "a CSV header line is skipped when asked",
			schema: csvSchema(companies...),
			opts:   TableOptions{SkipHeader: true},
			data:   "Ticker,Company,Employees\nAMZN,Amazon,1\n",
			want:   [][]string{{"AMZN", "Amazon", "1"}},
		},
		{
			name:   "JSON lines: one document per line, blank lines skipped",
			schema: jsonSchema(companies...),
			data:   "{\"ticker\":\"AMZN\",\"name\":\"Amazon\",\"staff\":1}\n\n{\"ticker\":\"MSFT\",\"staff\":\"2\"}\n",
			want:   [][]string{{"AMZN", "Amazon", "1"}, {"MSFT", "NULL", "2"}},
		},
		{
			name:   "a JSON array: each element is a row",
			schema: jsonSchema(companies...),
			data:   "[\n {\"ticker\":\"AMZN\",\"name\":\"Amazon\",\"staff\":1},\n {\"ticker\":\"MSFT\"}\n]\n",
			want:   [][]string{{"AMZN", "Amazon", "1"}, {"MSFT", "NULL", "NULL"}},
		},
		{
			name:   "bad rows within maxBadRows are skipped and reported by line",
			schema: csvSchema(companies...),
			opts:   TableOptions{MaxBadRows: 2},
			data:   "AMZN,Amazon,1\nMSFT,Microsoft,many\nORCL,Oracle,3\n",
			want:   [][]string{{"AMZN", "Amazon", "1"}, {"ORCL", "Oracle", "3"}},
			bad:    []BadRow{{Line: 2, Name: ErrCoercion}},
		},
		{
			name:   "a bad element of a JSON array is reported on its line",
			schema: jsonSchema(companies...),
			opts:   TableOptions{MaxBadRows: 1},
			data:   "[{\"ticker\":\"A\"},\n\n{\"ticker\":\"B\",\"staff\":\"x\"}]",
			want:   [][]string{{"A", "NULL", "NULL"}},
			bad:    []BadRow{{Line: 3, Name: ErrCoercion}},
		},
		{
			name:   "JSON lines may be arrays themselves",
			schema: jsonSchema(col("Ticker", "VARCHAR(8)", "$[1]"), col("Staff", "INTEGER", "$[0]")),
			opts:   TableOptions{JSONLines: true},
			data:   "[1, \"A\"]\n[2, \"B\"]\n",
			want:   [][]string{{"A", "1"}, {"B", "2"}},
		},
		{
			name:   "an empty source is an empty table",
			schema: jsonSchema(companies...),
			data:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, bad, err := DecodeTable(tt.schema, []byte(tt.data), tt.opts)
			if err != nil {
				t.Fatalf("DecodeTable: %v", err)
			}
			defer rec.Release()
			if got := render(rec, 0); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
			want, _ := TableSchema(tt.schema)
			if !rec.Schema().Equal(want.Arrow()) {
				t.Errorf("schema %v, want %v", rec.Schema(), want.Arrow())
			}
			if len(bad) != len(tt.bad) {
				t.Fatalf("bad rows %v, want %v", bad, tt.bad)
			}
			for i := range bad {
				if bad[i].Line != tt.bad[i].Line || bad[i].Name != tt.bad[i].Name || bad[i].Message == "" {
					t.Errorf("bad row %d: %+v, want line %d %s", i, bad[i], tt.bad[i].Line, tt.bad[i].Name)
				}
			}
		})
	}
}

func TestDecodeTableFails(t *testing.T) {
	tests := []struct {
		name   string
		schema Schema
		opts   TableOptions
		data   string
		want   string // in the error
	}{
		{
			name:   "the first bad row fails the load by default, naming its line",
			schema: csvSchema(companies...),
			data:   "AMZN,Amazon,1\nMSFT,Microsoft,many\n",
			want:   `line 2: column "Employees" (INTEGER), field 3:`,
		},
		{
			name:   "more bad rows than maxBadRows fail the load",
			schema: csvSchema(companies...),
			opts:   TableOptions{MaxBadRows: 1},
			data:   "A,a,x\nB,b,y\n",
			want:   "more than 1 bad rows; the last one: line 2:",
		},
		{
			name:   "an unterminated quote ends the CSV",
			schema: csvSchema(companies...),
			opts:   TableOptions{MaxBadRows: 10},
			data:   "A,a,1\nB,\"b,2\n",
			want:   "line 2: unterminated quoted field",
		},
		{
			name:   "a JSON line that is not JSON is a bad row",
			schema: jsonSchema(companies...),
			data:   "{\"ticker\":\"A\"}\n{\"ticker\":\n",
			want:   "line 2: invalid JSON",
		},
		{
			name:   "malformed JSON in an array ends the load on its line",
			schema: jsonSchema(companies...),
			opts:   TableOptions{MaxBadRows: 10},
			data:   "[{\"ticker\":\"A\"},\n{\"ticker\": }]",
			want:   "line 2: invalid JSON",
		},
		{
			name:   "maxRows caps the table",
			schema: csvSchema(companies...),
			opts:   TableOptions{MaxRows: 2},
			data:   "A,a,1\nB,b,2\nC,c,3\n",
			want:   "line 3: more than 2 rows (maxRows)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _, err := DecodeTable(tt.schema, []byte(tt.data), tt.opts)
			if err == nil {
				rec.Release()
				t.Fatalf("DecodeTable succeeded, want an error with %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
	var tm *TooManyBadRowsError
	_, _, err := DecodeTable(csvSchema(companies...), []byte("x,y,z\n"), TableOptions{})
	if !errors.As(err, &tm) || len(tm.Rows) != 1 || tm.Rows[0].Line != 1 {
		t.Errorf("error %v, want a *TooManyBadRowsError listing line 1", err)
	}
}
