// Result bookkeeping for live queries, kept free of the DOM so node tests
// can cover it: a bounded row buffer per output stream, ROWTIME parsing and
// the choice of chart for a stream's columns.

// RowBuffer keeps the newest `limit` rows of a stream.
export class RowBuffer {
  constructor(limit = 500) {
    this.limit = limit;
    this.rows = [];
    this.total = 0;
  }
  push(rows) {
    this.total += rows.length;
    this.rows.push(...rows);
    if (this.rows.length > this.limit) this.rows.splice(0, this.rows.length - this.limit);
  }
  // newest returns up to n rows, newest first.
  newest(n = this.limit) {
    return this.rows.slice(-n).reverse();
  }
}

const NUMERIC = /^(TINYINT|SMALLINT|INT|INTEGER|BIGINT|REAL|FLOAT|DOUBLE|DECIMAL|NUMERIC)\b/i;
const TEXT = /^(CHAR|VARCHAR|CHARACTER|STRING|TEXT)\b/i;

export const isNumericType = (t) => NUMERIC.test(String(t || '').trim());
export const isTextType = (t) => TEXT.test(String(t || '').trim());

// parseRowtime reads "yyyy-MM-dd HH:mm:ss.SSS" (UTC) into epoch
// milliseconds; it also accepts ISO strings and numbers. NaN when unreadable.
export function parseRowtime(v) {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/.exec(v.trim());
  if (!m) return Date.parse(v);
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms);
}

// chartPlan decides how to chart a stream from its columns
// ([{name, type}]):
//   - anomaly: a column named like ANOMALY_SCORE, drawn over ROWTIME with
//     the points above a threshold highlighted;
//   - bar: a text key and a number (a leaderboard), drawn for the latest
//     ROWTIME (the latest window);
//   - line: numbers over ROWTIME;
//   - none: nothing numeric to draw.
export function chartPlan(columns) {
  const cols = (columns || []).filter((c) => c.name.toUpperCase() !== 'ROWTIME');
  const numeric = cols.filter((c) => isNumericType(c.type)).map((c) => c.name);
  const text = cols.filter((c) => isTextType(c.type)).map((c) => c.name);
  const anomaly = cols.find((c) => /ANOMALY/i.test(c.name) && isNumericType(c.type));
  if (anomaly) return { kind: 'anomaly', score: anomaly.name, numeric };
  if (!numeric.length) return { kind: 'none', numeric };
  if (text.length) return { kind: 'bar', key: text[0], value: numeric[0], numeric };
  return { kind: 'line', numeric: numeric.slice(0, 6) };
}

// latestWindow returns the rows sharing the greatest ROWTIME, sorted by
// value descending and cut to `top` (a leaderboard's latest window).
export function latestWindow(rows, key, value, top = 15) {
  let latest = -Infinity;
  for (const r of rows) latest = Math.max(latest, parseRowtime(r.ROWTIME));
  const byKey = new Map();
  for (const r of rows) if (parseRowtime(r.ROWTIME) === latest) byKey.set(String(r[key]), Number(r[value]));
  return [...byKey.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => ({ key: k, value: v }));
}

// lineSeries turns rows into uPlot data: [xs (seconds), ys per column],
// sorted by ROWTIME; rows without a readable ROWTIME are skipped.
export function lineSeries(rows, columns) {
  const pts = rows
    .map((r) => [parseRowtime(r.ROWTIME), r])
    .filter(([t]) => Number.isFinite(t))
    .sort((a, b) => a[0] - b[0]);
  return [pts.map(([t]) => t / 1000), ...columns.map((c) => pts.map(([, r]) => (r[c] == null ? null : Number(r[c]))))];
}

// anomalySeries splits scores into normal points and the points above
// threshold, as two uPlot series over the same x.
export function anomalySeries(rows, score, threshold) {
  const [xs, ys] = lineSeries(rows, [score]);
  return [xs, ys.map((y) => (y != null && y > threshold ? null : y)), ys.map((y) => (y != null && y > threshold ? y : null))];
}

// positionOf maps a 1-based line and column to an offset in text, clamped
// to the text; column 0 or missing means the start of the line.
export function positionOf(text, line, column) {
  const lines = text.split('\n');
  const l = Math.min(Math.max(1, line | 0), lines.length);
  let off = 0;
  for (let i = 0; i < l - 1; i++) off += lines[i].length + 1;
  const c = Math.min(Math.max(1, column | 0), lines[l - 1].length + 1);
  return off + c - 1;
}

// wrapAsApplication turns a bare SELECT STREAM preview into application
// code: an output stream with the preview's columns and a pump into it.
// SQL that already creates pumps is returned as is.
export function wrapAsApplication(sql, columns, stream = 'DESTINATION_SQL_STREAM') {
  const body = sql.trim().replace(/;\s*$/, '');
  if (/\bCREATE\s+(OR\s+REPLACE\s+)?PUMP\b/i.test(body)) return { sql: sql.trim(), outputs: pumpTargets(body) };
  const cols = (columns || [])
    .filter((c) => c.name.toUpperCase() !== 'ROWTIME')
    .map((c) => `"${c.name}" ${c.type}`)
    .join(', ');
  return {
    sql: `CREATE OR REPLACE STREAM "${stream}" (${cols});\nCREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "${stream}"\n${body};\n`,
    outputs: [stream],
  };
}

// pumpTargets lists the streams pumps insert into, in order, without
// duplicates (quoted names keep their case, others are upper-cased).
export function pumpTargets(sql) {
  const out = [];
  for (const m of sql.matchAll(/INSERT\s+(?:EXPEDITED\s+)?INTO\s+("([^"]+)"|[A-Za-z_][\w$]*)/gi)) {
    const name = m[2] !== undefined ? m[2] : m[1].toUpperCase();
    if (!out.includes(name)) out.push(name);
  }
  return out;
}
