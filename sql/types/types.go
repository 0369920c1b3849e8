// Package types is kda's SQL type system: the types of the Kinesis Data
// Analytics dialect (KDA-SQL.md §5.1) and how each is carried in Apache Arrow
// arrays between operators. The dialect parses type names into Type, the
// planner checks expressions with it, and operators allocate Arrow arrays from
// Type.Arrow().
package types

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
)

// Kind is a SQL type without its parameters.
type Kind uint8

// The SQL types. Interval is a day-time interval; it exists only in
// expressions, never as a column type.
const (
	Null Kind = iota // the type of the literal NULL before it is coerced
	Boolean
	TinyInt
	SmallInt
	Integer
	BigInt
	Real
	Double
	Decimal
	Char
	Varchar
	Binary
	Varbinary
	Date
	Time
	Timestamp
	Interval
	Row // a composite value with named fields (row.go); never a stream column
)

var kindNames = [...]string{
	Null: "NULL", Boolean: "BOOLEAN", TinyInt: "TINYINT", SmallInt: "SMALLINT", Integer: "INTEGER",
	BigInt: "BIGINT", Real: "REAL", Double: "DOUBLE", Decimal: "DECIMAL", Char: "CHAR", Varchar: "VARCHAR",
	Binary: "BINARY", Varbinary: "VARBINARY", Date: "DATE", Time: "TIME", Timestamp: "TIMESTAMP",
	Interval: "INTERVAL", Row: "ROW",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Type is a SQL type with its parameters.
type Type struct {
	Kind Kind
	// Length of CHAR, VARCHAR, BINARY and VARBINARY (0: unbounded).
	Length int
	// Precision and Scale of DECIMAL.
	Precision, Scale int
	// NotNull is the column constraint NOT NULL.
	NotNull bool
	// Row holds the fields of a ROW (nil for every other kind). A pointer,
	// so that Type stays comparable.
	Row *RowType
}

// Convenience values for the parameterless types.
var (
	TBoolean   = Type{Kind: Boolean}
	TTinyInt   = Type{Kind: TinyInt}
	TSmallInt  = Type{Kind: SmallInt}
	TInteger   = Type{Kind: Integer}
	TBigInt    = Type{Kind: BigInt}
	TReal      = Type{Kind: Real}
	TDouble    = Type{Kind: Double}
	TDate      = Type{Kind: Date}
	TTime      = Type{Kind: Time}
	TTimestamp = Type{Kind: Timestamp}
	TInterval  = Type{Kind: Interval}
	TNull      = Type{Kind: Null}
)

// Varchar returns VARCHAR(n).
func VarcharOf(n int) Type { return Type{Kind: Varchar, Length: n} }

// String writes the type as SQL: VARCHAR(32), DECIMAL(10,2), BIGINT NOT NULL.
func (t Type) String() string {
	s := t.Kind.String()
	switch t.Kind {
	case Char, Varchar, Binary, Varbinary:
		if t.Length > 0 {
			s = fmt.Sprintf("%s(%d)", s, t.Length)
		}
	case Decimal:
		s = fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case Row:
		s = t.rowString()
	}
	if t.NotNull {
		s += " NOT NULL"
	}
	return s
}

// Nullable returns t without its NOT NULL constraint.
func (t Type) Nullable() Type { t.NotNull = false; return t }

// IsInteger reports TINYINT, SMALLINT, INTEGER and BIGINT.
func (t Type) IsInteger() bool { return t.Kind >= TinyInt && t.Kind <= BigInt }

// IsNumeric reports the integer, floating-point and DECIMAL types.
func (t Type) IsNumeric() bool { return t.Kind >= TinyInt && t.Kind <= Decimal }

// IsString reports CHAR and VARCHAR.
func (t Type) IsString() bool { return t.Kind == Char || t.Kind == Varchar }

// IsBinary reports BINARY and VARBINARY.
func (t Type) IsBinary() bool { return t.Kind == Binary || t.Kind == Varbinary }

// IsDatetime reports DATE, TIME and TIMESTAMP.
func (t Type) IsDatetime() bool { return t.Kind == Date || t.Kind == Time || t.Kind == Timestamp }

// Arrow is the Arrow type that carries values of t between operators:
//
//	BOOLEAN            boolean
//	TINYINT..BIGINT    int8, int16, int32, int64
//	REAL, DOUBLE       float32, float64
//	DECIMAL(p,s)       decimal128(p,s)
//	CHAR, VARCHAR      utf8
//	BINARY, VARBINARY  binary
//	DATE               date32 (days since the epoch)
//	TIME               time32[ms] (milliseconds since midnight)
//	TIMESTAMP          timestamp[ms] without a zone (UTC)
//	INTERVAL           duration[ms]
//	ROW                struct, one child per field
//	NULL               null
func (t Type) Arrow() arrow.DataType {
	switch t.Kind {
	case Boolean:
		return arrow.FixedWidthTypes.Boolean
	case TinyInt:
		return arrow.PrimitiveTypes.Int8
	case SmallInt:
		return arrow.PrimitiveTypes.Int16
	case Integer:
		return arrow.PrimitiveTypes.Int32
	case BigInt:
		return arrow.PrimitiveTypes.Int64
	case Real:
		return arrow.PrimitiveTypes.Float32
	case Double:
		return arrow.PrimitiveTypes.Float64
	case Decimal:
		p := t.Precision
		if p <= 0 {
			p = 19
		}
		return &arrow.Decimal128Type{Precision: int32(p), Scale: int32(t.Scale)}
	case Char, Varchar:
		return arrow.BinaryTypes.String
	case Binary, Varbinary:
		return arrow.BinaryTypes.Binary
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Time:
		return arrow.FixedWidthTypes.Time32ms
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Millisecond}
	case Interval:
		return arrow.FixedWidthTypes.Duration_ms
	case Row:
		return t.rowArrow()
	}
	return arrow.Null
}

// Field is a named, typed column.
type Field struct {
	Name string
	Type Type
}

// RowtimeName is the implicit, non-decreasing time column of every stream.
const RowtimeName = "ROWTIME"

// Schema is the columns of an in-application stream or an operator's output.
// By convention column 0 is ROWTIME (TIMESTAMP NOT NULL) in every schema
// that flows between operators.
type Schema struct {
	Fields []Field
}

// Index returns the position of the column named name, or -1.
func (s Schema) Index(name string) int {
	for i, f := range s.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Arrow builds the Arrow schema, with the SQL types kept in field metadata
// under "kda.type" so that VARCHAR(8) and CHAR(8) survive the trip.
func (s Schema) Arrow() *arrow.Schema {
	fs := make([]arrow.Field, len(s.Fields))
	for i, f := range s.Fields {
		fs[i] = arrow.Field{
			Name: f.Name, Type: f.Type.Arrow(), Nullable: !f.Type.NotNull,
			Metadata: arrow.NewMetadata([]string{"kda.type"}, []string{f.Type.String()}),
		}
	}
	return arrow.NewSchema(fs, nil)
}
