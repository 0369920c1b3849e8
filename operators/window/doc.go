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
// # Semantics chosen where KDA-SQL.md leaves room
//
//   - Window bounds: a tumbling window with key k covers ROWTIMEs [k, k+Width)
//     and emits at stream time k+Width with that ROWTIME; a stagger window
//     opened at t covers [t, t+Range) and emits at t+Range; a sliding RANGE
//     window at a row's time t covers (t-Range, t]; ROWS n covers the row
//     and the n rows of its partition before it.
//   - Tumbling over a non-time key (Width 0): a group closes when a row with
//     a greater key arrives and takes that row's ROWTIME; Advance closes
//     nothing. A key that goes backwards, or a time-based key whose window
//     has already closed, sends the row to error_stream as LATE_ROW.
//   - NULLs: group and partition keys compare NULL equal to NULL and sort
//     first. Aggregates skip NULL arguments, except FIRST_VALUE and
//     LAST_VALUE, which return the first or last row's value, NULL or not
//     (SQL's default RESPECT NULLS). See ResultType for result types.
//   - DISTINCT changes COUNT, SUM, AVG and the variance family; for MIN,
//     MAX, FIRST_VALUE, LAST_VALUE, ANY and EVERY it is accepted and has no
//     effect; EXP_AVG rejects it. -0.0 and 0.0 are one value.
//   - EXP_AVG(x, h) is the average of x weighted by 2^((ROWTIME-t)/h) for
//     the window's rows, normalised by the sum of the weights, so it does
//     not depend on when it is read.
//   - A row whose expressions fail goes to error_stream and is neither
//     aggregated nor, for Sliding, output; its ROWTIME still advances stream
//     time for time-based windows.
//   - Several sliding windows in one query are a chain of Sliding operators
//     (see SlidingSpec).
//   - DECIMAL: SUM is exact in 128 bits; AVG, the variance family and
//     EXP_AVG are computed in DOUBLE.
//
// User aggregates (UserAggregate, e.g. JavaScript ones from
// CREATE AGGREGATE FUNCTION) run in tumbling, TUMBLE/HOP, stagger and
// sliding windows: operators queue their accumulate/retract/result/clear
// operations per batch and run them in one call; see useragg.go for the
// rules.
//
// Every operator implements operators.Stateful with a versioned binary
// snapshot (see codec.go); a restored operator continues exactly as the
// original would have.
package window
