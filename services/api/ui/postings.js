// #/postings: every posting the user's runs stored, filtered (the filters live in the address, so a view can be
// linked and survives a reload), newest first or in another order, a page at a time ("Show more" follows the API's
// cursor), and the same selection exported as CSV or JSON lines.

import { api, isQuiet, paths, token } from './api.js';
import { h, link, setText, table, time } from './dom.js';
import { meta } from './meta.js';
import { payText } from './widgets.js';

const PAGE = 50;

/** The filters the form edits, each a query parameter of the listing and the export. */
const FIELDS = ['title', 'location', 'department', 'company_id', 'status', 'remote', 'since', 'flag', 'job_id', 'sort'];

/** How the order select names the orders `/api/meta` lists. */
const SORT_LABELS = {
  '-first_seen': 'Newest first',
  first_seen: 'Oldest first',
  title: 'Title, A to Z',
  '-title': 'Title, Z to A',
};

export function render(ctx) {
  document.title = 'Postings · boardwatch';
  const filters = Object.fromEntries(FIELDS.map((f) => [f, ctx.query.get(f) ?? '']));
  const form = filterForm(ctx, filters);
  const list = table('postings-table', 'Your postings', ['Title', 'Company', 'Location', 'Remote', 'Pay',
    'Status', 'First seen', 'Flag'], { scroll: true });
  const empty = h('p', { class: 'empty', testid: 'postings-empty', hidden: true }, 'No posting matches.');
  const more = h('button', { type: 'button', class: 'button button--quiet', testid: 'postings-more', hidden: true },
    'Show more');
  const shown = h('p', { class: 'hint', testid: 'postings-shown' });
  const query = selection(filters);
  const exports = h('p', { class: 'actions' }, 'Export these: ',
    exportLink('csv', query, 'CSV'), ' ', exportLink('jsonl', query, 'JSON lines'));
  ctx.root.append(
    h('h1', { tabindex: -1 }, 'Postings'),
    h('p', { class: 'lede' }, 'Every posting your runs found, as the boards last listed it.'),
    form.el, exports, shown, list.wrap, empty, more,
  );
  form.load().catch(ctx.fail);
  let cursor = null;
  let count = 0;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api('GET', paths.postings(withCursor(query, cursor, PAGE)), { signal: ctx.signal });
      list.tbody.append(...page.postings.map(row));
      count += page.postings.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = count > 0;
      list.wrap.hidden = count === 0;
      setText(shown, `${count} posting(s) shown${cursor ? ', more below' : ''}.`);
    } catch (error) {
      if (!isQuiet(error)) ctx.fail(error);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', load);
  return load();
}

/** The listing's query for the form's values (empty ones left out). */
function selection(filters) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  return query;
}

function withCursor(query, cursor, limit) {
  const q = new URLSearchParams(query);
  q.set('limit', String(limit));
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

/** A download of the selection; the token rides in the address, as for the progress streams. */
function exportLink(format, query, text) {
  const q = new URLSearchParams(query);
  q.set('format', format);
  q.set('token', token.get() ?? '');
  return h('a', { href: paths.exportPostings(q.toString()), download: '', testid: `postings-export-${format}`,
    class: 'button button--quiet button--small' }, text);
}

function row(posting) {
  const remote = posting.remote == null ? '—' : posting.remote ? 'yes' : 'no';
  const flag = posting.label ? h('span', { class: 'label', title: posting.reason ?? '' }, posting.label) : '—';
  return h('tr', { testid: 'posting-row', dataset: { id: posting.id } },
    h('th', { scope: 'row' }, link(`#/postings/${encodeURIComponent(posting.id)}`, posting.title,
      { testid: 'posting-link' })),
    h('td', {}, posting.company),
    h('td', {}, posting.location ?? '—'),
    h('td', {}, remote),
    h('td', { dataset: { cell: 'pay' }, title: posting.compensation ?? '' }, payText(posting) ?? '—'),
    h('td', { dataset: { cell: 'status' } }, posting.status),
    h('td', {}, time(posting.first_seen_at)),
    h('td', { dataset: { cell: 'flag' } }, flag));
}

function filterForm(ctx, filters) {
  const text = (name, label, hint) => field(name, label,
    h('input', { id: `pf-${name}`, name, type: 'search', value: filters[name], testid: `postings-${name}`,
      maxlength: 200, placeholder: hint }));
  const select = (name, label, options) => field(name, label,
    h('select', { id: `pf-${name}`, name, testid: `postings-${name}`, value: filters[name] },
      options.map(([value, text]) => h('option', { value }, text))));
  const company = h('select', { id: 'pf-company_id', name: 'company_id', testid: 'postings-company_id' },
    h('option', { value: '' }, 'Any company'));
  const words = meta().postings;
  const el = h('form', { class: 'card filters', testid: 'postings-filters', 'aria-label': 'Filter the postings' },
    h('div', { class: 'filters__grid' },
      text('title', 'Title has', 'engineer'),
      text('location', 'Location has', 'Berlin'),
      text('department', 'Department has', 'Engineering'),
      field('company_id', 'Company', company),
      select('status', 'Status', [['', 'Any status'], ...words.statuses.map((s) => [s, s])]),
      select('remote', 'Remote', [['', 'Either'], ['true', 'Remote'], ['false', 'Not remote']]),
      field('since', 'First seen since', h('input', { id: 'pf-since', name: 'since', type: 'date',
        value: filters.since, testid: 'postings-since' })),
      text('flag', 'Flagged with label', 'remote'),
      select('sort', 'Order', words.sorts.map((s) => [s === words.sorts[0] ? '' : s, SORT_LABELS[s] ?? s]))),
    filters.job_id ? h('p', { class: 'hint' }, 'Only the postings screening job ',
      link(`#/jobs/${encodeURIComponent(filters.job_id)}`, filters.job_id), ' flagged.',
      h('input', { type: 'hidden', name: 'job_id', value: filters.job_id })) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button', testid: 'postings-apply' }, 'Apply'),
      link('#/postings', 'Clear', { class: 'button button--quiet', testid: 'postings-clear' })));
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries([...new FormData(el).entries()].map(([k, v]) => [k, String(v).trim()]));
    const query = selection(values).toString();
    ctx.go(`#/postings${query ? `?${query}` : ''}`);
  });
  return {
    el,
    async load() {
      const { companies } = await api('GET', paths.companies(), { signal: ctx.signal });
      company.append(...companies.map((c) => h('option', { value: c.id }, c.name)));
      company.value = filters.company_id;
    },
  };
}

function field(name, label, control) {
  return h('div', { class: 'field' }, h('label', { for: `pf-${name}` }, label), control);
}
