package input

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/kdaproject/kda/sql/types"
)

// Discover infers an input schema from sample records, as KDA's
// DiscoverInputSchema did; `kda discover` and the REST API both call it.
// format is "JSON", "CSV" or "" to detect it: samples whose first non-blank
// byte is '{' or '[' and that all parse as JSON are JSON, anything else is
// CSV.
//
// JSON: every member path seen in any sample becomes a column, in first-seen
// order. Nested objects are walked: {"a":{"b":1}} gives the column a_b
// mapped to $.a.b. Arrays are not walked: they become VARCHAR columns mapped
// to $.arr[0:] (the array's JSON text). A path that holds an object in one
// sample and a scalar in another becomes one VARCHAR column. When every
// document is an array, its elements are the rows (RecordRowPath "$[0:]").
//
// CSV: the column delimiter is the first of , \t ; | that splits every row
// into the same number (> 1) of fields, else ','. Columns are named COL_1…
// COL_n, unless the first row is clearly a header: more than one row, every
// header field a distinct non-empty text, and at least one column whose
// values below are numbers, booleans or datetimes. The header names the
// columns and is left out of type inference; producers must not send it on
// the stream, where it would be data (or an error_stream row).
//
// Types are wide enough for every sample: whole numbers give INTEGER, or
// BIGINT past 32 bits (never TINYINT or SMALLINT, which made KDA's discovered
// schemas overflow); other numbers DOUBLE; true/false BOOLEAN; strings that
// all parse as dates DATE, as datetimes TIMESTAMP; anything else, mixed
// kinds, and columns that were only ever NULL, VARCHAR(n) with n the next
// power of two at or above the longest value, at least 8, at most 65535.
// JSON strings stay VARCHAR even when they hold digits ("42"): the producer
// chose a string.
//
// Names keep the source's case (KDA creates input columns quoted, so SQL
// must quote them too: "ticker"). They follow KDA's rules:
// characters other than letters, digits and '_' are removed and the name
// gets the prefix COL_ (user@domain → COL_userdomain); so do names that are
// SQL reserved words (USER → COL_USER, also ROWTIME and the other implicit
// columns) and names that begin with a digit (1st → COL_1st); a name left
// empty or longer than 100 characters becomes COL_<position>; a name equal
// (ignoring case) to an earlier one gets the suffix _2, _3, …. No name is
// longer than 100 characters: when the prefix or the suffix would make it
// so, it becomes COL_<position> instead.
func Discover(samples [][]byte, format string) (Schema, error) {
	if len(samples) == 0 {
		return Schema{}, errors.New("discover: no sample records")
	}
	switch strings.ToUpper(format) {
	case "":
		if looksJSON(samples) {
			return discoverJSON(samples)
		}
		return discoverCSV(samples)
	case FormatJSON:
		return discoverJSON(samples)
	case FormatCSV:
		return discoverCSV(samples)
	}
	return Schema{}, fmt.Errorf("discover: format %q is not JSON or CSV", format)
}

// SampleRecords cuts data (a file, or text sent to POST /v1/discover) into
// at most limit sample records for Discover (limit <= 0: all). Data that
// is a sequence of JSON documents (one per line, or pretty-printed over
// several lines) gives one record per document; anything else one record
// per non-blank line, with a trailing "\r" dropped (CSV rows, or JSON
// lines among which some are broken, which Discover then reports).
func SampleRecords(data []byte, limit int) [][]byte {
	var out [][]byte
	full := func() bool { return limit > 0 && len(out) >= limit }
	if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		var sc fastjson.Scanner
		sc.InitBytes(t)
		for !full() && sc.Next() {
			out = append(out, sc.Value().MarshalTo(nil))
		}
		if sc.Error() == nil {
			return out
		}
		out = out[:0]
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if full() {
			break
		}
		if line = bytes.TrimRight(line, "\r"); len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out
}

func looksJSON(samples [][]byte) bool {
	var sc fastjson.Scanner
	for _, s := range samples {
		t := bytes.TrimSpace(s)
		if len(t) == 0 {
			continue
		}
		if t[0] != '{' && t[0] != '[' {
			return false
		}
		sc.InitBytes(t)
		for sc.Next() {
		}
		if sc.Error() != nil {
			return false
		}
	}
	return true
}

// kinds of values seen in a column, from narrow to wide.
type vkind uint8

const (
	vNone vkind = iota // only NULLs so far
	vBool
	vInt
	vFloat
	vDate
	vTimestamp
	vText
)

// colStats accumulates what a column's samples need.
type colStats struct {
	kind           vkind
	hasInt         bool
	minInt, maxInt int64
	maxLen         int // longest value as text, in characters
}

func (c *colStats) add(k vkind, text []byte) {
	if n := utf8.RuneCount(text); n > c.maxLen {
		c.maxLen = n
	}
	if k == vInt {
		n, err := strconv.ParseInt(string(text), 10, 64)
		switch {
		case err != nil: // past 64 bits
			k = vFloat
		case !c.hasInt:
			c.minInt, c.maxInt, c.hasInt = n, n, true
		default:
			c.minInt, c.maxInt = min(c.minInt, n), max(c.maxInt, n)
		}
	}
	switch {
	case c.kind == vNone || c.kind == k:
		c.kind = k
	case (c.kind == vInt && k == vFloat) || (c.kind == vFloat && k == vInt):
		c.kind = vFloat
	case (c.kind == vDate && k == vTimestamp) || (c.kind == vTimestamp && k == vDate):
		c.kind = vTimestamp
	default:
		c.kind = vText
	}
}

func (c *colStats) sqlType() string {
	switch c.kind {
	case vBool:
		return "BOOLEAN"
	case vInt:
		if c.minInt >= math.MinInt32 && c.maxInt <= math.MaxInt32 {
			return "INTEGER"
		}
		return "BIGINT"
	case vFloat:
		return "DOUBLE"
	case vDate:
		return "DATE"
	case vTimestamp:
		return "TIMESTAMP"
	}
	return types.VarcharOf(varcharLength(c.maxLen)).String()
}

// varcharLength rounds n up generously: the next power of two, 8..65535.
func varcharLength(n int) int {
	l := 8
	for l < n && l < types.MaxCharLength {
		l *= 2
	}
	return min(l, types.MaxCharLength)
}

// textKind classifies a string value (a JSON string or a CSV field).
func textKind(s []byte, csv bool) vkind {
	if _, err := parseTimestamp(s); err == nil {
		if len(s) == 10 {
			return vDate
		}
		return vTimestamp
	}
	if !csv {
		return vText
	}
	if bytes.EqualFold(s, textTrue) || bytes.EqualFold(s, textFalse) {
		return vBool
	}
	if _, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		return vInt
	}
	if isDecimalText(s) {
		if _, err := strconv.ParseFloat(string(s), 64); err == nil {
			return vFloat
		}
	}
	return vText
}

// isDecimalText accepts plain decimal numbers, refusing what ParseFloat
// would also take (Inf, NaN, hex, underscores).
func isDecimalText(s []byte) bool {
	digit := false
	for i, c := range s {
		switch {
		case isDigit(c):
			digit = true
		case c == '.' || c == 'e' || c == 'E':
		case (c == '-' || c == '+') && (i == 0 || s[i-1] == 'e' || s[i-1] == 'E'):
		default:
			return false
		}
	}
	return digit
}

// jnode is a member path seen in JSON samples.
type jnode struct {
	keys     []string
	mapping  string
	array    bool // seen as an array: mapped to [0:]
	object   bool // seen as an object
	scalar   bool // seen as a non-null non-object
	stats    colStats
	children []*jnode
	byKey    map[string]*jnode
}

func (n *jnode) child(key string) *jnode {
	if c, ok := n.byKey[key]; ok {
		return c
	}
	if n.byKey == nil {
		n.byKey = map[string]*jnode{}
	}
	keys := append(append([]string(nil), n.keys...), key)
	c := &jnode{keys: keys, mapping: n.mapping + quoteMember(key)}
	n.byKey[key] = c
	n.children = append(n.children, c)
	return c
}

func (n *jnode) observe(v *fastjson.Value, scratch []byte) []byte {
	scratch = v.MarshalTo(scratch[:0])
	switch v.Type() {
	case fastjson.TypeNull:
		return scratch
	case fastjson.TypeObject:
		n.object = true
		n.stats.add(vText, scratch)
		o, _ := v.Object()
		o.Visit(func(key []byte, m *fastjson.Value) {
			scratch = n.child(string(key)).observe(m, scratch)
		})
		return scratch
	}
	n.scalar = true
	switch v.Type() {
	case fastjson.TypeArray:
		n.array = true
		n.stats.add(vText, scratch)
	case fastjson.TypeTrue, fastjson.TypeFalse:
		n.stats.add(vBool, scratch)
	case fastjson.TypeNumber:
		if bytes.ContainsAny(scratch, ".eE") {
			n.stats.add(vFloat, scratch)
		} else {
			n.stats.add(vInt, scratch)
		}
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		n.stats.add(textKind(s, false), s)
	}
	return scratch
}

// columns lists the leaf columns under n in first-seen order.
func (n *jnode) columns(out []discovered) []discovered {
	if n.object && !n.scalar && len(n.children) > 0 {
		for _, c := range n.children {
			out = c.columns(out)
		}
		return out
	}
	if len(n.keys) == 0 {
		return out
	}
	d := discovered{raw: strings.Join(n.keys, "_"), mapping: n.mapping, stats: n.stats}
	if n.object && n.scalar {
		d.stats.kind = vText
	}
	if n.array {
		d.mapping += "[0:]"
	}
	return append(out, d)
}

type discovered struct {
	raw     string
	mapping string
	stats   colStats
}

func discoverJSON(samples [][]byte) (Schema, error) {
	root := &jnode{mapping: "$"}
	var scratch []byte
	var sc fastjson.Scanner
	docs, arrays := 0, 0
	for i, s := range samples {
		sc.InitBytes(s)
		for sc.Next() {
			v := sc.Value()
			docs++
			switch v.Type() {
			case fastjson.TypeObject:
				scratch = root.observe(v, scratch)
			case fastjson.TypeArray:
				// An array document's elements are the rows.
				arrays++
				elems, _ := v.Array()
				for j, e := range elems {
					if e.Type() != fastjson.TypeObject && e.Type() != fastjson.TypeNull {
						return Schema{}, fmt.Errorf("discover: sample %d: element %d is a JSON %s, not an object", i+1, j, e.Type())
					}
					scratch = root.observe(e, scratch)
				}
			default:
				return Schema{}, fmt.Errorf("discover: sample %d holds a JSON %s, not an object", i+1, v.Type())
			}
		}
		if err := sc.Error(); err != nil {
			return Schema{}, fmt.Errorf("discover: sample %d is not JSON: %w", i+1, err)
		}
	}
	if docs == 0 {
		return Schema{}, errors.New("discover: the samples hold no JSON document")
	}
	rowPath := DefaultRecordRowPath
	if arrays > 0 {
		if arrays != docs {
			return Schema{}, errors.New("discover: some samples are JSON arrays and others objects; sample one kind")
		}
		rowPath = "$[0:]"
	}
	cols := root.columns(nil)
	if len(cols) == 0 {
		return Schema{}, errors.New("discover: the samples hold no members to map")
	}
	s := Schema{
		RecordFormat:   RecordFormat{Type: FormatJSON, RecordRowPath: rowPath},
		RecordEncoding: EncodingUTF8,
	}
	names := columnNamer{}
	for i, c := range cols {
		s.Columns = append(s.Columns, Column{Name: names.name(c.raw, i+1), SQLType: c.stats.sqlType(), Mapping: c.mapping})
	}
	return s, nil
}

func discoverCSV(samples [][]byte) (Schema, error) {
	delim, rows, err := csvSampleRows(samples)
	if err != nil {
		return Schema{}, err
	}
	if len(rows) == 0 {
		return Schema{}, errors.New("discover: the samples hold no CSV row")
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r))
	}
	stats := func(rows [][][]byte) []colStats {
		st := make([]colStats, width)
		for _, r := range rows {
			for i, f := range r {
				if len(f) == 0 {
					continue
				}
				st[i].add(textKind(f, true), f)
			}
		}
		return st
	}
	header := false
	var st []colStats
	if len(rows) > 1 && len(rows[0]) == width {
		st = stats(rows[1:])
		header = isHeader(rows[0], st)
	}
	if !header {
		st = stats(rows)
	}
	s := Schema{
		RecordFormat:   RecordFormat{Type: FormatCSV, ColumnDelimiter: delim, RowDelimiter: DefaultRowDelimiter},
		RecordEncoding: EncodingUTF8,
	}
	names := columnNamer{}
	for i := range width {
		raw := ""
		if header {
			raw = string(rows[0][i])
		}
		s.Columns = append(s.Columns, Column{Name: names.name(raw, i+1), SQLType: st[i].sqlType()})
	}
	return s, nil
}

// isHeader reports a first row of distinct non-empty texts above at least
// one column of typed values.
func isHeader(first [][]byte, below []colStats) bool {
	seen := map[string]bool{}
	for _, f := range first {
		if len(f) == 0 || textKind(f, true) != vText || seen[strings.ToUpper(string(f))] {
			return false
		}
		seen[strings.ToUpper(string(f))] = true
	}
	for _, s := range below {
		if s.kind != vText && s.kind != vNone {
			return true
		}
	}
	return false
}

// csvSampleRows splits the samples into rows with the first candidate
// delimiter that gives every row the same number (> 1) of fields.
func csvSampleRows(samples [][]byte) (string, [][][]byte, error) {
	var fallback [][][]byte
	var commaErr error
	for _, delim := range []string{",", "\t", ";", "|"} {
		var rows [][][]byte
		ok := true
		for _, s := range samples {
			var fields [][]byte
			var scratch []byte
			pos := 0
			for pos < len(s) {
				var empty bool
				var err error
				fields, scratch, pos, empty, err = splitCSVRow(s, pos, []byte(delim), []byte("\n"), fields[:0], scratch)
				if err != nil {
					if delim == "," {
						commaErr = err
					}
					ok = false
					break
				}
				if !empty {
					rows = append(rows, append([][]byte(nil), fields...))
				}
				// Fields may point into scratch: start a new one per row.
				scratch = nil
			}
		}
		if delim == "," {
			fallback = rows
		}
		if !ok || len(rows) == 0 {
			continue
		}
		n := len(rows[0])
		for _, r := range rows {
			if len(r) != n {
				ok = false
				break
			}
		}
		if ok && n > 1 {
			return delim, rows, nil
		}
	}
	if commaErr != nil {
		return "", nil, fmt.Errorf("discover: %w", commaErr)
	}
	return DefaultColumnDelimiter, fallback, nil
}

// columnNamer applies KDA's naming rules and keeps names unique.
type columnNamer struct {
	taken map[string]bool
}

// maxNameLength is the longest name discovery keeps (KDA's limit).
const maxNameLength = 100

func (c *columnNamer) name(raw string, pos int) string {
	var b strings.Builder
	changed := false
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if isLetter(ch) || isDigit(ch) || ch == '_' {
			b.WriteByte(ch)
		} else {
			changed = true
		}
	}
	name := b.String()
	switch {
	case name == "" || len(name) > maxNameLength:
		name = fmt.Sprintf("COL_%d", pos)
	case changed || isDigit(name[0]) || reservedWord(name):
		name = "COL_" + name
	}
	if len(name) > maxNameLength {
		// The prefix pushed a long name over the limit.
		name = fmt.Sprintf("COL_%d", pos)
	}
	if c.taken == nil {
		c.taken = map[string]bool{}
	}
	unique := name
	for n := 2; c.taken[strings.ToUpper(unique)]; n++ {
		unique = fmt.Sprintf("%s_%d", name, n)
		if len(unique) > maxNameLength {
			// So would the suffix: fall back to the position, which
			// no other column has.
			name = fmt.Sprintf("COL_%d", pos)
			unique = name
		}
	}
	c.taken[strings.ToUpper(unique)] = true
	return unique
}

// reservedWord reports SQL reserved words and kda's implicit column names,
// ignoring case.
func reservedWord(s string) bool {
	u := strings.ToUpper(s)
	if len(u) < 2 || len(u) > 24 {
		return false
	}
	return strings.Contains(reservedWords, " "+u+" ")
}

// reservedWords lists the SQL:2008 reserved words, the streaming words of the
// KDA dialect and the implicit columns, each between spaces.
const reservedWords = " ABS ALL ALLOCATE ALTER AND ANY ARE ARRAY AS ASENSITIVE ASYMMETRIC AT ATOMIC AUTHORIZATION AVG" +
	" BEGIN BETWEEN BIGINT BINARY BLOB BOOLEAN BOTH BY CALL CALLED CARDINALITY CASCADED CASE CAST CEIL CEILING CHAR" +
	" CHARACTER CHARACTER_LENGTH CHAR_LENGTH CHECK CLOB CLOSE COALESCE COLLATE COLLECT COLUMN COMMIT CONDITION CONNECT" +
	" CONSTRAINT CONVERT CORR CORRESPONDING COUNT COVAR_POP COVAR_SAMP CREATE CROSS CUBE CUME_DIST CURRENT CURRENT_DATE" +
	" CURRENT_PATH CURRENT_ROLE CURRENT_ROW CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR CYCLE DATE DAY" +
	" DEALLOCATE DEC DECIMAL DECLARE DEFAULT DELETE DENSE_RANK DEREF DESCRIBE DETERMINISTIC DISCONNECT DISTINCT DOUBLE" +
	" DROP DYNAMIC EACH ELEMENT ELSE END END-EXEC ESCAPE EVERY EXCEPT EXEC EXECUTE EXISTS EXP EXTERNAL EXTRACT FALSE" +
	" FETCH FILTER FIRST_VALUE FLOAT FLOOR FOR FOREIGN FREE FROM FULL FUNCTION FUSION GET GLOBAL GRANT GROUP GROUPING" +
	" HAVING HOLD HOUR IDENTITY IN INDICATOR INNER INOUT INSENSITIVE INSERT INT INTEGER INTERSECT INTERSECTION INTERVAL" +
	" INTO IS JOIN LAG LANGUAGE LARGE LAST_VALUE LATERAL LEAD LEADING LEFT LIKE LIKE_REGEX LN LOCAL LOCALTIME" +
	" LOCALTIMESTAMP LOWER MATCH MAX MEMBER MERGE METHOD MIN MINUTE MOD MODIFIES MODULE MONTH MULTISET NATIONAL NATURAL" +
	" NCHAR NCLOB NEW NO NONE NORMALIZE NOT NTH_VALUE NTILE NULL NULLIF NUMERIC OCCURRENCES_REGEX OCTET_LENGTH OF OLD ON" +
	" ONLY OPEN OR ORDER OUT OUTER OVER OVERLAPS OVERLAY PARAMETER PARTITION PERCENTILE_CONT PERCENTILE_DISC PERCENT_RANK" +
	" POSITION POSITION_REGEX POWER PRECISION PREPARE PRIMARY PROCEDURE RANGE RANK READS REAL RECURSIVE REF REFERENCES" +
	" REFERENCING REGR_AVGX REGR_AVGY REGR_COUNT REGR_INTERCEPT REGR_R2 REGR_SLOPE REGR_SXX REGR_SXY REGR_SYY RELEASE" +
	" RESULT RETURN RETURNS REVOKE RIGHT ROLLBACK ROLLUP ROW ROWS ROW_NUMBER SAVEPOINT SCOPE SCROLL SEARCH SECOND SELECT" +
	" SENSITIVE SESSION_USER SET SIMILAR SMALLINT SOME SPECIFIC SPECIFICTYPE SQL SQLEXCEPTION SQLSTATE SQLWARNING SQRT" +
	" START STATIC STDDEV_POP STDDEV_SAMP SUBMULTISET SUBSTRING SUBSTRING_REGEX SUM SYMMETRIC SYSTEM SYSTEM_USER TABLE" +
	" TABLESAMPLE THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE TINYINT TO TRAILING TRANSLATE TRANSLATE_REGEX" +
	" TRANSLATION TREAT TRIGGER TRIM TRUE UESCAPE UNION UNIQUE UNKNOWN UNNEST UPDATE UPPER USER USING VALUE VALUES" +
	" VARBINARY VARCHAR VARYING VAR_POP VAR_SAMP WHEN WHENEVER WHERE WIDTH_BUCKET WINDOW WITH WITHIN WITHOUT YEAR" +
	" STREAM PUMP ROWTIME STEP STAGGER WINDOWED APPROXIMATE_ARRIVAL_TIME PARTITION_KEY SEQUENCE_NUMBER SHARD_ID "
