// Package window executes KDA SQL's windowed aggregations (KDA-SQL.md §2):
//
//   - Tumbling: the streaming GROUP BY over a monotonic key such as
//     STEP(ROWTIME BY INTERVAL '1' MINUTE); one row per (window, keys) group
//     when stream time passes the window end.
//   - Sliding: aggregates OVER a RANGE or ROWS window; one row per input row,
//     at once.
//   - Stagger: WINDOWED BY STAGGER; a window per partition key from its first
//     row, one row when it closes.
//
// # Data flow
//
// Each batch's grouping expressions are evaluated into columns, hashed into
// dense group ids by a table specialised for one integer key, one string
// key, or a byte-encoded composite key; the aggregates' arguments are
// evaluated and converted once per batch to int64, float64 or string
// columns; then every aggregate updates its state arrays, indexed by group
// id, in a loop over the batch. Tumbling and Stagger only add rows to a
// group and clear its slot when the window closes (the id is reused);
// Sliding keeps each partition's rows in a ring buffer and maintains running
// sums that rows are subtracted from as they expire, with monotonic deques
// for MIN and MAX, so each row costs O(1) amortised.
//
// Stream time is the ROWTIME of the rows seen and the instants given to
// Advance, so idle windows close on heartbeats and replays are
// deterministic. Rows whose expressions fail to evaluate go to error_stream
// and are not aggregated.
//
// Every operator implements operators.Stateful with a versioned binary
// snapshot (see codec.go); a restored operator continues exactly as the
// original would have.
package window
