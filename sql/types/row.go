package types

import (
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
)

// RowType is the fields of a ROW value: what the log parsing functions
// (REGEX_LOG_PARSE, W3C_LOG_PARSE, ...) return. A ROW lives inside a query
// only: a derived table may carry it as a column, and the enclosing query
// takes it apart with t.r.COLUMN1, but no stream has a ROW column.
type RowType struct {
	Fields []Field
}

// RowOf returns the ROW type with the given fields.
func RowOf(fields ...Field) Type {
	return Type{Kind: Row, Row: &RowType{Fields: fields}}
}

// FieldIndex returns the position of the ROW field named name, or -1 (also
// when t is not a ROW).
func (t Type) FieldIndex(name string) int {
	if t.Kind != Row || t.Row == nil {
		return -1
	}
	for i, f := range t.Row.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// rowString writes ROW(COLUMN1 VARCHAR(1024), COLUMN2 TIMESTAMP).
func (t Type) rowString() string {
	if t.Row == nil {
		return "ROW()"
	}
	parts := make([]string, len(t.Row.Fields))
	for i, f := range t.Row.Fields {
		name := f.Name
		if !plainName(name) {
			name = `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		}
		parts[i] = name + " " + f.Type.String()
	}
	return "ROW(" + strings.Join(parts, ", ") + ")"
}

func plainName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

// rowArrow is the Arrow struct type of a ROW: one nullable child per field,
// whatever the field's NOT NULL (a NULL row has NULL fields).
func (t Type) rowArrow() arrow.DataType {
	var fs []arrow.Field
	if t.Row != nil {
		fs = make([]arrow.Field, len(t.Row.Fields))
		for i, f := range t.Row.Fields {
			fs[i] = arrow.Field{Name: f.Name, Type: f.Type.Arrow(), Nullable: true}
		}
	}
	return arrow.StructOf(fs...)
}
