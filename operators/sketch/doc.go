// Package sketch holds the bounded-memory table-function operators of KDA
// SQL (docs KDA-SQL.md §4.3-4.4), planned from
// FROM TABLE(fn(CURSOR(query), args...)) by sql/plan/tablefunc.go:
//
//   - TopK (TOP_K_ITEMS_TUMBLING): a Space-Saving sketch of
//     Capacity(K) = max(2K, 1024) counters per tumbling window; at the
//     window end up to K rows (item, ITEM_COUNT BIGINT) by count
//     descending, then item ascending. Exact while the window holds at most
//     Capacity(K) distinct items.
//   - Distinct (COUNT_DISTINCT_ITEMS_TUMBLING): the exact set of 64-bit
//     value hashes up to 10,000 distinct items, then HyperLogLog with 2^14
//     registers (about 0.8% standard error); one row per window,
//     NUMBER_OF_DISTINCT_ITEMS BIGINT.
//   - Hotspots (HOTSPOTS): grid-based DBSCAN over the last windowSize
//     points; every input row comes out with HOTSPOTS_RESULT VARCHAR(10000).
//
// Output schemas. KDA's examples read TOP_K's result positionally
// (SELECT STREAM * into (TICKER_SYMBOL VARCHAR(4), MOST_FREQUENT_VALUES
// BIGINT), or into (ITEM VARCHAR(1024), ITEM_COUNT DOUBLE)), so the names
// are free: the item column keeps the cursor column's name and type (a
// VARCHAR(4) ticker stays VARCHAR(4), an INTEGER id stays INTEGER) and the
// count is ITEM_COUNT BIGINT (ITEM_COUNT_2 if the item column is itself
// called ITEM_COUNT). A BIGINT count is assignable to DOUBLE targets.
//
// Windows of the tumbling functions are aligned on multiples of their size
// since the epoch, like STEP(ROWTIME BY INTERVAL 'n' SECOND); they close
// when a row or a heartbeat reaches the window end, and their rows carry
// the window end as ROWTIME. NULL values are not items. A row whose window
// has already closed goes to error_stream as LATE_ROW. Every operator
// implements operators.Stateful (a gob snapshot behind a "KDAK" header).
package sketch
