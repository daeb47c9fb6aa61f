// Talking to the daemon: same origin only (the page's CSP allows nothing else).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function answer(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, body?.message ?? res.statusText);
  return body;
}

export async function getJson(path) {
  return answer(await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' }));
}

/** A mutating call: bearer token, JSON body (fastify wants a body when the type is JSON). */
export async function postJson(path, token, body) {
  const headers = { accept: 'application/json', authorization: `Bearer ${token}` };
  const init = { method: 'POST', headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return answer(await fetch(path, init));
}

/** Model names hold a slash (meta/llama-3.1-8b-instruct): one path segment, encoded. */
export function rollbackPath(name) {
  return `/v1/deployments/${encodeURIComponent(name)}/rollback`;
}

export function retryPath(id) {
  return `/v1/bundles/${encodeURIComponent(id)}/retry`;
}

const EVENT_NAMES = ['bundle', 'audit', 'deployment', 'status'];

/**
 * Follow /v1/events. EventSource retries by itself after a dropped connection; when it gives up
 * (CLOSED: the daemon answered with an error), open a new one with backoff.
 */
export function followEvents({ onOpen, onLost, onEvent }) {
  let source;
  let delay = 1000;
  const open = () => {
    source = new EventSource('/v1/events');
    source.addEventListener('open', () => {
      delay = 1000;
      onOpen();
    });
    source.addEventListener('error', () => {
      onLost();
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      }
    });
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => {
        let data;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        onEvent(name, data);
      });
    }
  };
  open();
}

// The token lives in this tab's sessionStorage at most: gone when the tab closes, never in localStorage.
const TOKEN_KEY = 'airlock.apiToken';

export function loadToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function saveToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives in memory only
  }
}
