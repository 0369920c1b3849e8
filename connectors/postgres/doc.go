// Package postgres is the PostgreSQL record sink of delivery streams,
// kda's counterpart of Firehose's Redshift destination: each record (a
// JSON object, usually an application's output row) becomes one row of a
// table.
//
// # Configuration
//
//	{
//	  "dsn": "postgres://root@127.0.0.1:5432/test?sslmode=disable",
//	  "table": "trades",                  // or "schema.table"
//	  "columns": [
//	    {"name": "ticker", "type": "TEXT", "field": "TICKER"},
//	    {"name": "minute", "type": "TIMESTAMP"},
//	    {"name": "trades", "type": "BIGINT", "optional": true}
//	  ],
//	  "key": ["ticker", "minute"],        // optional: upsert on these columns
//	  "createTable": true,                // CREATE TABLE IF NOT EXISTS
//	  "batchSize": 5000,                  // rows per COPY (default 5000)
//	  "timeout": "30s"                    // bound on one Deliver (default 30s)
//	}
//
// A column's field defaults to its name and is looked up in the record
// exactly, then ignoring case (the rule of fields.Lookup, applied to
// records parsed with fastjson for speed), so "minute" finds MINUTE.
// Column and table names are quoted identifiers: "ticker" is the column
// ticker, "Ticker" a different one. A column's type is required with
// createTable and optional otherwise; the sink reads the table's real
// column types when it opens and converts values to them, and refuses a
// declared type of another family (TEXT for an integer column). The
// supported families are text (TEXT, VARCHAR(n), CHAR(n)), integers
// (SMALLINT, INTEGER, BIGINT), floats (REAL, DOUBLE PRECISION), NUMERIC(p,s),
// BOOLEAN, TIMESTAMP, TIMESTAMPTZ, DATE, JSON and JSONB.
//
// Conversion: JSON null is SQL NULL. Text columns take any value (numbers
// as written, objects as JSON). Numbers and numeric strings go to number
// columns (an integer column refuses 1.5 and out-of-range values).
// Timestamps are strings in kda's "2006-01-02 15:04:05.000" format (UTC,
// any number of fraction digits), RFC 3339, or numbers of milliseconds
// since the Unix epoch. JSON columns store the field's value as JSON.
//
// # Semantics
//
// Deliver writes a batch in one transaction. Without a key it COPYs the
// rows into the table: delivery is at least once, so a batch redelivered
// after a failure whose commit did in fact succeed is inserted twice.
// With a key it COPYs the rows into a temporary table and upserts them
// (INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE), keeping the last
// record of each key within the batch: redelivery rewrites the same rows,
// so the effect is exactly once. The key needs a unique index (createTable
// makes it the PRIMARY KEY); the sink checks the upsert statement when it
// opens.
//
// Bad records: every record of a batch is converted before anything is
// written. If any record is not a JSON object, lacks a required field or
// has a value its column cannot take, nothing is written and Deliver
// returns a *delivery.Permanent wrapping a *delivery.RecordErrors that lists every
// refused record by its index and ID, so the worker sends the batch to
// the error output (or, if it learns to, only the refused records, and
// redelivers the others). Errors the server reports as data or constraint
// errors (SQLSTATE classes 22 and 23), and errors of definition or
// permission (42, 28), are Permanent for the whole batch too. Every other
// error (a lost connection, a timeout) is returned as is, to be retried:
// the sink drops the broken connection and connects again on the next
// Deliver.
//
// # Limits
//
// One connection per sink (Deliver calls are serialized); pgxpool is not
// used because its dependency (jackc/puddle) is not in go.mod. Arrays,
// UUID and other types are not supported. The sink never alters an
// existing table.
package postgres
