// The budget page: what was granted, spent and is left, and the caller's own
// query history with each cost (GET /v1/budget, GET /v1/history).
import { h, replace } from '../dom.js';
import { api } from '../api.js';
import { eps, delta, num } from '../format.js';
import { refusalBox } from '../ui.js';

export function budgetPage(main, ctx) {
  const budgets = h('div', { id: 'budgets' }, 'Loading…');
  const history = h('div', { id: 'history' }, 'Loading…');
  main.append(h('section', { class: 'budget-page', 'aria-label': 'Budget' },
    h('h1', null, 'Budget'), budgets, h('h2', null, 'Your query history'), history));
  let alive = true;
  ctx.refreshBudget().then((list) => { if (alive) replace(budgets, budgetTable(list)); })
    .catch((e) => { if (alive) replace(budgets, refusalBox(e)); });
  api('GET', '/v1/history?limit=200').then((r) => { if (alive) replace(history, historyTable(r.history || [])); })
    .catch((e) => { if (alive) replace(history, refusalBox(e)); });
  return () => { alive = false; };
}

export function budgetTable(list) {
  if (!list.length) return h('p', null, 'You have no budget on any dataset. Ask your data guardian for a grant.');
  const zcdp = list.some((b) => b.accounting === 'zcdp');
  const head = ['dataset', 'accounting', 'ε granted', 'ε spent', 'ε left', 'δ granted', 'δ spent', 'δ left'];
  if (zcdp) head.push('ρ granted', 'ρ spent', 'ρ left');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'results budgets' },
    h('caption', null, 'Granted, spent and left per dataset. Repeating an answered query is free.'),
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((b) => h('tr', { dataset: { dataset: b.dataset } },
      h('th', { scope: 'row' }, b.dataset), h('td', null, b.accounting || 'basic'),
      h('td', { class: 'num' }, eps(b.epsilon_total)), h('td', { class: 'num' }, eps(b.epsilon_spent)),
      h('td', { class: 'num left' }, eps(b.epsilon_remaining)),
      h('td', { class: 'num' }, delta(b.delta_total)), h('td', { class: 'num' }, delta(b.delta_spent)),
      h('td', { class: 'num' }, delta(b.delta_remaining)),
      zcdp ? [h('td', { class: 'num' }, eps(b.rho_total)), h('td', { class: 'num' }, eps(b.rho_spent)), h('td', { class: 'num' }, eps(b.rho_remaining))] : null)))));
}

export function historyTable(rows, withAnalyst = false) {
  if (!rows.length) return h('p', null, 'No requests yet.');
  const head = ['when', ...(withAnalyst ? ['analyst'] : []), 'request', 'dataset', 'query', 'ε', 'δ', 'outcome'];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'results history' },
    h('caption', null, `${num(rows.length)} request${rows.length === 1 ? '' : 's'}, newest first`),
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null,
      h('td', { class: 'when' }, String(r.at ?? '').replace(/\.\d+/, '')),
      withAnalyst ? h('td', null, r.analyst ?? '') : null,
      h('td', null, r.source ?? ''), h('td', null, r.dataset ?? ''),
      h('td', { class: 'query-text' }, h('code', null, r.query ?? '')),
      h('td', { class: 'num' }, eps(r.epsilon)), h('td', { class: 'num' }, delta(r.delta)),
      h('td', null, `${r.outcome ?? ''} (${r.status ?? ''})${r.cached ? ', cached' : ''}`, r.detail ? h('div', { class: 'detail' }, r.detail) : null))))));
}
