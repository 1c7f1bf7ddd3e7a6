// #/runs: the user's ingestion runs, newest first, and the button that starts one. Refreshes while one is active.

import { api, isQuiet, paths } from './api.js';
import { h, link, repeat, setText, shortId, syncRows, table, time } from './dom.js';
import { runActive } from './meta.js';
import { scheduleCard } from './schedule.js';
import { startRun, statusBadge } from './widgets.js';

export function render(ctx) {
  document.title = 'Runs · boardwatch';
  const startButton = h('button', { type: 'button', class: 'button', testid: 'run-start' }, 'Start a run');
  startButton.addEventListener('click', () => startRun(ctx, startButton));
  const list = table('runs-table', 'Your runs', ['Run', 'Status', 'Started by', 'Companies', 'Found', 'Inserted',
    'Ready', 'Created', 'Finished']);
  const schedule = scheduleCard(ctx);
  const empty = h('p', { class: 'empty', hidden: true }, 'No runs yet. Add companies, then start a run.');
  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, 'Runs'), startButton),
    h('p', { class: 'lede' }, 'A run reads every board you follow and stores what changed.'),
    list.wrap,
    empty,
    schedule.el,
  );
  schedule.load();
  let anyActive = false;
  const refresh = async () => {
    try {
      const { runs } = await api('GET', paths.runs(50), { signal: ctx.signal });
      syncRows(list.tbody, runs, (r) => r.id, createRow, updateRow);
      empty.hidden = runs.length > 0;
      list.wrap.hidden = runs.length === 0;
      anyActive = runs.some((r) => runActive(r.status));
    } catch (error) {
      ctx.fail(error);
      return !isQuiet(error);
    }
    return true;
  };
  return repeat(refresh, () => (anyActive ? 2000 : 15000), ctx.signal);
}

function createRow(run) {
  const cell = (name, cls = null) => h('td', { dataset: { cell: name }, class: cls });
  return h('tr', { testid: 'run-row', dataset: { id: run.id } },
    h('th', { scope: 'row' }, link(`#/runs/${encodeURIComponent(run.id)}`, `Run ${shortId(run.id)}`,
      { testid: 'run-link', class: 'mono' })),
    cell('status'), cell('started_by'), cell('companies'), cell('found', 'num'), cell('inserted', 'num'), cell('ready', 'num'),
    cell('created'), cell('finished'));
}

function updateRow(tr, run) {
  const cell = (name) => tr.querySelector(`[data-cell="${name}"]`);
  const status = cell('status');
  if (status.firstChild?.dataset.status !== run.status) status.replaceChildren(statusBadge(run.status, 'run-status'));
  setText(cell('started_by'), run.started_by === 'schedule' ? 'schedule' : 'you');
  const c = run.counts ?? {};
  setText(cell('companies'), c.companies_total ? `${c.companies_done} / ${c.companies_total}` : '—');
  setText(cell('found'), c.total?.found ?? 0);
  setText(cell('inserted'), c.total?.inserted ?? 0);
  setText(cell('ready'), c.total?.ready ?? 0);
  replaceTime(cell('created'), run.created_at);
  replaceTime(cell('finished'), run.finished_at);
}

function replaceTime(td, iso) {
  const key = iso ?? '';
  if (td.dataset.iso === key && td.firstChild) return;
  td.dataset.iso = key;
  td.replaceChildren(time(iso));
}
