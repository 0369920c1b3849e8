// The console's entry point: layout, navigation between pages (History API
// paths; the Go handler serves index.html for them) and the token prompt.
import './app.css';
import { h, replace } from './dom.js';
import { onTokenNeeded, setToken, getToken } from './api.js';
import { streamsPage, streamPage } from './pages/streams.js';
import { sqlPage } from './pages/sql.js';
import { appsPage, appPage } from './pages/apps.js';

const routes = [
  [/^\/(?:streams\/?)?$/, streamsPage, 'streams'],
  [/^\/streams\/([^/]+)$/, streamPage, 'streams'],
  [/^\/sql\/?$/, sqlPage, 'sql'],
  [/^\/apps\/?$/, appsPage, 'apps'],
  [/^\/apps\/([^/]+)$/, appPage, 'apps'],
];

const nav = h(
  'nav',
  { class: 'nav' },
  h('a', { href: '/streams', dataset: { section: 'streams' } }, 'Streams'),
  h('a', { href: '/sql', dataset: { section: 'sql' } }, 'SQL editor'),
  h('a', { href: '/apps', dataset: { section: 'apps' } }, 'Applications'),
);
const main = h('main', { id: 'main' });
const tokenButton = h('button', { class: 'link small', onclick: () => askToken(true) }, '');

document.body.append(
  h(
    'header',
    { class: 'top' },
    h('a', { href: '/', class: 'brand' }, h('span', { class: 'logo' }), 'kda', h('span', { class: 'sub' }, 'console')),
    nav,
    h('div', { class: 'spacer' }),
    tokenButton,
  ),
  main,
);

let cleanup = null;

// navigate shows the page for path; push adds a history entry.
export function navigate(path, push = true) {
  if (push) history.pushState(null, '', path);
  render();
}

function render() {
  if (cleanup) cleanup();
  cleanup = null;
  const url = new URL(location.href);
  for (const [re, page, section] of routes) {
    const m = re.exec(url.pathname);
    if (!m) continue;
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.section === section);
    replace(main);
    const params = m.slice(1).map(decodeURIComponent);
    cleanup = page(main, params, url.searchParams, navigate) || null;
    updateTokenButton();
    return;
  }
  replace(main, h('div', { class: 'empty' }, h('strong', {}, 'Page not found'), h('p', {}, h('a', { href: '/' }, 'Back to the streams'))));
}

// Same-origin links navigate without reloading.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/v1/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => render());

function updateTokenButton() {
  tokenButton.textContent = getToken() ? 'API token set' : '';
  tokenButton.hidden = !getToken();
}

// The token dialog: shown when the server answers 401 (kda serve --token).
let pending = null;
function askToken(manual = false) {
  if (pending) return pending;
  pending = new Promise((resolve) => {
    const input = h('input', { type: 'password', name: 'token', placeholder: 'token', autocomplete: 'off', value: getToken() });
    const dlg = h(
      'dialog',
      { class: 'token-dialog' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', {}, 'API token'),
        h('p', {}, manual ? 'The token this console sends to the server.' : 'This server needs a token (kda serve --token). It is kept in this browser’s local storage.'),
        input,
        h(
          'div',
          { class: 'row end' },
          manual ? h('button', { value: 'forget', class: 'secondary' }, 'Forget') : null,
          h('button', { value: 'cancel', class: 'secondary' }, 'Cancel'),
          h('button', { value: 'ok', class: 'primary' }, 'Use token'),
        ),
      ),
    );
    dlg.addEventListener('close', () => {
      dlg.remove();
      pending = null;
      if (dlg.returnValue === 'forget') setToken('');
      const t = dlg.returnValue === 'ok' ? input.value.trim() : null;
      if (t) setToken(t);
      updateTokenButton();
      resolve(t);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
  return pending;
}
onTokenNeeded(() => askToken(false));

render();
