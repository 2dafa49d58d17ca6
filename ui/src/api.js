// Every call the console makes goes through here, to this origin's public REST API
// (/v1/...), with the bearer token when trawld asked for one. The token lives in
// sessionStorage: this tab only, gone when it closes; never in localStorage or a cookie.
const TOKEN_KEY = 'trawl.token';

export class ApiError extends Error {
  constructor(status, body, text) {
    const e = body && body.error;
    super(e ? e.message : `HTTP ${status}: ${text ? text.slice(0, 200) : 'no answer'}`);
    this.status = status;
    this.code = e ? e.code : 'HttpError';
    this.target = e ? e.target : '';
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

let promptForToken = null;  // set by main.js: shows the dialog, resolves with a token
let pendingPrompt = null;   // several calls answered 401 at once share one prompt
export function setTokenPrompt(fn) {
  promptForToken = fn;
}

async function askToken(message) {
  if (!pendingPrompt) {
    pendingPrompt = promptForToken(message).then((t) => {
      sessionStorage.setItem(TOKEN_KEY, t);
      pendingPrompt = null;
    });
  }
  return pendingPrompt;
}

export function authHeaders() {
  const t = token();
  return t ? { Authorization: 'Bearer ' + t } : {};
}

// Returns {status, data}; throws ApiError for an error answer. A 401 asks for the token
// (again) and retries.
export async function call(method, path, body) {
  for (;;) {
    const headers = authHeaders();
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      serverState('trawld cannot be reached');
      throw new ApiError(0, { error: { code: 'Unreachable', message: 'trawld cannot be reached (stopped, or the network is down)', target: '' } });
    }
    serverState('');
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (res.status === 401) {
      const hadToken = token() !== null;
      forgetToken();
      await askToken(hadToken ? 'trawld refused the token: ' + (data?.error?.message || 'unauthorized')
        : '');
      continue;
    }
    if (!res.ok) throw new ApiError(res.status, data, text);
    return { status: res.status, data };
  }
}

// The header's connection note: empty while trawld answers.
function serverState(text) {
  const el = document.getElementById('server-state');
  if (el && el.textContent !== text) el.textContent = text;
}

export const get = (path) => call('GET', path).then((r) => r.data);

export const enc = encodeURIComponent;
