// The standing screens card of the Screening page: the user's screens (each judges what every finished run finds
// new or changed), and a form that adds one.

import { api, isQuiet, paths } from './api.js';
import { h, link, setText, table, time } from './dom.js';
import { meta } from './meta.js';

export function screensCard(ctx) {
  const list = table('screens-table', 'Your standing screens', ['Screen', 'Model', 'Mode', 'Added']);
  const empty = h('p', { class: 'empty', hidden: true },
    'No standing screen: runs start no screening by themselves.');
  const name = h('input', { id: 'screen-name', name: 'name', required: true, maxlength: 200, testid: 'screen-name' });
  const instructions = h('textarea', { id: 'screen-instructions', name: 'instructions', rows: 3, required: true,
    testid: 'screen-instructions' });
  const model = h('input', { id: 'screen-model', name: 'model', value: 'gpt-4.1-mini', testid: 'screen-model',
    spellcheck: 'false' });
  const mode = h('select', { id: 'screen-mode', name: 'mode', testid: 'screen-mode' },
    meta().jobs.modes.map((m) => h('option', { value: m }, m)));
  const error = h('p', { class: 'form-error', testid: 'screen-error', role: 'alert', hidden: true });
  const add = h('button', { type: 'submit', class: 'button', testid: 'screen-add' }, 'Add screen');
  const field = (id, label, control, wide = false) =>
    h('div', { class: wide ? 'field field--wide' : 'field' }, h('label', { for: id }, label), control);
  const form = h('form', { class: 'form-grid', testid: 'screen-form', 'aria-label': 'Add a standing screen' },
    field('screen-name', 'Name', name), field('screen-model', 'Model', model),
    field('screen-instructions', 'Instructions', instructions, true), field('screen-mode', 'Mode', mode),
    error, h('div', { class: 'actions' }, add));
  const load = async () => {
    try {
      const { screens } = await api('GET', paths.screens(), { signal: ctx.signal });
      list.tbody.replaceChildren(...screens.map((s) => h('tr', { testid: 'screen-row', dataset: { id: s.id } },
        h('th', { scope: 'row' }, link(`#/screens/${encodeURIComponent(s.id)}`, s.name, { testid: 'screen-link' })),
        h('td', { class: 'mono' }, s.model), h('td', {}, s.mode), h('td', {}, time(s.created_at)))));
      empty.hidden = screens.length > 0;
      list.wrap.hidden = screens.length === 0;
    } catch (e) {
      if (!isQuiet(e)) ctx.fail(e);
    }
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    add.disabled = true;
    try {
      const body = { name: name.value, instructions: instructions.value, model: model.value.trim(), mode: mode.value };
      await api('POST', paths.screens(), { body, signal: ctx.signal });
      name.value = '';
      instructions.value = '';
      await load();
    } catch (e) {
      if (isQuiet(e)) return;
      setText(error, e.message);
      error.hidden = false;
    } finally {
      add.disabled = false;
    }
  });
  const el = h('section', { class: 'card', 'aria-labelledby': 'screens-title' },
    h('h2', { id: 'screens-title' }, 'Standing screens'),
    h('p', { class: 'hint' }, 'Each judges, with a job of its own, what every finished run finds new or changed.'),
    list.wrap, empty, form);
  return { el, load };
}
