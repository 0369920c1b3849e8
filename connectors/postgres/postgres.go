package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/valyala/fastjson"

	"github.com/kdaproject/kda/connectors/delivery"
)

// Connector declares the "postgres" destination for the engine to
// register.
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind: "postgres",
		Doc:  "PostgreSQL table: COPY, or upsert on a key for an exactly-once effect",
		Example: json.RawMessage(`{
  "dsn": "postgres://root@127.0.0.1:5432/test?sslmode=disable",
  "table": "trades",
  "columns": [
    {"name": "ticker", "type": "TEXT", "field": "TICKER"},
    {"name": "minute", "type": "TIMESTAMP"},
    {"name": "trades", "type": "BIGINT"},
    {"name": "volume", "type": "DOUBLE PRECISION"}
  ],
  "key": ["ticker", "minute"],
  "createTable": true,
  "batchSize": 5000
}`),
		OpenSink: func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
			return Open(ctx, config)
		},
	}
}

// stageTable is the per-connection temporary table that upserts COPY
// into; its rows are deleted at each commit.
const stageTable = "kda_stage"

// Sink writes records to a table. Deliver calls are serialized.
type Sink struct {
	s      *settings
	conv   []converter // per column, from the table's real types
	copyTo pgx.Identifier
	names  []string // column names, for COPY
	upsert string   // INSERT ... ON CONFLICT, with a key
	stage  string   // CREATE TEMP TABLE, with a key

	mu     sync.Mutex
	conn   *pgx.Conn // nil after a lost connection
	closed bool
}

// Open validates the configuration, connects, creates the table if asked
// to, and checks that the columns (and the upsert key) fit the table.
func Open(ctx context.Context, config json.RawMessage) (*Sink, error) {
	s, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	k := &Sink{s: s, copyTo: s.table}
	for _, c := range s.columns {
		k.names = append(k.names, c.Name)
	}
	cols := quoteAll(k.names)
	if len(s.key) > 0 {
		k.copyTo = pgx.Identifier{stageTable}
		k.stage = fmt.Sprintf("CREATE TEMP TABLE %s ON COMMIT DELETE ROWS AS SELECT %s FROM %s WITH NO DATA",
			pgx.Identifier{stageTable}.Sanitize(), cols, s.table.Sanitize())
		var keys, sets []string
		for _, i := range s.key {
			keys = append(keys, pgx.Identifier{s.columns[i].Name}.Sanitize())
		}
		for i, c := range s.columns {
			if !isKey(s.key, i) {
				q := pgx.Identifier{c.Name}.Sanitize()
				sets = append(sets, q+" = EXCLUDED."+q)
			}
		}
		action := "DO NOTHING"
		if len(sets) > 0 {
			action = "DO UPDATE SET " + strings.Join(sets, ", ")
		}
		k.upsert = fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s ON CONFLICT (%s) %s",
			s.table.Sanitize(), cols, cols, pgx.Identifier{stageTable}.Sanitize(), strings.Join(keys, ", "), action)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, s.conn)
	if err != nil {
		return nil, fmt.Errorf("postgres: dsn: connect: %w", err)
	}
	if err := k.prepareTable(ctx, conn); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	k.conn = conn
	return k, nil
}

func isKey(key []int, i int) bool {
	for _, k := range key {
		if k == i {
			return true
		}
	}
	return false
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// prepareTable creates the table if asked to, reads its column types and
// checks the upsert statement.
func (k *Sink) prepareTable(ctx context.Context, conn *pgx.Conn) error {
	s := k.s
	if s.create {
		defs := make([]string, len(s.columns))
		for i, c := range s.columns {
			defs[i] = pgx.Identifier{c.Name}.Sanitize() + " " + c.Type
		}
		if len(s.key) > 0 {
			var keys []string
			for _, i := range s.key {
				keys = append(keys, pgx.Identifier{s.columns[i].Name}.Sanitize())
			}
			defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
		}
		ddl := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", s.table.Sanitize(), strings.Join(defs, ", "))
		if _, err := conn.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("postgres: createTable: %s: %w", ddl, err)
		}
	}
	rows, err := conn.Query(ctx, `SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`, s.table.Sanitize())
	if err != nil {
		return fmt.Errorf("postgres: table: %s: %w", s.table.Sanitize(), err)
	}
	type col struct {
		oid uint32
		typ string
	}
	real := map[string]col{}
	for rows.Next() {
		var name string
		var c col
		if err := rows.Scan(&name, &c.oid, &c.typ); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: table: %s: %w", s.table.Sanitize(), err)
		}
		real[name] = c
	}
	if err := rows.Err(); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" {
			return fmt.Errorf("postgres: table: %s does not exist (create it, or set \"createTable\": true)", s.table.Sanitize())
		}
		return fmt.Errorf("postgres: table: %s: %w", s.table.Sanitize(), err)
	}
	for i, c := range s.columns {
		rc, ok := real[c.Name]
		if !ok {
			return fmt.Errorf("postgres: columns[%d]: %q is not a column of table %s", i, c.Name, s.table.Sanitize())
		}
		conv, ok := converterFor(rc.oid, rc.typ)
		if !ok {
			return fmt.Errorf("postgres: columns[%d]: %q has type %s, which the sink does not support", i, c.Name, rc.typ)
		}
		if s.families[i] != familyNone && s.families[i] != conv.fam {
			return fmt.Errorf("postgres: columns[%d]: declared %s, but column %q of %s is %s", i, c.Type, c.Name, s.table.Sanitize(), rc.typ)
		}
		k.conv = append(k.conv, conv)
	}
	if k.upsert != "" {
		// Planning the upsert checks that a unique index matches the key,
		// without writing anything.
		check := strings.Replace(k.upsert, "FROM "+pgx.Identifier{stageTable}.Sanitize(),
			"FROM "+s.table.Sanitize()+" WHERE false", 1)
		if _, err := conn.Exec(ctx, "EXPLAIN "+check); err != nil {
			return fmt.Errorf("postgres: key: %s cannot upsert on (%s) (it needs a unique index or primary key on exactly these columns): %w",
				s.table.Sanitize(), strings.Join(k.keyNames(), ", "), err)
		}
		if _, err := conn.Exec(ctx, k.stage); err != nil {
			return fmt.Errorf("postgres: create the staging table: %w", err)
		}
	}
	return nil
}

func (k *Sink) keyNames() []string {
	var out []string
	for _, i := range k.s.key {
		out = append(out, k.s.columns[i].Name)
	}
	return out
}

// rows converts records to table rows, keeping the last record of each
// key when there is one. Large batches are converted in parallel.
func (k *Sink) rows(records []delivery.Record) ([][]any, error) {
	s := k.s
	conv := make([]converted, len(records))
	vals := make([]any, len(records)*len(s.columns))
	workers := min(runtime.GOMAXPROCS(0), (len(records)+minPerWorker-1)/minPerWorker)
	if workers <= 1 {
		k.convertRange(records, conv, vals)
	} else {
		var wg sync.WaitGroup
		per := (len(records) + workers - 1) / workers
		for lo := 0; lo < len(records); lo += per {
			hi := min(lo+per, len(records))
			wg.Add(1)
			go func() {
				defer wg.Done()
				k.convertRange(records[lo:hi], conv[lo:hi], vals[lo*len(s.columns):hi*len(s.columns)])
			}()
		}
		wg.Wait()
	}
	out := make([][]any, 0, len(records))
	var bad []delivery.RecordError
	var byKey map[string]int
	if len(s.key) > 0 {
		byKey = make(map[string]int, len(records))
	}
	for i, c := range conv {
		switch {
		case c.err != nil:
			bad = append(bad, delivery.RecordError{Index: i, ID: records[i].ID, Err: c.err})
		case byKey != nil:
			if j, ok := byKey[c.key]; ok {
				out[j] = c.row // the last record of a key wins
				continue
			}
			byKey[c.key] = len(out)
			out = append(out, c.row)
		default:
			out = append(out, c.row)
		}
	}
	if len(bad) > 0 {
		return nil, &delivery.Permanent{Err: &delivery.RecordErrors{Total: len(records), Records: bad}}
	}
	return out, nil
}

// minPerWorker is the fewest records worth a goroutine of their own.
const minPerWorker = 1000

// converted is one record made a row, or the reason it cannot be.
type converted struct {
	row []any
	key string // the key columns' values, with a key
	err error
}

// convertRange converts records into out, using vals for the row values.
func (k *Sink) convertRange(records []delivery.Record, out []converted, vals []any) {
	s := k.s
	var kb []byte
	var parser fastjson.Parser
	for ri, r := range records {
		row := vals[ri*len(s.columns) : (ri+1)*len(s.columns) : (ri+1)*len(s.columns)]
		out[ri].row = row
		obj, err := object(&parser, r.Data)
		if err != nil {
			out[ri].err = err
			continue
		}
		for i, c := range s.columns {
			fv, ok := lookup(obj, c.Field)
			if !ok && !c.Optional {
				out[ri].err = fmt.Errorf("field %s (column %s) is not in the record", c.Field, c.Name)
				break
			}
			var v any
			if ok {
				v = value(fv)
			}
			if v == nil {
				row[i] = nil
				continue
			}
			if row[i], err = k.conv[i].convert(v); err != nil {
				out[ri].err = fmt.Errorf("field %s (column %s): %w", c.Field, c.Name, err)
				break
			}
		}
		if out[ri].err != nil || len(s.key) == 0 {
			continue
		}
		kb = kb[:0]
		for _, i := range s.key {
			if row[i] == nil {
				out[ri].err = fmt.Errorf("field %s (key column %s) is null", s.columns[i].Field, s.columns[i].Name)
				break
			}
			kb = appendKey(kb, row[i])
		}
		out[ri].key = string(kb)
	}
}

// appendKey appends a key column's value so that equal values (as the
// converters make them) append equal bytes.
func appendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		b = append(b, x...)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case float64:
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		b = strconv.AppendBool(b, x)
	case time.Time:
		b = strconv.AppendInt(b, x.UnixNano(), 10)
	default:
		b = fmt.Appendf(b, "%v", x)
	}
	return append(b, 0)
}

// Deliver writes the records in one transaction. See the package comment
// for what it returns.
func (k *Sink) Deliver(ctx context.Context, records []delivery.Record) error {
	if len(records) == 0 {
		return nil
	}
	rows, err := k.rows(records)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", k.s.table.Sanitize(), err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return errors.New("postgres: sink is closed")
	}
	ctx, cancel := context.WithTimeout(ctx, k.s.timeout)
	defer cancel()
	if err := k.write(ctx, rows); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			switch pe.Code[:2] {
			case "22", "23", "42", "28":
				return &delivery.Permanent{Err: fmt.Errorf("postgres: deliver %d records to %s: %w", len(records), k.s.table.Sanitize(), err)}
			}
		}
		// Anything else may have broken the connection: start afresh.
		if k.conn != nil {
			cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
			k.conn.Close(cctx)
			ccancel()
			k.conn = nil
		}
		return fmt.Errorf("postgres: deliver %d records to %s: %w", len(records), k.s.table.Sanitize(), err)
	}
	return nil
}

func (k *Sink) write(ctx context.Context, rows [][]any) error {
	if k.conn == nil || k.conn.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, k.s.conn)
		if err != nil {
			return fmt.Errorf("reconnect: %w", err)
		}
		k.conn = conn
		if k.stage != "" {
			if _, err := conn.Exec(ctx, k.stage); err != nil {
				return fmt.Errorf("create the staging table: %w", err)
			}
		}
	}
	tx, err := k.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { // a no-op after Commit
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	for start := 0; start < len(rows); start += k.s.batchSize {
		end := min(start+k.s.batchSize, len(rows))
		if _, err := tx.CopyFrom(ctx, k.copyTo, k.names, pgx.CopyFromRows(rows[start:end])); err != nil {
			return err
		}
	}
	if k.upsert != "" {
		if _, err := tx.Exec(ctx, k.upsert); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// Close closes the connection.
func (k *Sink) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := k.conn.Close(ctx)
	k.conn = nil
	return err
}
