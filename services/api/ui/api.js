// Talking to the API: the token (kept in sessionStorage, sent as `Authorization: Bearer`), JSON requests whose
// failures become ApiError with the API's own message, and server-sent event streams (which carry the token in the
// URL, because EventSource cannot send headers).

const TOKEN_KEY = 'boardwatch.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A refused or failed request: `status` is 0 when the API could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let unauthorized = () => {};

/** Registers what happens on a 401 (the app shows the token form with the message). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** Sends a request and returns the parsed JSON body (null for 204); throws ApiError, or AbortError when aborted. */
export async function api(method, path, { body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    const json = body === undefined ? undefined : JSON.stringify(body);
    response = await fetch(path, { method, headers, signal, body: json });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', `Could not reach the API (${error.message}). Check the connection and try again.`);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.ok) return data;
  const problem = data?.error ?? {};
  const error = new ApiError(response.status, problem.code ?? 'http',
    problem.message ?? `The API answered ${response.status} ${response.statusText}`.trim(), problem.details);
  if (response.status === 401) unauthorized(error.message);
  throw error;
}

/** Whether an error needs no message of its own: an aborted request, or a 401 (the token form says why). */
export function isQuiet(error) {
  return error?.name === 'AbortError' || error?.status === 401;
}

/**
 * Opens a server-sent event stream on `path` and dispatches its events (`state`, `change`, `log`, `end`, parsed as
 * JSON) to `handlers`. Closes on `end` (else EventSource would reconnect) and when `signal` aborts. `onStatus`
 * hears `live`, `reconnecting`, `ended`; `onFail` is called once if the stream cannot be opened or is closed by the
 * browser (a 401, a 404, a stream the server does not offer): the caller then falls back to polling, which also
 * finds out why.
 */
export function stream(path, handlers, { signal, onStatus = () => {}, onFail = () => {} }) {
  const url = `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token.get() ?? '')}`;
  const source = new EventSource(url);
  const close = () => source.close();
  signal.addEventListener('abort', close, { once: true });
  source.addEventListener('open', () => onStatus('live'));
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        console.warn(`ignoring a ${name} event that is not JSON`, event.data);
        return;
      }
      if (name === 'end') {
        close();
        onStatus('ended');
      }
      handler(data, event);
    });
  }
  source.addEventListener('error', () => {
    if (signal.aborted) return;
    if (source.readyState === EventSource.CLOSED) {
      signal.removeEventListener('abort', close);
      onFail();
    } else {
      onStatus('reconnecting');
    }
  });
  return source;
}

/** A path segment from data (an id from the address bar, a queue name), encoded so it stays one segment. */
const seg = (value) => encodeURIComponent(String(value));

/** The API's paths, in one place. */
export const paths = {
  me: () => '/api/me',
  meta: () => '/api/meta',
  companies: () => '/api/companies',
  company: (id) => `/api/companies/${seg(id)}`,
  runs: (limit) => `/api/ingestion/runs?limit=${Number(limit)}`,
  startRun: () => '/api/ingestion/runs',
  schedule: () => '/api/schedule',
  screens: () => '/api/screens',
  screen: (id) => `/api/screens/${seg(id)}`,
  run: (id) => `/api/ingestion/runs/${seg(id)}`,
  abortRun: (id) => `/api/ingestion/runs/${seg(id)}/abort`,
  runProgress: (id) => `/api/ingestion/progress/${seg(id)}`,
  runLogs: (id, query) => `/api/ingestion/logs/${seg(id)}?${query}`,
  runEvents: (id, after) => `/api/ingestion/runs/${seg(id)}/events?after=${Number(after)}`,
  jobs: (limit) => `/api/llm-jobs?limit=${Number(limit)}`,
  createJob: () => '/api/llm-jobs',
  job: (id) => `/api/llm-jobs/${seg(id)}`,
  jobItems: (id, limit) => `/api/llm-jobs/${seg(id)}/items?limit=${Number(limit)}`,
  cancelJob: (id) => `/api/llm-jobs/${seg(id)}/cancel`,
  jobProgress: (id) => `/api/llm-jobs/${seg(id)}/progress`,
  jobFlags: (id, limit) => `/api/postings?job_id=${seg(id)}&limit=${Number(limit)}`,
  postings: (query) => `/api/postings?${query}`,
  posting: (id) => `/api/postings/${seg(id)}`,
  exportPostings: (query) => `/api/postings/export?${query}`,
  queues: () => '/api/ops/queues',
  dlqPeek: (name) => `/api/ops/queues/${seg(name)}/dlq/peek`,
  dlqRedrive: (name) => `/api/ops/queues/${seg(name)}/dlq/redrive`,
};

