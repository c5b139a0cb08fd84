// The guardian page (administrators): analysts, their grants, dataset-wide
// spend and the audit log. Any other token sees the server's refusal.
import { h, replace } from '../dom.js';
import { api } from '../api.js';
import { eps, delta, num } from '../format.js';
import { refusalBox } from '../ui.js';
import { historyTable } from './budget.js';

export function guardianPage(main) {
  const analysts = h('div', { id: 'analysts' }, 'Loading…');
  const audit = h('div', { id: 'audit' });
  const section = h('section', { class: 'guardian-page', 'aria-label': 'Guardian' }, h('h1', null, 'Guardian'), analysts);
  main.append(section);
  let alive = true;
  api('GET', '/v1/admin/analysts').then((r) => {
    if (!alive) return;
    replace(analysts, analystTable(r.analysts || []), h('h2', null, 'Dataset-wide spend'), datasetTable(r.datasets || []));
    section.append(h('h2', null, 'Audit log'), auditFilters(audit, r), audit);
  }).catch((e) => { if (alive) replace(analysts, refusalBox(e)); });
  return () => { alive = false; };
}

function analystTable(list) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'results analysts', id: 'analyst-table' },
    h('caption', null, `${num(list.length)} analyst${list.length === 1 ? '' : 's'}`),
    h('thead', null, h('tr', null, ['name', 'role', 'status', 'created', 'grants (ε spent of granted, per dataset)'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((a) => h('tr', { dataset: { analyst: a.name } },
      h('th', { scope: 'row', class: 'analyst-name' }, a.name),
      h('td', null, a.admin ? 'admin' : 'analyst'),
      h('td', null, a.revoked ? 'revoked' : 'active'),
      h('td', null, String(a.created_at ?? '').replace(/\.\d+/, '')),
      h('td', null, (a.budgets || []).map((b) => h('div', null,
        `${b.dataset}: ε ${eps(b.epsilon_spent)} of ${eps(b.epsilon_total)}` + (b.accounting === 'zcdp' ? ` (ρ ${eps(b.rho_spent)} of ${eps(b.rho_total)})` : '')))))))));
}

function datasetTable(list) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'results' },
    h('thead', null, h('tr', null, ['dataset', 'ε spent', 'ε cap', 'δ spent', 'δ cap'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((d) => h('tr', null, h('th', { scope: 'row' }, d.dataset),
      h('td', { class: 'num' }, eps(d.epsilon_spent)), h('td', { class: 'num' }, eps(d.epsilon_cap)),
      h('td', { class: 'num' }, delta(d.delta_spent)), h('td', { class: 'num' }, delta(d.delta_cap)))))));
}

function auditFilters(target, r) {
  const analyst = h('select', { id: 'audit-analyst' }, h('option', { value: '' }, 'all analysts'), (r.analysts || []).map((a) => h('option', { value: a.name }, a.name)));
  const dataset = h('select', { id: 'audit-dataset' }, h('option', { value: '' }, 'all datasets'), (r.datasets || []).map((d) => h('option', { value: d.dataset }, d.dataset)));
  const limit = h('input', { id: 'audit-limit', type: 'number', min: '1', max: '1000', value: '50' });
  const form = h('form', { class: 'params', 'aria-label': 'Audit filter' },
    h('div', { class: 'param' }, h('label', { for: 'audit-analyst' }, 'Analyst'), analyst),
    h('div', { class: 'param' }, h('label', { for: 'audit-dataset' }, 'Dataset'), dataset),
    h('div', { class: 'param' }, h('label', { for: 'audit-limit' }, 'Rows'), limit),
    h('div', { class: 'param' }, h('button', { type: 'submit' }, 'Show')));
  async function load() {
    const q = new URLSearchParams({ limit: limit.value || '50' });
    if (analyst.value) q.set('analyst', analyst.value);
    if (dataset.value) q.set('dataset', dataset.value);
    replace(target, 'Loading…');
    try {
      const res = await api('GET', '/v1/admin/audit?' + q);
      replace(target, historyTable(res.audit || [], true));
    } catch (e) { replace(target, refusalBox(e)); }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  load();
  return form;
}
