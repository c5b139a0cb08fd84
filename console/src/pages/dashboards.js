// Dashboards: the guardian's parameterised panels (GET /v1/dashboards). Each
// panel shows what refreshing it would cost; panels whose answers are cached
// are drawn at once, for free. Nothing is spent without a click.
import { h, replace, clear } from '../dom.js';
import { api, explain, query, publicTable } from '../api.js';
import { costText, refusalBox, resultView } from '../ui.js';
import { eps } from '../format.js';

// {{name}} -> a DPQL literal of the parameter's type.
export function literal(param, value) {
  const v = String(value ?? '').trim();
  if (param.type === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new Error(`${param.label || param.name}: enter a date as yyyy-mm-dd`);
    return `DATE '${v}'`;
  }
  if (param.type === 'int') {
    if (!/^-?\d+$/.test(v)) throw new Error(`${param.label || param.name}: enter a whole number`);
    return v;
  }
  return `'${v.replace(/'/g, "''")}'`;
}

export function substitute(text, params, values) {
  return text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (m, name) => {
    const p = params.find((x) => x.name === name);
    if (!p) throw new Error(`the query uses {{${name}}}, which is not a parameter of this dashboard`);
    return literal(p, values[name]);
  });
}

async function columnValues(spec, dataset) {
  const [table, column] = spec.split('.');
  const r = await publicTable(table, dataset);
  const i = r.columns.indexOf(column);
  if (i < 0) return [];
  return [...new Set(r.rows.map((row) => row[i]).filter((v) => v != null).map(String))].sort();
}

async function capacityMap(cap, dataset) {
  const r = await publicTable(cap.table, dataset);
  const k = r.columns.indexOf(cap.key), v = r.columns.indexOf(cap.value);
  const m = new Map();
  if (k >= 0 && v >= 0) for (const row of r.rows) m.set(String(row[k]), row[v]);
  return m;
}

export function dashboardsPage(main, ctx) {
  const root = h('section', { class: 'dashboards', 'aria-label': 'Dashboards' }, h('h1', null, 'Dashboards'));
  const body = h('div', { 'aria-live': 'polite' }, 'Loading the dashboards…');
  root.append(body);
  main.append(root);
  let alive = true;
  api('GET', '/v1/dashboards').then((r) => {
    if (!alive) return;
    const list = r.dashboards || [];
    if (!list.length) {
      replace(body, h('p', null, 'No dashboards are configured. A data guardian defines them in a YAML file named by the server\'s "dashboards" setting (docs/CONSOLE.md, "Dashboards").'));
      return;
    }
    const wanted = decodeURIComponent((location.hash.match(/^#\/dashboards\/(.+)$/) || [])[1] || '');
    const current = list.find((d) => d.name === wanted) || list.find((d) => d.dataset === ctx.dataset) || list[0];
    clear(body);
    if (list.length > 1) {
      body.append(h('nav', { class: 'tabs', 'aria-label': 'Dashboards' }, h('ul', null, list.map((d) =>
        h('li', null, h('a', { href: '#/dashboards/' + encodeURIComponent(d.name), 'aria-current': d === current ? 'page' : null }, d.title || d.name))))));
    }
    body.append(dashboardView(current, ctx));
  }).catch((e) => { if (alive) replace(body, refusalBox(e)); });
  return () => { alive = false; };
}

function dashboardView(d, ctx) {
  const params = d.parameters || [];
  const values = {};
  for (const p of params) values[p.name] = sessionStorage.getItem(`dpql.dash.${d.name}.${p.name}`) ?? (p.default ?? '');
  const root = h('div', { class: 'dashboard', id: 'dashboard', dataset: { name: d.name, state: 'loading' } });
  const t0 = performance.now();
  root.append(h('h2', null, d.title || d.name));
  if (d.description) root.append(h('p', { class: 'help' }, d.description));

  const form = h('form', { class: 'params', novalidate: true, 'aria-label': 'Parameters' });
  const paramError = h('div', { class: 'param-error', 'aria-live': 'polite' });
  for (const p of params) {
    const id = `param-${p.name}`;
    let input;
    if (p.choices_from) {
      input = h('select', { id, name: p.name }, h('option', { value: values[p.name] }, String(values[p.name])));
      columnValues(p.choices_from, d.dataset).then((choices) => {
        clear(input);
        if (!choices.includes(String(values[p.name]))) choices.unshift(String(values[p.name]));
        for (const c of choices) input.append(h('option', { value: c, selected: c === String(values[p.name]) }, c));
      }).catch(() => {});
    } else {
      input = h('input', { id, name: p.name, type: p.type === 'date' ? 'date' : p.type === 'int' ? 'number' : 'text', value: String(values[p.name]), step: p.type === 'int' ? '1' : null });
    }
    input.addEventListener('change', () => {
      autoLoaded = false;
      values[p.name] = input.value;
      sessionStorage.setItem(`dpql.dash.${d.name}.${p.name}`, input.value);
      estimateAll();
    });
    form.append(h('div', { class: 'param' }, h('label', { for: id }, p.label || p.name), input));
  }
  const refresh = h('button', { type: 'button', class: 'primary', id: 'refresh' }, 'Refresh');
  const total = h('span', { class: 'total-cost', id: 'total-cost', 'aria-live': 'polite' });
  form.append(h('div', { class: 'param refresh' }, refresh, total));
  form.addEventListener('submit', (e) => { e.preventDefault(); refreshAll(); });
  root.append(form, paramError);

  const grid = h('div', { class: 'panels' });
  root.append(grid);
  const panels = (d.panels || []).map((p) => {
    const cost = h('p', { class: 'panel-cost', 'aria-live': 'polite' }, 'Pricing…');
    const status = h('p', { class: 'panel-status', 'aria-live': 'polite' });
    const out = h('div', { class: 'panel-body' }, h('p', { class: 'placeholder' }, 'Not loaded yet: press Refresh.'));
    const el = h('article', { class: 'panel', id: 'panel-' + p.id, dataset: { id: p.id, state: 'idle' }, 'aria-label': p.title || p.id },
      h('h3', null, p.title || p.id), p.description ? h('p', { class: 'help' }, p.description) : null, cost, status, out);
    grid.append(el);
    return { spec: p, el, cost, status, out, explained: null, queryText: null };
  });

  function texts() {
    clear(paramError);
    try {
      for (const p of panels) p.queryText = substitute(p.spec.query, params, values);
      return true;
    } catch (e) {
      paramError.append(h('p', { class: 'refusal', role: 'alert' }, e.message));
      return false;
    }
  }

  let autoLoaded = false;
  async function estimateAll(auto = true) {
    if (!texts()) return;
    root.dataset.pricing = 'pending';
    await Promise.all(panels.map(async (p) => {
      try {
        p.explained = await explain(p.queryText, d.dataset);
        p.el.dataset.cached = String(!!p.explained.cached);
        replace(p.cost, p.explained.cached ? h('span', { class: 'free' }, 'Refresh: free (cached)') : `Refresh costs ${costText(p.explained.cost)}`);
      } catch (e) {
        p.explained = null;
        replace(p.cost, refusalBox(e));
      }
    }));
    const fresh = panels.filter((p) => p.explained && !p.explained.cached);
    const sum = fresh.reduce((s, p) => s + (p.explained.cost?.epsilon || 0), 0);
    total.dataset.epsilon = String(sum);
    replace(total, fresh.length ? `Refreshing costs ε ${eps(sum)} in all (${fresh.length} of ${panels.length} panels not cached)` : 'Every panel is cached: refreshing is free.');
    refresh.textContent = fresh.length ? `Refresh (ε ${eps(sum)})` : 'Refresh (free)';
    root.dataset.pricing = 'done';
    // Cached answers cost nothing: draw them straight away.
    const free = panels.filter((p) => p.explained && p.explained.cached && p.el.dataset.state !== 'rendered');
    if (auto && !autoLoaded && free.length === panels.length) { autoLoaded = true; refreshAll(); }
  }

  let capacities = new Map();
  async function capacityFor(spec) {
    if (!spec.capacity) return null;
    const k = JSON.stringify(spec.capacity);
    if (!capacities.has(k)) capacities.set(k, capacityMap(spec.capacity, d.dataset).catch(() => null));
    return capacities.get(k);
  }

  let running = false;
  async function refreshAll() {
    if (running || !texts()) return;
    running = true;
    refresh.disabled = true;
    root.dataset.state = 'refreshing';
    for (const p of panels) p.el.dataset.state = 'running';
    // The panels are asked at once: each answer is priced and debited on its
    // own by the server, so their order does not matter.
    await Promise.all(panels.map(async (p) => {
      try {
        const [r, capacity] = await Promise.all([query(p.queryText, d.dataset), capacityFor(p.spec)]);
        ctx.setBudget(r.budget);
        const view = resultView(r, {
          queryText: p.queryText, hint: p.spec.chart, capacity,
          capacityLabel: p.spec.capacity ? `capacity (${p.spec.capacity.value})` : null, name: `${d.name}-${p.spec.id}`, collapseTable: true,
        });
        view.addEventListener('rendered', () => { p.el.dataset.state = 'rendered'; checkDone(); }, { once: true });
        p.el.dataset.cached = String(!!r.cached);
        p.el.dataset.charged = String(r.cost?.epsilon ?? 0);
        replace(p.status, r.cached ? 'Last answer: from the cache, nothing spent.' : `Last answer: charged ${costText(r.cost)}.`);
        replace(p.out, view);
      } catch (e) {
        p.el.dataset.state = 'refused';
        replace(p.out, refusalBox(e, { budget: ctx.budgetFor(d.dataset) }));
        checkDone();
      }
    }));
    running = false;
    refresh.disabled = false;
    ctx.refreshBudget().catch(() => {});
    estimateAll(false); // answers are stored now: show the new prices
  }

  function checkDone() {
    if (panels.every((p) => p.el.dataset.state === 'rendered' || p.el.dataset.state === 'refused')) {
      root.dataset.state = 'rendered';
      root.dataset.renderMs = String(Math.round(performance.now() - t0));
      performance.mark('dpql-dashboard-rendered');
    }
  }

  refresh.addEventListener('click', refreshAll);
  estimateAll();
  return root;
}
