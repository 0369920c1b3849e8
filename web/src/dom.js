// Tiny DOM helpers: h() builds elements, so pages stay plain functions.

// h('button', {class: 'primary', onclick: fn}, 'Run') → <button>.
// Attributes starting with "on" become listeners; null/false children and
// attributes are skipped; arrays of children are flattened.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// spinner is an inline busy indicator.
export const spinner = (label = 'Loading…') =>
  h('span', { class: 'spinner-wrap', role: 'status' }, h('span', { class: 'spinner' }), label);

// empty is an empty state: a title and a hint.
export const empty = (title, ...hint) => h('div', { class: 'empty' }, h('strong', {}, title), h('p', {}, ...hint));

// errorBox shows an error message (an ApiError or any Error).
export const errorBox = (err) =>
  h('div', { class: 'alert error', role: 'alert' }, err && err.message ? err.message : String(err));

// busy disables a button and shows a spinner in it while fn runs.
export async function busy(button, fn) {
  const label = button.textContent;
  button.disabled = true;
  button.replaceChildren(h('span', { class: 'spinner small' }), label);
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.replaceChildren(label);
  }
}

// fmt helpers.
export const fmtNum = (n) => (n == null ? '—' : Number(n).toLocaleString('en-US'));
export function fmtValue(v) {
  if (v == null) return 'NULL';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
