// #/postings/{id}: one posting whole: its fields as the last run normalised them, its description, the runs that
// changed it, the decisions screening jobs applied to it, and the board's item as received.

import { api, paths } from './api.js';
import { dateTime, h, link, notFound, safeHref, shortId, table } from './dom.js';
import { payText } from './widgets.js';

/** How the history names what a run did. */
const CHANGE_TEXT = {
  inserted: 'found it',
  changed: 'saw its content change',
  seen_again: 'saw it again',
  expired: 'no longer saw it: expired',
};

export async function render(ctx) {
  const [id] = ctx.params;
  document.title = `Posting ${id} · boardwatch`;
  let posting;
  try {
    posting = await api('GET', paths.posting(id), { signal: ctx.signal });
  } catch (error) {
    if (error.status === 404 || error.status === 400) {
      return notFound(ctx.root, `Posting ${id}`, link('#/postings', 'Back to the postings.'));
    }
    throw error;
  }
  document.title = `${posting.title} · boardwatch`;
  const href = safeHref(posting.url);
  ctx.root.append(
    h('p', { class: 'crumbs' }, link('#/postings', '← All postings')),
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1, testid: 'posting-title' }, posting.title),
      h('span', { class: 'badge', testid: 'posting-status', dataset: { status: posting.status } }, posting.status)),
    href ? h('p', {}, h('a', { href, rel: 'noopener noreferrer', target: '_blank', testid: 'posting-url' },
      'Open on the board')) : null,
    h('dl', { class: 'meta', testid: 'posting-fields' }, ...fields(posting)),
    h('section', { 'aria-labelledby': 'posting-description' },
      h('h2', { id: 'posting-description' }, 'Description'),
      h('div', { class: 'description', testid: 'posting-description' }, posting.description || 'No description.')),
    history(posting.runs),
    flags(posting.flags),
    h('details', { class: 'card' }, h('summary', {}, "The board's item, as received"),
      h('pre', { class: 'raw', testid: 'posting-raw' }, JSON.stringify(posting.raw, null, 2))),
  );
}

function fields(p) {
  const remote = p.remote == null ? '—' : p.remote ? 'yes' : 'no';
  const rows = [
    ['Company', link(`#/postings?company_id=${encodeURIComponent(p.company_id)}`, p.company)],
    ['Board', `${p.board_kind} (id ${p.external_id})`],
    ['Location', p.location ?? '—'],
    ['Remote', remote],
    ['Department', p.department ?? '—'],
    ['Employment', p.employment_type ?? '—'],
    ['Compensation', p.compensation ?? '—'],
    ['Pay', h('span', { testid: 'posting-pay' }, payText(p) ?? '—')],
    ['Posted', dateTime(p.posted_at)],
    ['First seen', dateTime(p.first_seen_at)],
    ['Last seen', dateTime(p.last_seen_at)],
    ['Content changed', dateTime(p.content_changed_at)],
    ['Expired', p.expired_at ? dateTime(p.expired_at) : '—'],
    ['Ingest error', p.ingest_error ?? '—'],
  ];
  return rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]);
}

function history(runs) {
  const list = table('posting-runs', 'The runs that changed this posting', ['When', 'Run', 'What it did']);
  list.tbody.append(...runs.map((r) => h('tr', { testid: 'posting-run', dataset: { change: r.change } },
    h('td', {}, dateTime(r.at)),
    h('th', { scope: 'row' }, link(`#/runs/${encodeURIComponent(r.run_id)}`, `Run ${shortId(r.run_id)}`, {
      class: 'mono' })),
    h('td', {}, CHANGE_TEXT[r.change] ?? r.change))));
  return h('section', { 'aria-labelledby': 'posting-history' }, h('h2', { id: 'posting-history' }, 'History'),
    list.wrap);
}

function flags(decisions) {
  if (!decisions.length) {
    return h('section', {}, h('h2', {}, 'Screening'), h('p', { class: 'empty' }, 'No screening job judged it yet.'));
  }
  const list = table('posting-flags', 'What screening jobs decided', ['Job', 'Decision', 'Label', 'Reason', 'When']);
  list.tbody.append(...decisions.map((f) => h('tr', { testid: 'posting-flag' },
    h('th', { scope: 'row' }, link(`#/jobs/${encodeURIComponent(f.job_id)}`, f.job_name)),
    h('td', {}, f.flag ? 'flagged' : 'not flagged'),
    h('td', {}, h('span', { class: 'label' }, f.label)),
    h('td', { class: 'reason' }, f.reason),
    h('td', {}, dateTime(f.at)))));
  return h('section', { 'aria-labelledby': 'posting-screening' },
    h('h2', { id: 'posting-screening' }, 'Screening'), list.wrap);
}
