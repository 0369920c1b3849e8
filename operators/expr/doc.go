package expr

// Names that Call resolves (see Functions() for signatures):
//
//	arithmetic   + - * / %  NEG  MOD
//	comparison   = <> < <= > >=  IS_DISTINCT_FROM IS_NOT_DISTINCT_FROM  BETWEEN(x, lo, hi)  IN(x, v1, ...)
//	logical      AND OR NOT  IS_NULL IS_NOT_NULL IS_TRUE IS_NOT_TRUE IS_FALSE IS_NOT_FALSE IS_UNKNOWN
//	null         COALESCE NULLIF
//	numeric      ABS CEIL CEILING FLOOR EXP LN LOG10 SQRT POWER ROUND STEP MONOTONIC
//	string       || CHAR_LENGTH CHARACTER_LENGTH LOWER UPPER INITCAP SUBSTRING KDA_POSITION
//	             KDA_TRIM KDA_OVERLAY REGEX_REPLACE LIKE SIMILAR_TO
//	datetime     CURRENT_TIMESTAMP CURRENT_DATE CURRENT_TIME LOCALTIMESTAMP LOCALTIME
//	             CURRENT_ROW_TIMESTAMP UNIX_TIMESTAMP TO_TIMESTAMP TSDIFF KDA_FLOOR_TO KDA_CEIL_TO
//	             KDA_EXTRACT CHAR_TO_TIMESTAMP CHAR_TO_DATE CHAR_TO_TIME TIMESTAMP_TO_CHAR
//	             DATE_TO_CHAR TIME_TO_CHAR
//	log parsing  REGEX_LOG_PARSE FAST_REGEX_LOG_PARSE W3C_LOG_PARSE SYS_LOG_PARSE
//	             FIXED_COLUMN_LOG_PARSE VARIABLE_COLUMN_LOG_PARSE (each returns a ROW,
//	             whose fields Field reads; logparse.go, row.go)
//
// The planner rewrites the SQL forms: POSITION(a IN b) -> KDA_POSITION(a, b),
// TRIM(LEADING c FROM s) -> KDA_TRIM('LEADING', c, s), OVERLAY(s PLACING r
// FROM n FOR m) -> KDA_OVERLAY(s, r, n, m), FLOOR(ts TO MINUTE) ->
// KDA_FLOOR_TO(ts, 'MINUTE'), EXTRACT(HOUR FROM x) -> KDA_EXTRACT('HOUR', x),
// x SIMILAR TO p -> SIMILAR_TO(x, p), x IS NULL -> IS_NULL(x), -x -> NEG(x).
// CAST and CASE have their own constructors. Patterns of REGEX_REPLACE and
// the log parsers are java.util.regex syntax, translated to RE2
// (javaregex.go).
//
// Errors per row: integer overflow (ARITHMETIC_OVERFLOW), division by zero
// of any numeric type (DIVISION_BY_ZERO), failed conversions and date
// parses (CAST), bad function arguments (INVALID_ARGUMENT), bad LIKE/SIMILAR
// TO patterns given by a column (INVALID_PATTERN).
//
// Hot paths (arithmetic, comparisons, AND/OR/NOT, Filter) run as typed
// loops over Arrow buffers with array-literal fast paths; the less common
// functions share a row-at-a-time frame over typed arrays (rowfunc.go).
//
// DECIMAL: arithmetic and comparisons use decimal128 with SQL result
// scales (+ - : max scale; * : sum of scales; / : at least 6 decimals),
// capped at 38 digits; a result beyond the precision is a row error. EXP,
// LN, LOG10, SQRT and POWER compute DECIMAL arguments in DOUBLE.
