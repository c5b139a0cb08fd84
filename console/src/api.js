// The HTTP API client. The bearer token lives in sessionStorage (this tab
// only, gone when the tab closes) and travels only in the Authorization
// header, never in a URL; no cookie is involved, so a cross-site request
// carries no credential (docs/CONSOLE.md, "Session").
const KEY = 'dpql.token';

export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set(token) { sessionStorage.setItem(KEY, token); },
  clear() { sessionStorage.removeItem(KEY); cacheClear(); },
};

export class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error ? body.error : {};
    super(e.message || `the server answered HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.kind = e.kind || '';
    this.line = e.line;
    this.column = e.column;
    this.body = body;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(method, path, body, token = session.token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError(0, { error: { code: 'network', message: `could not reach the server (${e.message}); is dpqld running?` } });
  }
  let data = null;
  try { data = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) {
    const err = new ApiError(response.status, data);
    if (response.status === 401 && token === session.token) onUnauthorized(err);
    throw err;
  }
  return data;
}

// Metadata that changes rarely, fetched once per sign-in.
const cached = new Map();
function cacheClear() { cached.clear(); }
export function once(path) {
  if (!cached.has(path)) {
    const p = api('GET', path);
    p.catch(() => cached.delete(path));
    cached.set(path, p);
  }
  return cached.get(path);
}
export function forget(path) { cached.delete(path); }

export const catalog = () => once('/v1/catalog');
export const budget = () => api('GET', '/v1/budget');
export const explain = (query, dataset) => api('POST', '/v1/explain', { query, dataset });
export const query = (query, dataset) => api('POST', '/v1/query', { query, dataset });
export const publicTable = (table, dataset) =>
  once(`/v1/public/${encodeURIComponent(table)}?dataset=${encodeURIComponent(dataset)}`);
