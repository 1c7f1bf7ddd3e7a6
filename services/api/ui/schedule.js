// The schedule card of the Runs page: the user's schedule of runs (every N hours, or a cron expression in a time
// zone) with its next due time, a form to set or replace it (the API's refusal shown as it says it), and removal.

import { api, ApiError, isQuiet, paths } from './api.js';
import { dateTime, h, notify, setText } from './dom.js';

export function scheduleCard(ctx) {
  const summary = h('p', { testid: 'schedule-summary' }, 'Loading the schedule…');
  const kind = h('select', { id: 'schedule-kind', name: 'kind', testid: 'schedule-kind' },
    h('option', { value: 'hours' }, 'Every few hours'), h('option', { value: 'cron' }, 'A cron expression'));
  const hours = h('input', { id: 'schedule-hours', name: 'hours', type: 'number', min: 1, max: 8760, value: 6,
    testid: 'schedule-hours' });
  const cron = h('input', { id: 'schedule-cron', name: 'cron', type: 'text', placeholder: '0 8 * * 1-5',
    spellcheck: 'false', testid: 'schedule-cron' });
  const zone = h('input', { id: 'schedule-tz', name: 'time_zone', type: 'text', spellcheck: 'false',
    value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', testid: 'schedule-tz' });
  const hoursField = h('div', { class: 'field' }, h('label', { for: 'schedule-hours' }, 'Hours between runs'), hours);
  const cronFields = [
    h('div', { class: 'field' }, h('label', { for: 'schedule-cron' }, 'Cron (minute hour day month weekday)'), cron),
    h('div', { class: 'field' }, h('label', { for: 'schedule-tz' }, 'Time zone'), zone),
  ];
  const error = h('p', { class: 'form-error', testid: 'schedule-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'button', testid: 'schedule-save' }, 'Save schedule');
  const remove = h('button', { type: 'button', class: 'button button--quiet', testid: 'schedule-remove', hidden: true },
    'Remove');
  const showKind = () => {
    hoursField.hidden = kind.value !== 'hours';
    for (const f of cronFields) f.hidden = kind.value !== 'cron';
  };
  kind.addEventListener('change', showKind);
  showKind();
  const form = h('form', { class: 'card', testid: 'schedule-form', 'aria-labelledby': 'schedule-title' },
    h('h2', { id: 'schedule-title' }, 'Schedule'), summary,
    h('div', { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'schedule-kind' }, 'Runs'), kind), hoursField, ...cronFields),
    error, h('div', { class: 'actions' }, save, remove));

  const show = (schedule) => {
    remove.hidden = !schedule;
    if (!schedule) {
      setText(summary, 'No schedule: a run starts only when you start one.');
      return;
    }
    const what = schedule.every_hours
      ? `every ${schedule.every_hours} hour${schedule.every_hours === 1 ? '' : 's'}`
      : `on "${schedule.cron}" (${schedule.time_zone})`;
    setText(summary, `Runs start ${what}; the next at ${dateTime(schedule.next_due_at)}.`);
    summary.dataset.next = schedule.next_due_at;
  };
  const load = async () => {
    try {
      show(await api('GET', paths.schedule(), { signal: ctx.signal }));
    } catch (e) {
      if (e.status === 404) show(null);
      else if (!isQuiet(e)) ctx.fail(e);
    }
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = kind.value === 'hours'
      ? { every_hours: Number(hours.value) }
      : { cron: cron.value.trim(), time_zone: zone.value.trim() || 'UTC' };
    save.disabled = true;
    try {
      show(await api('PUT', paths.schedule(), { body, signal: ctx.signal }));
      notify('success', 'Schedule saved.');
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        setText(error, e.message);
        error.hidden = false;
      } else if (!isQuiet(e)) ctx.fail(e);
    } finally {
      save.disabled = false;
    }
  });
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      await api('DELETE', paths.schedule(), { signal: ctx.signal });
      show(null);
      notify('success', 'Schedule removed.');
    } catch (e) {
      if (!isQuiet(e)) ctx.fail(e);
    } finally {
      remove.disabled = false;
    }
  });
  return { el: form, load };
}
