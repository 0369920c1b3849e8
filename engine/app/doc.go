// Package app runs SQL applications: it reads an application Definition
// (SQL plus a small configuration, as Kinesis Data Analytics' CreateApplication
// had), compiles its SQL into an operator DAG, feeds it records — replayed
// from a file by `kda run` and the golden tests, or read from kda streams by
// `kda serve` — and delivers the in-application streams to their outputs.
//
//	records ─► input.Decoder ─► SOURCE_SQL_STREAM_001 ─► pumps (operator chains) ─► streams ─► outputs
//	                 └──────────── failed rows ─────────────────────────────► error_stream
//
// Inside `kda serve` (or any engine.Engine) a Manager keeps applications in
// the store (definition, version id, desired state) and runs them live
// (live.go): shard readers feed one driver goroutine, which buffers output
// rows and, every checkpoint interval, commits output records, the runtime
// snapshot and the input positions in ONE store transaction — so a crash
// resumes from the last checkpoint and no window result is lost or repeated.
package app
