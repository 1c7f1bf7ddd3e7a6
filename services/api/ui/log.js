// The run's log as a terminal: one line per entry (time, level, stage, message), following the newest line unless
// the reader has scrolled up (then a button brings them back), and marked ended when the run ends.

import { clock, h } from './dom.js';

/** Lines kept on screen; older ones are dropped (the API keeps them all). */
const MAX_LINES = 5000;

/** Creates a log viewer: `{ el, append(line), end(status), lastTimestamp() }`. */
export function logView() {
  const lines = h('div', {
    class: 'log', testid: 'run-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Run log', tabindex: 0,
    dataset: { state: 'live' },
  });
  const empty = h('p', { class: 'log__empty' }, 'Waiting for the first log line…');
  lines.append(empty);
  const latest = h('button', { type: 'button', class: 'button button--small log__latest', hidden: true },
    'Follow new lines ↓');
  const footer = h('p', { class: 'log__footer', 'aria-live': 'polite' });
  const el = h('section', { class: 'log-panel', 'aria-labelledby': 'log-title' },
    h('div', { class: 'log-panel__head' }, h('h2', { id: 'log-title' }, 'Log'), latest), lines, footer);

  let following = true;
  let scheduled = false;
  let last = null;
  const atBottom = () => lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 8;
  const toBottom = () => {
    lines.scrollTop = lines.scrollHeight;
  };
  lines.addEventListener('scroll', () => {
    following = atBottom();
    latest.hidden = following || lines.dataset.state === 'ended';
  });
  latest.addEventListener('click', () => {
    following = true;
    latest.hidden = true;
    toBottom();
    lines.focus();
  });
  const scrollSoon = () => {
    if (!following || scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      if (following) toBottom();
    });
  };

  return {
    el,
    append(line) {
      empty.remove();
      lines.append(lineEl(line));
      while (lines.childElementCount > MAX_LINES) lines.firstElementChild.remove();
      if (Number.isFinite(line.timestamp)) last = Math.max(last ?? 0, line.timestamp);
      scrollSoon();
    },
    /** Stops following: the run ended with `status`. */
    end(status) {
      if (lines.dataset.state === 'ended') return;
      lines.dataset.state = 'ended';
      latest.hidden = true;
      if (!lines.querySelector('.log-line')) empty.textContent = 'No log lines.';
      footer.textContent = `Log ended: the run ${status}.`;
    },
    lastTimestamp: () => last,
  };
}

function lineEl({ timestamp, level, stage, message }) {
  const lvl = ['info', 'warn', 'error'].includes(level) ? level : 'info';
  const at = Number.isFinite(timestamp) ? h('time', { datetime: new Date(timestamp).toISOString() }, clock(timestamp))
    : h('span', {}, '--:--:--.---');
  return h('div', { class: 'log-line', testid: 'log-line', dataset: { level: lvl } },
    h('span', { class: 'log-line__time' }, at),
    h('span', { class: 'log-line__level' }, (level ?? 'info').toUpperCase()),
    h('span', { class: 'log-line__stage' }, stage ?? '—'),
    h('span', { class: 'log-line__message' }, message ?? ''));
}
