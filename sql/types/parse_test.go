package types

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Type
	}{
		{"BOOLEAN", TBoolean},
		{"tinyint", TTinyInt},
		{"SMALLINT", TSmallInt},
		{"INTEGER", TInteger},
		{"int", TInteger},
		{"BIGINT", TBigInt},
		{"REAL", TReal},
		{"FLOAT", TDouble},
		{"DOUBLE", TDouble},
		{"double   precision", TDouble},
		{"DATE", TDate},
		{"TIME", TTime},
		{"TIMESTAMP", TTimestamp},
		{"DECIMAL", Type{Kind: Decimal, Precision: 19}},
		{"DEC(10)", Type{Kind: Decimal, Precision: 10}},
		{"NUMERIC(10, 2)", Type{Kind: Decimal, Precision: 10, Scale: 2}},
		{"CHAR", Type{Kind: Char, Length: 1}},
		{"CHARACTER(12)", Type{Kind: Char, Length: 12}},
		{"VARCHAR(16)", VarcharOf(16)},
		{"character varying (65535)", VarcharOf(65535)},
		{"CHAR VARYING(4)", VarcharOf(4)},
		{"BINARY(8)", Type{Kind: Binary, Length: 8}},
		{"VARBINARY(64)", Type{Kind: Varbinary, Length: 64}},
		{"INTEGER NOT NULL", Type{Kind: Integer, NotNull: true}},
		{"VARCHAR(3) not null", Type{Kind: Varchar, Length: 3, NotNull: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			// The canonical text parses back to the same type.
			if again, err := Parse(got.String()); err != nil || again != got {
				t.Fatalf("round trip of %s: %v, %v", got, again, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty type"},
		{"VARCHAR", "VARCHAR needs a length, e.g. VARCHAR(64)"},
		{"VARCHAR(0)", "length 0 is outside 1..65535"},
		{"VARCHAR(65536)", "length 65536 is outside 1..65535"},
		{"VARCHAR(8", "parameters must be in parentheses"},
		{"VARCHAR(8,2)", "VARCHAR takes one length"},
		{"DECIMAL(0)", "precision 0 is outside 1..38"},
		{"DECIMAL(39,2)", "precision 39 is outside 1..38"},
		{"DECIMAL(4,5)", "scale 5 exceeds precision 4"},
		{"DECIMAL(1,2,3)", "at most (precision, scale)"},
		{"DECIMAL(4,)", "trailing ','"},
		{"INTEGER(4)", "INTEGER takes no parameters"},
		{"STRING", "unknown type STRING"},
		{"INTERVAL DAY", "unknown type INTERVAL DAY"},
		{"VARCHAR(x)", `parameter "X" is not a non-negative integer`},
		{"VARCHAR(-1)", `unexpected character '-'`},
		{"NOT NULL", "missing type name before NOT NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}
