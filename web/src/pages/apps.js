// Applications: the list with start/stop, and one application's page with
// its pump graph, counters, SQL and the rows of its error_stream.
import { h, replace, spinner, empty, errorBox, busy, fmtNum, fmtValue } from '../dom.js';
import { api, enc, listOf } from '../api.js';

const badge = (status) => h('span', { class: `badge ${String(status || '').toLowerCase()}`, dataset: { status: status || '' } }, status || '—');

function actionButton(app, action, after, label) {
  const b = h(
    'button',
    {
      class: action === 'start' ? 'primary small' : action === 'delete' ? 'danger small' : 'secondary small',
      dataset: { action },
      onclick: async () => {
        if (action === 'delete' && !confirm(`Delete application ${app}? Its checkpoints go too.`)) return;
        await busy(b, async () => {
          try {
            if (action === 'delete') await api('DELETE', `/v1/apps/${enc(app)}`);
            else await api('POST', `/v1/apps/${enc(app)}/${action}`);
            await after();
          } catch (err) {
            after(err);
          }
        });
      },
    },
    label || action[0].toUpperCase() + action.slice(1),
  );
  return b;
}

const running = (s) => /RUNNING|STARTING/i.test(s || '');

export function appsPage(root) {
  const list = h('div', {}, spinner('Loading applications…'));
  const msg = h('div');
  async function load(err) {
    if (err) replace(msg, errorBox(err));
    try {
      const apps = listOf(await api('GET', '/v1/apps'), 'apps');
      if (!apps.length) {
        replace(list, empty('No applications yet', 'Write a query in the ', h('a', { href: '/sql' }, 'SQL editor'), ', discover the input schema and save it as an application — or use ', h('code', {}, 'kda app create'), '.'));
        return;
      }
      replace(
        list,
        h(
          'table',
          { class: 'grid', id: 'apps-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Application'), h('th', {}, 'Status'), h('th', {}, 'Input'), h('th', { class: 'num' }, 'Version'), h('th', { class: 'num' }, 'Records in'), h('th', { class: 'num' }, 'Lag'), h('th', {}, ''))),
          h(
            'tbody',
            {},
            apps.map((a) =>
              h(
                'tr',
                { dataset: { app: a.name } },
                h('td', {}, h('a', { href: `/apps/${enc(a.name)}` }, a.name), a.error ? h('div', { class: 'small error-text' }, a.error) : null),
                h('td', {}, badge(a.status)),
                h('td', {}, a.inputStream ? h('a', { href: `/streams/${enc(a.inputStream)}` }, a.inputStream) : '—'),
                h('td', { class: 'num' }, a.version ?? '—'),
                h('td', { class: 'num' }, fmtNum(a.recordsIn)),
                h('td', { class: 'num' }, a.lagMillis != null ? `${fmtNum(a.lagMillis)} ms` : '—'),
                h('td', { class: 'actions' }, running(a.status) ? actionButton(a.name, 'stop', load) : actionButton(a.name, 'start', load)),
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      replace(list, errorBox(e));
    }
  }
  load();
  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Applications'), h('p', { class: 'muted' }, 'SQL applications read one stream, run their pumps continuously and deliver output streams.'), h('a', { class: 'button primary', href: '/sql' }, 'New application')),
    msg,
    h('section', { class: 'card' }, list),
  );
  const timer = setInterval(() => load(), 3000);
  return () => clearInterval(timer);
}

// rate keeps the previous counters to show rows per second.
function rateTracker() {
  let prev = null;
  return (counters) => {
    const now = Date.now();
    const rates = {};
    if (prev) {
      const dt = (now - prev.t) / 1000;
      for (const [k, v] of Object.entries(counters)) if (prev.c[k] != null && dt > 0) rates[k] = Math.max(0, (v - prev.c[k]) / dt);
    }
    prev = { t: now, c: counters };
    return rates;
  };
}

// dag draws the application as columns: the input stream, then each pump
// with its source, operators and target, then the delivery.
function dag(d, rates) {
  const rows = Object.fromEntries((d.streams || []).map((s) => [s.name, s.rows]));
  const opsByPump = {};
  for (const o of d.operators || []) (opsByPump[o.pump] = opsByPump[o.pump] || []).push(o);
  const outputs = (d.definition && d.definition.outputs) || [];
  const streamNode = (name, extra) =>
    h('div', { class: 'node stream' }, h('div', { class: 'node-title' }, name), h('div', { class: 'node-sub' }, rows[name] != null ? `${fmtNum(rows[name])} rows` : 'in-application stream', rates[name] ? ` · ${rates[name].toFixed(1)}/s` : ''), extra);
  const pumps = d.pumps || [];
  if (!pumps.length) return empty('No pumps', d.status === 'RUNNING' ? 'This application inserts into no stream.' : 'Start the application to see its pumps and counters.');
  return h(
    'div',
    { class: 'dag', id: 'dag' },
    h('div', { class: 'node source' }, h('div', { class: 'node-title' }, d.inputStream || d.definition?.input?.stream || 'input'), h('div', { class: 'node-sub' }, `${fmtNum(d.recordsIn)} records in`, rates.__in ? ` · ${rates.__in.toFixed(1)}/s` : '')),
    pumps.map((p) => {
      const ops = opsByPump[p.name];
      const out = outputs.filter((o) => o.name === p.target);
      return h(
        'div',
        { class: 'dag-row', dataset: { pump: p.name } },
        h('span', { class: 'arrow' }, '→'),
        streamNode(p.source),
        h('span', { class: 'arrow' }, '→'),
        h(
          'div',
          { class: 'node pump' },
          h('div', { class: 'node-title' }, `PUMP ${p.name}`),
          h(
            'ol',
            { class: 'ops' },
            (p.operators && p.operators.length ? p.operators : (ops || []).map((o) => o.name)).map((desc, i) => {
              const o = ops && (ops.find((x) => x.index === i) || ops[i]);
              const rate = (v) => (v ? ` (${v.toFixed(1)}/s)` : '');
              return h('li', {}, desc, o ? h('div', { class: 'op-rows' }, `${fmtNum(o.rowsIn)} in${rate(o.rowsInPerSec)} → ${fmtNum(o.rowsOut)} out${rate(o.rowsOutPerSec)}`) : null);
            }),
          ),
        ),
        h('span', { class: 'arrow' }, '→'),
        streamNode(p.target),
        out.map((o) => [h('span', { class: 'arrow' }, '→'), h('div', { class: 'node sink' }, h('div', { class: 'node-title' }, o.stream || o.file), h('div', { class: 'node-sub' }, `${fmtNum((d.delivered || {})[p.target])} delivered · ${o.format || 'JSON'}`))]),
      );
    }),
  );
}

export function appPage(root, [name], _q, navigate) {
  const head = h('div', { class: 'page-head' }, h('div', { class: 'crumbs' }, h('a', { href: '/apps' }, 'Applications'), ' / '), h('h1', {}, name));
  const status = h('div', { class: 'row' }, spinner());
  const msg = h('div');
  const facts = h('div');
  const graph = h('div', {}, spinner('Loading…'));
  const sqlBox = h('pre', { class: 'sql' });
  const errors = h('div', { id: 'app-errors' }, spinner());
  const rate = rateTracker();

  async function load(err) {
    if (err) replace(msg, errorBox(err));
    else if (err === undefined) replace(msg);
    try {
      const d = await api('GET', `/v1/apps/${enc(name)}`);
      const counters = { __in: d.recordsIn || 0 };
      for (const s of d.streams || []) counters[s.name] = s.rows;
      const rates = rate(counters);
      replace(
        status,
        h('span', { id: 'app-status' }, badge(d.status)),
        running(d.status) ? actionButton(name, 'stop', load) : actionButton(name, 'start', load),
        actionButton(name, 'delete', async (e) => (e ? load(e) : navigate('/apps'))),
      );
      replace(
        facts,
        d.error ? h('div', { class: 'alert error' }, d.error) : null,
        d.checkpointError ? h('div', { class: 'alert warn' }, `Checkpoint: ${d.checkpointError}`) : null,
        h(
          'dl',
          { class: 'facts wide' },
          h('dt', {}, 'Version'),
          h('dd', {}, d.version ?? '—'),
          h('dt', {}, 'Records in'),
          h('dd', {}, fmtNum(d.recordsIn)),
          h('dt', {}, 'Lag'),
          h('dd', {}, d.lagMillis != null ? `${fmtNum(d.lagMillis)} ms` : '—'),
          h('dt', {}, 'Last checkpoint'),
          h('dd', {}, d.lastCheckpoint ? new Date(d.lastCheckpoint).toLocaleString() : 'none yet', d.checkpointInterval ? h('span', { class: 'muted' }, ` (every ${d.checkpointInterval})`) : ''),
          h('dt', {}, 'Updated'),
          h('dd', {}, d.updatedAt ? new Date(d.updatedAt).toLocaleString() : '—'),
        ),
      );
      replace(graph, dag(d, rates));
      if (d.definition && sqlBox.textContent !== d.definition.sql) sqlBox.textContent = d.definition.sql || '';
    } catch (e) {
      replace(status);
      replace(graph, errorBox(e));
    }
    loadErrors();
  }

  async function loadErrors() {
    try {
      const list = listOf(await api('GET', `/v1/apps/${enc(name)}/errors?limit=50`), 'rows');
      if (!list.length) return replace(errors, h('p', { class: 'muted' }, 'No rows in error_stream. Records that fail to parse or rows that fail to compute appear here.'));
      const cols = [...new Set(list.flatMap((r) => Object.keys(r)))];
      replace(
        errors,
        h('div', { class: 'table-scroll' }, h('table', { class: 'grid compact' }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))), h('tbody', {}, list.map((r) => h('tr', {}, cols.map((c) => h('td', { class: 'mono' }, fmtValue(r[c])))))))),
      );
    } catch (e) {
      replace(errors, e.status === 404 ? h('p', { class: 'muted' }, 'This server does not report error_stream rows.') : errorBox(e));
    }
  }

  head.append(status);
  replace(
    root,
    head,
    msg,
    h('div', { class: 'cols' }, h('section', { class: 'card col-narrow' }, h('h2', {}, 'Status'), facts), h('section', { class: 'card col-wide' }, h('h2', {}, 'Data flow'), graph)),
    h('section', { class: 'card' }, h('h2', {}, 'error_stream'), errors),
    h('section', { class: 'card' }, h('h2', {}, 'SQL'), sqlBox),
  );
  load();
  const timer = setInterval(() => load(null), 2000);
  return () => clearInterval(timer);
}
