// The DPQL console: sign-in, navigation and the budget shown in the header.
import './style.css';
import { h, replace, clear, append } from './dom.js';
import { api, session, setUnauthorizedHandler, catalog, ApiError } from './api.js';
import { eps } from './format.js';
import { refusalBox, budgetLeftText } from './ui.js';
import { queryPage } from './pages/query.js';
import { dashboardsPage } from './pages/dashboards.js';
import { budgetPage } from './pages/budget.js';
import { guardianPage } from './pages/guardian.js';

const PAGES = [
  ['query', 'Query', queryPage],
  ['dashboards', 'Dashboards', dashboardsPage],
  ['budget', 'Budget', budgetPage],
  ['guardian', 'Guardian', guardianPage],
];

// Shared by the pages: the catalog, the chosen dataset, the caller's budgets.
export const ctx = {
  catalog: null,
  dataset: null,
  budgets: [],
  budgetFor(dataset = ctx.dataset) { return ctx.budgets.find((b) => b.dataset === dataset) || null; },
  datasetInfo(dataset = ctx.dataset) { return ctx.catalog?.datasets.find((d) => d.name === dataset) || null; },
  async refreshBudget() {
    const r = await api('GET', '/v1/budget');
    ctx.budgets = r.budgets || [];
    renderBudgetBadge();
    return ctx.budgets;
  },
  // After a query: the answer carries the budget after it.
  setBudget(b) {
    if (!b) return;
    const i = ctx.budgets.findIndex((x) => x.dataset === b.dataset);
    // Answers asked at once may arrive out of order: never step back to an
    // older state of the same grant.
    const old = ctx.budgets[i];
    if (old && old.epsilon_total === b.epsilon_total && old.rho_total === b.rho_total &&
        (b.epsilon_spent < old.epsilon_spent || (b.rho_spent ?? 0) < (old.rho_spent ?? 0))) return;
    if (i >= 0) ctx.budgets[i] = { ...ctx.budgets[i], ...b }; else ctx.budgets.push(b);
    renderBudgetBadge();
  },
};

const top = document.getElementById('top');
const main = document.getElementById('main');
let badge = null;

function renderBudgetBadge() {
  if (!badge) return;
  const b = ctx.budgetFor();
  badge.dataset.dataset = ctx.dataset || '';
  badge.dataset.epsilonRemaining = b ? String(b.epsilon_remaining) : '';
  badge.dataset.rhoRemaining = b && b.rho_remaining != null ? String(b.rho_remaining) : '';
  replace(badge,
    h('span', { class: 'badge-label' }, `Budget left${ctx.dataset ? ' on ' + ctx.dataset : ''}: `),
    h('span', { class: 'badge-value', id: 'budget-left' }, b ? budgetLeftText(b) : 'none'),
    b ? h('span', { class: 'badge-total' }, ` of ε ${eps(b.epsilon_total)}`) : null);
}

function signInPage(message) {
  clear(top);
  top.append(h('div', { class: 'brand' }, 'DPQL console'));
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help' });
  const status = h('div', { class: 'signin-status', 'aria-live': 'polite' });
  if (message) status.append(message);
  const form = h('form', { class: 'signin', id: 'signin', novalidate: true },
    h('h1', null, 'Sign in'),
    h('label', { for: 'token' }, 'Bearer token'),
    input,
    h('p', { id: 'token-help', class: 'help' },
      'Paste the token your data guardian gave you (dpql_…). It is kept in this browser tab only (sessionStorage) and sent as an Authorization header; closing the tab signs you out.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    replace(status, 'Checking the token…');
    try {
      await api('GET', '/v1/budget', undefined, token);
      session.set(token);
      input.value = '';
      await start();
    } catch (err) {
      replace(status, refusalBox(err instanceof ApiError ? err : new ApiError(0, null)));
      input.focus();
    }
  });
  replace(main, form);
  input.focus();
}

async function start() {
  let cat;
  try {
    [cat] = await Promise.all([catalog(), ctx.refreshBudget()]);
  } catch (err) {
    if (err.status === 401) return; // the handler shows the sign-in page
    replace(main, refusalBox(err));
    return;
  }
  ctx.catalog = cat;
  const saved = sessionStorage.getItem('dpql.dataset');
  const names = cat.datasets.map((d) => d.name);
  ctx.dataset = names.includes(saved) ? saved : (ctx.budgets.find((b) => names.includes(b.dataset))?.dataset || names[0] || null);
  renderShell();
  route();
}

function renderShell() {
  clear(top);
  const nav = h('nav', { 'aria-label': 'Pages' }, h('ul', null, PAGES.map(([id, label]) =>
    h('li', null, h('a', { href: '#/' + id, id: 'nav-' + id }, label)))));
  const datasetSelect = ctx.catalog.datasets.length > 1
    ? h('label', { class: 'dataset-pick' }, 'Dataset ',
      h('select', { id: 'dataset', onchange: (e) => { ctx.dataset = e.target.value; sessionStorage.setItem('dpql.dataset', ctx.dataset); renderBudgetBadge(); route(); } },
        ctx.catalog.datasets.map((d) => h('option', { value: d.name, selected: d.name === ctx.dataset }, d.name))))
    : null;
  badge = h('div', { class: 'budget-badge', id: 'budget-badge', 'aria-live': 'polite' });
  const signOut = h('button', { type: 'button', id: 'sign-out', onclick: () => { session.clear(); ctx.catalog = null; location.hash = ''; signInPage('Signed out.'); } }, 'Sign out');
  append(top, [h('div', { class: 'brand' }, 'DPQL'), nav, datasetSelect, badge, signOut]);
  renderBudgetBadge();
}

let cleanup = null;
function route() {
  if (!session.token || !ctx.catalog) return;
  const id = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'query';
  const page = PAGES.find((p) => p[0] === id) || PAGES[0];
  for (const a of top.querySelectorAll('nav a')) {
    if (a.id === 'nav-' + page[0]) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (typeof cleanup === 'function') cleanup();
  clear(main);
  main.dataset.page = page[0];
  document.title = `${page[1]} · DPQL console`;
  cleanup = page[2](main, ctx);
}

setUnauthorizedHandler((err) => {
  session.clear();
  ctx.catalog = null;
  signInPage(refusalBox(err));
});

window.addEventListener('hashchange', route);
if (session.token) start(); else signInPage();
