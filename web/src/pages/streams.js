// Streams: the list with a create form, and one stream's page with its
// shards, a form to put a test record and a tail of the latest records.
import { h, replace, spinner, empty, errorBox, busy, fmtNum } from '../dom.js';
import { api, enc, listOf } from '../api.js';

// streamInfo reads a stream summary whatever the exact field names.
export function streamInfo(s) {
  if (typeof s === 'string') return { name: s };
  const shards = s.openShards ?? s.shards ?? s.shardCount;
  return {
    name: s.name ?? s.streamName ?? s.StreamName,
    status: s.status ?? s.streamStatus ?? s.StreamStatus,
    shards: Array.isArray(shards) ? shards.length : shards,
    retention: s.retentionPeriodHours ?? s.retentionHours,
    created: s.createdAt ?? s.creationTime ?? s.streamCreationTimestamp,
  };
}

export function streamsPage(root, _params, _query, navigate) {
  const list = h('div', {}, spinner('Loading streams…'));
  const name = h('input', { name: 'stream-name', placeholder: 'clicks', required: true, pattern: '[a-zA-Z0-9_.\\-]{1,128}', title: '1–128 letters, digits, _ . or -' });
  const shards = h('input', { name: 'shard-count', type: 'number', min: 1, max: 64, value: 1 });
  const formMsg = h('div');
  const create = h('button', { class: 'primary', type: 'submit' }, 'Create stream');
  const form = h(
    'form',
    {
      class: 'card inline-form',
      onsubmit: async (e) => {
        e.preventDefault();
        replace(formMsg);
        await busy(create, async () => {
          try {
            await api('POST', '/v1/streams', { name: name.value.trim(), shards: Number(shards.value) || 1 });
            const created = name.value.trim();
            name.value = '';
            await load();
            replace(formMsg, h('div', { class: 'alert ok' }, 'Created ', h('a', { href: `/streams/${enc(created)}` }, created), '.'));
          } catch (err) {
            replace(formMsg, errorBox(err));
          }
        });
      },
    },
    h('h2', {}, 'New stream'),
    h('div', { class: 'row' }, h('label', {}, 'Name', name), h('label', {}, 'Shards', shards), create),
    formMsg,
  );

  async function load() {
    try {
      const streams = listOf(await api('GET', '/v1/streams'), 'streams').map(streamInfo);
      if (!streams.length) {
        replace(list, empty('No streams yet', 'Create one below, or start the server with ', h('code', {}, 'kda serve --demo'), ' for a clickstream to play with.'));
        return;
      }
      replace(
        list,
        h(
          'table',
          { class: 'grid', id: 'streams-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Stream'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Shards'), h('th', {}, ''))),
          h(
            'tbody',
            {},
            streams.map((s) =>
              h(
                'tr',
                { dataset: { stream: s.name } },
                h('td', {}, h('a', { href: `/streams/${enc(s.name)}` }, s.name)),
                h('td', {}, s.status ? h('span', { class: `badge ${String(s.status).toLowerCase()}` }, s.status) : '—'),
                h('td', { class: 'num' }, fmtNum(s.shards)),
                h('td', { class: 'actions' }, h('a', { href: `/sql?stream=${enc(s.name)}` }, 'Query'), ' · ', h('a', { href: `/streams/${enc(s.name)}#tail` }, 'Tail')),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      replace(list, errorBox(err));
    }
  }
  load();

  replace(
    root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Streams'), h('p', { class: 'muted' }, 'Kinesis-compatible data streams on this server. Records put here can be queried with SQL and read by applications.')),
    h('section', { class: 'card' }, list),
    form,
  );
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

export function streamPage(root, [name], _query, navigate) {
  const info = h('div', {}, spinner('Loading stream…'));
  const tail = h('div', { id: 'tail' }, spinner('Reading the latest records…'));
  const pk = h('input', { name: 'partition-key', placeholder: 'partition key', value: 'key-1' });
  const data = h('textarea', { name: 'record-data', rows: 3, spellcheck: 'false' }, '{"user":"alice","action":"click","amount":3}');
  const putMsg = h('div');
  const put = h('button', { class: 'primary', type: 'submit' }, 'Put record');
  const follow = h('input', { type: 'checkbox', checked: true, name: 'follow' });

  const putForm = h(
    'form',
    {
      class: 'card',
      onsubmit: async (e) => {
        e.preventDefault();
        replace(putMsg);
        await busy(put, async () => {
          try {
            const res = await api('POST', `/v1/streams/${enc(name)}/records`, { records: [{ partitionKey: pk.value || 'key', data: data.value }] });
            const rec = listOf(res, 'records')[0] || {};
            const failed = res && (res.failedRecordCount ?? res.failed);
            if (failed) throw new Error(rec.errorMessage || 'the server refused the record');
            replace(putMsg, h('div', { class: 'alert ok' }, 'Put', rec.shardId ? ` into ${rec.shardId}` : '', rec.sequenceNumber ? ` as ${rec.sequenceNumber}` : '', '.'));
            loadTail();
          } catch (err) {
            replace(putMsg, errorBox(err));
          }
        });
      },
    },
    h('h2', {}, 'Put a test record'),
    h('label', {}, 'Partition key', pk),
    h('label', {}, 'Data (text, usually JSON)', data),
    h('div', { class: 'row' }, put),
    putMsg,
  );

  async function loadInfo() {
    try {
      const d = await api('GET', `/v1/streams/${enc(name)}`);
      const s = streamInfo(d);
      const shardList = listOf(d, 'shards');
      replace(
        info,
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Status'),
          h('dd', {}, s.status ? h('span', { class: `badge ${String(s.status).toLowerCase()}` }, s.status) : '—'),
          h('dt', {}, 'Shards'),
          h('dd', {}, fmtNum(shardList.length || s.shards)),
          s.retention ? [h('dt', {}, 'Retention'), h('dd', {}, `${s.retention} h`)] : null,
          d.stats ? [h('dt', {}, 'Records in'), h('dd', {}, fmtNum(d.stats.recordsIn)), h('dt', {}, 'Records out'), h('dd', {}, fmtNum(d.stats.recordsOut))] : null,
        ),
        shardList.length
          ? h('div', { class: 'table-scroll' }, h(
              'table',
              { class: 'grid compact', id: 'shards-table' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Shard'), h('th', {}, 'Hash key range'), h('th', {}, 'Sequence range'), h('th', {}, 'Parent'))),
              h(
                'tbody',
                {},
                shardList.map((sh) => {
                  const range = `${sh.startingHashKey} – ${sh.endingHashKey}`;
                  return h(
                    'tr',
                    {},
                    h('td', { class: 'mono' }, sh.id, sh.open === false ? h('span', { class: 'badge' }, 'closed') : null),
                    h('td', { class: 'mono ellipsis', title: range }, sh.startingHashKey != null ? range : '—'),
                    h('td', { class: 'mono ellipsis', title: `${sh.startingSequence} – ${sh.endingSequence || 'open'}` }, sh.startingSequence ? `${sh.startingSequence} – ${sh.endingSequence || 'open'}` : '—'),
                    h('td', { class: 'mono' }, [sh.parent, sh.adjacentParent].filter(Boolean).join(', ') || '—'),
                  );
                }),
              ),
            ))
          : null,
      );
    } catch (err) {
      replace(info, errorBox(err));
    }
  }

  async function loadTail() {
    try {
      const recs = listOf(await api('GET', `/v1/streams/${enc(name)}/records?limit=50`), 'records');
      if (!recs.length) {
        replace(tail, empty('No records yet', 'Put a test record on the left, or write with ', h('code', {}, `kda put ${name}`), '.'));
        return;
      }
      const newest = [...recs].sort((a, b) => String(b.arrivalTime).localeCompare(String(a.arrivalTime)));
      replace(
        tail,
        h(
          'table',
          { class: 'grid compact', id: 'records-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Arrival'), h('th', {}, 'Shard'), h('th', {}, 'Partition key'), h('th', {}, 'Data'))),
          h(
            'tbody',
            {},
            newest.map((r) =>
              h(
                'tr',
                { title: `sequence number ${r.sequenceNumber}` },
                h('td', { class: 'mono nowrap' }, r.arrivalTime ?? ''),
                h('td', { class: 'mono nowrap' }, String(r.shardId ?? '').replace('shardId-', '')),
                h('td', {}, r.partitionKey ?? ''),
                h('td', { class: 'mono data' }, typeof r.data === 'string' ? r.data : JSON.stringify(r.data)),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      replace(tail, errorBox(err));
    }
  }

  const del = h(
    'button',
    {
      class: 'danger',
      onclick: async () => {
        if (!confirm(`Delete stream ${name} and all its records?`)) return;
        await busy(del, async () => {
          try {
            await api('DELETE', `/v1/streams/${enc(name)}`);
            navigate('/streams');
          } catch (err) {
            info.prepend(errorBox(err));
          }
        });
      },
    },
    'Delete stream',
  );

  replace(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('div', { class: 'crumbs' }, h('a', { href: '/streams' }, 'Streams'), ' / '),
      h('h1', {}, name),
      h('div', { class: 'row' }, h('a', { class: 'button primary', href: `/sql?stream=${enc(name)}` }, 'Query with SQL'), del),
    ),
    h('div', { class: 'cols' }, h('div', { class: 'col-narrow' }, h('section', { class: 'card' }, h('h2', {}, 'Stream'), info), putForm), h('section', { class: 'card col-wide' }, h('div', { class: 'row between' }, h('h2', {}, 'Latest records'), h('label', { class: 'check' }, follow, 'Follow (every 2 s)')), tail)),
  );
  loadInfo();
  loadTail();
  const timer = setInterval(() => {
    if (follow.checked) loadTail();
  }, 2000);
  return () => clearInterval(timer);
}
