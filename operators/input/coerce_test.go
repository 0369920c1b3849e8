package input

import (
	"strings"
	"testing"
	"time"
)

// TestCoercionTable walks every row of KDA's JSON→SQL coercion table
// (KDA-SQL.md §5.2) with real values.
func TestCoercionTable(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		json  string // the value of "v"
		want  string // rendered value, or "" when an error is expected
		error string // part of the expected message
	}{
		{"null is NULL in any column", "INTEGER", `null`, "NULL", ""},
		{"a missing member is NULL", "VARCHAR(4)", ``, "NULL", ""},
		{"true becomes 1 in an INTEGER", "INTEGER", `true`, "1", ""},
		{"false becomes 0 in a BIGINT", "BIGINT", `false`, "0", ""},
		{"true becomes 1 in a DOUBLE", "DOUBLE", `true`, "1", ""},
		{"true becomes 1.00 in a DECIMAL(5,2)", "DECIMAL(5,2)", `true`, "1.00", ""},
		{"true becomes 'true' in a VARCHAR", "VARCHAR(8)", `true`, "true", ""},
		{"false becomes 'false' in a CHAR", "CHAR(8)", `false`, "false", ""},
		{"a boolean is no TIMESTAMP", "TIMESTAMP", `true`, "", `cannot convert boolean true to TIMESTAMP`},
		{"a boolean is no DATE", "DATE", `false`, "", `cannot convert boolean false to DATE`},
		{"a boolean is no TIME", "TIME", `true`, "", `to TIME`},
		{"a number fills an INTEGER", "INTEGER", `-2147483648`, "-2147483648", ""},
		{"a whole number written with a fraction fills an INTEGER", "INTEGER", `123.0`, "123", ""},
		{"an exponent form fills a BIGINT", "BIGINT", `1e3`, "1000", ""},
		{"123.4 loses precision in an INTEGER", "INTEGER", `123.4`, "", `cannot convert number 123.4 to INTEGER: lost precision`},
		{"an INTEGER overflows past 2^31-1", "INTEGER", `2147483648`, "", `cannot convert number 2147483648 to INTEGER: overflow`},
		{"a TINYINT overflows past 127 (the discovery pitfall)", "TINYINT", `128`, "", `to TINYINT: overflow`},
		{"a SMALLINT holds -32768", "SMALLINT", `-32768`, "-32768", ""},
		{"a BIGINT overflows past 2^63-1", "BIGINT", `9223372036854775808`, "", `overflow`},
		{"1e19 overflows a BIGINT", "BIGINT", `1e19`, "", `overflow`},
		{"a number fills a DOUBLE", "DOUBLE", `123.45`, "123.45", ""},
		{"1e400 overflows a DOUBLE", "DOUBLE", `1e400`, "", `to DOUBLE: overflow`},
		{"a number fills a REAL", "REAL", `0.5`, "0.5", ""},
		{"1e39 overflows a REAL", "REAL", `1e39`, "", `to REAL: overflow`},
		{"a number fills a DECIMAL", "DECIMAL(10,2)", `12345.67`, "12345.67", ""},
		{"a DECIMAL pads its scale", "DECIMAL(10,3)", `-1.5`, "-1.500", ""},
		{"a DECIMAL refuses lost digits", "DECIMAL(10,2)", `1.234`, "", `lost precision`},
		{"a DECIMAL refuses too many digits", "DECIMAL(4,2)", `123.4`, "", `overflow`},
		{"a DECIMAL takes exponents", "DECIMAL(6,2)", `1.5e2`, "150.00", ""},
		{"zero is false in a BOOLEAN", "BOOLEAN", `0`, "false", ""},
		{"0.0 is false in a BOOLEAN", "BOOLEAN", `0.0`, "false", ""},
		{"any other number is true in a BOOLEAN", "BOOLEAN", `-3.5`, "true", ""},
		{"a number is its text in a VARCHAR", "VARCHAR(16)", `1.50e3`, "1.50e3", ""},
		{"a number is cut to a CHAR's length", "CHAR(3)", `123456`, "123", ""},
		{"a number is no BINARY", "VARBINARY(8)", `12`, "", `cannot convert number 12 to VARBINARY(8)`},
		{"a number is no TIMESTAMP", "TIMESTAMP", `1700000000000`, "", `cannot convert number 1700000000000 to TIMESTAMP`},
		{"a number is no DATE", "DATE", `20240101`, "", `to DATE`},
		{"a string parses into an INTEGER", "INTEGER", `"42"`, "42", ""},
		{"a string with spaces parses into a BIGINT", "BIGINT", `" -7 "`, "-7", ""},
		{"a string parses into a DOUBLE", "DOUBLE", `"2.5e-3"`, "0.0025", ""},
		{"a string parses into a DECIMAL", "DECIMAL(5,1)", `"99.9"`, "99.9", ""},
		{"a string that is no number fails an INTEGER", "INTEGER", `"12abc"`, "", `cannot convert string "12abc" to INTEGER: not a number`},
		{"a string that is no number fails a DOUBLE", "DOUBLE", `"abc"`, "", `cannot convert string "abc" to DOUBLE: not a number`},
		{"a string that is no number fails a DECIMAL", "DECIMAL(5,1)", `"1.2.3"`, "", `not a number`},
		{"'true' is true in a BOOLEAN", "BOOLEAN", `"true"`, "true", ""},
		{"'TRUE' is true in a BOOLEAN, case-insensitively", "BOOLEAN", `"TRUE"`, "true", ""},
		{"'yes' is false in a BOOLEAN", "BOOLEAN", `"yes"`, "false", ""},
		{"a string fits a VARCHAR", "VARCHAR(8)", `"AMZN"`, "AMZN", ""},
		{"a string is cut silently to a VARCHAR's length", "VARCHAR(4)", `"AMAZON"`, "AMAZ", ""},
		{"a string is cut by characters, not bytes", "VARCHAR(3)", `"żółw"`, "żół", ""},
		{"escapes are decoded", "VARCHAR(16)", `"a\"b\\c\u00e9"`, `a"b\cé`, ""},
		{"a hex literal fills a VARBINARY", "VARBINARY(4)", `"X'0aFF'"`, "X'0aff'", ""},
		{"a hex literal fills a BINARY", "BINARY(2)", `"x'cafe'"`, "X'cafe'", ""},
		{"a string that is no hex literal fails a BINARY", "BINARY(2)", `"cafe"`, "", `binary values are written as hex literals like X'0aff'`},
		{"a bad hex digit fails a VARBINARY", "VARBINARY(2)", `"X'zz'"`, "", `bad hex literal`},
		{"a date string fills a DATE", "DATE", `"1992-02-14"`, "1992-02-14", ""},
		{"a date string is midnight in a TIMESTAMP", "TIMESTAMP", `"1992-02-14"`, "1992-02-14 00:00:00.000", ""},
		{"KDA's timestamp form with .0", "TIMESTAMP", `"1992-02-14 18:35:44.0"`, "1992-02-14 18:35:44.000", ""},
		{"an ISO T form with microseconds is cut to milliseconds", "TIMESTAMP", `"2018-08-01T20:17:20.797945"`, "2018-08-01 20:17:20.797", ""},
		{"an ISO form with Z", "TIMESTAMP", `"2026-01-02T03:04:05.678Z"`, "2026-01-02 03:04:05.678", ""},
		{"an offset converts to UTC", "TIMESTAMP", `"2026-01-02T03:04:05+02:00"`, "2026-01-02 01:04:05.000", ""},
		{"a negative offset converts to UTC", "TIMESTAMP", `"2026-01-01T23:30:00-0130"`, "2026-01-02 01:00:00.000", ""},
		{"minutes without seconds", "TIMESTAMP", `"2026-01-02 03:04"`, "2026-01-02 03:04:00.000", ""},
		{"a time string fills a TIME", "TIME", `"18:35:44.123"`, "18:35:44.123", ""},
		{"a timestamp string gives its time of day to a TIME", "TIME", `"1992-02-14 18:35:44"`, "18:35:44.000", ""},
		{"a timestamp string gives its day to a DATE", "DATE", `"1992-02-14T23:59:59"`, "1992-02-14", ""},
		{"February 30th is no date", "DATE", `"2023-02-30"`, "", `not a datetime`},
		{"February 29th of a leap year is a date", "DATE", `"2024-02-29"`, "2024-02-29", ""},
		{"hour 24 is no time", "TIMESTAMP", `"2024-01-01 24:00:00"`, "", `not a datetime`},
		{"a US date is no datetime", "TIMESTAMP", `"02/14/1992"`, "", `cannot convert string "02/14/1992" to TIMESTAMP: not a datetime`},
		{"an object is its JSON text in a VARCHAR", "VARCHAR(64)", `{"a": 1, "b": [true, null]}`, `{"a":1,"b":[true,null]}`, ""},
		{"an array is its JSON text in a VARCHAR", "VARCHAR(64)", `[1, "x"]`, `[1,"x"]`, ""},
		{"an object's text is cut to the length", "VARCHAR(4)", `{"a":1}`, `{"a"`, ""},
		{"an object is no INTEGER", "INTEGER", `{"a":1}`, "", `cannot convert object {"a":1} to INTEGER`},
		{"an array is no DOUBLE", "DOUBLE", `[1]`, "", `cannot convert array [1] to DOUBLE`},
		{"an array is no BOOLEAN", "BOOLEAN", `[]`, "", `cannot convert array [] to BOOLEAN`},
		{"an object is no TIMESTAMP", "TIMESTAMP", `{}`, "", `to TIMESTAMP`},
		{"null into NOT NULL is an error", "INTEGER NOT NULL", `null`, "", `NULL for a NOT NULL column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := `{"other":1}`
			if tt.json != "" {
				data = `{"v":` + tt.json + `}`
			}
			rows, errs := decode(t, jsonSchema(col("v", tt.typ, "$.v")), DecoderOptions{}, rec(data))
			if tt.error != "" {
				if len(errs) != 1 || len(rows) != 0 {
					t.Fatalf("rows %v, errors %v; want one error", rows, errs)
				}
				e := errs[0]
				if e.Name != ErrCoercion || !strings.Contains(e.Message, tt.error) || e.DataRow != data || !e.DataRowtime.Equal(t0) {
					t.Fatalf("error %+v, want %s containing %q", e, ErrCoercion, tt.error)
				}
				if !strings.HasPrefix(e.Message, `column "v" (`) {
					t.Fatalf("message %q does not name the column", e.Message)
				}
				return
			}
			if len(errs) != 0 {
				t.Fatalf("unexpected errors %v", errs)
			}
			if len(rows) != 1 || rows[0][0] != tt.want {
				t.Fatalf("rows %q, want %q", rows, tt.want)
			}
		})
	}
}

func TestDaysFromCivilMatchesTime(t *testing.T) {
	for y := 1; y <= 9999; y += 7 {
		for m := 1; m <= 12; m++ {
			for _, d := range []int{1, 15, daysIn(y, m)} {
				want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).UnixMilli() / msPerDay
				if got := daysFromCivil(y, m, d); got != want {
					t.Fatalf("%04d-%02d-%02d: %d days, want %d", y, m, d, got, want)
				}
			}
		}
	}
}

func TestParseSmallIntMatchesParseIntExact(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-128", "127", "128", "-129", "32767", "32768", "2147483647", "2147483648",
		"-2147483648", "-2147483649", "999999999999999999", "-999999999999999999", "007", "-", "", "1.0", "+5", "1e3"} {
		for _, bits := range []int{8, 16, 32, 64} {
			n, ok := parseSmallInt([]byte(s), bits)
			if !ok {
				continue
			}
			want, err := parseIntExact([]byte(s), bits)
			if err != nil || n != want {
				t.Errorf("%q in %d bits: %d, parseIntExact %d %v", s, bits, n, want, err)
			}
		}
	}
}
