package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A golden file (testdata/queries/*.test) holds cases like:
//
//	# Why the case exists.
//	case: tumbling count per ticker
//	input: JSON
//	  TICKER VARCHAR(8) $.ticker
//	  PRICE  DOUBLE     $.price
//	records:
//	  1.000  {"ticker":"AMZN","price":10}
//	  61.500 {"ticker":"AMZN","price":12}
//	sql:
//	  CREATE STREAM OUT_S (TICKER VARCHAR(8), N BIGINT);
//	  ...
//	expect OUT_S:
//	  {"ROWTIME":"1970-01-01 00:01:00.000","TICKER":"AMZN","N":1}
//	expect error_stream:
//
// A header line starts at column 0 and ends with ':' (case: and input: carry
// a value after it); content lines are indented by two spaces. Record times
// are seconds since the epoch (fractions allowed) or RFC 3339 times: each
// record's arrival time and so its ROWTIME. "input: CSV" takes an optional
// delimiter in single quotes: input: CSV ';'; "input: JSON" an optional
// record row path: input: JSON $.records[0:]. Every in-application stream
// that receives rows, and error_stream, must have an expect block; an empty
// block says the stream stays empty. "error:" instead of expect blocks says
// the SQL must be rejected with exactly that text.
type goldenCase struct {
	file, name string
	line       int
	format     string // JSON or CSV
	delimiter  string
	rowPath    string
	columns    []goldenColumn
	records    []goldenRecord
	sql        string
	expect     map[string][]string
	order      []string // expect blocks in file order
	wantError  string
}

type goldenColumn struct{ name, sqlType, mapping string }

type goldenRecord struct {
	at   time.Time
	data string
}

func parseGolden(file, text string) ([]*goldenCase, error) {
	var cases []*goldenCase
	var cur *goldenCase
	var block string // current header
	var content []string
	flush := func() error {
		if cur == nil || block == "" {
			return nil
		}
		if err := cur.setBlock(block, content); err != nil {
			return err
		}
		block, content = "", nil
		return nil
	}
	lines := strings.Split(text, "\n")
	for n, raw := range lines {
		line := strings.TrimRight(raw, " \t\r")
		where := fmt.Sprintf("%s:%d", file, n+1)
		switch {
		case strings.HasPrefix(line, "#") && block != "sql:":
			continue
		case line == "":
			if block == "sql:" {
				content = append(content, "")
			}
			continue
		case strings.HasPrefix(line, "  "):
			if block == "" {
				return nil, fmt.Errorf("%s: indented line outside a block", where)
			}
			content = append(content, line[2:])
			continue
		}
		if err := flush(); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		head, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch {
		case head == "case":
			cur = &goldenCase{file: file, name: value, line: n + 1, expect: map[string][]string{}}
			cases = append(cases, cur)
		case cur == nil:
			return nil, fmt.Errorf("%s: %q before the first case:", where, line)
		case head == "input":
			f, arg, _ := strings.Cut(value, " ")
			cur.format = strings.ToUpper(f)
			if cur.format == "JSON" {
				cur.rowPath = strings.TrimSpace(arg)
			} else {
				cur.delimiter = strings.Trim(strings.TrimSpace(arg), "'")
			}
			block = "input:"
		case head == "records", head == "sql", head == "error":
			block = head + ":"
		case strings.HasPrefix(head, "expect "):
			block = line
		default:
			return nil, fmt.Errorf("%s: unknown header %q", where, line)
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return cases, nil
}

func (c *goldenCase) setBlock(block string, content []string) error {
	switch {
	case block == "input:":
		for _, l := range content {
			f := strings.Fields(l)
			if len(f) < 2 {
				return fmt.Errorf("case %q: input column %q needs NAME TYPE [MAPPING]", c.name, l)
			}
			col := goldenColumn{name: f[0], sqlType: f[1]}
			rest := f[2:]
			// Types with a space: DOUBLE PRECISION.
			if len(rest) > 0 && !strings.HasPrefix(rest[0], "$") {
				col.sqlType += " " + rest[0]
				rest = rest[1:]
			}
			if len(rest) > 0 {
				col.mapping = rest[0]
			}
			c.columns = append(c.columns, col)
		}
	case block == "records:":
		for _, l := range content {
			ts, data, ok := strings.Cut(l, " ")
			if !ok {
				return fmt.Errorf("case %q: record %q needs TIME DATA", c.name, l)
			}
			at, err := parseGoldenTime(ts)
			if err != nil {
				return fmt.Errorf("case %q: %w", c.name, err)
			}
			c.records = append(c.records, goldenRecord{at: at, data: strings.TrimLeft(data, " ")})
		}
	case block == "sql:":
		c.sql = strings.TrimSpace(strings.Join(content, "\n"))
	case block == "error:":
		c.wantError = strings.Join(content, "\n")
	case strings.HasPrefix(block, "expect "):
		name := strings.TrimSuffix(strings.TrimPrefix(block, "expect "), ":")
		if _, dup := c.expect[name]; dup {
			return fmt.Errorf("case %q: two expect blocks for %s", c.name, name)
		}
		c.expect[name] = append([]string{}, content...)
		c.order = append(c.order, name)
	}
	return nil
}

func parseGoldenTime(s string) (time.Time, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.UnixMilli(int64(secs*1000 + 0.5)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("record time %q: want seconds since the epoch or RFC 3339", s)
	}
	return t.UTC(), nil
}
