package input

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kdaproject/kda/sql/types"
)

// Record formats.
const (
	FormatJSON = "JSON"
	FormatCSV  = "CSV"
)

// Defaults applied by Schema.WithDefaults.
const (
	DefaultRecordRowPath   = "$"
	DefaultColumnDelimiter = ","
	DefaultRowDelimiter    = "\n"
	EncodingUTF8           = "UTF-8"
)

// Schema maps raw stream records to the columns of the first in-application
// stream, mirroring KDA's InputSchema. It is JSON-tagged so that an
// application's configuration file can hold it.
type Schema struct {
	RecordFormat RecordFormat `json:"recordFormat"`
	// RecordEncoding is "UTF-8" (the only encoding KDA supported); empty
	// means UTF-8.
	RecordEncoding string   `json:"recordEncoding,omitempty"`
	Columns        []Column `json:"columns"`
}

// RecordFormat says how a record's bytes are laid out.
type RecordFormat struct {
	// Type is "JSON" or "CSV".
	Type string `json:"type"`
	// RecordRowPath (JSON) is the path of the record row inside each
	// document; column mappings are relative to it. Default "$". A path that
	// ends in [0:] (e.g. "$.records[0:]") makes each element of that array a
	// row.
	RecordRowPath string `json:"recordRowPath,omitempty"`
	// ColumnDelimiter and RowDelimiter (CSV) may be any non-empty strings;
	// defaults "," and "\n". With "\n" a trailing "\r" is dropped from rows.
	ColumnDelimiter string `json:"columnDelimiter,omitempty"`
	RowDelimiter    string `json:"rowDelimiter,omitempty"`
}

// Column is one mapped column of the input stream.
type Column struct {
	// Name is kept exactly as written: KDA creates input columns quoted, so
	// SQL must reference them with the same case.
	Name string `json:"name"`
	// SQLType is the column type as SQL text, e.g. "VARCHAR(16)" or
	// "DECIMAL(10,2)"; see ParseSQLType.
	SQLType string `json:"sqlType"`
	// Mapping is the JSONPath of the value for JSON records (required).
	// CSV columns are positional and ignore it.
	Mapping string `json:"mapping,omitempty"`
}

// Names of the implicit columns.
const (
	ArrivalTimeName    = "APPROXIMATE_ARRIVAL_TIME"
	PartitionKeyName   = "PARTITION_KEY"
	SequenceNumberName = "SEQUENCE_NUMBER"
	ShardIDName        = "SHARD_ID"
)

// WithDefaults returns s with empty optional settings filled in: the format
// type upper-cased, RecordRowPath "$", delimiters "," and "\n", encoding
// UTF-8.
func (s Schema) WithDefaults() Schema {
	s.RecordFormat.Type = strings.ToUpper(strings.TrimSpace(s.RecordFormat.Type))
	switch s.RecordFormat.Type {
	case FormatJSON:
		if s.RecordFormat.RecordRowPath == "" {
			s.RecordFormat.RecordRowPath = DefaultRecordRowPath
		}
	case FormatCSV:
		if s.RecordFormat.ColumnDelimiter == "" {
			s.RecordFormat.ColumnDelimiter = DefaultColumnDelimiter
		}
		if s.RecordFormat.RowDelimiter == "" {
			s.RecordFormat.RowDelimiter = DefaultRowDelimiter
		}
	}
	if s.RecordEncoding == "" {
		s.RecordEncoding = EncodingUTF8
	}
	return s
}

// Validate reports every problem of s (after defaults), each prefixed with
// where it is, e.g. `columns[2].mapping: "$.a[": unterminated '[' at offset 3`.
func (s Schema) Validate() error {
	_, err := compile(s.WithDefaults(), DecoderOptions{})
	return err
}

// compiledColumn is a mapped column ready for decoding.
type compiledColumn struct {
	name string
	typ  types.Type
	path *jsonPath // JSON only
}

type compiled struct {
	schema  Schema
	cols    []compiledColumn
	rowPath *jsonPath // JSON only
	// flatten is the index in cols of the columns that flatten an array.
	flatten []int
}

func compile(s Schema, opts DecoderOptions) (*compiled, error) {
	var errs []error
	bad := func(where, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	c := &compiled{schema: s}
	isJSON := false
	switch s.RecordFormat.Type {
	case FormatJSON:
		isJSON = true
		p, err := parseJSONPath(s.RecordFormat.RecordRowPath)
		switch {
		case err != nil:
			bad("recordFormat.recordRowPath", "%q: %v", s.RecordFormat.RecordRowPath, err)
		case p.flattens():
			bad("recordFormat.recordRowPath", "%q: a row path may end in [0:] but not continue past it", p.text)
		default:
			c.rowPath = p
		}
	case FormatCSV:
		if s.RecordFormat.ColumnDelimiter == s.RecordFormat.RowDelimiter {
			bad("recordFormat", "the column and row delimiters are both %q", s.RecordFormat.ColumnDelimiter)
		}
		if strings.Contains(s.RecordFormat.ColumnDelimiter, `"`) || strings.Contains(s.RecordFormat.RowDelimiter, `"`) {
			bad("recordFormat", `a delimiter may not contain the quote character '"'`)
		}
	case "":
		bad("recordFormat.type", `missing: use "JSON" or "CSV"`)
	default:
		bad("recordFormat.type", `%q is not "JSON" or "CSV"`, s.RecordFormat.Type)
	}
	if enc := strings.ToUpper(s.RecordEncoding); enc != "UTF-8" && enc != "UTF8" {
		bad("recordEncoding", `%q is not supported: use "UTF-8"`, s.RecordEncoding)
	}
	if len(s.Columns) == 0 {
		bad("columns", "at least one column is needed")
	}
	implicit := []string{types.RowtimeName, ArrivalTimeName}
	if opts.ExtraColumns {
		implicit = append(implicit, PartitionKeyName, SequenceNumberName, ShardIDName)
	}
	seen := map[string]int{}
	flattenHead := ""
	for i, col := range s.Columns {
		where := fmt.Sprintf("columns[%d]", i)
		cc := compiledColumn{name: col.Name}
		if col.Name == "" {
			bad(where+".name", "empty")
		} else if j, dup := seen[col.Name]; dup {
			bad(where+".name", "%q is already the name of columns[%d]", col.Name, j)
		} else {
			seen[col.Name] = i
			for _, im := range implicit {
				if strings.EqualFold(col.Name, im) {
					bad(where+".name", "%q clashes with the implicit column %s", col.Name, im)
				}
			}
		}
		t, err := types.Parse(col.SQLType)
		if err != nil {
			bad(where+".sqlType", "%v", err)
		}
		cc.typ = t
		if isJSON {
			p, err := parseJSONPath(col.Mapping)
			switch {
			case col.Mapping == "":
				bad(where+".mapping", "missing: JSON columns need a JSONPath such as \"$.%s\"", col.Name)
			case err != nil:
				bad(where+".mapping", "%q: %v", col.Mapping, err)
			default:
				cc.path = p
				if p.flattens() {
					if flattenHead == "" {
						flattenHead = p.headKey()
					} else if p.headKey() != flattenHead {
						bad(where+".mapping", "%q flattens a second array: only one array may be flattened per schema", col.Mapping)
					}
					c.flatten = append(c.flatten, i)
				}
			}
		}
		c.cols = append(c.cols, cc)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("input schema: %w", errors.Join(errs...))
	}
	return c, nil
}

// outputSchema is the schema of a decoder's batches: ROWTIME,
// APPROXIMATE_ARRIVAL_TIME, the mapped columns, then the extra columns when
// asked for.
func outputSchema(c *compiled, opts DecoderOptions) types.Schema {
	fs := []types.Field{
		{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
		{Name: ArrivalTimeName, Type: types.TTimestamp},
	}
	for _, col := range c.cols {
		fs = append(fs, types.Field{Name: col.name, Type: col.typ})
	}
	if opts.ExtraColumns {
		fs = append(fs,
			types.Field{Name: PartitionKeyName, Type: types.VarcharOf(256)},
			types.Field{Name: SequenceNumberName, Type: types.VarcharOf(128)},
			types.Field{Name: ShardIDName, Type: types.VarcharOf(64)},
		)
	}
	return types.Schema{Fields: fs}
}
