// The guardian page (administrators): analysts, their grants, dataset-wide
// spend, research projects and budget requests (create, members, extend,
// close; approve or decline), and the audit log. Any other token sees the
// server's refusal.
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
    const projects = h('div', { id: 'projects' }, 'Loading…');
    section.append(h('h2', null, 'Research projects and budget requests'), projects);
    loadProjects(projects, r);
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

// Research projects and budget requests: each action is one POST, then the
// section is drawn again from the server's answer.
async function loadProjects(target, r) {
  let data;
  try { data = await api('GET', '/v1/admin/projects'); } catch (e) { replace(target, refusalBox(e)); return; }
  const status = h('p', { class: 'action-status', role: 'status', 'aria-live': 'polite' });
  async function act(path, body, what) {
    try {
      await api('POST', path, body);
      await loadProjects(target, r);
      const again = target.querySelector('.action-status');
      if (again) again.textContent = what;
    } catch (e) { replace(status, refusalBox(e)); }
  }
  const post = (body, what) => act('/v1/admin/projects', body, what);
  replace(target, status, projectTable(data.projects || [], r, post), createProjectForm(r, post),
    h('h3', null, 'Budget requests'), requestTable(data.requests || [], (body, what) => act('/v1/admin/budget-requests', body, what)));
}

function projectTable(list, r, post) {
  const analystNames = (r.analysts || []).filter((a) => !a.revoked).map((a) => a.name);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'results projects', id: 'project-table' },
    h('caption', null, `${num(list.length)} research project${list.length === 1 ? '' : 's'}`),
    h('thead', null, h('tr', null, ['project', 'dataset', 'status', 'ε spent of budget', 'renews', 'runs', 'members', 'actions'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((p) => {
      const member = h('select', { 'aria-label': `Analyst to add to ${p.dataset}/${p.project}` }, analystNames.filter((n) => !(p.members || []).includes(n)).map((n) => h('option', { value: n }, n)));
      const end = h('input', { type: 'date', 'aria-label': `New last day of ${p.project}`, value: p.ends_on || '' });
      const add = h('button', { type: 'button', class: 'add-member' }, 'Add member');
      add.addEventListener('click', () => member.value && post({ action: 'add-member', project: p.project, analyst: member.value }, `Added ${member.value} to ${p.project}.`));
      const extend = h('button', { type: 'button', class: 'extend' }, 'Extend');
      extend.addEventListener('click', () => post({ action: 'extend', project: p.project, end: end.value }, `${p.project} now runs through ${end.value}.`));
      const close = h('button', { type: 'button', class: 'close' }, 'Close');
      close.addEventListener('click', () => post({ action: 'close', project: p.project }, `Closed ${p.project}.`));
      return h('tr', { dataset: { project: p.project } },
        h('th', { scope: 'row', class: 'project-name' }, p.project),
        h('td', null, p.dataset),
        h('td', { class: 'project-status' }, p.status),
        h('td', { class: 'num' }, `${eps(p.epsilon_spent)} of ${eps(p.epsilon_total)}` + (p.renew ? ` per ${p.renew}` : '')),
        h('td', null, p.renews_on || '–'),
        h('td', null, `${p.starts_on} to ${p.ends_on}`),
        h('td', { class: 'members' }, (p.members || []).map((m) => {
          const remove = h('button', { type: 'button', class: 'remove-member', 'aria-label': `Remove ${m} from ${p.project}` }, '×');
          remove.addEventListener('click', () => post({ action: 'remove-member', project: p.project, analyst: m }, `Removed ${m} from ${p.project}.`));
          return h('span', { class: 'member', dataset: { member: m } }, m, ' ', remove, ' ');
        })),
        h('td', { class: 'actions' }, p.status === 'closed' ? '–' : [member, add, end, extend, close]));
    }))));
}

function createProjectForm(r, post) {
  const field = (id, label, attrs) => {
    const input = h('input', { id, ...attrs });
    return [input, h('div', { class: 'param' }, h('label', { for: id }, label), input)];
  };
  const [name, nameBox] = field('project-name', 'Name', { required: '', maxlength: '200' });
  const dataset = h('select', { id: 'project-dataset' }, (r.datasets || []).map((d) => h('option', { value: d.dataset }, d.dataset)));
  const [epsilon, epsilonBox] = field('project-epsilon', 'ε', { type: 'number', min: '0', step: 'any', required: '', value: '1' });
  const [start, startBox] = field('project-start', 'First day', { type: 'date', required: '' });
  const [end, endBox] = field('project-end', 'Last day', { type: 'date', required: '' });
  const renew = h('select', { id: 'project-renew' }, ['', 'day', 'week', 'month', 'year'].map((p) => h('option', { value: p }, p ? `per ${p}` : 'once')));
  const form = h('form', { class: 'params', id: 'project-create', 'aria-label': 'New research project' },
    nameBox, h('div', { class: 'param' }, h('label', { for: 'project-dataset' }, 'Dataset'), dataset), epsilonBox,
    h('div', { class: 'param' }, h('label', { for: 'project-renew' }, 'Budget'), renew), startBox, endBox,
    h('div', { class: 'param' }, h('button', { type: 'submit' }, 'Create project')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { action: 'create', project: name.value, dataset: dataset.value, epsilon: epsilon.value, start: start.value, end: end.value };
    if (renew.value) body.renew = renew.value;
    post(body, `Created ${name.value}.`);
  });
  return form;
}

function requestTable(list, decide) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'results requests', id: 'request-table' },
    h('caption', null, `${num(list.filter((q) => q.status === 'pending').length)} pending`),
    h('thead', null, h('tr', null, ['#', 'analyst', 'for', 'ε', 'justification', 'status', 'decision'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((q) => {
      let decision = q.status === 'pending' ? '' : `by ${q.decided_by || 'a guardian'}` + (q.reason ? `: ${q.reason}` : '');
      if (q.status === 'pending') {
        const reason = h('input', { type: 'text', 'aria-label': `Reason for declining request ${q.id}`, placeholder: 'reason (to decline)' });
        const approve = h('button', { type: 'button', class: 'approve' }, 'Approve');
        approve.addEventListener('click', () => decide({ id: q.id, decision: 'approve' }, `Approved request ${q.id}.`));
        const decline = h('button', { type: 'button', class: 'decline' }, 'Decline');
        decline.addEventListener('click', () => decide({ id: q.id, decision: 'decline', reason: reason.value }, `Declined request ${q.id}.`));
        decision = [approve, reason, decline];
      }
      return h('tr', { dataset: { request: String(q.id) } },
        h('th', { scope: 'row' }, String(q.id)), h('td', null, q.analyst), h('td', null, q.project || `own budget on ${q.dataset}`),
        h('td', { class: 'num' }, eps(q.epsilon)), h('td', null, q.justification), h('td', { class: 'request-status' }, q.status),
        h('td', null, decision));
    }))));
}
