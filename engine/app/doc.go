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
//
// Two JavaScript handlers (package udf) stand in for the Lambda functions
// of Kinesis Data Analytics, with their event and response contracts. An
// input pre-processor (preprocess.go) sees every batch of raw records in
// Push, before the decoder, and answers each Ok (new data, possibly several
// rows), Dropped or ProcessingFailed. An output post-processor
// (postprocess.go) receives an output's rendered rows after each window
// trigger, about once a second otherwise and before every checkpoint, and
// answers Ok or DeliveryFailed; Ok data may flow on to the output's stream
// or file. Failed invocations and rows are retried with backoff, then go to
// error_stream with the reason and the JavaScript stack.
//
// An application may read another system instead of a stream someone puts
// into (input.source, a kda extension; source.go): the manager opens the
// source kind's configuration from ManagerOptions.Sources when the
// application is created or updated, creates its input stream
// (kda-source-<name>, one shard, unless input.stream names one), and the
// runner starts a source.Bridge named after the application beside its
// shard readers. The bridge copies the source into the input stream
// exactly once (records and source positions in one commit) and is closed
// when the runner stops; deleting the application deletes its positions.
package app
