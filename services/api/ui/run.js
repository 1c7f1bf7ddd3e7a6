// #/runs/{id}: one run, live. The progress stream gives the full run (`state`), then the fields that changed
// (`change`), log lines (`log`) and `end`; if the stream cannot be had, the page polls the run and its log instead.

import { api, isQuiet, paths, stream } from './api.js';
import { h, link, notFound, notify, repeat, setText, shortId, table, time } from './dom.js';
import { logView } from './log.js';
import { meta, runActive } from './meta.js';
import { startRun, statusBadge } from './widgets.js';

const STEPS = [
  ['queued', 'Queued'],
  ['initializing', 'Initializing'],
  ['ingesting', 'Ingesting'],
  ['summary', 'Summary'],
];
const STEP_OF_STATUS = { pending: 0, initializing: 1, ingesting: 2 };
const LIVE_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…',
  polling: 'Refreshing every 2 s', ended: 'Ended' };

const isEnded = (run) => run && !runActive(run.status);

export function render(ctx) {
  const [id] = ctx.params;
  document.title = `Run ${shortId(id)} · boardwatch`;
  const page = runPage(ctx, id);
  ctx.root.append(page.el);
  follow(ctx, id, page);
}

/** The page's parts; `update(run)` brings them all in line with a run view. */
function runPage(ctx, id) {
  const status = h('span', { class: 'run-status' });
  const live = h('span', { class: 'live', testid: 'run-live', dataset: { live: 'connecting' } },
    LIVE_TEXT.connecting);
  const meta = h('dl', { class: 'meta' });
  const steps = stepper();
  const abort = abortButton(ctx, id);
  const summary = summaryBanner(ctx, id);
  const counts = countsTable();
  const log = logView();
  const el = h('div', {},
    h('p', { class: 'crumbs' }, link('#/runs', '← All runs')),
    h('div', { class: 'page-head' }, h('h1', { tabindex: -1 }, `Run ${shortId(id)}`), status, live, abort.el),
    meta, steps.el, summary.el, counts.el, log.el);
  let run = null;
  return {
    el,
    log,
    current: () => run,
    update(next) {
      run = next;
      if (status.firstChild?.dataset.status !== run.status) {
        status.replaceChildren(statusBadge(run.status, 'run-status'));
      }
      meta.replaceChildren(...metaItems(run));
      steps.update(run);
      abort.update(run);
      summary.update(run);
      counts.update(run);
    },
    setLive(state) {
      live.dataset.live = state;
      setText(live, LIVE_TEXT[state] ?? state);
    },
    notFound: () => notFound(ctx.root, `Run ${shortId(id)}`, link('#/runs', 'Back to the runs.')),
  };
}

function metaItems(run) {
  const item = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
  return [
    item('Created', time(run.created_at)),
    item('Started', time(run.started_at)),
    item('Finished', time(run.finished_at)),
    item('Stage', run.stage ?? '—'),
    item('Attempts', String(run.attempts ?? 0)),
  ].flat();
}

// ---- live updates -------------------------------------------------------------------------------------------------

function follow(ctx, id, page) {
  const apply = (run) => page.update(run);
  stream(paths.runProgress(id), {
    state: apply,
    change: (changed) => page.current() && apply({ ...page.current(), ...changed }),
    log: (line) => page.log.append(line),
    end: (data) => {
      if (page.current()) apply({ ...page.current(), status: data.status ?? page.current().status });
      page.log.end(data.status ?? page.current()?.status ?? 'ended');
      // The final snapshot of the counts, in case the last change was missed.
      api('GET', paths.run(id), { signal: ctx.signal }).then(apply).catch(() => {});
    },
  }, {
    signal: ctx.signal,
    onStatus: (state) => page.setLive(state),
    onFail: () => poll(ctx, id, page),
  });
}

/** Without the stream: the run every 2 s and the log lines since the last one, until the run has ended. */
async function poll(ctx, id, page) {
  page.setLive('polling');
  const logs = logPoller(ctx, id, page.log);
  await repeat(async () => {
    let run;
    try {
      run = await api('GET', paths.run(id), { signal: ctx.signal });
    } catch (error) {
      if (error.status === 404) page.notFound();
      else ctx.fail(error);
      return !isQuiet(error) && error.status !== 404;
    }
    page.update(run);
    await logs.pull().catch(ctx.fail);
    if (!isEnded(run)) return true;
    page.log.end(run.status);
    page.setLive('ended');
    return false;
  }, 2000, ctx.signal);
}

/** Pulls new log lines from `GET /api/ingestion/logs/{id}`, after the last line's timestamp or the API's `next_token`. */
function logPoller(ctx, id, log) {
  let nextToken = null;
  return {
    async pull() {
      for (let round = 0; round < 20; round += 1) {
        const query = new URLSearchParams({ limit: '500' });
        if (nextToken) query.set('next_token', nextToken);
        else if (log.lastTimestamp() != null) query.set('start_time', String(log.lastTimestamp()));
        const answer = await api('GET', paths.runLogs(id, query), { signal: ctx.signal });
        // Timestamps rise strictly within a run, so a line at or before the last one shown is one already shown.
        const last = log.lastTimestamp() ?? -Infinity;
        answer.logs.filter((line) => !(line.timestamp <= last)).forEach((line) => log.append(line));
        nextToken = answer.next_token ?? null;
        if (answer.logs.length < 500) return;
      }
    },
  };
}

// ---- the parts ----------------------------------------------------------------------------------------------------

function stepper() {
  const items = STEPS.map(([key, label]) => {
    const state = h('span', { class: 'visually-hidden' });
    const detail = h('span', { class: 'step__detail' });
    const li = h('li', { class: 'step', testid: `step-${key}`, dataset: { state: 'todo' } },
      h('span', { class: 'step__marker', 'aria-hidden': 'true' }), h('span', { class: 'step__label' }, label),
      detail, state);
    return { li, state, detail };
  });
  const el = h('ol', { class: 'stepper', testid: 'run-stepper', 'aria-label': 'Progress' }, items.map((i) => i.li));
  return {
    el,
    update(run) {
      const active = STEP_OF_STATUS[run.status] ?? STEPS.length - 1;
      el.dataset.status = run.status;
      items.forEach(({ li, state, detail }, i) => {
        const s = i < active ? 'done' : i === active ? 'active' : 'todo';
        li.dataset.state = s;
        if (s === 'active') li.setAttribute('aria-current', 'step');
        else li.removeAttribute('aria-current');
        setText(state, { done: ' (done)', active: ' (current)', todo: ' (to come)' }[s]);
        setText(detail, i === active ? stepDetail(run) : '');
      });
    },
  };
}

function stepDetail(run) {
  if (run.status === 'ingesting') {
    const c = run.counts ?? {};
    const stage = run.stage ? `${run.stage}, ` : '';
    return `${stage}${c.companies_done ?? 0} of ${c.companies_total ?? '?'} companies`;
  }
  return isEnded(run) ? run.status : '';
}

function abortButton(ctx, id) {
  const el = h('button', { type: 'button', class: 'button button--danger', testid: 'run-abort', hidden: true },
    'Abort run');
  el.addEventListener('click', async () => {
    el.disabled = true;
    try {
      await api('POST', paths.abortRun(id), { signal: ctx.signal });
      el.textContent = 'Abort requested…';
      notify('info', 'Abort requested. The run stops at its next checkpoint.');
    } catch (error) {
      if (error.status === 409) notify('warn', error.message);
      else ctx.fail(error);
      el.disabled = false;
    }
  });
  return {
    el,
    update(run) {
      el.hidden = isEnded(run);
      if (run.abort_requested) {
        el.disabled = true;
        setText(el, 'Abort requested…');
      }
    },
  };
}

function summaryBanner(ctx, id) {
  const el = h('section', { class: 'summary', testid: 'run-summary', role: 'status', hidden: true });
  return {
    el,
    update(run) {
      if (!isEnded(run)) {
        el.hidden = true;
        return;
      }
      if (el.dataset.status === run.status && el.dataset.finishedAt === String(run.finished_at)) return;
      el.dataset.status = run.status;
      el.dataset.finishedAt = String(run.finished_at);
      el.replaceChildren(...summaryContent(ctx, id, run));
      el.hidden = false;
    },
  };
}

function summaryContent(ctx, id, run) {
  const t = run.counts?.total ?? {};
  const c = run.counts ?? {};
  const title = { finished: 'Run finished', failed: 'Run failed', aborted: 'Run aborted' }[run.status] ?? run.status;
  const text = {
    finished: `${c.companies_done ?? 0} companies read: ${t.found ?? 0} postings found, ${t.inserted ?? 0} new, `
      + `${t.updated ?? 0} updated, ${t.expired ?? 0} expired; ${t.ready ?? 0} ready to screen.`
      + (c.boards_failed ? ` ${c.boards_failed} board(s) could not be read.` : ''),
    failed: run.error ? `The run failed: ${run.error}` : 'The run failed.',
    aborted: `The run was aborted${run.error ? `: ${run.error}` : '.'}`,
  }[run.status] ?? '';
  const again = h('button', { type: 'button', class: 'button', testid: 'run-start-new' }, 'Start new run');
  again.addEventListener('click', () => startRun(ctx, again));
  const screen = run.status === 'finished'
    ? h('button', { type: 'button', class: 'button button--secondary', testid: 'run-screen' }, 'Screen these postings')
    : null;
  screen?.addEventListener('click', () => ctx.go(`#/jobs?run=${encodeURIComponent(id)}`));
  const started = (run.jobs ?? []).length
    ? h('p', { testid: 'run-jobs' }, 'Its end started: ', ...run.jobs.flatMap((j, i) => [i ? ', ' : '',
      link(`#/jobs/${encodeURIComponent(j.id)}`, `${j.name} (${j.items_total} postings)`, { testid: 'run-job' })]), '.')
    : null;
  return [h('h2', {}, title), h('p', {}, text), started, h('div', { class: 'actions' }, again, screen)];
}

function countsTable() {
  const title = (word) => word.charAt(0).toUpperCase() + word.slice(1);
  const headers = ['Company', 'Board', 'Status', ...meta().runs.count_columns.map(title)];
  const { wrap, table: tableEl, tbody } = table('run-counts', 'Postings per company', headers);
  const tfoot = h('tfoot');
  tableEl.append(tfoot);
  const progress = h('p', { class: 'counts-progress' });
  const el = h('section', { 'aria-labelledby': 'counts-title' }, h('h2', { id: 'counts-title' }, 'Counts'),
    progress, wrap);
  return {
    el,
    update(run) {
      const c = run.counts ?? {};
      setText(progress, countsLine(c));
      const rows = (c.companies ?? []).map(companyRow);
      if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: headers.length, class: 'empty-cell' },
        isEnded(run) ? 'No company was read.' : 'No company finished yet.')));
      tbody.replaceChildren(...rows);
      tfoot.replaceChildren(h('tr', { class: 'total' }, h('th', { scope: 'row', colspan: 3 }, 'Total'),
        meta().runs.count_columns.map((k) => h('td', { class: 'num' }, String(c.total?.[k] ?? 0)))));
    },
  };
}

function countsLine(c) {
  const parts = [`${c.companies_done ?? 0} of ${c.companies_total ?? 0} companies read`];
  if (c.boards_failed) parts.push(`${c.boards_failed} board(s) failed`);
  if (c.removed_company_postings_expired) {
    parts.push(`${c.removed_company_postings_expired} postings of removed companies expired`);
  }
  return `${parts.join('; ')}.`;
}

function companyRow(company) {
  const failed = company.extract_status !== 'ok';
  return h('tr', { dataset: { companyId: company.company_id, extract: company.extract_status } },
    h('th', { scope: 'row' }, company.name),
    h('td', {}, company.board_kind),
    h('td', { class: failed ? 'cell-error' : null },
      failed ? `${company.extract_status}: ${company.error ?? 'the board could not be read'}` : 'ok'),
    meta().runs.count_columns.map((k) => h('td', { class: 'num' }, String(company[k] ?? 0))));
}
