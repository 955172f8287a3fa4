// The file editor: CodeMirror 6 with highlighting chosen by file name. esbuild (backend/build.rs)
// bundles this into its own IIFE script, assets/editor.js, defining `window.GatehouseEditor`.
// It is NOT loaded with the page: the wasm UI injects it as a <script> the first time a file is
// opened for editing (src/files/editor.rs), so people who never edit never download it.
//
//   const ed = GatehouseEditor.create(parent, content, fileName, dark, readOnly, onChange, onSave);
//   ed.getValue(); ed.setValue(text); ed.setDark(bool); ed.focus(); ed.destroy();
//   GatehouseEditor.languageName(fileName)  // "Rust", "YAML", … or "Plain text"

import { EditorView, basicSetup } from 'codemirror';
import { EditorState, Compartment } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { indentWithTab } from '@codemirror/commands';
import { StreamLanguage } from '@codemirror/language';
import { oneDark } from '@codemirror/theme-one-dark';
import { javascript } from '@codemirror/lang-javascript';
import { json } from '@codemirror/lang-json';
import { python } from '@codemirror/lang-python';
import { rust } from '@codemirror/lang-rust';
import { html } from '@codemirror/lang-html';
import { css } from '@codemirror/lang-css';
import { markdown } from '@codemirror/lang-markdown';
import { yaml } from '@codemirror/lang-yaml';
import { xml } from '@codemirror/lang-xml';
import { sql } from '@codemirror/lang-sql';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { toml } from '@codemirror/legacy-modes/mode/toml';
import { nginx } from '@codemirror/legacy-modes/mode/nginx';
import { properties } from '@codemirror/legacy-modes/mode/properties';
import { dockerFile } from '@codemirror/legacy-modes/mode/dockerfile';
import { go } from '@codemirror/legacy-modes/mode/go';
import { lua } from '@codemirror/legacy-modes/mode/lua';
import { diff } from '@codemirror/legacy-modes/mode/diff';

const legacy = (mode) => () => StreamLanguage.define(mode);

// [display name, extension factory, file extensions, exact (lower-case) file names]
const LANGUAGES = [
  ['JavaScript', () => javascript({ jsx: true }), ['js', 'mjs', 'cjs', 'jsx'], []],
  ['TypeScript', () => javascript({ typescript: true, jsx: true }), ['ts', 'mts', 'cts', 'tsx'], []],
  ['JSON', json, ['json', 'jsonc', 'json5', 'map', 'webmanifest'], ['.babelrc', '.eslintrc']],
  ['Python', python, ['py', 'pyw', 'pyi'], []],
  ['Rust', rust, ['rs'], []],
  ['HTML', html, ['html', 'htm', 'xhtml'], []],
  ['CSS', css, ['css', 'scss', 'less'], []],
  ['Markdown', markdown, ['md', 'markdown', 'mdown'], []],
  ['YAML', yaml, ['yaml', 'yml'], []],
  ['XML', xml, ['xml', 'svg', 'xsl', 'xslt', 'plist', 'csproj', 'pom'], []],
  ['SQL', sql, ['sql'], []],
  ['Shell', legacy(shell), ['sh', 'bash', 'zsh', 'ksh', 'env'],
    ['.bashrc', '.bash_profile', '.bash_logout', '.profile', '.zshrc', '.bash_aliases', '.env']],
  ['TOML', legacy(toml), ['toml'], ['cargo.lock', 'pipfile']],
  ['nginx', legacy(nginx), ['nginx', 'vhost'], ['nginx.conf']],
  ['INI', legacy(properties), ['ini', 'cfg', 'conf', 'cnf', 'properties', 'service', 'timer', 'socket', 'desktop'],
    ['.gitconfig', '.editorconfig', 'sshd_config', 'ssh_config']],
  ['Dockerfile', legacy(dockerFile), ['dockerfile'], ['dockerfile', 'containerfile']],
  ['Go', legacy(go), ['go'], []],
  ['Lua', legacy(lua), ['lua'], []],
  ['Diff', legacy(diff), ['diff', 'patch'], []],
];

function languageOf(fileName) {
  const name = String(fileName || '').split('/').pop().toLowerCase();
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  return LANGUAGES.find(([, , exts, names]) => names.includes(name) || (ext && exts.includes(ext)))
    // nginx's sites-available files usually have no extension; the directory gives them away.
    ?? (String(fileName).includes('/nginx/') ? LANGUAGES.find(([n]) => n === 'nginx') : undefined);
}

export function languageName(fileName) {
  const lang = languageOf(fileName);
  return lang ? lang[0] : 'Plain text';
}

// Matches the UI's own colours (CSS variables) so the editor follows the dark / light theme.
const frame = EditorView.theme({
  '&': { height: '100%', fontSize: '13px' },
  '.cm-scroller': {
    fontFamily: '"JetBrains Mono", "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, monospace',
  },
});

class Editor {
  constructor(parent, content, fileName, dark, readOnly, onChange, onSave) {
    this.theme = new Compartment();
    const lang = languageOf(fileName);
    const extensions = [
      basicSetup,
      keymap.of([
        indentWithTab,
        { key: 'Mod-s', preventDefault: true, run: () => { onSave?.(); return true; } },
      ]),
      frame,
      this.theme.of(dark ? oneDark : []),
      EditorState.readOnly.of(readOnly),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange?.();
      }),
    ];
    if (lang) extensions.push(lang[1]());
    this.view = new EditorView({
      parent,
      state: EditorState.create({ doc: content, extensions }),
    });
  }

  getValue() {
    return this.view.state.doc.toString();
  }

  // Replaces the whole text (after a reload); does not count as an edit for onChange's caller,
  // who resets its own dirty flag afterwards.
  setValue(text) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  setDark(dark) {
    this.view.dispatch({ effects: this.theme.reconfigure(dark ? oneDark : []) });
  }

  focus() {
    this.view.focus();
  }

  destroy() {
    this.view.destroy();
  }
}

export function create(parent, content, fileName, dark, readOnly, onChange, onSave) {
  return new Editor(parent, content, fileName, dark, !!readOnly, onChange, onSave);
}
