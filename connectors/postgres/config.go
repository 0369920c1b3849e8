package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config is the configuration of a PostgreSQL sink; see the package
// comment for the meaning of each field.
type Config struct {
	DSN         string   `json:"dsn"`
	Table       string   `json:"table"`
	Columns     []Column `json:"columns"`
	Key         []string `json:"key,omitempty"`
	CreateTable bool     `json:"createTable,omitempty"`
	BatchSize   int      `json:"batchSize,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
}

// Column maps a record field to a table column.
type Column struct {
	Name string `json:"name"`
	// Type is a PostgreSQL type; required with createTable.
	Type string `json:"type,omitempty"`
	// Field is the record field; the column name by default.
	Field string `json:"field,omitempty"`
	// Optional makes a missing field NULL instead of a refused record.
	Optional bool `json:"optional,omitempty"`
}

// Defaults.
const (
	DefaultBatchSize      = 5000
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
)

// settings is a validated Config.
type settings struct {
	conn      *pgx.ConnConfig
	table     pgx.Identifier
	columns   []Column
	families  []family // declared, familyNone when not declared
	key       []int    // indexes into columns
	create    bool
	batchSize int
	timeout   time.Duration
}

// parseConfig decodes and validates a configuration without connecting.
func parseConfig(raw json.RawMessage) (*settings, error) {
	var c Config
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("postgres: config: %w", err)
	}
	s := &settings{create: c.CreateTable, batchSize: c.BatchSize, timeout: DefaultTimeout}
	if c.DSN == "" {
		return nil, fmt.Errorf(`postgres: dsn: required, e.g. "postgres://user@127.0.0.1:5432/db?sslmode=disable"`)
	}
	cc, err := pgx.ParseConfig(c.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: dsn: %w", err)
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "kda"
	}
	s.conn = cc
	if c.Table == "" {
		return nil, fmt.Errorf(`postgres: table: required, e.g. "trades" or "public.trades"`)
	}
	parts := strings.Split(c.Table, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("postgres: table: %q: write table or schema.table", c.Table)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("postgres: table: %q: empty name", c.Table)
		}
	}
	s.table = pgx.Identifier(parts)
	if len(c.Columns) == 0 {
		return nil, fmt.Errorf("postgres: columns: at least one column is required")
	}
	seen := map[string]int{}
	for i, col := range c.Columns {
		if col.Name == "" {
			return nil, fmt.Errorf("postgres: columns[%d]: name: required", i)
		}
		if j, ok := seen[col.Name]; ok {
			return nil, fmt.Errorf("postgres: columns[%d]: %q is also columns[%d]", i, col.Name, j)
		}
		seen[col.Name] = i
		if col.Field == "" {
			col.Field = col.Name
		}
		f := familyNone
		if col.Type != "" {
			if f, err = declaredFamily(col.Type); err != nil {
				return nil, fmt.Errorf("postgres: columns[%d]: type: %w", i, err)
			}
		} else if c.CreateTable {
			return nil, fmt.Errorf("postgres: columns[%d]: type: required with createTable", i)
		}
		s.columns = append(s.columns, col)
		s.families = append(s.families, f)
	}
	for i, k := range c.Key {
		j, ok := seen[k]
		if !ok {
			return nil, fmt.Errorf("postgres: key[%d]: %q is not a column", i, k)
		}
		for _, prev := range s.key {
			if prev == j {
				return nil, fmt.Errorf("postgres: key[%d]: %q is repeated", i, k)
			}
		}
		s.key = append(s.key, j)
		if s.columns[j].Optional {
			return nil, fmt.Errorf("postgres: key[%d]: %q is optional, but a key column cannot be NULL", i, k)
		}
	}
	switch {
	case s.batchSize == 0:
		s.batchSize = DefaultBatchSize
	case s.batchSize < 0:
		return nil, fmt.Errorf("postgres: batchSize: %d: must be positive", s.batchSize)
	}
	if c.Timeout != "" {
		if s.timeout, err = time.ParseDuration(c.Timeout); err != nil || s.timeout <= 0 {
			return nil, fmt.Errorf("postgres: timeout: %q: want a positive duration such as \"30s\"", c.Timeout)
		}
	}
	return s, nil
}

// family is a group of PostgreSQL types that take the same Go value.
type family int

const (
	familyNone family = iota
	familyText
	familyInt
	familyFloat
	familyNumeric
	familyBool
	familyTimestamp
	familyDate
	familyJSON
)

func (f family) String() string {
	return [...]string{"none", "text", "integer", "floating point", "numeric", "boolean", "timestamp", "date", "json"}[f]
}

var typeSyntax = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9 ]*?)\s*(\(\s*\d+\s*(,\s*\d+\s*)?\))?\s*$`)

var familyOfType = map[string]family{
	"TEXT": familyText, "VARCHAR": familyText, "CHARACTER VARYING": familyText,
	"CHAR": familyText, "CHARACTER": familyText, "BPCHAR": familyText,
	"SMALLINT": familyInt, "INT2": familyInt, "INT": familyInt, "INTEGER": familyInt,
	"INT4": familyInt, "BIGINT": familyInt, "INT8": familyInt,
	"REAL": familyFloat, "FLOAT4": familyFloat, "DOUBLE PRECISION": familyFloat,
	"FLOAT8": familyFloat, "FLOAT": familyFloat,
	"NUMERIC": familyNumeric, "DECIMAL": familyNumeric,
	"BOOLEAN": familyBool, "BOOL": familyBool,
	"TIMESTAMP": familyTimestamp, "TIMESTAMP WITHOUT TIME ZONE": familyTimestamp,
	"TIMESTAMPTZ": familyTimestamp, "TIMESTAMP WITH TIME ZONE": familyTimestamp,
	"DATE": familyDate, "JSON": familyJSON, "JSONB": familyJSON,
}

// declaredFamily checks a declared type, which createTable writes into
// the DDL as it is, and returns its family.
func declaredFamily(typ string) (family, error) {
	m := typeSyntax.FindStringSubmatch(typ)
	if m == nil {
		return familyNone, fmt.Errorf("%q is not a supported type (TEXT, VARCHAR(n), SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, NUMERIC(p,s), BOOLEAN, TIMESTAMP, TIMESTAMPTZ, DATE, JSON, JSONB)", typ)
	}
	base := strings.Join(strings.Fields(strings.ToUpper(m[1])), " ")
	f, ok := familyOfType[base]
	if !ok {
		return familyNone, fmt.Errorf("%q is not a supported type (TEXT, VARCHAR(n), SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, NUMERIC(p,s), BOOLEAN, TIMESTAMP, TIMESTAMPTZ, DATE, JSON, JSONB)", typ)
	}
	return f, nil
}
