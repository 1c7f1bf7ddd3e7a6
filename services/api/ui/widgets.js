// Widgets more than one page shows: the status badge, a job's progress bar and done count, a posting's pay, and the
// control that starts a run. Pages import them from here, never from each other.

import { api, paths } from './api.js';
import { h, link, notify, shortId } from './dom.js';

/** The API's status word in a coloured badge. */
export function statusBadge(status, testid) {
  return h('span', { class: 'badge', testid, dataset: { status } }, status);
}

/** The job's progress bar: a real `<progress>` (0..1), labelled with the share done. */
export function progressBar(job, testid = 'job-progress') {
  const el = h('progress', { testid, max: 1, 'aria-label': `Progress of ${job.name}` });
  updateProgress(el, job);
  return el;
}

export function updateProgress(el, job) {
  const value = Math.min(1, Math.max(0, Number(job.progress) || 0));
  if (el.value !== value) el.value = value;
  el.title = `${Math.round(value * 100)} %`;
  el.textContent = `${Math.round(value * 100)} %`;
}

/**
 * A posting's structured pay, e.g. `USD 120,000–150,000 per year`; null when its board gave none as numbers. Parts
 * the board left out stay out (Greenhouse states no period).
 */
export function payText(p) {
  if (p.pay_min == null && p.pay_max == null) return null;
  const amount = (n) => Number(n).toLocaleString('en-US', { maximumFractionDigits: 2 });
  let range;
  if (p.pay_min != null && p.pay_max != null && p.pay_min !== p.pay_max) {
    range = `${amount(p.pay_min)}–${amount(p.pay_max)}`;
  } else if (p.pay_min != null && p.pay_max != null) {
    range = amount(p.pay_min);
  } else if (p.pay_min != null) {
    range = `from ${amount(p.pay_min)}`;
  } else {
    range = `up to ${amount(p.pay_max)}`;
  }
  return [p.pay_currency, range, p.pay_interval ? `per ${p.pay_interval}` : null].filter(Boolean).join(' ');
}

/** Items resolved one way or another, out of all. */
export function doneCount(job) {
  return job.items_completed + job.items_failed + job.items_cancelled + job.items_expired;
}

/**
 * Starts a run and opens its page. A run already active (409) becomes a notice linking to it; `button` (if any) is
 * disabled meanwhile.
 */
export async function startRun(ctx, button = null) {
  if (button) button.disabled = true;
  try {
    const run = await api('POST', paths.startRun(), { signal: ctx.signal });
    ctx.go(`#/runs/${encodeURIComponent(run.id)}`, ['success', `Run ${shortId(run.id)} queued.`]);
  } catch (error) {
    const active = error.status === 409 ? error.details?.run_id : null;
    if (active) {
      notify('warn', `A run is already active (${error.details.status ?? 'under way'}): `,
        link(`#/runs/${encodeURIComponent(active)}`, `open run ${shortId(active)}`, { testid: 'active-run-link' }),
        '. One run at a time: wait for it to end, or abort it.');
    } else {
      ctx.fail(error);
    }
  } finally {
    if (button) button.disabled = false;
  }
}
