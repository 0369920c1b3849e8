// Package operators executes SQL applications: the operators of an
// application's DAG, exchanging Apache Arrow record batches. The planner in
// sql/plan builds operators from a parsed application; nothing here imports
// the SQL parser.
//
// # Batches
//
// Every batch between operators is an arrow.Record whose column 0 is ROWTIME
// (timestamp[ms], never null, non-decreasing along a stream). The other
// columns follow the stream's types.Schema. A batch is cut by size (about
// 4,096 rows) or by a short deadline, so throughput and latency both hold.
//
// # Time
//
// Operators never read the wall clock. Stream time advances with the ROWTIME
// of the rows they see and with Advance heartbeats from the runtime, so that
// idle windows close and replays (kda run, tests) are deterministic.
//
// # Errors
//
// A row that cannot be processed (a failed coercion, a division by zero, a
// bad function argument, a row out of ROWTIME order) never stops an
// application: it is reported to the Context's ErrorSink, which writes it to
// the application's error_stream, and the batch goes on without it.
package operators
