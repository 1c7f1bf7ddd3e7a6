// #/jobs: LLM screening jobs. A form that screens a finished run's ready postings, and the list of jobs with their
// progress, refreshed every few seconds while any is unresolved.

import { api, isQuiet, paths } from './api.js';
import { dateTime, h, link, repeat, setText, shortId, syncRows, table, time } from './dom.js';
import { jobUnresolved, meta } from './meta.js';
import { screensCard } from './screens.js';
import { doneCount, progressBar, statusBadge, updateProgress } from './widgets.js';

const DEFAULT_MODEL = 'gpt-4.1-mini';
/** How the form names the modes `/api/meta` lists. */
const MODE_LABELS = {
  background: 'Background (one request per posting)',
  batch: 'Batch (one OpenAI batch, half the price, slower)',
};

export function render(ctx) {
  document.title = 'Screening · boardwatch';
  const form = jobForm(ctx, ctx.query.get('run'));
  const screens = screensCard(ctx);
  const list = table('jobs-table', 'Your screening jobs', ['Job', 'Status', 'Progress', 'Items', 'Flags', 'Mode',
    'Model', 'Created']);
  const empty = h('p', { class: 'empty', hidden: true }, 'No screening jobs yet.');
  ctx.root.append(
    h('h1', { tabindex: -1 }, 'Screening'),
    h('p', { class: 'lede' }, 'A job asks a model about each ready posting of a run and flags the ones that match.'),
    form.el,
    h('h2', {}, 'Jobs'),
    list.wrap,
    empty,
    screens.el,
  );
  screens.load();
  form.load().catch(ctx.fail);
  let anyUnresolved = false;
  return repeat(async () => {
    try {
      const { jobs } = await api('GET', paths.jobs(50), { signal: ctx.signal });
      syncRows(list.tbody, jobs, (j) => j.id, createRow, updateRow);
      empty.hidden = jobs.length > 0;
      list.wrap.hidden = jobs.length === 0;
      anyUnresolved = jobs.some((j) => jobUnresolved(j.status));
      return true;
    } catch (error) {
      ctx.fail(error);
      return !isQuiet(error);
    }
  }, () => (anyUnresolved ? 3000 : 20000), ctx.signal);
}

function createRow(job) {
  return h('tr', { testid: 'job-row', dataset: { id: job.id } },
    h('th', { scope: 'row' }, link(`#/jobs/${encodeURIComponent(job.id)}`, job.name, { testid: 'job-link' })),
    h('td', { dataset: { cell: 'status' } }),
    h('td', { dataset: { cell: 'progress' } }, progressBar(job)),
    h('td', { class: 'num', dataset: { cell: 'items' } }),
    h('td', { class: 'num', dataset: { cell: 'flags' } }),
    h('td', {}, job.mode),
    h('td', { class: 'mono' }, job.model),
    h('td', {}, time(job.created_at)));
}

function updateRow(tr, job) {
  const cell = (name) => tr.querySelector(`[data-cell="${name}"]`);
  const status = cell('status');
  if (status.firstChild?.dataset.status !== job.status) status.replaceChildren(statusBadge(job.status, 'job-status'));
  updateProgress(cell('progress').firstChild, job);
  setText(cell('items'), `${doneCount(job)} / ${job.items_total}`);
  setText(cell('flags'), job.flags_applied);
}

// ---- the form -----------------------------------------------------------------------------------------------------

function jobForm(ctx, chosenRun) {
  const name = h('input', { id: 'job-name', name: 'name', required: true, maxlength: 200, testid: 'job-name',
    autocomplete: 'off' });
  const instructions = h('textarea', { id: 'job-instructions', name: 'instructions', required: true, rows: 4,
    maxlength: 20000, testid: 'job-instructions', 'aria-describedby': 'job-instructions-hint' });
  const run = h('select', { id: 'job-run', name: 'run', required: true, testid: 'job-run' },
    h('option', { value: '' }, 'Loading runs…'));
  const mode = h('select', { id: 'job-mode', name: 'mode', testid: 'job-mode' },
    meta().jobs.modes.map((value) => h('option', { value }, MODE_LABELS[value] ?? value)));
  const model = h('input', { id: 'job-model', name: 'model', required: true, value: DEFAULT_MODEL, testid: 'job-model',
    autocomplete: 'off', spellcheck: 'false' });
  const error = h('p', { class: 'form-error', testid: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button', testid: 'job-submit' }, 'Start screening');
  const field = (id, label, control, wide = false, hint = null) =>
    h('div', { class: wide ? 'field field--wide' : 'field' }, h('label', { for: id }, label), control, hint);
  const el = h('form', { class: 'card form-grid', testid: 'job-form', 'aria-labelledby': 'job-form-title' },
    h('h2', { id: 'job-form-title', class: 'form-grid__title' }, 'New screening job'),
    field('job-name', 'Name', name),
    field('job-run', 'Postings of run', run),
    field('job-instructions', 'Instructions', instructions, true, h('p', { class: 'hint', id: 'job-instructions-hint' },
      'What to decide about each posting; the model answers flag, label and a one-sentence reason.')),
    field('job-mode', 'Mode', mode),
    field('job-model', 'Model', model),
    error,
    h('div', { class: 'actions' }, submit));
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      const body = { name: name.value, instructions: instructions.value, mode: mode.value, model: model.value.trim(),
        entities: { run_id: run.value } };
      const job = await api('POST', paths.createJob(), { body, signal: ctx.signal });
      ctx.go(`#/jobs/${encodeURIComponent(job.id)}`, ['success', `Screening job "${job.name}" created.`]);
    } catch (e) {
      if (isQuiet(e)) return;
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return { el, load: () => loadRuns(ctx, run, submit, chosenRun) };
}

/** Fills the run select with finished runs, latest first, choosing `chosen` when it is one of them. */
async function loadRuns(ctx, select, submit, chosen) {
  const { runs } = await api('GET', paths.runs(100), { signal: ctx.signal });
  const finished = runs.filter((r) => r.status === 'finished')
    .sort((a, b) => String(b.finished_at ?? b.created_at).localeCompare(String(a.finished_at ?? a.created_at)));
  if (!finished.length) {
    select.replaceChildren(h('option', { value: '' }, 'No finished run yet'));
    select.disabled = true;
    submit.disabled = true;
    return;
  }
  select.replaceChildren(...finished.map((r) => h('option', { value: r.id },
    `Run ${shortId(r.id)}, finished ${dateTime(r.finished_at)}: ${r.counts?.total?.ready ?? 0} ready postings`)));
  select.disabled = false;
  submit.disabled = false;
  if (chosen && finished.some((r) => r.id === chosen)) select.value = chosen;
}
