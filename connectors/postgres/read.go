package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// ReadRows runs query in a read-only transaction on a fresh connection to
// dsn and hands over its result: columns once with the result's column
// names, then row for every row with its values as one JSON array, in
// column order. An application's reference table loads this way.
//
// Values become JSON the way the input mapping reads them: numbers and
// booleans as such (NUMERIC exactly), text as strings, timestamps as
// "2006-01-02 15:04:05.000" (UTC), dates as "2006-01-02", times as
// "15:04:05.000", bytea as "X'…'" hex, json/jsonb and arrays as JSON, and
// any other type as its text. An error returned by columns or row stops
// the query and is returned.
func ReadRows(ctx context.Context, dsn, query string, columns func(names []string) error, row func(values []byte) error) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin a read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	names := make([]string, len(fds))
	for i, fd := range fds {
		names[i] = fd.Name
	}
	if err := columns(names); err != nil {
		return err
	}
	var buf []byte
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		buf = append(buf[:0], '[')
		for i, v := range vals {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = appendJSONValue(buf, v, fds[i].DataTypeOID); err != nil {
				return fmt.Errorf("column %s: %w", names[i], err)
			}
		}
		buf = append(buf, ']')
		if err := row(buf); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return nil
}

// appendJSONValue appends v, a value pgx decoded from a column of type
// oid, as JSON.
func appendJSONValue(buf []byte, v any, oid uint32) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return strconv.AppendQuote(buf, v), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case int16:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case float32:
		return appendFloat(buf, float64(v), 32), nil
	case float64:
		return appendFloat(buf, v, 64), nil
	case time.Time:
		layout := "2006-01-02 15:04:05.000"
		if oid == pgtype.DateOID {
			layout = "2006-01-02"
		}
		return strconv.AppendQuote(buf, v.UTC().Format(layout)), nil
	case pgtype.Time:
		if !v.Valid {
			return append(buf, "null"...), nil
		}
		t := time.UnixMicro(v.Microseconds).UTC()
		return strconv.AppendQuote(buf, t.Format("15:04:05.000")), nil
	case []byte:
		return strconv.AppendQuote(buf, "X'"+hex.EncodeToString(v)+"'"), nil
	case [16]byte:
		return strconv.AppendQuote(buf, fmt.Sprintf("%x-%x-%x-%x-%x", v[0:4], v[4:6], v[6:8], v[8:10], v[10:16])), nil
	case pgtype.Numeric:
		b, err := v.MarshalJSON()
		if err != nil {
			return buf, err
		}
		return append(buf, b...), nil
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			return buf, err
		}
		return append(buf, b...), nil
	case fmt.Stringer:
		return strconv.AppendQuote(buf, v.String()), nil
	}
	if b, err := json.Marshal(v); err == nil {
		return append(buf, b...), nil
	}
	return strconv.AppendQuote(buf, fmt.Sprint(v)), nil
}

// appendFloat writes a float as a JSON number, or as a string for NaN and
// infinities, which JSON cannot hold.
func appendFloat(buf []byte, f float64, bits int) []byte {
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if s == "NaN" || s == "+Inf" || s == "-Inf" {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}
