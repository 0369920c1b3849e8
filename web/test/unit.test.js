// Unit tests of the console's DOM-free modules (node only, no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SSEParser } from '../src/sse.js';
import { RowBuffer, parseRowtime, chartPlan, latestWindow, positionOf, wrapAsApplication, pumpTargets, anomalySeries } from '../src/results.js';

test('the SSE parser joins events split across chunks and line endings', () => {
  const p = new SSEParser();
  assert.deepEqual(p.push('event: schema\ndata: {"a"'), []);
  assert.deepEqual(p.push(':1}\n\r'), []);
  assert.deepEqual(p.push('\nevent: rows\r\ndata: [1,\r\ndata: 2]\r\n\r\n: keep-alive\n\ndata: x\n\n'), [
    { event: 'schema', data: '{"a":1}' },
    { event: 'rows', data: '[1,\n2]' },
    { event: 'message', data: 'x' },
  ]);
});

test('the row buffer keeps the newest rows and counts all of them', () => {
  const b = new RowBuffer(3);
  b.push([1, 2]);
  b.push([3, 4, 5]);
  assert.deepEqual(b.rows, [3, 4, 5]);
  assert.equal(b.total, 5);
  assert.deepEqual(b.newest(2), [5, 4]);
});

test('ROWTIME strings are read as UTC milliseconds', () => {
  assert.equal(parseRowtime('2024-03-01 12:00:05.250'), Date.UTC(2024, 2, 1, 12, 0, 5, 250));
  assert.equal(parseRowtime('1970-01-01 00:01:00.000'), 60000);
  assert.ok(Number.isNaN(parseRowtime('soon')));
});

test('the chart follows the columns', () => {
  const c = (name, type) => ({ name, type });
  assert.equal(chartPlan([c('ROWTIME', 'TIMESTAMP'), c('N', 'BIGINT'), c('AVG_P', 'DOUBLE')]).kind, 'line');
  assert.deepEqual(chartPlan([c('ROWTIME', 'TIMESTAMP'), c('TICKER', 'VARCHAR(8)'), c('TRADES', 'INTEGER')]), {
    kind: 'bar',
    key: 'TICKER',
    value: 'TRADES',
    numeric: ['TRADES'],
  });
  assert.equal(chartPlan([c('PRICE', 'DOUBLE'), c('ANOMALY_SCORE', 'DOUBLE')]).kind, 'anomaly');
  assert.equal(chartPlan([c('ROWTIME', 'TIMESTAMP'), c('NAME', 'VARCHAR(10)')]).kind, 'none');
});

test('the bar chart shows the latest window, largest first', () => {
  const rows = [
    { ROWTIME: '2024-01-01 00:00:10.000', K: 'a', N: 9 },
    { ROWTIME: '2024-01-01 00:00:20.000', K: 'a', N: 1 },
    { ROWTIME: '2024-01-01 00:00:20.000', K: 'b', N: 5 },
  ];
  assert.deepEqual(latestWindow(rows, 'K', 'N'), [
    { key: 'b', value: 5 },
    { key: 'a', value: 1 },
  ]);
});

test('anomaly scores above the threshold go to their own series', () => {
  const rows = [
    { ROWTIME: '2024-01-01 00:00:01.000', S: 0.5 },
    { ROWTIME: '2024-01-01 00:00:02.000', S: 3 },
  ];
  const [xs, normal, high] = anomalySeries(rows, 'S', 2);
  assert.equal(xs.length, 2);
  assert.deepEqual(normal, [0.5, null]);
  assert.deepEqual(high, [null, 3]);
});

test('an error position maps to an offset in the text, clamped', () => {
  const text = 'SELECT\n  x FROM\nS';
  assert.equal(positionOf(text, 2, 3), 9); // the x
  assert.equal(positionOf(text, 9, 1), 16); // past the end: the last line
  assert.equal(positionOf(text, 1, 99), 6); // past the line's end: its end
});

test('a bare SELECT STREAM becomes an output stream and a pump', () => {
  const w = wrapAsApplication('SELECT STREAM k, COUNT(*) AS n FROM SOURCE_SQL_STREAM_001 GROUP BY k;\n', [
    { name: 'ROWTIME', type: 'TIMESTAMP' },
    { name: 'K', type: 'VARCHAR(4)' },
    { name: 'N', type: 'BIGINT' },
  ]);
  assert.match(w.sql, /^CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" \("K" VARCHAR\(4\), "N" BIGINT\);/);
  assert.match(w.sql, /INSERT INTO "DESTINATION_SQL_STREAM"\nSELECT STREAM k/);
  assert.deepEqual(w.outputs, ['DESTINATION_SQL_STREAM']);
  assert.deepEqual(pumpTargets('CREATE PUMP p AS INSERT INTO "Out" SELECT 1; CREATE PUMP q AS INSERT INTO o2 SELECT 2'), ['Out', 'O2']);
});
