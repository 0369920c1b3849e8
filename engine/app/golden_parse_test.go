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
//
// A case may declare reference tables (docs/reference-tables.md), each a
// "table NAME:" header with the format and columns of "input:", followed
// by a "rows:" block with the table's source, one CSV row or JSON
// document a line:
//
//	table COMPANY: CSV
//	  TICKER VARCHAR(4)
//	  NAME   VARCHAR(32)
//	rows:
//	  AMZN,Amazon
//	  MSFT,Microsoft
//
// The rows load through the engine's loader (an object of its object
// store, decoded by input.DecodeTable) before the first record; a load
// that fails is the case's error, so "error:" may expect it. In
// "records:", a line "reload NAME" followed by lines indented two more
// spaces replaces the table's rows with them, atomically, between the
// records before the line and the records after it ("reload NAME" with no
// rows empties the table):
//
//	records:
//	  1.000  {"ticker":"AMZN"}
//	  reload COMPANY
//	    AMZN,Amazon.com
//	  2.000  {"ticker":"AMZN"}
//
// A batched run never puts records from both sides of a reload in one
// batch. The table's source in errors reads s3://tables/NAME.csv (or
// .json): the rows are an object of an in-memory store.
//
// "reload NAME fails: TEXT" says the reload must fail with an error that
// contains TEXT; the table then keeps its rows, as a running application's
// does.
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
	tables     []*goldenTable
	// reloads in file order; each applies before records[before].
	reloads []goldenReload
}

// goldenTable is a reference table of a case and its first rows.
type goldenTable struct {
	name      string
	format    string // JSON or CSV
	delimiter string
	rowPath   string
	columns   []goldenColumn
	rows      []string
	hasRows   bool
}

// goldenReload replaces a table's rows before records[before].
type goldenReload struct {
	table  string
	before int
	rows   []string
	// fails, when set, is text the reload's error must contain.
	fails string
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
		case strings.HasPrefix(head, "table "):
			t := &goldenTable{name: strings.TrimSpace(strings.TrimPrefix(head, "table "))}
			if t.name == "" || value == "" {
				return nil, fmt.Errorf("%s: %q: write table NAME: FORMAT", where, line)
			}
			for _, o := range cur.tables {
				if o.name == t.name {
					return nil, fmt.Errorf("%s: case %q: table %s is declared twice", where, cur.name, t.name)
				}
			}
			f, arg, _ := strings.Cut(value, " ")
			t.format = strings.ToUpper(f)
			if t.format == "JSON" {
				t.rowPath = strings.TrimSpace(arg)
			} else {
				t.delimiter = strings.Trim(strings.TrimSpace(arg), "'")
			}
			cur.tables = append(cur.tables, t)
			block = "table:"
		case head == "rows":
			if len(cur.tables) == 0 || cur.tables[len(cur.tables)-1].hasRows {
				return nil, fmt.Errorf("%s: rows: belongs right after a table NAME: block", where)
			}
			cur.tables[len(cur.tables)-1].hasRows = true
			block = "rows:"
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
	for _, c := range cases {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, c.line, err)
		}
	}
	return cases, nil
}

func (c *goldenCase) setBlock(block string, content []string) error {
	switch {
	case block == "input:":
		cols, err := parseGoldenColumns(content)
		if err != nil {
			return fmt.Errorf("case %q: input %w", c.name, err)
		}
		c.columns = cols
	case block == "table:":
		t := c.tables[len(c.tables)-1]
		cols, err := parseGoldenColumns(content)
		if err != nil {
			return fmt.Errorf("case %q: table %s: %w", c.name, t.name, err)
		}
		t.columns = cols
	case block == "rows:":
		t := c.tables[len(c.tables)-1]
		t.rows = append([]string{}, content...)
	case block == "records:":
		for _, l := range content {
			if rest, ok := strings.CutPrefix(l, "reload "); ok {
				name, fails, failing := strings.Cut(rest, " fails:")
				r := goldenReload{table: strings.TrimSpace(name), before: len(c.records), fails: strings.TrimSpace(fails)}
				if failing && r.fails == "" {
					return fmt.Errorf("case %q: %q: write reload NAME fails: TEXT, with text from the error", c.name, l)
				}
				c.reloads = append(c.reloads, r)
				continue
			}
			if row, ok := strings.CutPrefix(l, "  "); ok {
				if len(c.reloads) == 0 || c.reloads[len(c.reloads)-1].before != len(c.records) {
					return fmt.Errorf("case %q: %q: an indented row belongs to a reload NAME line", c.name, l)
				}
				r := &c.reloads[len(c.reloads)-1]
				r.rows = append(r.rows, row)
				continue
			}
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

// parseGoldenColumns reads the column lines of input: and table NAME:
// blocks: NAME TYPE [MAPPING], where a JSON column's mapping starts with $.
func parseGoldenColumns(lines []string) ([]goldenColumn, error) {
	var cols []goldenColumn
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			return nil, fmt.Errorf("column %q needs NAME TYPE [MAPPING]", l)
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
		cols = append(cols, col)
	}
	return cols, nil
}

// check reports what parsing alone cannot: a reload of a table the case
// does not declare.
func (c *goldenCase) check() error {
	for _, r := range c.reloads {
		if c.table(r.table) == nil {
			return fmt.Errorf("case %q: reload %s: no table %s: declared", c.name, r.table, r.table)
		}
	}
	return nil
}

// table returns the case's table of that name, or nil.
func (c *goldenCase) table(name string) *goldenTable {
	for _, t := range c.tables {
		if t.name == name {
			return t
		}
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
