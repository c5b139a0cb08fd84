// Charts of released answers, drawn with Observable Plot: every value with
// its confidence interval. The shape of the result picks the chart:
//   a date key          -> a line with an interval band (one line per other key)
//   a BUCKET(...) key   -> a histogram with an error bar on each bin
//   any other key       -> bars with error bars (and a capacity tick if asked)
// Plot puts a <style> element in each SVG; dpqld's CSP (no 'unsafe-inline')
// would refuse it, so it is removed before the SVG enters the page and the
// same rules live in style.css (and are written into exported SVG/PNG files).
import * as Plot from '@observablehq/plot';
import { h, download } from './dom.js';
import { num } from './format.js';

// Okabe & Ito's palette, distinguishable with every common colour-vision deficiency.
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
const CAPACITY = '#D55E00';

const EXPORT_CSS = `svg{background:#fff;font-family:system-ui,sans-serif}text,tspan{white-space:pre}`;

const numericTypes = new Set(['int', 'real']);

// Splits a result into key columns (no accuracy entry) and noisy value columns.
export function shape(result) {
  const { columns, column_types: types = [], rows, accuracy = [] } = result;
  const noisyNames = new Set(accuracy.map((a) => a.column));
  const keys = [], values = [];
  columns.forEach((c, i) => (noisyNames.has(c) ? values : keys).push(i));
  const ci = rows.map(() => ({}));
  for (const a of accuracy) if (ci[a.row]) ci[a.row][a.column] = a.ci;
  return { columns, types, rows, keys, values, ci };
}

export function chooseChart(result, queryText = '', hint) {
  const s = shape(result);
  if (hint === 'table' || s.values.length === 0 || s.rows.length === 0) return null;
  const keyTypes = s.keys.map((i) => s.types[i]);
  if (hint === 'line' || (!hint && keyTypes.includes('date'))) {
    if (keyTypes.includes('date')) return 'line';
  }
  if (hint === 'histogram' || (!hint && /\bBUCKET\s*\(/i.test(queryText))) {
    if (s.keys.length >= 1 && numericTypes.has(s.types[s.keys[0]])) return 'histogram';
  }
  return 'bars';
}

function keyLabel(row, s, skip = -1) {
  return s.keys.filter((i) => i !== skip).map((i) => (row[i] == null ? 'NULL' : String(row[i]))).join(' · ');
}

function bucketWidth(queryText, xs) {
  const m = /\bBUCKET\s*\(\s*[^,()]+,\s*([0-9.]+)\s*\)/i.exec(queryText);
  if (m && Number(m[1]) > 0) return Number(m[1]);
  const sorted = [...new Set(xs)].sort((a, b) => a - b);
  let w = Infinity;
  for (let i = 1; i < sorted.length; i++) w = Math.min(w, sorted[i] - sorted[i - 1]);
  return Number.isFinite(w) ? w : 1;
}

const utcDate = (s) => new Date(String(s).slice(0, 10) + 'T00:00:00Z');

// Draws the chart for `result` into `container`; returns the SVG element (or
// null). options: {queryText, hint, capacity: Map(key -> value), capacityLabel}
export function drawChart(container, result, options = {}) {
  const kind = chooseChart(result, options.queryText, options.hint);
  if (!kind) return null;
  const s = shape(result);
  const vi = s.values[0];
  const valueName = s.columns[vi];
  const width = Math.max(320, Math.floor(container.clientWidth || 640));
  const tickFormat = (d) => num(d);
  let marks, x, legend = null, description;

  if (kind === 'line') {
    const di = s.keys.find((i) => s.types[i] === 'date');
    const data = s.rows.map((r, k) => ({
      date: utcDate(r[di]), day: String(r[di]), series: keyLabel(r, s, di) || valueName,
      value: r[vi], lo: s.ci[k][valueName]?.[0], hi: s.ci[k][valueName]?.[1],
    })).sort((a, b) => a.date - b.date);
    const series = [...new Set(data.map((d) => d.series))];
    const color = { domain: series, range: OKABE_ITO };
    const title = (d) => `${d.series === valueName ? '' : d.series + ', '}${d.day}: ${num(d.value)} (95% interval ${num(d.lo)} to ${num(d.hi)})`;
    marks = [
      Plot.areaY(data, { x: 'date', y1: 'lo', y2: 'hi', z: 'series', fill: 'series', fillOpacity: 0.22, className: 'mark-interval-band', ariaDescription: 'interval band', curve: 'linear' }),
      Plot.lineY(data, { x: 'date', y: 'value', z: 'series', stroke: 'series', strokeWidth: 2, className: 'mark-values-line', ariaDescription: 'values line' }),
      Plot.dot(data, { x: 'date', y: 'value', fill: 'series', r: 3, title, className: 'mark-values', ariaDescription: 'values' }),
    ];
    x = { type: 'utc', label: s.columns[di] };
    if (series.length > 1) legend = series.map((name, k) => [name, OKABE_ITO[k % OKABE_ITO.length]]);
    description = `Line chart of ${valueName} by ${s.columns[di]} with 95% interval bands`;
    return render(container, { width, marks, x, color, valueName, tickFormat, legend, description, kind });
  }

  let data;
  if (s.keys.length === 0) {
    // One row, no key: one bar per noisy column.
    data = s.values.map((i) => ({ key: s.columns[i], value: s.rows[0][i], lo: s.ci[0][s.columns[i]]?.[0], hi: s.ci[0][s.columns[i]]?.[1] }));
  } else {
    data = s.rows.map((r, k) => ({ key: keyLabel(r, s), raw: r[s.keys[0]], value: r[vi], lo: s.ci[k][valueName]?.[0], hi: s.ci[k][valueName]?.[1] }));
  }
  const valueTitle = (d) => `${d.key}: ${num(d.value)}`;
  const intervalTitle = (d) => `${d.key}: 95% interval ${num(d.lo)} to ${num(d.hi)}`;

  if (kind === 'histogram') {
    const w = bucketWidth(options.queryText || '', data.map((d) => d.raw));
    for (const d of data) { d.x1 = Number(d.raw); d.x2 = d.x1 + w; d.mid = d.x1 + w / 2; }
    marks = [
      Plot.rectY(data, { x1: 'x1', x2: 'x2', y: 'value', insetLeft: 1, insetRight: 1, fill: OKABE_ITO[0], title: valueTitle, className: 'mark-values', ariaDescription: 'values' }),
      Plot.ruleX(data, { x: 'mid', y1: 'lo', y2: 'hi', stroke: '#000', strokeWidth: 1.5, title: intervalTitle, className: 'mark-error-bars', ariaDescription: 'error bars' }),
      Plot.ruleY([0]),
    ];
    x = { label: s.columns[s.keys[0]], tickFormat };
    description = `Histogram of ${valueName} by ${s.columns[s.keys[0]]} with 95% error bars`;
  } else {
    const n = data.length;
    const cap = Math.max(2, Math.min(10, (width - 80) / Math.max(1, n) * 0.18));
    marks = [
      Plot.barY(data, { x: 'key', y: 'value', fill: OKABE_ITO[0], title: valueTitle, className: 'mark-values', ariaDescription: 'values' }),
      Plot.ruleX(data, { x: 'key', y1: 'lo', y2: 'hi', stroke: '#000', strokeWidth: 1.5, title: intervalTitle, className: 'mark-error-bars', ariaDescription: 'error bars' }),
      Plot.tickY(data, { x: 'key', y: 'lo', stroke: '#000', inset: ((width - 80) / Math.max(1, n)) / 2 - cap, className: 'mark-error-bar-ends', ariaDescription: 'error bar ends' }),
      Plot.tickY(data, { x: 'key', y: 'hi', stroke: '#000', inset: ((width - 80) / Math.max(1, n)) / 2 - cap, className: 'mark-error-bar-ends', ariaDescription: 'error bar ends' }),
      Plot.ruleY([0]),
    ];
    if (options.capacity && s.keys.length) {
      const caps = data.filter((d) => options.capacity.has(String(d.raw)))
        .map((d) => ({ key: d.key, beds: options.capacity.get(String(d.raw)) }));
      marks.push(Plot.tickY(caps, { x: 'key', y: 'beds', stroke: CAPACITY, strokeWidth: 2.5, strokeDasharray: '5,3', title: (d) => `${d.key}: capacity ${num(d.beds)}`, className: 'mark-capacity', ariaDescription: 'capacity' }));
      legend = [[valueName, OKABE_ITO[0]], [options.capacityLabel || 'capacity', CAPACITY]];
    }
    const longest = Math.max(...data.map((d) => d.key.length));
    const long = longest * n > width / 7;
    const crowded = n * 14 > width - 90; // too many labels even at an angle: upright
    x = { label: s.keys.length ? s.keys.map((i) => s.columns[i]).join(' · ') : null, domain: data.map((d) => d.key), tickRotate: crowded ? -90 : long ? -35 : 0, padding: 0.25 };
    description = `Bar chart of ${valueName}${s.keys.length ? ' by ' + x.label : ''} with 95% error bars`;
  }
  return render(container, { width, marks, x, valueName, tickFormat, legend, description, kind, long: x.tickRotate ? Math.min(140, 24 + 6 * Math.max(...data.map((d) => d.key.length))) : 0 });
}

function render(container, { width, marks, x, color, valueName, tickFormat, legend, description, kind, long }) {
  const svg = Plot.plot({
    width,
    height: 340,
    marginLeft: 64,
    marginBottom: long ? Math.max(44, long) : 44,
    marginRight: 24,
    x,
    y: { label: valueName, grid: true, tickFormat },
    color,
    marks,
    ariaLabel: description,
  });
  for (const style of svg.querySelectorAll('style')) style.remove();
  svg.classList.add('dpql-chart');
  svg.setAttribute('role', 'img');
  svg.dataset.kind = kind;
  const figure = h('figure', { class: 'chart' }, svg);
  if (legend) {
    figure.append(h('figcaption', { class: 'legend' }, legend.map(([name, colour]) => {
      const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      sw.style.background = colour; // CSSOM, not a style attribute: allowed by the CSP
      return h('span', { class: 'legend-item' }, sw, name);
    })));
  }
  container.append(figure);
  return svg;
}

function serialize(svg) {
  const copy = svg.cloneNode(true);
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = EXPORT_CSS;
  copy.insertBefore(style, copy.firstChild);
  return new XMLSerializer().serializeToString(copy);
}

export function downloadSvg(svg, name) {
  download(new Blob([serialize(svg)], { type: 'image/svg+xml' }), name + '.svg');
}

export function downloadPng(svg, name) {
  const w = Number(svg.getAttribute('width')), hgt = Number(svg.getAttribute('height'));
  const url = URL.createObjectURL(new Blob([serialize(svg)], { type: 'image/svg+xml' }));
  const img = new Image();
  img.onload = () => {
    const canvas = document.createElement('canvas');
    canvas.width = w * 2; canvas.height = hgt * 2;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.scale(2, 2);
    ctx.drawImage(img, 0, 0, w, hgt);
    URL.revokeObjectURL(url);
    canvas.toBlob((blob) => download(blob, name + '.png'), 'image/png');
  };
  img.src = url;
}

// CSV of a result: every column, and for each noisy column its interval bounds.
export function toCsv(result) {
  const s = shape(result);
  const header = [];
  s.columns.forEach((c, i) => { header.push(c); if (s.values.includes(i)) header.push(c + '_ci_low', c + '_ci_high'); });
  const lines = [header.map(csvField).join(',')];
  s.rows.forEach((r, k) => {
    const out = [];
    s.columns.forEach((c, i) => {
      out.push(csvField(r[i]));
      if (s.values.includes(i)) { const ci = s.ci[k][c] || []; out.push(csvField(ci[0]), csvField(ci[1])); }
    });
    lines.push(out.join(','));
  });
  return lines.join('\r\n') + '\r\n';
}

function csvField(v) {
  if (v == null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let s = String(v);
  // A text cell starting with = + - @ would run as a formula in a spreadsheet.
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
