// #/companies: the boards a user follows; add one (the API's refusal shown beside the form), remove one.

import { api, isQuiet, paths } from './api.js';
import { h, notify, syncRows, table, time } from './dom.js';
import { meta } from './meta.js';

/** How the form describes the board kinds `/api/meta` lists: a label, the token's label and a hint. */
const KIND_TEXT = {
  greenhouse: ['Greenhouse', 'Board token', 'The name in boards.greenhouse.io/NAME, e.g. airbnb.'],
  lever: ['Lever', 'Board token', 'The name in jobs.lever.co/NAME, e.g. plaid.'],
  ashby: ['Ashby', 'Board token', 'The name in jobs.ashbyhq.com/NAME, e.g. linear.'],
  workday: ['Workday', 'Careers site URL',
    'The site\'s address, https://TENANT.POD.myworkdayjobs.com/SITE, e.g. https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite.'],
  workable: ['Workable', 'Account name', 'The name in apply.workable.com/NAME, e.g. vasion.'],
  smartrecruiters: ['SmartRecruiters', 'Company id', 'The id in jobs.smartrecruiters.com/ID, e.g. Vitol.'],
  teamtailor: ['Teamtailor', 'Site name or URL', 'The name in NAME.teamtailor.com, or the site\'s own https:// address.'],
  recruitee: ['Recruitee', 'Company name or URL', 'The name in NAME.recruitee.com, or the careers site\'s own https:// address.'],
  personio: ['Personio', 'Company name or URL', 'The name in NAME.jobs.personio.de, or the feed site\'s own https:// address.'],
  bamboohr: ['BambooHR', 'Company name or URL', 'The name in NAME.bamboohr.com/careers.'],
  jsonld: ['Careers page (JSON-LD)', 'Careers page URL', 'An https:// page carrying schema.org JobPosting data.'],
};

/** The form's first choice: a careers URL, the board recognised from it by the API. */
const FROM_URL = ['url', 'From its careers URL', 'Careers URL',
  'Paste the board\'s address, e.g. https://jobs.lever.co/plaid or https://acme.wd5.myworkdayjobs.com/en-US/External; '
  + 'the board is recognised from it (any other page is read for JobPosting data).'];

/** The board kinds, each as [kind, label, token label, hint], after the careers URL. */
const kinds = () => [FROM_URL, ...meta().board_kinds.map((k) => [k, ...(KIND_TEXT[k] ?? [k, 'Board token', ''])])];

/** The hosts a board can be on, as the form names them. */
const REGION_TEXT = { us: 'Main host', eu: 'EU host (boards of EU customers)' };

/** The regions `/api/meta` says a board kind can be in. */
const regionsOf = (kind) => meta().board_regions?.[kind] ?? ['us'];

export function render(ctx) {
  document.title = 'Companies · boardwatch';
  const list = table('companies-table', 'Companies you follow', ['Name', 'Board', 'Token or URL', 'Added', '']);
  const empty = h('p', { class: 'empty', hidden: true }, 'You follow no companies yet. Add one above.');
  const refresh = () => load(ctx, list, empty);
  ctx.root.append(
    h('h1', { tabindex: -1 }, 'Companies'),
    h('p', { class: 'lede' }, 'Each run reads the career boards of these companies.'),
    addForm(ctx, refresh),
    h('h2', {}, 'Following'),
    list.wrap,
    empty,
  );
  return refresh();
}

async function load(ctx, list, empty) {
  const { companies } = await api('GET', paths.companies(), { signal: ctx.signal });
  syncRows(list.tbody, companies, (c) => c.id, (c) => row(ctx, c, () => load(ctx, list, empty)), () => {});
  empty.hidden = companies.length > 0;
  list.wrap.hidden = companies.length === 0;
}

function row(ctx, company, refresh) {
  const label = KIND_TEXT[company.board_kind]?.[0] ?? company.board_kind;
  const kind = company.board_region === 'eu' ? `${label} (EU)` : label;
  const remove = h('button', {
    type: 'button', class: 'button button--danger button--small', testid: 'company-remove',
    'aria-label': `Remove ${company.name}`,
  }, 'Remove');
  remove.addEventListener('click', () => removeCompany(ctx, company, remove, refresh));
  return h('tr', { testid: 'company-row', dataset: { id: company.id } },
    h('th', { scope: 'row' }, company.name),
    h('td', {}, kind),
    h('td', { class: 'wrap-anywhere' }, company.board_token),
    h('td', {}, time(company.created_at)),
    h('td', { class: 'actions-cell' }, remove));
}

async function removeCompany(ctx, company, button, refresh) {
  button.disabled = true;
  try {
    await api('DELETE', paths.company(company.id), { signal: ctx.signal });
    notify('success', `Removed ${company.name}. Its open postings expire at the next run.`);
  } catch (error) {
    if (isQuiet(error)) return;
    const message = error.status === 404 ? `${company.name} was not found, or it is not yours.` : error.message;
    notify('error', `Could not remove ${company.name}: ${message}`);
    button.disabled = false;
  }
  await refresh().catch(ctx.fail);
}

function addForm(ctx, refresh) {
  const name = h('input', { id: 'company-name', name: 'name', required: true, maxlength: 200, autocomplete: 'off',
    testid: 'company-name' });
  const kind = h('select', { id: 'company-kind', name: 'board_kind', testid: 'company-kind',
    'aria-describedby': 'company-token-hint' },
    kinds().map(([value, label]) => h('option', { value }, label)));
  const region = h('select', { id: 'company-region', name: 'board_region', testid: 'company-region' });
  const regionField = field('company-region', 'Host', region);
  const tokenLabel = h('label', { for: 'company-token' });
  const hint = h('p', { class: 'hint', id: 'company-token-hint' });
  const boardToken = h('input', { id: 'company-token', name: 'board_token', required: true, autocomplete: 'off',
    spellcheck: 'false', testid: 'company-token', 'aria-describedby': 'company-token-hint' });
  const error = h('p', { class: 'form-error', testid: 'form-error', role: 'alert', hidden: true, id: 'company-error' });
  const submit = h('button', { type: 'submit', class: 'button', testid: 'company-add' }, 'Add company');
  const form = h('form', { class: 'card form-grid', testid: 'company-form', 'aria-labelledby': 'company-form-title' },
    h('h2', { id: 'company-form-title', class: 'form-grid__title' }, 'Add a company'),
    field('company-name', 'Name', name),
    field('company-kind', 'Board', kind),
    regionField,
    h('div', { class: 'field field--wide' }, tokenLabel, boardToken, hint),
    error,
    h('div', { class: 'actions' }, submit));
  const describeKind = () => {
    const [, , label, help] = kinds().find(([k]) => k === kind.value) ?? kinds()[0];
    tokenLabel.textContent = label;
    hint.textContent = help;
    const regions = kind.value === 'url' ? ['us'] : regionsOf(kind.value);
    region.replaceChildren(...regions.map((r) => h('option', { value: r }, REGION_TEXT[r] ?? r)));
    regionField.hidden = regions.length < 2;
  };
  kind.addEventListener('change', describeKind);
  describeKind();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const fields = kind.value === 'url'
      ? { name, url: boardToken }
      : { name, board_kind: kind, board_region: region, board_token: boardToken };
    const added = await submitCompany(ctx, fields, error, submit);
    if (!added) return;
    form.reset();
    describeKind();
    name.focus();
    const label = KIND_TEXT[added.board_kind]?.[0] ?? added.board_kind;
    const host = added.board_region === 'eu' ? ' on its EU host' : '';
    notify('success', `Added ${added.name}: its ${label} board ${added.board_token}${host}.`);
    await refresh().catch(ctx.fail);
  });
  return form;
}

function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

/** Posts the form; on a refusal shows the API's message under the form and marks the field it names. */
async function submitCompany(ctx, fields, error, submit) {
  for (const input of Object.values(fields)) input.removeAttribute('aria-invalid');
  error.hidden = true;
  submit.disabled = true;
  try {
    const body = Object.fromEntries(Object.entries(fields).map(([key, input]) => [key, input.value]));
    return await api('POST', paths.companies(), { body, signal: ctx.signal });
  } catch (e) {
    if (isQuiet(e)) return null;
    error.textContent = e.message;
    error.hidden = false;
    const named = Object.entries(fields).find(([key]) => e.message.startsWith(key));
    if (named) {
      named[1].setAttribute('aria-invalid', 'true');
      named[1].setAttribute('aria-errormessage', 'company-error');
      named[1].focus();
    }
    return null;
  } finally {
    submit.disabled = false;
  }
}
