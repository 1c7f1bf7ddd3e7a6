// The single-page app: takes the token from the address bar (once) or a form, routes `#/…` addresses to one page
// module each, and tears a page down (its requests, timers and event streams, through one AbortSignal) before the
// next one renders.

import { api, ApiError, isQuiet, onUnauthorized, paths, token } from './api.js';
import { clearNotice, h, notify } from './dom.js';
import { loadMeta } from './meta.js';
import * as companies from './companies.js';
import * as runs from './runs.js';
import * as run from './run.js';
import * as jobs from './jobs.js';
import * as job from './job.js';
import * as ops from './ops.js';
import * as postings from './postings.js';
import * as posting from './posting.js';
import * as screen from './screen.js';

/** Routes: the pattern of the hash path, the page module, and which nav entry is current. */
const ROUTES = [
  [/^\/companies$/, companies, 'companies'],
  [/^\/runs$/, runs, 'runs'],
  [/^\/runs\/([^/]+)$/, run, 'runs'],
  [/^\/jobs$/, jobs, 'jobs'],
  [/^\/jobs\/([^/]+)$/, job, 'jobs'],
  [/^\/screens\/([^/]+)$/, screen, 'jobs'],
  [/^\/postings$/, postings, 'postings'],
  [/^\/postings\/([^/]+)$/, posting, 'postings'],
  [/^\/ops$/, ops, 'ops'],
];
const DEFAULT_ROUTE = '#/runs';

const pageEl = () => document.getElementById('page');
let current = null; // the AbortController of the page on screen
let pendingNotice = null; // shown after the next page renders (go() sets it)
let me = null;

/** Navigates to `hash`, then shows `notice` ([kind, ...content]) on the new page. Pages get it as `ctx.go`. */
function go(hash, notice = null) {
  pendingNotice = notice;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || DEFAULT_ROUTE.slice(1);
  const [path, query = ''] = raw.split('?');
  return { path, query: new URLSearchParams(query) };
}

function leavePage() {
  current?.abort();
  current = new AbortController();
  return current.signal;
}

function route({ focus = false } = {}) {
  const signal = leavePage();
  clearNotice();
  if (!token.get()) return showTokenForm();
  const { path, query } = parseHash();
  const match = ROUTES.map(([re, page, nav]) => [re.exec(path), page, nav]).find(([m]) => m);
  if (!match) return notFound(path);
  const [m, page, nav] = match;
  let params;
  try {
    params = m.slice(1).map(decodeURIComponent);
  } catch {
    return notFound(path);
  }
  markNav(nav);
  const root = h('div', { class: 'page' });
  pageEl().replaceChildren(root);
  const ctx = { root, signal, params, query, me, go, fail: (e) => fail(e, signal) };
  try {
    Promise.resolve(page.render(ctx)).catch(ctx.fail);
  } catch (error) {
    ctx.fail(error);
  }
  if (pendingNotice) notify(...pendingNotice);
  pendingNotice = null;
  if (focus) root.querySelector('h1')?.focus();
}

/** Shows an error as a notice, unless it is an abort, a 401 (the token form shows), or its page has gone. */
function fail(error, signal) {
  if (signal.aborted || isQuiet(error)) return;
  if (!(error instanceof ApiError)) console.error(error);
  notify('error', error instanceof ApiError ? error.message : `Something went wrong in this page: ${error.message}`);
}

function notFound(path) {
  markNav(null);
  pageEl().replaceChildren(h('div', { class: 'page' },
    h('h1', { tabindex: -1 }, 'Page not found'),
    h('p', {}, `There is no page at #${path}. `, h('a', { href: DEFAULT_ROUTE }, 'Go to the runs.'))));
}

function markNav(active) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// ---- the token ----------------------------------------------------------------------------------------------------

/** Takes `?token=` from the address bar into sessionStorage and out of the address (and so out of the history). */
function adoptTokenFromUrl() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl === null) return;
  if (fromUrl.trim()) token.set(fromUrl);
  params.delete('token');
  const search = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`);
}

function showTokenForm(message = null) {
  leavePage();
  markNav(null);
  setSession(null);
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false',
    testid: 'token-input', 'aria-describedby': 'token-help',
  });
  const submit = h('button', { type: 'submit', class: 'button', testid: 'token-submit' }, 'Continue');
  const form = h('form', { class: 'card token-form', 'aria-labelledby': 'token-title' },
    h('h1', { id: 'token-title', tabindex: -1 }, 'Sign in with a token'),
    h('p', { id: 'token-help' }, 'Paste an API token (an operator makes one with ',
      h('code', {}, 'ctl token --user NAME'), '). It is kept in this tab only.'),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Token'), input),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    token.set(input.value);
    start();
  });
  pageEl().replaceChildren(h('div', { class: 'page' }, form));
  if (message) notify('error', `Your token was refused: ${message}`);
  input.focus();
}

/** Asks who the token belongs to; shows the operators' entry only for operators. */
async function loadMe() {
  try {
    me = await api('GET', paths.me());
  } catch (error) {
    if (error.status === 401) return false;
    // An older API without /api/me: carry on without the operators' entry (its page still answers by itself).
    me = null;
  }
  setSession(me);
  return true;
}

function setSession(who) {
  document.getElementById('nav-ops-item').hidden = !who?.operator;
  document.getElementById('session').hidden = !token.get();
  const label = who ? `${who.user}${who.operator ? ' (operator)' : ''}` : '';
  document.getElementById('session-user').textContent = label;
}

function signOut() {
  token.clear();
  me = null;
  showTokenForm();
  notify('info', 'Signed out. The token was removed from this tab.');
}

async function start() {
  if (token.get() && !(await loadMe())) return;
  try {
    await loadMeta();
  } catch (error) {
    notify('error', `Could not load the API's vocabulary (/api/meta): ${error.message}`);
    return;
  }
  route();
}

function init() {
  adoptTokenFromUrl();
  onUnauthorized((message) => {
    token.clear();
    showTokenForm(message);
  });
  window.addEventListener('hashchange', () => {
    if (location.hash === '#main') return; // the skip link without script
    route({ focus: true });
  });
  document.getElementById('skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });
  document.getElementById('sign-out').addEventListener('click', signOut);
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', DEFAULT_ROUTE);
  start();
}

init();
