// Building the page from API data without innerHTML: every string becomes a text node or an attribute value, so
// nothing the API returns is ever parsed as markup. Also the notice area, formatting, and timers tied to a page.

/**
 * Creates an element. In `attrs`: `testid` (data-testid), `class`, `dataset` (an object), `on` ({event: handler}),
 * `value` (set after the children, so a select's options exist), booleans (true sets an empty attribute, false and
 * null leave it out); anything else is an attribute. Children may be nodes, strings, arrays, or null (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (key === 'testid') el.dataset.testid = v;
    else if (key === 'class') el.className = v;
    else if (key === 'dataset') Object.assign(el.dataset, v);
    else if (key === 'on') for (const [event, fn] of Object.entries(v)) el.addEventListener(event, fn);
    else if (key === 'value') value = v;
    else el.setAttribute(key, v === true ? '' : String(v));
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false).map(toNode));
  if (value !== undefined) el.value = value;
  return el;
}

function toNode(child) {
  return child instanceof Node ? child : document.createTextNode(String(child));
}

/** Sets an element's text only when it differs, so an unchanged cell is left alone on refresh. */
export function setText(el, text) {
  const s = text == null ? '' : String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** A link to an in-app route (`#/…`). */
export function link(hash, text, attrs = {}) {
  return h('a', { href: hash, ...attrs }, text);
}

/** `url` when it is an absolute http(s) address, else null: API data never becomes a `javascript:` link. */
export function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/**
 * A table whose body is returned too, wrapped so it scrolls sideways inside its box on a narrow screen; with
 * `scroll`, also downwards inside a box of limited height (a long list under a sticky header).
 */
export function table(testid, caption, headers, { scroll = false } = {}) {
  const tbody = h('tbody');
  const el = h(
    'table',
    { testid },
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((th) => h('th', { scope: 'col', class: numeric(th) ? 'num' : null }, th)))),
    tbody,
  );
  const wrap = h('div', { class: scroll ? 'table-wrap table-wrap--scroll' : 'table-wrap', tabindex: 0, role: 'region',
    'aria-label': caption || testid }, el);
  return { wrap, table: el, tbody };
}

const NUMERIC = new Set(['Found', 'Inserted', 'Updated', 'Unchanged', 'Expired', 'Ready', 'Failed', 'Visible',
  'In flight', 'Delayed', 'Items', 'Flags', 'Attempts', 'Receives', 'Postings']);
function numeric(header) {
  return NUMERIC.has(header);
}

/**
 * Brings `tbody`'s rows in line with `items` without rebuilding rows that stay: a focused button in a row keeps its
 * focus across a refresh. `create(item)` makes a row, `update(row, item)` refreshes it.
 */
export function syncRows(tbody, items, keyOf, create, update) {
  const existing = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  const rows = items.map((item) => {
    const key = String(keyOf(item));
    let tr = existing.get(key);
    if (!tr) {
      tr = create(item);
      tr.dataset.key = key;
    }
    update(tr, item);
    return tr;
  });
  rows.forEach((tr, i) => {
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
  });
  while (tbody.children.length > rows.length) tbody.lastElementChild.remove();
}

// ---- the notice area -------------------------------------------------------------------------------------------

const noticeEl = () => document.getElementById('notice');

/** Shows one notice (replacing the last): `kind` is info, success, warn or error; `content` nodes or strings. */
export function notify(kind, ...content) {
  const dismiss = h('button', { type: 'button', class: 'notice__close', 'aria-label': 'Dismiss' }, '×');
  dismiss.addEventListener('click', clearNotice);
  const box = h('div', { class: `notice__box notice__box--${kind}`, dataset: { kind } },
    h('p', { class: 'notice__text' }, ...content), dismiss);
  noticeEl().replaceChildren(box);
}

export function clearNotice() {
  noticeEl().replaceChildren();
}

// ---- formatting ---------------------------------------------------------------------------------------------------

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** `HH:MM:SS.mmm` in local time, from milliseconds since the epoch. */
export function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, from an ISO timestamp; an empty string for none. */
export function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A `<time>` element for an ISO timestamp. */
export function time(iso) {
  return iso ? h('time', { datetime: iso, title: iso }, dateTime(iso)) : '—';
}

/** The first block of a UUID, enough to tell runs apart on screen. */
export function shortId(id) {
  return String(id).split('-')[0];
}

/** Seconds as `42 s`, `3 min`, `2 h 5 min`. */
export function duration(secs) {
  if (secs == null) return '—';
  if (secs < 60) return `${Math.round(secs)} s`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min`;
  return `${Math.floor(secs / 3600)} h ${Math.floor((secs % 3600) / 60)} min`;
}

// ---- timers tied to a page ---------------------------------------------------------------------------------------

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * Calls `fn` now and again `delay()` ms after each call finishes (never two at once) until `signal` aborts or `fn`
 * returns false. `delay` may be a number or a function (so the pace can follow what `fn` saw).
 */
export async function repeat(fn, delay, signal) {
  while (!signal.aborted) {
    if ((await fn()) === false) return;
    await sleep(typeof delay === 'function' ? delay() : delay, signal);
  }
}

/** Replaces a page with "not found": the API answers 404 for what does not exist and for what is someone else's. */
export function notFound(root, what, back) {
  root.replaceChildren(
    h('h1', { tabindex: -1 }, `${what} not found`),
    h('p', { testid: 'not-found' }, `${what} was not found, or it is not yours. `, back));
}
