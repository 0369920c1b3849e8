// Package pipeline wires an application's operators together: in-application
// streams as typed publish/subscribe channels, pumps that insert into them,
// error_stream, and the rendering of rows for outputs.
//
// Data flows from the input decoder into the first in-application stream
// (SOURCE_SQL_STREAM_001 by default). Every query that reads a stream is a
// Chain of operators subscribed to it; a pump's chain ends in an Insert into
// its target stream, which enforces non-decreasing ROWTIME and hands the rows
// to that stream's subscribers (further pumps, outputs). Rows that cannot go
// on — out of ROWTIME order, failed evaluation — become error_stream rows.
// Heartbeats (Advance) travel the same paths so that idle windows close.
package pipeline
