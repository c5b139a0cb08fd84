// Shared pieces: the refusal box, the result view (table + chart + downloads),
// budget figures.
import { h, download } from './dom.js';
import { num, eps, delta, cell } from './format.js';
import { shape, drawChart, downloadSvg, downloadPng, toCsv } from './chart.js';

// What to do about a refusal, by code, beyond the server's own message.
export function refusalBox(err, { budget } = {}) {
  const box = h('div', { class: 'refusal', role: 'alert', dataset: { code: err.code } });
  box.append(h('p', { class: 'refusal-title' }, refusalTitle(err)));
  box.append(h('p', { class: 'refusal-message' }, err.message));
  if (err.line && err.column) box.append(h('p', { class: 'refusal-where' }, `at line ${err.line}, column ${err.column}`));
  if (err.code === 'budget_exhausted' || err.code === 'dataset_budget_exhausted') {
    const left = budget ? budgetLeftText(budget) : 'see the Budget page';
    box.append(h('p', { class: 'refusal-help' },
      err.code === 'budget_exhausted'
        ? `You have ${left} left on this dataset; nothing was spent. Queries already answered are still free to repeat (they come from the cache). To get more budget, ask your data guardian: they can grant more with "dpqld admin grant NAME --dataset D --epsilon E" (docs/OPERATIONS.md).`
        : `The dataset's cap over all analysts is reached; nothing was spent and your own budget (${left}) is untouched. Cached answers are still free; the data guardian decides whether the dataset's cap can grow.`));
  }
  if (err.code === 'unauthorized') box.append(h('p', { class: 'refusal-help' }, 'Sign in again with a valid token.'));
  return box;
}

function refusalTitle(err) {
  const titles = {
    syntax_error: 'The query does not parse', semantic_error: 'The query is not valid DPQL',
    privacy_error: 'Refused: the query would not be private', budget_exhausted: 'Budget exhausted',
    unauthorized: 'Not signed in', limit_exceeded: 'Over a limit', not_found: 'Not found',
    internal_error: 'The server could not answer', request_error: 'Bad request',
  };
  return `${titles[err.kind] || 'Refused'} (${err.status || '–'} ${err.code})`;
}

export function budgetLeftText(b) {
  if (!b) return 'no budget';
  if (b.accounting === 'zcdp') return `ρ ${eps(b.rho_remaining)} (ε ≈ ${eps(b.epsilon_remaining)})`;
  return `ε ${eps(b.epsilon_remaining)}, δ ${delta(b.delta_remaining)}`;
}

export function costText(cost) {
  if (!cost) return '–';
  const parts = [`ε ${eps(cost.epsilon)}`];
  if (cost.delta) parts.push(`δ ${delta(cost.delta)}`);
  if (cost.rho != null) parts.push(`ρ ${eps(cost.rho)}`);
  return parts.join(', ');
}

// The table of a result: each noisy value with ± half-width and its interval.
export function resultTable(result) {
  const s = shape(result);
  const thead = h('thead', null, h('tr', null, s.columns.map((c, i) =>
    h('th', { scope: 'col', class: s.values.includes(i) ? 'num' : '' }, c, s.values.includes(i) ? h('span', { class: 'sub' }, ' ± / 95% interval') : null))));
  const tbody = h('tbody');
  s.rows.forEach((r, k) => {
    tbody.append(h('tr', null, s.columns.map((c, i) => {
      const ci = s.ci[k][c];
      const value = cell(r[i], s.types[i]);
      if (!ci) return h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row', class: numeric(s.types[i]) } : { class: numeric(s.types[i]) }, value);
      // ± when the interval is symmetric about the value; otherwise (e.g. a
      // count clamped at 0) the distances below and above.
      const below = r[i] - ci[0], above = ci[1] - r[i];
      const pm = Math.abs(below - above) <= 1e-9 * Math.max(1, Math.abs(above)) ? ` ± ${num(above)}` : ` −${num(below)} / +${num(above)}`;
      return h('td', { class: 'num' },
        h('span', { class: 'value' }, value),
        h('span', { class: 'pm' }, pm),
        h('span', { class: 'interval' }, ` [${num(ci[0])}, ${num(ci[1])}]`));
    })));
  });
  const confidence = result.accuracy?.[0]?.confidence;
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'results' },
      h('caption', null, `${num(s.rows.length)} row${s.rows.length === 1 ? '' : 's'}` +
        (confidence ? `; intervals hold the true value with probability ${confidence}` : '')),
      thead, tbody));
}

// Result view: notes, chart with downloads, table, CSV.
export function resultView(result, { queryText, hint, capacity, capacityLabel, name = 'dpql-result', collapseTable = false } = {}) {
  const wrap = h('div', { class: 'result' });
  for (const note of result.notes || []) wrap.append(h('p', { class: 'note' }, note));
  // What the privacy bounds may have left out of the figures (docs/CONSOLE.md).
  for (const b of result.bias || []) {
    wrap.append(h('p', { class: 'note bias', dataset: { code: b.code } }, h('strong', null, 'Bias: '), b.message));
  }
  const chartBox = h('div', { class: 'chart-box' });
  wrap.append(chartBox);
  const tableBox = resultTable(result);
  const actions = h('div', { class: 'actions' },
    h('button', { type: 'button', onclick: () => download(new Blob([toCsv(result)], { type: 'text/csv' }), name + '.csv') }, 'Download CSV'));
  wrap.append(actions, collapseTable && hint !== 'table' ? h('details', { class: 'table-details' }, h('summary', null, 'Table of values and intervals'), tableBox) : tableBox);
  // The chart needs the box's width: draw once it is in the page.
  requestAnimationFrame(() => {
    const svg = drawChart(chartBox, result, { queryText, hint, capacity, capacityLabel });
    if (svg) {
      actions.append(
        h('button', { type: 'button', onclick: () => downloadSvg(svg, name) }, 'Download SVG'),
        h('button', { type: 'button', onclick: () => downloadPng(svg, name) }, 'Download PNG'));
    }
    wrap.dataset.rendered = 'true';
    wrap.dispatchEvent(new CustomEvent('rendered', { bubbles: true }));
  });
  return wrap;
}

function numeric(type) { return type === 'int' || type === 'real' ? 'num' : ''; }

export function expectedErrorText(items) {
  if (!items || !items.length) return null;
  return items.map((e) => {
    if (e.half_width != null) return `${e.column}: ± ${num(e.half_width)}${e.unit ? ' ' + e.unit : ''}`;
    if (e.half_width_by_group_size) {
      return `${e.column}: ` + e.half_width_by_group_size.map((g) => `± ${num(g.half_width)} at ${num(g.group_rows)} rows`).join(', ');
    }
    return e.column;
  }).join('; ');
}
