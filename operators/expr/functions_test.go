package expr

import (
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/sql/types"
)

func TestNumericFunctions(t *testing.T) {
	dec := types.Type{Kind: types.Decimal, Precision: 6, Scale: 2}
	runCases(t, []evalCase{
		{"ABS of integers", func() Expr { return call("ABS", cI) }, "5|7|NULL|2147483647"},
		{"CEIL of doubles", func() Expr { return call("CEIL", cD) }, "2.0|-2.0|NULL|0.0"},
		{"FLOOR of a negative DECIMAL", func() Expr { return call("FLOOR", lit("-1.25", dec)) }, "-2.00"},
		{"CEILING of a DECIMAL", func() Expr { return call("CEILING", lit("1.25", dec)) }, "2.00"},
		{"LN of a non-positive value is a row error", func() Expr { return call("LN", cD) }, "0.4054651081081644|!INVALID_ARGUMENT|NULL|!INVALID_ARGUMENT"},
		{"LOG10 of 1000", func() Expr { return call("LOG10", i32(1000)) }, "3.0"},
		{"EXP of 0", func() Expr { return call("EXP", i32(0)) }, "1.0"},
		{"SQRT of a negative value is a row error", func() Expr { return call("SQRT", f64(-4)) }, "!INVALID_ARGUMENT"},
		{"POWER", func() Expr { return call("POWER", i32(2), i32(10)) }, "1024.0"},
		{"ROUND half away from zero", func() Expr { return call("ROUND", f64(-2.5)) }, "-3.0"},
		{"ROUND to two places", func() Expr { return call("ROUND", f64(3.14159), i32(2)) }, "3.14"},
		{"ROUND an integer to tens", func() Expr { return call("ROUND", i32(125), i32(-1)) }, "130"},
		{"ROUND a DECIMAL", func() Expr { return call("ROUND", lit("2.45", dec), i32(1)) }, "2.50"},
		{"STEP of integers", func() Expr { return call("STEP", cI, i32(5)) }, "5|-10|NULL|2147483645"},
		{"STEP of a timestamp by an interval", func() Expr { return call("STEP", cTS, ival(10*time.Minute)) }, "2024-03-05 13:40:00|2024-03-05 13:40:00|NULL|2024-03-05 13:40:00"},
		{"MONOTONIC is the identity", func() Expr { return call("MONOTONIC", cZ) }, "0|2|NULL|1"},
	})
}

func TestStringFunctions(t *testing.T) {
	runCases(t, []evalCase{
		{"|| concatenates and propagates NULL", func() Expr { return call("||", cS, s("!")) }, "abc!|Hello World!|NULL|!"},
		{"CHAR_LENGTH counts characters", func() Expr { return call("CHAR_LENGTH", s("héllo")) }, "5"},
		{"UPPER", func() Expr { return call("UPPER", cS) }, "ABC|HELLO WORLD|NULL|"},
		{"LOWER", func() Expr { return call("LOWER", cS) }, "abc|hello world|NULL|"},
		{"INITCAP", func() Expr { return call("INITCAP", s("hELLO wide-world")) }, "Hello Wide-world"},
		{"INITCAP splits words at spaces only", func() Expr { return call("INITCAP", s("o'NEIL  x2y\tbob")) }, "O'neil  X2y\tBob"},
		{"SUBSTRING from and for", func() Expr { return call("SUBSTRING", cS, i32(2), i32(3)) }, "bc|ell|NULL|"},
		{"SUBSTRING from zero counts the missing position", func() Expr { return call("SUBSTRING", s("abcdef"), i32(0), i32(3)) }, "ab"},
		{"SUBSTRING with a negative length is a row error", func() Expr { return call("SUBSTRING", s("abc"), i32(1), i32(-1)) }, "!INVALID_ARGUMENT"},
		{"POSITION finds a substring", func() Expr { return call("KDA_POSITION", s("o"), cS) }, "0|5|NULL|0"},
		{"TRIM BOTH", func() Expr { return call("KDA_TRIM", s("BOTH"), s("x"), s("xxabcxx")) }, "abc"},
		{"TRIM LEADING", func() Expr { return call("KDA_TRIM", s("LEADING"), s(" "), s("  ab ")) }, "ab "},
		{"OVERLAY", func() Expr { return call("KDA_OVERLAY", s("Txxxxas"), s("hom"), i32(2), i32(4)) }, "Thomas"},
		{"REGEX_REPLACE every occurrence with a group", func() Expr { return call("REGEX_REPLACE", s("a1b22c"), s("([0-9]+)"), s("<$1>"), i32(1), i32(0)) }, "a<1>b<22>c"},
		{"REGEX_REPLACE the second occurrence", func() Expr { return call("REGEX_REPLACE", s("aaa"), s("a"), s("b"), i32(1), i32(2)) }, "aba"},
		{"REGEX_REPLACE from a start position", func() Expr { return call("REGEX_REPLACE", s("aaa"), s("a"), s("b"), i32(2), i32(0)) }, "abb"},
		{"REGEX_REPLACE past the end returns the original", func() Expr { return call("REGEX_REPLACE", s("aaa"), s("a"), s("b"), i32(9), i32(0)) }, "aaa"},
		{"REGEX_REPLACE start below 1 is a row error", func() Expr { return call("REGEX_REPLACE", s("aaa"), s("a"), s("b"), i32(0), i32(0)) }, "!INVALID_ARGUMENT"},
		{"LIKE with % and _", func() Expr { return call("LIKE", cS, s("_e%d")) }, "FALSE|TRUE|NULL|FALSE"},
		{"LIKE treats regexp characters literally", func() Expr { return call("LIKE", s("a.c"), s("a.c")) }, "TRUE"},
		{"LIKE . does not match any character", func() Expr { return call("LIKE", s("abc"), s("a.c")) }, "FALSE"},
		{"LIKE with an escaped %", func() Expr { return call("LIKE", s("100%"), s("100!%"), s("!")) }, "TRUE"},
		{"LIKE escaped % is not a wildcard", func() Expr { return call("LIKE", s("1000"), s("100!%"), s("!")) }, "FALSE"},
		{"LIKE with a pattern column", func() Expr { return call("LIKE", s("abc"), cS) }, "TRUE|FALSE|NULL|FALSE"},
		{"SIMILAR TO with alternation", func() Expr { return call("SIMILAR_TO", cS, s("(abc|xyz)")) }, "TRUE|FALSE|NULL|FALSE"},
		{"SIMILAR TO %TECH%", func() Expr { return call("SIMILAR_TO", s("BIGTECHCO"), s("%TECH%")) }, "TRUE"},
		{"SIMILAR TO treats . literally", func() Expr { return call("SIMILAR_TO", s("abc"), s("a.c")) }, "FALSE"},
		{"SIMILAR TO with an escaped _", func() Expr { return call("SIMILAR_TO", s("a_c"), s("a#_c"), s("#")) }, "TRUE"},
		{"SIMILAR TO with a class and repetition", func() Expr { return call("SIMILAR_TO", s("ab12"), s("[a-z]+[0-9]{2}")) }, "TRUE"},
	})
}

func TestDatetimeFunctions(t *testing.T) {
	runCases(t, []evalCase{
		{"CURRENT_TIMESTAMP is the query start", func() Expr { return call("CURRENT_TIMESTAMP") }, "2024-03-05 13:45:30.123"},
		{"CURRENT_DATE", func() Expr { return call("CURRENT_DATE") }, "2024-03-05"},
		{"LOCALTIME", func() Expr { return call("LOCALTIME") }, "13:45:30.123"},
		{"CURRENT_ROW_TIMESTAMP reads the clock", func() Expr { return call("CURRENT_ROW_TIMESTAMP") }, "2024-03-05 14:45:30.123"},
		{"UNIX_TIMESTAMP is epoch milliseconds", func() Expr { return call("UNIX_TIMESTAMP", cTS) }, "1709646330123|1709646330123|NULL|1709646330123"},
		{"TO_TIMESTAMP", func() Expr { return call("TO_TIMESTAMP", i64(0)) }, "1970-01-01 00:00:00"},
		{"TSDIFF in milliseconds", func() Expr { return call("TSDIFF", cTS, lit(t0.Add(-time.Second), types.TTimestamp)) }, "1000|1000|NULL|1000"},
		{"FLOOR to the hour", func() Expr { return call("KDA_FLOOR_TO", cTS, s("HOUR")) }, "2024-03-05 13:00:00|2024-03-05 13:00:00|NULL|2024-03-05 13:00:00"},
		{"CEIL to the month", func() Expr { return call("KDA_CEIL_TO", cTS, s("MONTH")) }, "2024-04-01 00:00:00|2024-04-01 00:00:00|NULL|2024-04-01 00:00:00"},
		{"EXTRACT the minute", func() Expr { return call("KDA_EXTRACT", s("MINUTE"), cTS) }, "45|45|NULL|45"},
		{"EXTRACT the hours of an interval", func() Expr { return call("KDA_EXTRACT", s("HOUR"), ival(26*time.Hour)) }, "2"},
		{"TIMESTAMP_TO_CHAR of NULL is 'null'", func() Expr { return call("TIMESTAMP_TO_CHAR", s("yyyy-MM-dd hh:mm:ss a"), cTS) }, "2024-03-05 01:45:30 PM|2024-03-05 01:45:30 PM|null|2024-03-05 01:45:30 PM"},
		{"TIMESTAMP_TO_CHAR with month names and quotes", func() Expr {
			return call("TIMESTAMP_TO_CHAR", s("EEE, d MMM yyyy 'at' HH:mm:ss.SSS Z"), cTS)
		}, "Tue, 5 Mar 2024 at 13:45:30.123 +0000|Tue, 5 Mar 2024 at 13:45:30.123 +0000|null|Tue, 5 Mar 2024 at 13:45:30.123 +0000"},
		{"CHAR_TO_TIMESTAMP", func() Expr {
			return call("CHAR_TO_TIMESTAMP", s("dd/MMM/yyyy:HH:mm:ss Z"), s("05/Mar/2024:13:45:30 +0100"))
		}, "2024-03-05 12:45:30"},
		{"CHAR_TO_TIMESTAMP of compact digits", func() Expr { return call("CHAR_TO_TIMESTAMP", s("yyyyMMddHHmmss"), s("20240305134530")) }, "2024-03-05 13:45:30"},
		{"CHAR_TO_TIMESTAMP mismatch is a row error", func() Expr { return call("CHAR_TO_TIMESTAMP", s("yyyy-MM-dd"), cS) }, "!CAST|!CAST|NULL|!CAST"},
		{"CHAR_TO_DATE", func() Expr { return call("CHAR_TO_DATE", s("MM/dd/yy"), s("03/05/24")) }, "2024-03-05"},
		{"CHAR_TO_TIME with AM/PM", func() Expr { return call("CHAR_TO_TIME", s("hh:mm a"), s("01:30 PM")) }, "13:30:00"},
		{"DATE_TO_CHAR", func() Expr { return call("DATE_TO_CHAR", s("MMMM d, yyyy"), lit(t0, types.TDate)) }, "March 5, 2024"},
		{"TIME_TO_CHAR", func() Expr { return call("TIME_TO_CHAR", s("HH'h'mm"), lit(t0, types.TTime)) }, "13h45"},
	})
}

func TestSimpleDateFormatRoundTrips(t *testing.T) {
	ms := t0.UnixMilli()
	for _, p := range []string{
		"yyyy-MM-dd HH:mm:ss.SSS", "dd/MMM/yyyy:HH:mm:ss Z", "EEEE, MMMM d, yyyy h:mm:ss.SSS a z",
		"yyyyMMddHHmmssSSS", "yyyy-MM-dd'T'HH:mm:ss.SSSX", "D yyyy HH mm ss SSS",
	} {
		t.Run(p+" formats and parses back", func(t *testing.T) {
			f, err := compileSDF(p)
			if err != nil {
				t.Fatal(err)
			}
			text := f.format(ms)
			got, err := f.parse(text)
			if err != nil {
				t.Fatalf("parse %q: %v", text, err)
			}
			want := ms
			if !strings.Contains(p, "S") {
				want = ms / 1000 * 1000
			}
			if got != want {
				t.Errorf("%q parsed to %d, want %d", text, got, want)
			}
		})
	}
}

// FuzzCastVarchar checks that the string parsers behind CAST never panic
// and that what they accept formats back to a value they accept again.
func FuzzCastVarchar(f *testing.F) {
	for _, s := range []string{"2024-03-05", "2024-03-05 13:45:30.123", "2024-03-05T13:45:30Z", "13:45", "1 02:03:04.5", "-90", "1.5", "true", "x", "", "9999-12-31 23:59:59.999", "-0001-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := parseTimestamp(s); err == nil {
			if w, err := parseTimestamp(formatTimestamp(v)); err == nil && w != v && v > -62135596800000 {
				t.Errorf("timestamp %q -> %d -> %q -> %d", s, v, formatTimestamp(v), w)
			}
		}
		if v, err := parseDate(s); err == nil && v > -719162 {
			if w, err := parseDate(formatDate(int32(v))); err != nil || w != v {
				t.Errorf("date %q -> %d -> %q", s, v, formatDate(int32(v)))
			}
		}
		if v, err := parseTime(s); err == nil {
			if v < 0 || v >= msPerDay {
				t.Errorf("time %q -> %d out of range", s, v)
			}
		}
		if v, err := parseInterval(s); err == nil {
			if w, err := parseInterval(formatInterval(v)); err != nil || w != v {
				t.Errorf("interval %q -> %d -> %q", s, v, formatInterval(v))
			}
		}
		_, _ = parseBool(s)
		if p, err := compileSDF(s); err == nil {
			_, _ = p.parse(s)
			_ = p.format(0)
		}
	})
}
