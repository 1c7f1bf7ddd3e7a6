// #/ops: the operators' panel. The work queues with their depths and dead-letter queues (refreshed every 5 s), a
// peek at a DLQ's messages, and a redrive in two steps: a dry run saying what would move where, then a confirm.

import { api, isQuiet, paths } from './api.js';
import { duration, h, notify, repeat, setText, syncRows, table, time } from './dom.js';

const REFRESH_MS = 5000;
const PEEK_LIMIT = 10;

export function render(ctx) {
  document.title = 'Operators · boardwatch';
  const queues = table('ops-queues', 'Queues', ['Queue', 'Visible', 'In flight', 'Delayed', 'Oldest', 'State', 'DLQ',
    'Dead letters']);
  const updated = h('p', { class: 'hint', 'aria-live': 'off' });
  const panel = h('div', { class: 'ops-panel' });
  ctx.root.append(
    h('h1', { tabindex: -1 }, 'Operators'),
    h('p', { class: 'lede' }, 'Queue depths refresh every 5 seconds. Peek at a dead-letter queue to see what failed '
      + 'and why; redrive it once the cause is fixed.'),
    queues.wrap, updated, panel);
  const actions = { peek: (q) => peek(ctx, q, panel), dryRun: (q) => dryRun(ctx, q, panel) };
  return repeat(async () => {
    try {
      const answer = await api('GET', paths.queues(), { signal: ctx.signal });
      syncRows(queues.tbody, answer.queues, (q) => q.name, (q) => createRow(q, actions), updateRow);
      setText(updated, `Updated ${new Date().toLocaleTimeString()}.`);
      return true;
    } catch (error) {
      if (error.status === 403 || error.status === 404) {
        ctx.root.replaceChildren(h('h1', { tabindex: -1 }, 'Operators'), h('p', { class: 'empty' },
          error.status === 403 ? `This page is for operators. ${error.message}`
            : 'This server does not offer the operators\' endpoints.'));
        return false;
      }
      ctx.fail(error);
      return !isQuiet(error);
    }
  }, REFRESH_MS, ctx.signal);
}

function createRow(queue, actions) {
  const peekButton = h('button', { type: 'button', class: 'button button--small button--secondary', testid: 'dlq-peek',
    'aria-label': `Peek at the dead letters of ${queue.name}` }, 'Peek');
  const redriveButton = h('button', { type: 'button', class: 'button button--small button--secondary',
    testid: 'dlq-redrive-dry-run', 'aria-label': `Redrive ${queue.name}'s dead letters (dry run first)` },
  'Redrive…');
  peekButton.addEventListener('click', () => actions.peek(queue));
  redriveButton.addEventListener('click', () => actions.dryRun(queue));
  const cell = (name, cls = 'num') => h('td', { class: cls, dataset: { cell: name } });
  return h('tr', { testid: 'queue-row', dataset: { queue: queue.name } },
    h('th', { scope: 'row' }, h('span', { class: 'queue-name' }, queue.name),
      h('span', { class: 'queue-sub mono', dataset: { cell: 'queue_name' } })),
    h('td', { class: 'num', testid: 'queue-visible' }),
    cell('in_flight'), cell('delayed'), cell('oldest'), cell('state', null),
    h('td', { class: 'mono', dataset: { cell: 'dlq' } }),
    h('td', { class: 'num' }, h('span', { testid: 'dlq-visible' }),
      h('span', { class: 'row-actions' }, peekButton, redriveButton)));
}

function updateRow(tr, queue) {
  const cell = (name) => tr.querySelector(`[data-cell="${name}"]`);
  setText(cell('queue_name'), queue.queue_name);
  setText(tr.querySelector('[data-testid="queue-visible"]'), queue.visible);
  setText(cell('in_flight'), queue.in_flight);
  setText(cell('delayed'), queue.delayed);
  setText(cell('oldest'), queue.oldest_age_secs == null ? '—' : duration(queue.oldest_age_secs));
  setText(cell('state'), queue.paused ? 'paused' : 'consuming');
  cell('state').dataset.paused = String(Boolean(queue.paused));
  setText(cell('dlq'), queue.dlq?.queue_name ?? 'none');
  const dlqVisible = tr.querySelector('[data-testid="dlq-visible"]');
  setText(dlqVisible, queue.dlq ? queue.dlq.visible : '—');
  dlqVisible.dataset.nonzero = String((queue.dlq?.visible ?? 0) > 0);
  for (const button of tr.querySelectorAll('button')) button.disabled = !queue.dlq;
}

// ---- peek ---------------------------------------------------------------------------------------------------------

async function peek(ctx, queue, panel) {
  const list = h('div', { class: 'dlq-messages', testid: 'dlq-messages' }, h('p', {}, 'Reading…'));
  const heading = h('h2', { tabindex: -1 }, `Dead letters of ${queue.name}`);
  panel.replaceChildren(h('section', { class: 'card' }, heading, list));
  heading.focus();
  try {
    const { messages } = await api('POST', paths.dlqPeek(queue.name), { body: { limit: PEEK_LIMIT },
      signal: ctx.signal });
    list.replaceChildren(...(messages.length ? messages.map(messageCard)
      : [h('p', { class: 'empty' }, 'The dead-letter queue is empty.')]));
    if (messages.length) {
      heading.after(h('p', { class: 'hint' }, `${messages.length} message(s) shown (at most ${PEEK_LIMIT}). `
        + 'Peeking leaves them in the queue.'));
    }
  } catch (error) {
    if (isQuiet(error)) return;
    list.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `Could not peek: ${error.message}`));
  }
}

function messageCard(message) {
  const attributes = Object.entries(message.attributes ?? {});
  return h('article', { class: 'dlq-message', testid: 'dlq-message', dataset: { id: message.message_id } },
    h('dl', { class: 'meta' },
      h('dt', {}, 'Message'), h('dd', { class: 'mono wrap-anywhere' }, message.message_id),
      h('dt', {}, 'Sent'), h('dd', {}, time(message.sent_at)),
      h('dt', {}, 'Receives'), h('dd', {}, String(message.receive_count ?? '—')),
      h('dt', {}, 'Reason'), h('dd', { class: message.reason ? 'cell-error' : null },
        message.reason ?? 'not recorded')),
    attributes.length ? h('details', { open: true }, h('summary', {}, `Attributes (${attributes.length})`),
      h('dl', { class: 'meta attributes' }, attributes.flatMap(([k, v]) => [h('dt', { class: 'mono' }, k),
        h('dd', { class: 'mono wrap-anywhere' }, shown(v))]))) : null,
    h('pre', { class: 'body', tabindex: 0, 'aria-label': 'Message body' }, prettyBody(message.body)));
}

/** A value of a map from the API as text: strings as they are, nothing as a dash, anything else as JSON. */
function shown(value) {
  if (value == null) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The body as indented JSON when it is JSON, else as it is. */
function prettyBody(body) {
  if (typeof body !== 'string') return JSON.stringify(body, null, 2);
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

// ---- redrive ------------------------------------------------------------------------------------------------------

async function dryRun(ctx, queue, panel) {
  const heading = h('h2', { tabindex: -1 }, `Redrive ${queue.name}`);
  const body = h('div', { testid: 'dlq-redrive-summary' }, h('p', {}, 'Checking what would move…'));
  panel.replaceChildren(h('section', { class: 'card' }, heading, body));
  heading.focus();
  let plan;
  try {
    plan = await api('POST', paths.dlqRedrive(queue.name), { body: { dry_run: true }, signal: ctx.signal });
  } catch (error) {
    if (!isQuiet(error)) body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, error.message));
    return;
  }
  const confirm = h('button', { type: 'button', class: 'button button--danger', testid: 'dlq-redrive-confirm',
    disabled: plan.messages === 0 }, `Move ${plan.messages} message(s)`);
  const cancel = h('button', { type: 'button', class: 'button button--quiet' }, 'Cancel');
  cancel.addEventListener('click', () => panel.replaceChildren());
  confirm.addEventListener('click', () => redrive(ctx, queue, body, [confirm, cancel]));
  const source = queue.dlq?.queue_name ?? `${queue.name}'s dead-letter queue`;
  body.replaceChildren(
    h('p', {}, 'Dry run: ', h('strong', {}, `${plan.messages} message(s)`), ` would move from ${source} to `,
      h('strong', { class: 'mono' }, describeDestination(plan.destination)), '.',
      plan.messages === 0 ? ' Nothing to move.' : ' Nothing has moved yet.'),
    h('div', { class: 'actions' }, confirm, cancel));
  (plan.messages ? confirm : cancel).focus();
}

function describeDestination(destination) {
  if (destination == null) return 'the queue they came from';
  if (typeof destination === 'string') return destination;
  return destination.queue_name ?? destination.name ?? destination.url ?? JSON.stringify(destination);
}

async function redrive(ctx, queue, body, buttons) {
  for (const b of buttons) b.disabled = true;
  try {
    const result = await api('POST', paths.dlqRedrive(queue.name), { body: { dry_run: false }, signal: ctx.signal });
    body.replaceChildren(h('div', {},
      h('p', { role: 'status' }, `Redrive started: ${result.messages} message(s) moving to `,
        h('span', { class: 'mono' }, describeDestination(result.destination)), '.'),
      result.task ? taskDetails(result.task) : null));
    notify('success', `Redrive of ${queue.name} started.`);
  } catch (error) {
    if (isQuiet(error)) return;
    body.append(h('p', { class: 'form-error', role: 'alert' }, `Redrive refused: ${error.message}`));
    for (const b of buttons) b.disabled = false;
  }
}

/** SQS's message move task as the API reports it. */
function taskDetails(task) {
  const item = (term, value) => (value == null ? [] : [h('dt', {}, term), h('dd', {}, value)]);
  return h('dl', { class: 'meta' },
    item('Task', task.status),
    item('Moved', `${task.moved ?? 0} of ${task.to_move ?? '?'}`),
    item('Started', task.started_at ? time(task.started_at) : null),
    item('Handle', task.task_handle ? h('span', { class: 'mono wrap-anywhere' }, task.task_handle) : null),
    item('Failure', task.failure_reason ? h('span', { class: 'cell-error' }, task.failure_reason) : null));
}
