// #/screens/{id}: a standing screen: what it asks, the jobs it started (one per finished run that found something
// new or changed) with their progress, and its removal.

import { api, isQuiet, paths } from './api.js';
import { h, link, notFound, notify, shortId, table, time } from './dom.js';
import { statusBadge } from './widgets.js';

export async function render(ctx) {
  const [id] = ctx.params;
  document.title = `Screen ${shortId(id)} · boardwatch`;
  let screen;
  try {
    screen = await api('GET', paths.screen(id), { signal: ctx.signal });
  } catch (error) {
    if (error.status === 404 || error.status === 400) {
      return notFound(ctx.root, `Screen ${shortId(id)}`, link('#/jobs', 'Back to the screening.'));
    }
    throw error;
  }
  document.title = `${screen.name} · boardwatch`;
  const jobs = table('screen-jobs', 'The jobs this screen started', ['Job', 'Run', 'Status', 'Items', 'Flags', 'Created']);
  jobs.tbody.append(...screen.jobs.map((j) => h('tr', { testid: 'screen-job', dataset: { id: j.id } },
    h('th', { scope: 'row' }, link(`#/jobs/${encodeURIComponent(j.id)}`, `Job ${shortId(j.id)}`, { class: 'mono' })),
    h('td', {}, j.run_id ? link(`#/runs/${encodeURIComponent(j.run_id)}`, `Run ${shortId(j.run_id)}`, { class: 'mono' }) : '—'),
    h('td', {}, statusBadge(j.status)),
    h('td', { class: 'num' }, j.items_total),
    h('td', { class: 'num' }, link(`#/postings?job_id=${encodeURIComponent(j.id)}`, String(j.flags_applied))),
    h('td', {}, time(j.created_at)))));
  const remove = h('button', { type: 'button', class: 'button button--danger', testid: 'screen-remove' }, 'Remove screen');
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      await api('DELETE', paths.screen(id), { signal: ctx.signal });
      ctx.go('#/jobs', ['success', `Screen "${screen.name}" removed; its jobs stay.`]);
    } catch (e) {
      remove.disabled = false;
      if (!isQuiet(e)) notify('error', e.message);
    }
  });
  ctx.root.append(
    h('p', { class: 'crumbs' }, link('#/jobs', '← Screening')),
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1, testid: 'screen-title' }, screen.name), remove),
    h('dl', { class: 'meta' }, h('dt', {}, 'Model'), h('dd', { class: 'mono' }, screen.model),
      h('dt', {}, 'Mode'), h('dd', {}, screen.mode), h('dt', {}, 'Added'), h('dd', {}, time(screen.created_at))),
    h('details', { class: 'card' }, h('summary', {}, 'Instructions'), h('pre', { class: 'instructions' }, screen.instructions)),
    h('section', { 'aria-labelledby': 'screen-jobs-title' }, h('h2', { id: 'screen-jobs-title' }, 'Jobs'),
      screen.jobs.length ? jobs.wrap : h('p', { class: 'empty' }, 'No job yet: the next finished run with something new starts one.')),
  );
}
