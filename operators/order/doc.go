// Package order executes the ordering clauses of KDA SQL on a stream
// (KDA-SQL.md §1.4):
//
//   - Sort: ORDER BY with a monotonic leading key, e.g.
//     ORDER BY FLOOR(s.ROWTIME TO MINUTE), ANOMALY_SCORE DESC. Rows are
//     buffered while the leading key stays the same and emitted sorted by the
//     remaining keys when it changes, or, for a time-based key of width w
//     (FLOOR/STEP of ROWTIME), when stream time reaches key + w.
//   - TSort: ORDER BY ts WITHIN INTERVAL 'n' unit. Rows are reordered by ts
//     within a sliding window of that length; a row is emitted, with ts as
//     its ROWTIME, once stream time reaches ts + within.
//
// # Data flow
//
// Incoming batches are kept (retained) as chunks; the operators hold
// references (chunk, row) plus the evaluated sort keys, so no row is copied
// until it is emitted. Emission gathers the referenced rows column by column
// into one new batch (gather.go); a chunk is released when its last row has
// gone out. A snapshot writes the buffered rows as one Arrow IPC record and
// the operator's counters; Restore reads them back as a single chunk and
// re-evaluates the sort keys, which are deterministic functions of the rows.
//
// # Semantics chosen where KDA-SQL.md leaves room
//
//   - Sort output ROWTIME: every row of a group takes the greatest ROWTIME
//     among the group's rows (its last row's, as input ROWTIME never
//     decreases). Sorting inside a group would otherwise make ROWTIME go
//     backwards; with this rule the output stays non-decreasing and does not
//     depend on when heartbeats arrive.
//   - Sort keys: NULL sorts before every value ascending and after every
//     value descending (NULL is the smallest value); ties keep arrival
//     order. A NULL leading key sends the row to error_stream
//     (NULL_ORDER_KEY); a leading key smaller than the current group's (a
//     false MONOTONIC assertion) sends it there as LATE_ROW.
//   - TSort: a row whose ts is NULL is discarded (as KDA documents). A row
//     is late when its ts is earlier than the greatest ts already emitted —
//     the emitted watermark — because emitting it would make ROWTIME go
//     backwards; it goes to error_stream as LATE_ROW. Ties in ts keep
//     arrival order. Stream time is the greatest of the rows' ROWTIMEs and
//     the Advance heartbeats.
package order
