// What the YAML layer must catch before the schema sees the data: parser errors (de-duplicated), keys that
// JavaScript objects cannot hold, and documents whose aliases would blow up into millions of nodes.
import { isMap, isPair, isScalar, isSeq, type Document } from 'yaml';
import type { ConfigPath } from './positions.js';

export interface YamlProblem {
  line: number;
  col: number;
  message: string;
  /** The offending line with a caret under the column, and a hint when the slip is a common one. */
  context?: string;
}

/** One broken construct (3000 nested "[") can make hundreds of identical errors: show this many kinds. */
const MAX_KINDS = 10;

/** The parser's errors, one line per kind of error with a count of the repeats, at most MAX_KINDS kinds. */
export function yamlErrors(doc: Document, text: string): YamlProblem[] {
  const kinds = new Map<string, { first: YamlProblem; more: number }>();
  const lines = text.split('\n');
  for (const e of doc.errors) {
    const message = `YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`;
    const kind = kinds.get(message);
    if (kind) {
      kind.more++;
      continue;
    }
    const line = e.linePos?.[0].line ?? 1;
    const col = e.linePos?.[0].col ?? 1;
    kinds.set(message, { first: { line, col, message, context: showAt(lines[line - 1] ?? '', line, col, hintFor(message, lines[line - 1] ?? '')) }, more: 0 });
  }
  const all = [...kinds.values()];
  const shown = all.slice(0, MAX_KINDS).map(({ first, more }) => (more === 0 ? first : { ...first, message: `${first.message} (and ${more} more like this)` }));
  const hidden = all.slice(MAX_KINDS).reduce((n, k) => n + 1 + k.more, 0);
  const last = shown.at(-1);
  if (hidden > 0 && last) shown.push({ ...last, message: `YAML: ${hidden} more errors of other kinds; fix the ones above first` });
  return shown;
}

/** The widest part of a line shown: a minified or binary line must not flood the terminal. */
const SHOWN_WIDTH = 100;

/** `   6 | <line>` and a caret under column `col`, then the hint. */
function showAt(text: string, line: number, col: number, hint: string | undefined): string {
  const start = Math.max(0, col - 1 - SHOWN_WIDTH / 2);
  const cut = text.slice(start, start + SHOWN_WIDTH).replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '?').replace(/\t/g, '→');
  const gutter = `${String(line).padStart(5)} | `;
  const shown = [`${gutter}${start > 0 ? '…' : ''}${cut}`, `${' '.repeat(gutter.length - 2)}| ${' '.repeat(col - 1 - start + (start > 0 ? 1 : 0))}^`];
  return (hint ? [...shown, `  hint: ${hint}`] : shown).join('\n');
}

/** One sentence for the slips people make most: indentation, tabs, and a one-line script with ": " in it. */
function hintFor(message: string, text: string): string | undefined {
  if (/\t/.test(text.slice(0, text.length - text.trimStart().length)) || /tab/i.test(message)) {
    return 'YAML indents with spaces only: replace the tabs at the start of the line with spaces';
  }
  if (/compact mappings|Implicit keys need to be on a single line|Implicit map keys need to be followed/.test(message) && /^\s*[\w.-]+: .*: /.test(text)) {
    return 'a value containing ": " reads as another key: quote it, or for a script write "key: |" and the script on the lines below, indented';
  }
  if (/same column|indentation|Bad indentation|must be indented/i.test(message)) {
    return 'keys at one level must start in the same column: indent each level by the same number of spaces as its siblings';
  }
  return undefined;
}

/** Keys that a JavaScript object would turn into its prototype instead of an entry: the config would lose them. */
const RESERVED_KEYS = new Set(['__proto__']);

/** The paths of the map keys in `doc` that are reserved, for located messages. */
export function reservedKeys(doc: Document): ConfigPath[] {
  const found: ConfigPath[] = [];
  const walk = (node: unknown, at: ConfigPath) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key !== undefined && RESERVED_KEYS.has(key)) found.push([...at, key]);
        else walk(pair.value, [...at, key ?? '?']);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...at, i]));
    }
  };
  walk(doc.contents, []);
  return found;
}

/** The document as plain data, or the reason it cannot be turned into that (too many aliases). */
export function toData(doc: Document): { data: unknown } | { problem: YamlProblem } {
  try {
    return { data: doc.toJS() ?? {} };
  } catch (error) {
    // yaml's maxAliasCount stops an alias bomb (a few lines that expand to a billion nodes) with a ReferenceError.
    const why = (error as Error).message;
    const message = /alias/i.test(why)
      ? `YAML: too many aliases (${why}): write the values out instead of repeating them through *aliases`
      : `YAML: cannot turn the document into data (${why})`;
    return { problem: { line: 1, col: 1, message } };
  }
}
