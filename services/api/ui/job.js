// #/jobs/{id}: one screening job: status, progress and counts (live from the job's progress stream while it is
// unresolved, else polled), its items, and the flags it applied.

import { api, isQuiet, paths, stream } from './api.js';
import { h, link, notFound, notify, repeat, setText, shortId, table, time } from './dom.js';
import { jobUnresolved } from './meta.js';
import { doneCount, statusBadge, updateProgress } from './widgets.js';

const ITEMS_SHOWN = 200;
const FLAGS_SHOWN = 500;
/** The items and flags are re-read at most this often while the job moves. */
const LISTS_EVERY_MS = 3000;

export function render(ctx) {
  const [id] = ctx.params;
  document.title = `Screening job ${shortId(id)} · boardwatch`;
  const page = jobPage(ctx, id);
  ctx.root.append(page.el);
  return start(ctx, id, page);
}

async function start(ctx, id, page) {
  let job;
  try {
    job = await api('GET', paths.job(id), { signal: ctx.signal });
  } catch (error) {
    if (error.status === 404) return page.notFound();
    throw error;
  }
  page.update(job);
  await page.reloadLists();
  if (jobUnresolved(job.status)) follow(ctx, id, page);
}

function jobPage(ctx, id) {
  const title = h('h1', { tabindex: -1 }, `Screening job ${shortId(id)}`);
  const status = h('span', { class: 'job-status-holder' });
  const cancel = h('button', { type: 'button', class: 'button button--danger', testid: 'job-cancel', hidden: true },
    'Cancel job');
  const bar = h('progress', { testid: 'job-progress', max: 1, 'aria-labelledby': 'job-progress-label' });
  const share = h('span', { id: 'job-progress-label' });
  const counts = h('dl', { class: 'meta counts', testid: 'job-counts' });
  const details = h('dl', { class: 'meta' });
  const instructions = h('pre', { class: 'instructions' });
  const items = itemsTable();
  const flags = flagsTable();
  let job = null;
  const page = {
    el: h('div', {},
      h('p', { class: 'crumbs' }, link('#/jobs', '← All screening jobs')),
      h('div', { class: 'page-head' }, title, status, cancel),
      h('div', { class: 'progress-line' }, bar, share),
      counts, details,
      h('details', { class: 'card' }, h('summary', {}, 'Instructions'), instructions),
      flags.el, items.el),
    current: () => job,
    update(next) {
      job = next;
      setText(title, job.name);
      document.title = `${job.name} · boardwatch`;
      if (status.firstChild?.dataset.status !== job.status) {
        status.replaceChildren(statusBadge(job.status, 'job-status'));
      }
      updateProgress(bar, job);
      const percent = Math.round((Number(job.progress) || 0) * 100);
      setText(share, `${doneCount(job)} of ${job.items_total} items done (${percent} %)`);
      counts.replaceChildren(...countItems(job));
      details.replaceChildren(...detailItems(job));
      setText(instructions, job.instructions);
      cancel.hidden = !jobUnresolved(job.status);
      cancel.disabled = Boolean(job.cancel_requested_at);
      setText(cancel, job.cancel_requested_at ? 'Cancel requested…' : 'Cancel job');
    },
    async reloadLists() {
      await Promise.all([items.load(ctx, id), flags.load(ctx, id)]);
    },
    notFound: () => notFound(ctx.root, `Screening job ${shortId(id)}`, link('#/jobs', 'Back to the screening jobs.')),
  };
  cancel.addEventListener('click', () => cancelJob(ctx, id, page, cancel));
  return page;
}

function countItems(job) {
  const item = (term, value) => [h('dt', {}, term), h('dd', {}, String(value ?? 0))];
  return [
    item('Items', job.items_total), item('Pending', job.items_pending), item('Submitted', job.items_submitted),
    item('Completed', job.items_completed), item('Failed', job.items_failed), item('Cancelled', job.items_cancelled),
    item('Expired', job.items_expired), item('Flags applied', job.flags_applied),
    // How the worker learnt that items had ended at OpenAI: a webhook event, or its own poll.
    item('Ends pushed', job.ends_pushed), item('Ends polled', job.ends_polled),
  ].flat();
}

function detailItems(job) {
  const item = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
  const usage = job.usage ?? {};
  const count = (n) => Number(n ?? 0).toLocaleString('en-US');
  const tokens = `${count(usage.input_tokens)} in (${count(usage.cached_input_tokens)} cached), `
    + `${count(usage.output_tokens)} out (${count(usage.reasoning_tokens)} reasoning)`;
  const unpriced = usage.items_unpriced ? ` (${count(usage.items_unpriced)} items of a model without a price left out)` : '';
  return [
    item('Mode', job.mode), item('Model', job.model), item('Created', time(job.created_at)),
    item('Resolved', time(job.resolved_at)), item('Tokens', tokens),
    item('Estimated cost', `$${Number(usage.cost_usd ?? 0).toFixed(4)}${job.mode === 'batch' ? ' (batch price)' : ''}${unpriced}`),
    job.mode === 'batch' ? item('Batches', batchSummary(job.batches ?? [])) : [],
    job.error ? item('Error', job.error) : [],
  ].flat();
}

// A batch job's OpenAI batches: how many, how many applied, ended and running.
function batchSummary(batches) {
  if (batches.length === 0) return 'none submitted yet';
  const applied = batches.filter((b) => b.done_at).length;
  const ended = batches.filter((b) => b.outcome && !b.done_at).length;
  const running = batches.length - applied - ended;
  const parts = [`${applied} applied`, ended ? `${ended} being applied` : '', running ? `${running} running at OpenAI` : ''];
  return `${batches.length} (${parts.filter(Boolean).join(', ')})`;
}

async function cancelJob(ctx, id, page, button) {
  button.disabled = true;
  try {
    page.update(await api('POST', paths.cancelJob(id), { signal: ctx.signal }));
    notify('info', 'Cancel requested. Items not yet answered are cancelled at the next poll.');
  } catch (error) {
    if (error.status === 409) notify('warn', error.message);
    else ctx.fail(error);
    button.disabled = false;
  }
}

// ---- live updates -------------------------------------------------------------------------------------------------

function follow(ctx, id, page) {
  let listsDue = 0;
  const reloadSoon = () => {
    const now = Date.now();
    if (now < listsDue) return;
    listsDue = now + LISTS_EVERY_MS;
    page.reloadLists().catch(ctx.fail);
  };
  stream(paths.jobProgress(id), {
    state: (job) => page.update(job),
    change: (changed) => {
      if (!page.current()) return;
      page.update({ ...page.current(), ...changed });
      reloadSoon();
    },
    end: () => {
      api('GET', paths.job(id), { signal: ctx.signal }).then((job) => page.update(job)).catch(ctx.fail);
      page.reloadLists().catch(ctx.fail);
    },
  }, { signal: ctx.signal, onFail: () => poll(ctx, id, page) });
}

/** Without the stream: the job and its lists every 3 s until it resolves. */
function poll(ctx, id, page) {
  return repeat(async () => {
    try {
      const job = await api('GET', paths.job(id), { signal: ctx.signal });
      page.update(job);
      await page.reloadLists();
      return jobUnresolved(job.status);
    } catch (error) {
      if (error.status === 404) page.notFound();
      else ctx.fail(error);
      return !isQuiet(error) && error.status !== 404;
    }
  }, 3000, ctx.signal);
}

// ---- items and flags ----------------------------------------------------------------------------------------------

function itemsTable() {
  const list = table('job-items', 'Items', ['Item', 'Posting', 'Status', 'Flag', 'Label', 'Reason', 'Learnt by', 'Attempts'],
    { scroll: true });
  const note = h('p', { class: 'hint' });
  return {
    el: h('section', { 'aria-labelledby': 'items-title' }, h('h2', { id: 'items-title' }, 'Items'), note, list.wrap),
    async load(ctx, id) {
      const { items } = await api('GET', paths.jobItems(id, ITEMS_SHOWN), { signal: ctx.signal });
      list.tbody.replaceChildren(...items.map(itemRow));
      setText(note, items.length >= ITEMS_SHOWN ? `The first ${ITEMS_SHOWN} items.` : '');
    },
  };
}

function itemRow(item) {
  const d = item.decision ?? {};
  const flag = item.decision ? (d.flag ? 'yes' : 'no') : '—';
  return h('tr', { testid: 'item-row', dataset: { id: item.item_id, status: item.status } },
    h('th', { scope: 'row', class: 'num' }, String(item.item_id)),
    h('td', { class: 'num' }, String(item.entity_id)),
    h('td', {}, statusBadge(item.status)),
    h('td', {}, flag),
    h('td', {}, d.label ?? ''),
    h('td', { class: item.error ? 'cell-error' : 'reason' }, item.error ?? d.reason ?? ''),
    h('td', {}, item.learnt_by ?? '—'),
    h('td', { class: 'num' }, String(item.attempts ?? 0)));
}

function flagsTable() {
  const list = table('job-flags', 'Postings this job flagged', ['Company', 'Posting', 'Label', 'Reason'],
    { scroll: true });
  const note = h('p', { class: 'hint' });
  return {
    el: h('section', { 'aria-labelledby': 'flags-title' }, h('h2', { id: 'flags-title' }, 'Flagged postings'), note,
      list.wrap),
    async load(ctx, id) {
      const { postings } = await api('GET', paths.jobFlags(id, FLAGS_SHOWN), { signal: ctx.signal });
      list.tbody.replaceChildren(...postings.map(flagRow));
      setText(note, postings.length ? `${postings.length} posting(s) flagged.` : 'No posting flagged (yet).');
      if (postings.length) {
        note.append(' ', link(`#/postings?job_id=${encodeURIComponent(id)}`, 'Browse or export them',
          { testid: 'job-postings-link' }), '.');
      }
    },
  };
}

function flagRow(posting) {
  const title = link(`#/postings/${encodeURIComponent(posting.id)}`, posting.title, { testid: 'flag-posting' });
  return h('tr', { testid: 'flag-row', dataset: { id: posting.id } },
    h('td', {}, posting.company),
    h('th', { scope: 'row' }, title),
    h('td', {}, h('span', { class: 'label' }, posting.label)),
    h('td', { class: 'reason' }, posting.reason));
}
