// Number formatting: thousands separators everywhere, a fixed locale so that
// every reader (and the tests) see the same text.
const LOCALE = 'en-US';
const cache = new Map();
function nf(opts) {
  const key = JSON.stringify(opts);
  if (!cache.has(key)) cache.set(key, new Intl.NumberFormat(LOCALE, opts));
  return cache.get(key);
}

// A released value: integers as integers, reals with precision that suits their size.
export function num(v) {
  if (v == null) return 'NULL';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return nf({ maximumFractionDigits: 0 }).format(v);
  const a = Math.abs(v);
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 4;
  return nf({ maximumFractionDigits: digits }).format(v);
}

// A privacy parameter (epsilon, rho): up to 6 decimals, no exponent.
export function eps(v) {
  if (v == null) return '–';
  return nf({ maximumFractionDigits: 6 }).format(v);
}

// delta: tiny numbers read better in exponent form.
export function delta(v) {
  if (v == null) return '–';
  if (v === 0) return '0';
  return v < 0.001 ? v.toExponential(2).replace('e', '×10^') : eps(v);
}

export function cell(v, type) {
  if (v == null) return 'NULL';
  if (typeof v === 'number') return num(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}
