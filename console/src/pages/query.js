// The query page: editor, catalog, the cost before running, the answer after.
import { h, replace, clear } from '../dom.js';
import { explain, query, publicTable } from '../api.js';
import { num, eps } from '../format.js';
import { refusalBox, budgetLeftText, costText, resultView, expectedErrorText, resultTable } from '../ui.js';

function exampleQuery(ds) {
  if (!ds) return '';
  const names = ds.tables.map((t) => t.name);
  if (names.includes('admissions')) return 'SELECT sex, COUNT(*) AS admissions\nFROM admissions\nGROUP BY sex\nWITH PRIVACY (epsilon = 0.5)';
  const t = ds.tables.find((x) => x.private) || ds.tables[0];
  return t ? `SELECT COUNT(*) AS n FROM ${t.name}` : '';
}

export function queryPage(main, ctx) {
  const ds = ctx.datasetInfo();
  const key = 'dpql.query.' + ctx.dataset;
  const estimate = h('div', { class: 'estimate', id: 'estimate', 'aria-live': 'polite' }, 'Type a query to see its cost.');
  const runButton = h('button', { type: 'button', class: 'primary', id: 'run' }, 'Run');
  const runStatus = h('span', { class: 'run-status', id: 'run-status', 'aria-live': 'polite' });
  const output = h('section', { class: 'output', id: 'output', 'aria-label': 'Answer' });
  const editorBox = h('div', { class: 'editor', id: 'editor' });

  let seq = 0, timer = null, view = null;
  // CodeMirror is a chunk of its own, fetched when this page first opens, so
  // that the dashboards do not wait for it.
  import('../editor.js').then(({ createEditor, showError, clearError }) => {
  editor = { showError, clearError };
  view = createEditor(editorBox, {
    doc: sessionStorage.getItem(key) ?? exampleQuery(ds),
    getCatalog: () => ds,
    label: 'DPQL query (Ctrl+Enter runs it)',
    onChange: (text) => { sessionStorage.setItem(key, text); estimate.dataset.state = 'stale'; clearTimeout(timer); timer = setTimeout(updateEstimate, 350); },
    onRun: run,
  });
  editorBox.dataset.ready = 'true';
  updateEstimate();
  view.focus();
  });
  let editor = null;
  const text = () => (view ? view.state.doc.toString() : '');

  async function updateEstimate() {
    const q = text().trim();
    const mine = ++seq;
    if (!q) { replace(estimate, 'Type a query to see its cost.'); return; }
    estimate.dataset.state = 'loading';
    try {
      const r = await explain(q, ctx.dataset);
      if (mine !== seq) return;
      estimate.dataset.state = 'ok';
      estimate.dataset.cached = String(!!r.cached);
      estimate.dataset.epsilon = String(r.cost?.epsilon ?? 0);
      const b = ctx.budgetFor();
      const free = r.cached === true || !r.cost || (r.cost.epsilon === 0 && !r.cost.delta && !r.cost.rho);
      const parts = [];
      if (r.cached) parts.push(h('strong', { class: 'free' }, 'Free: this answer is already released (cached); running it again spends nothing.'));
      else parts.push(h('span', null, 'Cost if run: ', h('strong', { class: 'cost' }, costText(r.cost))));
      const err = expectedErrorText(r.expected_error);
      if (err) parts.push(h('span', null, 'Expected error (95%): ', err));
      if (b) {
        const after = free ? b : afterCost(b, r.cost);
        parts.push(h('span', null, 'Budget after: ', h('strong', { class: after.over ? 'over' : '' }, budgetLeftText(after))));
      }
      replace(estimate, parts.map((p) => h('div', null, p)));
      runButton.textContent = free ? 'Run (free)' : `Run (costs ${costText(r.cost)})`;
    } catch (e) {
      if (mine !== seq) return;
      estimate.dataset.state = 'refused';
      replace(estimate, h('span', { class: 'estimate-refused' }, `Will be refused: ${e.message}`));
      runButton.textContent = 'Run';
    }
  }

  async function run() {
    const q = text().trim();
    if (!q) return;
    editor.clearError(view);
    runButton.disabled = true;
    replace(runStatus, 'Running…');
    output.dataset.state = 'running';
    try {
      const r = await query(q, ctx.dataset);
      ctx.setBudget(r.budget);
      clear(output);
      if (r.explain != null) {
        output.append(h('pre', { class: 'explain' }, r.explain));
      } else {
        replace(runStatus, r.cached ? 'Answered from the cache: nothing spent.' : `Answered; charged ${costText(r.cost)}.`);
        output.append(resultView(r, { queryText: q, name: 'dpql-' + ctx.dataset }));
      }
      output.dataset.state = 'answered';
      output.dataset.cached = String(!!r.cached);
      updateEstimate();
    } catch (e) {
      output.dataset.state = 'refused';
      replace(runStatus, 'Refused.');
      replace(output, refusalBox(e, { budget: ctx.budgetFor() }));
      if (e.line && e.column) editor.showError(view, e.line, e.column, e.message);
      if (e.code === 'budget_exhausted') ctx.refreshBudget().catch(() => {});
    } finally {
      runButton.disabled = false;
    }
  }
  runButton.addEventListener('click', run);

  const layout = h('div', { class: 'query-layout' },
    h('section', { class: 'query-main', 'aria-label': 'Query' },
      h('h1', null, 'Query'),
      editorBox,
      h('div', { class: 'run-row' }, runButton, runStatus),
      estimate,
      output),
    catalogPanel(ds, ctx));
  main.append(layout);
  return () => clearTimeout(timer);
}

function afterCost(b, cost) {
  const out = { ...b };
  out.epsilon_remaining = b.epsilon_remaining - (cost?.epsilon || 0);
  out.delta_remaining = b.delta_remaining - (cost?.delta || 0);
  if (b.rho_remaining != null && cost?.rho != null) out.rho_remaining = b.rho_remaining - cost.rho;
  out.over = b.accounting === 'zcdp' ? out.rho_remaining < 0 : out.epsilon_remaining < -1e-12 || out.delta_remaining < -1e-18;
  return out;
}

function bounds(c) {
  if (c.lower != null || c.upper != null) return `${c.lower != null ? num(c.lower) : '…'} to ${c.upper != null ? num(c.upper) : '…'}`;
  return null;
}

function catalogPanel(ds, ctx) {
  const panel = h('aside', { class: 'catalog', id: 'catalog', 'aria-label': 'Catalog' }, h('h2', null, 'Catalog'));
  if (!ds) { panel.append(h('p', null, 'No dataset.')); return panel; }
  const d = ds.defaults || {};
  panel.append(h('p', { class: 'help' },
    `Dataset ${ds.name}; privacy unit ${ds.privacy_unit}; ${ds.accounting} accounting. Defaults: ε ${eps(d.epsilon)}, confidence ${d.confidence ?? '–'}, max_groups ${d.max_groups ?? '–'}.`));
  for (const t of ds.tables) {
    const rowsBox = h('div', { class: 'public-rows' });
    const details = h('details', { class: 'table-entry' },
      h('summary', null, h('span', { class: 'table-name' }, t.name), h('span', { class: 'tag ' + (t.private ? 'private' : 'public') }, t.private ? 'private' : 'public')),
      h('ul', { class: 'columns' }, t.columns.map((c) => h('li', null,
        h('code', null, c.name), ' ', h('span', { class: 'type' }, c.type),
        c.privacy_unit ? h('span', { class: 'tag' }, 'privacy unit') : null,
        bounds(c) ? h('div', { class: 'bounds' }, 'bounds ', bounds(c)) : null,
        c.domain ? h('div', { class: 'domain' }, 'domain ', c.domain.slice(0, 24).map(String).join(', '), c.domain.length > 24 ? ` … (${num(c.domain.length)})` : '') : null,
        c.domain_from ? h('div', { class: 'domain' }, 'domain: the values of ', h('code', null, c.domain_from)) : null))));
    if (!t.private) {
      const show = h('button', { type: 'button', class: 'small' }, `Show ${t.name} rows`);
      show.addEventListener('click', async () => {
        replace(rowsBox, 'Loading…');
        try {
          const r = await publicTable(t.name, ds.name);
          replace(rowsBox, resultTable({ columns: r.columns, column_types: r.column_types, rows: r.rows, accuracy: [] }),
            r.truncated ? h('p', { class: 'note' }, 'Only the first 10,000 rows are shown.') : null);
        } catch (e) { replace(rowsBox, refusalBox(e)); }
      });
      details.append(show, rowsBox);
    }
    panel.append(details);
  }
  return panel;
}
