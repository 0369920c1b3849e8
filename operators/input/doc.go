// Package input maps raw stream records onto the first in-application
// stream of a SQL application, the way Kinesis Data Analytics' InputSchema
// did (KDA-SQL.md §5.2), and infers such a schema from sample records.
//
// # Data flow
//
// The source operator reads records from a shard (after the optional
// pre-processor) and hands them, with their ROWTIME and arrival time, to a
// Decoder built from a Schema:
//
//	[]Record ──Decoder.Decode──► arrow.Record (ROWTIME, APPROXIMATE_ARRIVAL_TIME, columns…)
//	                         └─► []operators.RowError (records that did not fit)
//
// JSON records whose mappings are all plain member chains ($.a.b) take the
// fast path (extract.go): one pass over the record's bytes that follows a
// trie of the mapped names, takes the values where they stand and skips the
// rest. Any other record, and any record the fast path is unsure of, is
// parsed into a tree with github.com/valyala/fastjson (the fastest of the
// libraries measured by BenchmarkDecodeJSON), on which each column's
// JSONPath is evaluated. Both give the same values (FuzzFastPath), which are
// coerced to the column's SQL type by KDA's JSON→SQL table. CSV records are split by position. Values are
// staged per record and appended to the batch's columns (columns.go: Go
// slices that become the Arrow buffers) only when the whole record
// converted, so a bad record leaves no partial row.
//
// # Decisions
//
//   - A payload may hold several concatenated JSON documents or several CSV
//     rows (the pre-processor contract allows it): each yields rows; if any
//     part fails, the whole record goes to error_stream and yields no row.
//   - CSV: missing trailing fields are NULL, extra fields are ignored (so raw
//     text can be read into one VARCHAR column), an empty field is NULL
//     except in CHAR/VARCHAR columns, empty lines are skipped.
//   - Object and array values in CHAR columns are their JSON text, compacted
//     (white space outside strings removed).
//   - CHAR(n) values are truncated to n characters but not padded.
//   - A missing or empty flattened array gives one row whose flattened
//     columns are NULL; a flattened path that meets a scalar or an object is
//     a coercion error.
//   - Strings for CHAR/VARCHAR must be valid UTF-8, the only encoding.
//   - Numbers never convert to datetimes (KDA's table calls it an error);
//     datetime strings with a zone offset are converted to UTC.
//
// Schema discovery (Discover) is shared by `kda discover` and the REST API.
package input
