// The DPQL editor: CodeMirror 6 with a small stream highlighter for DPQL's
// keywords, completion of table and column names from GET /v1/catalog, and a
// refusal marker: the offending text underlined and a caret line under it.
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { EditorView, Decoration, WidgetType, keymap, lineNumbers, drawSelection, highlightActiveLine, placeholder } from '@codemirror/view';
import { StreamLanguage, syntaxHighlighting, HighlightStyle, bracketMatching } from '@codemirror/language';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, completionKeymap, closeBrackets } from '@codemirror/autocomplete';
import { tags as t } from '@lezer/highlight';

export const KEYWORDS = `SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT WITH PRIVACY AS AND OR NOT IN IS NULL
  BETWEEN LIKE DISTINCT ASC DESC EXPLAIN SHOW TABLES DESCRIBE BUDGET JOIN ON INNER LEFT CASE WHEN THEN
  ELSE END TRUE FALSE DATE INTERVAL`.split(/\s+/);
export const FUNCTIONS = `COUNT SUM AVG MIN MAX MEDIAN PERCENTILE VARIANCE STDDEV BUCKET DATE_TRUNC EXTRACT
  COALESCE ABS ROUND LOWER UPPER`.split(/\s+/);
const PARAMS = 'epsilon delta mechanism max_groups max_rows confidence laplace gaussian'.split(' ');

const kw = new Set(KEYWORDS.map((k) => k.toLowerCase()));
const fn = new Set(FUNCTIONS.map((k) => k.toLowerCase()));
const params = new Set(PARAMS);

const dpql = StreamLanguage.define({
  name: 'dpql',
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match('--')) { stream.skipToEnd(); return 'comment'; }
    if (stream.match(/^'(?:[^']|'')*'?/)) return 'string';
    if (stream.match(/^"(?:[^"]|"")*"?/)) return 'variableName';
    if (stream.match(/^\d+(\.\d+)?(e[+-]?\d+)?/i)) return 'number';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const w = stream.current().toLowerCase();
      if (kw.has(w)) return 'keyword';
      if (fn.has(w)) return 'builtin';
      if (params.has(w)) return 'atom';
      return 'variableName';
    }
    if (stream.match(/^(<=|>=|<>|!=|[-+*/=<>(),;.])/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '--' } },
});

// Okabe-Ito hues, dark enough for text on white.
const highlight = HighlightStyle.define([
  { tag: t.keyword, color: '#0060a0', fontWeight: '600' },
  { tag: t.standard(t.variableName), color: '#a0400b' },
  { tag: t.atom, color: '#7b3f8c' },
  { tag: t.string, color: '#00704f' },
  { tag: t.number, color: '#9a5b00' },
  { tag: t.comment, color: '#5f6368', fontStyle: 'italic' },
]);

// ---- refusal marker
const setError = StateEffect.define();

class CaretWidget extends WidgetType {
  constructor(column, message, line) { super(); this.column = column; this.message = message; this.line = line; }
  eq(o) { return o.column === this.column && o.message === this.message && o.line === this.line; }
  toDOM() {
    const div = document.createElement('div');
    div.className = 'cm-dpql-caret';
    div.dataset.line = String(this.line);
    div.dataset.column = String(this.column);
    div.setAttribute('role', 'alert');
    const caret = document.createElement('span');
    caret.className = 'cm-dpql-caret-mark';
    caret.textContent = ' '.repeat(Math.max(0, this.column - 1)) + '^';
    const msg = document.createElement('span');
    msg.className = 'cm-dpql-caret-message';
    msg.textContent = ' ' + this.message;
    div.append(caret, msg);
    return div;
  }
  ignoreEvent() { return true; }
}

const errorField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    for (const e of tr.effects) if (e.is(setError)) return e.value;
    return tr.docChanged ? Decoration.none : deco; // any edit clears the marker
  },
  provide: (f) => EditorView.decorations.from(f),
});

// Marks the refused text at (line, column), 1-based, column in characters.
export function showError(view, line, column, message) {
  const doc = view.state.doc;
  if (!line || !column || line > doc.lines) { view.dispatch({ effects: setError.of(Decoration.none) }); return; }
  const l = doc.line(line);
  const chars = Array.from(l.text); // column counts characters (code points)
  const col = Math.min(column, chars.length + 1);
  const offset = chars.slice(0, col - 1).join('').length;
  const from = l.from + offset;
  const rest = l.text.slice(offset);
  const word = /^[A-Za-z0-9_.]+|^'(?:[^']|'')*'?|^\S/.exec(rest);
  const to = from + (word ? word[0].length : 0);
  const decos = [Decoration.widget({ widget: new CaretWidget(col, message, line), block: true, side: 1 }).range(l.to)];
  if (to > from) decos.unshift(Decoration.mark({ class: 'cm-dpql-error', attributes: { 'aria-invalid': 'true' } }).range(from, to));
  view.dispatch({ effects: setError.of(Decoration.set(decos, true)), selection: { anchor: from }, scrollIntoView: true });
}

export function clearError(view) {
  view.dispatch({ effects: setError.of(Decoration.none) });
}

// ---- completion from the catalog
function completer(getCatalog) {
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][A-Za-z0-9_]*\.?[A-Za-z0-9_]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    const ds = getCatalog();
    const options = [];
    const dot = word.text.indexOf('.');
    if (ds && dot >= 0) {
      const table = ds.tables.find((x) => x.name === word.text.slice(0, dot));
      if (!table) return null;
      return {
        from: word.from + dot + 1,
        options: table.columns.map((c) => ({ label: c.name, type: 'property', detail: c.type })),
        validFor: /^[A-Za-z0-9_]*$/,
      };
    }
    if (ds) {
      const seen = new Set();
      for (const table of ds.tables) {
        options.push({ label: table.name, type: 'class', detail: table.private ? 'private table' : 'public table', boost: 2 });
        for (const c of table.columns) {
          if (seen.has(c.name)) continue;
          seen.add(c.name);
          options.push({ label: c.name, type: 'property', detail: `${c.type} · ${table.name}`, boost: 1 });
        }
      }
    }
    for (const k of KEYWORDS) options.push({ label: k, type: 'keyword' });
    for (const f of FUNCTIONS) options.push({ label: f, type: 'function', apply: f + '(' });
    for (const p of PARAMS) options.push({ label: p, type: 'constant' });
    return { from: word.from, options, validFor: /^[A-Za-z0-9_]*$/ };
  };
}

// CodeMirror injects its generated styles. Into a document it would add a
// <style> element, which the CSP (style-src 'self', no 'unsafe-inline')
// refuses; into a shadow root it uses a constructed stylesheet, which the CSP
// allows. So the editor lives in a shadow root that also links the console's
// own stylesheet (same origin, allowed).
export function createEditor(host, { doc, onChange, onRun, getCatalog, label }) {
  const shadow = host.attachShadow({ mode: 'open' });
  const css = document.querySelector('link[rel="stylesheet"]');
  if (css) shadow.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: css.href }));
  const parent = document.createElement('div');
  parent.className = 'editor-inner';
  shadow.append(parent);
  const view = new EditorView({
    root: shadow,
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        closeBrackets(),
        dpql,
        syntaxHighlighting(highlight),
        autocompletion({ override: [completer(getCatalog)], icons: false }),
        errorField,
        placeholder('SELECT ... FROM ... GROUP BY ... WITH PRIVACY (epsilon = 0.5)'),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': label || 'DPQL query', 'aria-multiline': 'true' }),
        keymap.of([
          { key: 'Mod-Enter', run: () => { onRun?.(); return true; } },
          ...completionKeymap,
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange?.(u.state.doc.toString()); }),
      ],
    }),
  });
  return view;
}

export function setText(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
