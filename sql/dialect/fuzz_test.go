package dialect

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics and that every error it returns
// is a positioned *SyntaxError inside the source.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		";;",
		"CREATE OR REPLACE STREAM \"S\" (a VARCHAR(4) NOT NULL, b DECIMAL(5,2)) DESCRIPTION 'x';",
		"CREATE PUMP \"p-1\" AS INSERT INTO o (a) SELECT STREAM a || 'x' FROM s WHERE a IS DISTINCT FROM b",
		"SELECT STREAM AVG(x) OVER w FROM s WINDOW w AS (PARTITION BY k RANGE INTERVAL '1' MINUTE PRECEDING)",
		"SELECT STREAM MIN(x) OVER (ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) FROM s",
		"SELECT STREAM k, COUNT(*) FROM s WINDOWED BY STAGGER (PARTITION BY k RANGE INTERVAL '1' HOUR)",
		"SELECT STREAM FLOOR(s.ROWTIME TO SECOND) AS ROWTIME FROM s ORDER BY FLOOR(s.ROWTIME TO SECOND) WITHIN INTERVAL '2' SECOND",
		"SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM s), 10)) AS r(a, b)",
		"SELECT STREAM * FROM a JOIN b OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON a.x = t.x",
		"SELECT STREAM TRIM(LEADING 'x' FROM a), OVERLAY(a PLACING b FROM 1 FOR 2), SUBSTRING(a FROM 1), POSITION(a IN b), EXTRACT(DAY FROM t), CAST(a AS CHAR(2)) FROM s",
		"SELECT STREAM u&'!0041' UESCAPE '!', X'00', TIMESTAMP '2026-01-01 00:00:00' FROM s",
		"CREATE FUNCTION f(a DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT AS $$ return a; $$",
		"CREATE FUNCTION f(a DOUBLE) RETURNS DOUBLE RETURN CASE WHEN a IS DISTINCT FROM 1 THEN a END",
		"SELECT STREAM a FROM (SELECT STREAM a FROM s) AS t(a) UNION ALL SELECT STREAM b FROM (((s)))",
		"SELECT STREAM ((( a FROM s",
		"SELECT STREAM 'unterminated",
		"/* open",
		"SELECT STREAM SUM(a) OVER (",
		"SELECT STREAM STEP(a BY) FROM s",
		"SELECT STREAM * FROM TABLE(",
		"SELECT STREAM * FROM TABLE(f(CURSOR(",
		"SELECT STREAM a IS DISTINCT FROM",
		"SELECT STREAM INTERVAL",
		"CREATE STREAM s (a DECIMAL(",
		"SELECT STREAM L.window_start, R.window_end FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(t), INTERVAL '1' MINUTES)) L JOIN TABLE(HOP(TABLE b, DESCRIPTOR(t), INTERVAL '1' MINUTE, INTERVAL '1' MINUTE)) AS R ON L.window_start = R.window_start",
		"SELECT STREAM * FROM TABLE(TUMBLE(TABLE, DESCRIPTOR(), INTERVAL)) L, TABLE(TUMBLE()) R",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Parse(src)
		if err == nil {
			return
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q) returned %T %v, want *SyntaxError", src, err, err)
		}
		if se.Pos.Line < 1 || se.Pos.Col < 1 || se.Pos.Offset < 0 || se.Pos.Offset > len(src) {
			t.Fatalf("Parse(%q): error at %+v outside the source", src, se.Pos)
		}
		_ = se.Error()
	})
}
