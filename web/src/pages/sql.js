// The SQL editor: preview a query against a stream with live tables and
// charts per output stream, discover the input schema from a sample, and
// save the query as an application.
import { h, replace, spinner, empty, errorBox, busy, fmtNum, fmtValue } from '../dom.js';
import { api, query, enc, listOf } from '../api.js';
import { createEditor } from '../editor.js';
import { LiveChart } from '../charts.js';
import { RowBuffer, wrapAsApplication } from '../results.js';
import { streamInfo } from './streams.js';

const SQL_KEY = 'kda.sql';
const ROW_LIMIT = 500;

const EXAMPLE = `-- A preview query: records per 10-second window.
-- Ctrl-Enter (or Run) streams the results below.
SELECT STREAM COUNT(*) AS records
FROM SOURCE_SQL_STREAM_001
GROUP BY STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '10' SECOND);
`;

export function sqlPage(root, _params, params, navigate) {
  const streamSel = h('select', { name: 'stream', 'aria-label': 'input stream' }, h('option', { value: '' }, 'Loading streams…'));
  const fromSel = h('select', { name: 'from', 'aria-label': 'start reading from' }, h('option', { value: 'LATEST' }, 'new records (LATEST)'), h('option', { value: 'TRIM_HORIZON' }, 'the oldest record (TRIM_HORIZON)'));
  const runBtn = h('button', { class: 'primary', id: 'run', onclick: () => run() }, '▶ Run');
  const stopBtn = h('button', { class: 'secondary', id: 'stop', disabled: true, onclick: () => stop('stopped') }, '■ Stop');
  const status = h('span', { class: 'status muted', id: 'run-status' }, 'Pick a stream and run a query.');
  const errorArea = h('div', { id: 'sql-error-area' });
  const results = h('div', { id: 'results' }, empty('No results yet', 'Run a query: each output stream gets a live table and, when it has numbers, a chart.'));
  const editorEl = h('div', { class: 'editor' });

  const editor = createEditor(editorEl, {
    doc: localStorage.getItem(SQL_KEY) || EXAMPLE,
    onRun: () => run(),
    onChange: (text) => localStorage.setItem(SQL_KEY, text),
  });

  let controller = null;
  let lastSchema = null; // the columns of the last run, per stream
  let sections = new Map();
  let started = 0;
  let ticker = null;

  function showError(err) {
    const line = err.line;
    const col = err.column;
    const where = line ? `Line ${line}${col ? `, column ${col}` : ''}: ` : '';
    // The server's message may repeat the position; say it once.
    const message = String(err.message || err).replace(/^line \d+(, column \d+)?:\s*/i, '');
    err = { ...err, message, code: err.code };
    if (!sections.size && results.querySelector('.spinner')) replace(results, empty('No results', 'Fix the query and run it again.'));
    replace(errorArea, h('div', { class: 'alert error', id: 'sql-error', role: 'alert', dataset: { line: line || '', column: col || '' } }, where, err.message || String(err)));
    if (line || /sql|parse|syntax|column|stream/i.test(err.code || '')) editor.markError(err.message || String(err), line, col);
  }

  function stop(reason) {
    if (controller) controller.abort();
    controller = null;
    clearInterval(ticker);
    runBtn.disabled = false;
    stopBtn.disabled = true;
    if (reason) setStatus(reason);
  }

  function setStatus(text, running = false) {
    const total = [...sections.values()].reduce((n, s) => n + s.buf.total, 0);
    replace(status, running ? h('span', { class: 'spinner small' }) : null, `${text} · ${fmtNum(total)} rows`);
  }

  function section(name, columns) {
    const buf = new RowBuffer(ROW_LIMIT);
    const chartEl = h('div');
    const chart = new LiveChart(chartEl, columns);
    const tbody = h('tbody');
    const count = h('span', { class: 'muted' }, 'no rows yet');
    const el = h(
      'section',
      { class: 'card result', dataset: { stream: name } },
      h('div', { class: 'row between' }, h('h2', {}, name), count),
      chartEl,
      h('div', { class: 'table-scroll' }, h('table', { class: 'grid compact' }, h('thead', {}, h('tr', {}, columns.map((c) => h('th', { title: c.type }, c.name)))), tbody)),
    );
    let pending = null;
    const s = {
      el,
      buf,
      chart,
      push(rows) {
        buf.push(rows);
        chart.update(buf.rows);
        if (pending) return;
        pending = setTimeout(() => {
          pending = null;
          count.textContent = `${fmtNum(buf.total)} rows${buf.total > ROW_LIMIT ? ` · newest ${ROW_LIMIT} shown` : ''}`;
          replace(tbody, buf.newest().map((r) => h('tr', {}, columns.map((c) => h('td', { class: typeof r[c.name] === 'number' ? 'num' : '' }, fmtValue(r[c.name]))))));
        }, 200);
      },
      destroy() {
        clearTimeout(pending);
        chart.destroy();
      },
    };
    return s;
  }

  function clearResults() {
    for (const s of sections.values()) s.destroy();
    sections = new Map();
  }

  async function run() {
    stop();
    editor.clearErrors();
    replace(errorArea);
    const stream = streamSel.value;
    if (!stream) {
      showError(new Error('Pick the input stream to query first (create one on the Streams page).'));
      return;
    }
    clearResults();
    replace(results, h('div', { class: 'card' }, spinner('Starting the query…')));
    controller = new AbortController();
    const mine = controller;
    runBtn.disabled = true;
    stopBtn.disabled = false;
    started = Date.now();
    setStatus('starting', true);
    ticker = setInterval(() => setStatus(`running ${Math.round((Date.now() - started) / 1000)} s`, true), 1000);
    try {
      await query(
        { sql: editor.value, stream, from: fromSel.value, maxRows: 100000, maxSeconds: 900 },
        {
          schema: (p) => {
            lastSchema = listOf(p, 'streams');
            clearResults();
            replace(results);
            if (!lastSchema.length) replace(results, empty('The query has no output streams', 'A preview needs a SELECT STREAM, or CREATE STREAM and a PUMP.'));
            for (const st of lastSchema) {
              const s = section(st.name, st.columns || []);
              sections.set(st.name, s);
              results.append(s.el);
            }
          },
          rows: (p) => {
            const s = sections.get(p.stream) || [...sections.values()][0];
            if (s) s.push(p.rows || []);
          },
          error: (p) => showError(p),
          end: (p) => stop(`ended${p && p.reason ? `: ${p.reason}` : ''}`),
        },
        mine.signal,
      );
      if (controller === mine) stop('ended');
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (controller === mine) stop('failed');
      if (!sections.size) replace(results);
      showError(err);
    }
  }

  // Schema discovery and "Save as application".
  const discoverBtn = h('button', { class: 'secondary', id: 'discover', type: 'button', onclick: () => discover() }, 'Discover schema from a sample');
  const schemaArea = h('div', { id: 'schema' }, h('p', { class: 'muted' }, 'An application maps each record to columns. Discover them from records already in the stream, then adjust names or types.'));
  let schema = null;

  async function discover() {
    const stream = streamSel.value;
    if (!stream) return replace(schemaArea, errorBox('Pick the input stream first.'));
    await busy(discoverBtn, async () => {
      try {
        const res = await api('POST', '/v1/discover', { stream });
        schema = res.schema || res;
        renderSchema();
      } catch (err) {
        replace(schemaArea, errorBox(err));
      }
    });
  }

  function renderSchema() {
    const cols = schema.columns || [];
    const fmt = (schema.recordFormat && schema.recordFormat.type) || 'JSON';
    const cell = (c, key) => h('input', { value: c[key] || '', class: key === 'mapping' ? 'mono' : '', oninput: (e) => (c[key] = e.target.value), 'aria-label': key });
    replace(
      schemaArea,
      h('p', {}, 'Record format ', h('span', { class: 'badge' }, fmt), ` · ${cols.length} columns`),
      cols.length
        ? h(
            'table',
            { class: 'grid compact schema', id: 'schema-table' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Column'), h('th', {}, 'SQL type'), h('th', {}, 'Mapping'))),
            h('tbody', {}, cols.map((c) => h('tr', {}, h('td', {}, cell(c, 'name')), h('td', {}, cell(c, 'sqlType')), h('td', {}, cell(c, 'mapping'))))),
          )
        : empty('No columns found', 'Put a few records into the stream and discover again.'),
    );
  }

  const appName = h('input', { name: 'app-name', placeholder: 'my-app', pattern: '[a-zA-Z0-9_.\\-]{1,128}' });
  const outStream = h('input', { name: 'output-stream', placeholder: 'optional, e.g. my-app-out' });
  const appFrom = h('select', { name: 'app-from' }, h('option', { value: 'TRIM_HORIZON' }, 'oldest record (TRIM_HORIZON)'), h('option', { value: 'NOW' }, 'new records (NOW)'));
  const startNow = h('input', { type: 'checkbox', name: 'start', checked: true });
  const saveMsg = h('div');
  const saveBtn = h('button', { class: 'primary', id: 'save-app', type: 'submit' }, 'Save as application');
  const saveForm = h(
    'form',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        replace(saveMsg);
        await busy(saveBtn, () => save());
      },
    },
    h('label', {}, 'Application name', appName),
    h('label', {}, 'Deliver the output to stream', outStream),
    h('label', {}, 'Start reading from', appFrom),
    h('label', { class: 'check' }, startNow, 'Start it now'),
    h('div', { class: 'row' }, saveBtn),
    saveMsg,
  );

  async function save() {
    try {
      const stream = streamSel.value;
      if (!stream) throw new Error('Pick the input stream first.');
      if (!appName.value.trim()) throw new Error('Name the application.');
      if (!schema) await discover();
      if (!schema || !(schema.columns || []).length) throw new Error('The input schema is empty: discover it from a stream with records first.');
      const cols = lastSchema && lastSchema[0] ? lastSchema[0].columns : null;
      const isBare = !/\bCREATE\s+(OR\s+REPLACE\s+)?PUMP\b/i.test(editor.value);
      if (isBare && !cols) throw new Error('Run the query once first, so the console knows the columns of its output.');
      const wrapped = wrapAsApplication(editor.value, cols);
      const out = outStream.value.trim();
      if (out) {
        try {
          await api('GET', `/v1/streams/${enc(out)}`);
        } catch (err) {
          if (err.status !== 404) throw err;
          await api('POST', '/v1/streams', { name: out, shards: 1 });
        }
      }
      const def = {
        name: appName.value.trim(),
        sql: wrapped.sql,
        input: { stream, startingPosition: appFrom.value, schema },
        outputs: out && wrapped.outputs.length ? [{ name: wrapped.outputs[0], stream: out }] : [],
      };
      await api('POST', `/v1/apps${startNow.checked ? '?start=true' : ''}`, def);
      navigate(`/apps/${enc(def.name)}`);
    } catch (err) {
      replace(saveMsg, errorBox(err));
      if (err.line) showError(err);
    }
  }

  async function loadStreams() {
    try {
      const streams = listOf(await api('GET', '/v1/streams'), 'streams').map(streamInfo);
      const want = params.get('stream') || streamSel.value || localStorage.getItem('kda.stream') || '';
      replace(streamSel, streams.length ? null : h('option', { value: '' }, 'no streams yet'), streams.map((s) => h('option', { value: s.name }, s.name)));
      if (streams.some((s) => s.name === want)) streamSel.value = want;
    } catch (err) {
      replace(streamSel, h('option', { value: '' }, 'cannot list streams'));
      showError(err);
    }
  }
  streamSel.addEventListener('change', () => {
    localStorage.setItem('kda.stream', streamSel.value);
    schema = null;
    replace(schemaArea, h('p', { class: 'muted' }, 'Discover the schema of the new stream.'));
  });
  loadStreams();

  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'SQL editor'), h('p', { class: 'muted' }, 'Preview Kinesis Data Analytics SQL on a live stream. Nothing is saved until you save it as an application. The input stream is ', h('code', {}, 'SOURCE_SQL_STREAM_001'), '.')),
    h(
      'div',
      { class: 'cols' },
      h(
        'div',
        { class: 'col-wide' },
        h('div', { class: 'toolbar card' }, h('label', {}, 'Stream', streamSel), h('label', {}, 'From', fromSel), runBtn, stopBtn, status),
        h('div', { class: 'card editor-card' }, editorEl),
        errorArea,
        results,
      ),
      h(
        'aside',
        { class: 'col-narrow' },
        h('section', { class: 'card' }, h('h2', {}, '1 · Input schema'), discoverBtn, schemaArea),
        h('section', { class: 'card' }, h('h2', {}, '2 · Save as application'), saveForm),
      ),
    ),
  );
  editor.focus();
  return () => {
    stop();
    clearResults();
    editor.destroy();
  };
}
