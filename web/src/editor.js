// The SQL editor: CodeMirror 6 with SQL highlighting, Ctrl/Cmd-Enter to
// run, and server errors shown as lint diagnostics at their line/column.
import { basicSetup, EditorView } from 'codemirror';
import { sql, StandardSQL } from '@codemirror/lang-sql';
import { keymap } from '@codemirror/view';
import { setDiagnostics, lintGutter } from '@codemirror/lint';
import { Prec } from '@codemirror/state';
import { positionOf } from './results.js';

export function createEditor(parent, { doc = '', onRun, onChange, readOnly = false } = {}) {
  const extensions = [
    basicSetup,
    sql({ dialect: StandardSQL, upperCaseKeywords: true }),
    lintGutter(),
    EditorView.lineWrapping,
    EditorView.updateListener.of((u) => {
      if (u.docChanged && onChange) onChange(u.state.doc.toString());
    }),
  ];
  if (onRun) {
    extensions.push(
      Prec.highest(
        keymap.of([
          { key: 'Mod-Enter', run: () => (onRun(), true) },
          { key: 'Shift-Enter', run: () => (onRun(), true) },
        ]),
      ),
    );
  }
  if (readOnly) extensions.push(EditorView.editable.of(false));
  const view = new EditorView({ doc, extensions, parent });

  return {
    view,
    get value() {
      return view.state.doc.toString();
    },
    set value(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    // markError underlines the token at line/column (1-based) and shows
    // message on hover and in the gutter. Without a line it marks line 1.
    markError(message, line, column) {
      const text = view.state.doc.toString();
      const from = positionOf(text, line || 1, column || 1);
      const lineEnd = view.state.doc.lineAt(from).to;
      const word = /^[\w$"']+/.exec(text.slice(from, lineEnd));
      let to = from + (word ? word[0].length : 1);
      if (to > lineEnd) to = lineEnd;
      let start = from;
      if (start === to && start > view.state.doc.lineAt(from).from) start--; // end of line: mark the last character
      view.dispatch(setDiagnostics(view.state, [{ from: start, to, severity: 'error', message }]));
      view.dispatch({ effects: EditorView.scrollIntoView(from, { y: 'center' }) });
    },
    clearErrors() {
      view.dispatch(setDiagnostics(view.state, []));
    },
    focus() {
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}
