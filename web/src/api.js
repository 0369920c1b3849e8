// The REST API client: JSON calls under /v1 with the bearer token kept in
// localStorage, and the /v1/query event stream.
import { SSEParser } from './sse.js';

const TOKEN_KEY = 'kda.token';

// ApiError is a failed call: status, code and message from the
// {"error":{...}} body, and line/column for SQL errors.
export class ApiError extends Error {
  constructor(status, body, fallback) {
    const e = (body && body.error) || {};
    super(e.message || fallback || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.line = e.line;
    this.column = e.column;
  }
}

let askToken = null; // set by the app: () => Promise<string|null>
export function onTokenNeeded(fn) {
  askToken = fn;
}
export const getToken = () => localStorage.getItem(TOKEN_KEY) || '';
export function setToken(t) {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

async function send(method, path, body, { signal, headers = {} } = {}) {
  const h = { ...headers };
  const t = getToken();
  if (t) h.Authorization = `Bearer ${t}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (res.status === 401 && askToken && attempt < 3) {
      const tok = await askToken();
      if (tok) {
        setToken(tok);
        h.Authorization = `Bearer ${tok}`;
        continue;
      }
    }
    return res;
  }
}

async function errorOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, body, `${res.status} ${res.statusText}`);
}

// api calls the REST API and returns the decoded JSON body (null for 204).
export async function api(method, path, body, opts) {
  const res = await send(method, path, body, opts);
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const enc = encodeURIComponent;

// query runs POST /v1/query and calls on[event](payload) for each
// Server-Sent Event (schema, rows, error, end) until the stream ends or
// signal aborts. A refused request (4xx) throws an ApiError.
export async function query(req, on, signal) {
  const res = await send('POST', '/v1/query', req, { signal, headers: { Accept: 'text/event-stream' } });
  if (!res.ok) throw await errorOf(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SSEParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
        let payload;
        try {
          payload = JSON.parse(ev.data);
        } catch {
          payload = { message: ev.data };
        }
        if (on[ev.event]) on[ev.event](payload);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

// Lists come back either as a bare array or wrapped ({"streams":[...]}).
export function listOf(body, key) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body[key])) return body[key];
  return [];
}
