// What the YAML layer must catch before the schema sees the data: parser errors (de-duplicated), keys that
// JavaScript objects cannot hold, and documents whose aliases would blow up into millions of nodes.
import { isMap, isPair, isScalar, isSeq, type Document } from 'yaml';
import type { ConfigPath } from './positions.js';

export interface YamlProblem {
  line: number;
  col: number;
  message: string;
}

/** One broken construct (3000 nested "[") can make hundreds of identical errors: show this many kinds. */
const MAX_KINDS = 10;

/** The parser's errors, one line per kind of error with a count of the repeats, at most MAX_KINDS kinds. */
export function yamlErrors(doc: Document): YamlProblem[] {
  const kinds = new Map<string, { first: YamlProblem; more: number }>();
  for (const e of doc.errors) {
    const message = `YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`;
    const kind = kinds.get(message);
    if (kind) kind.more++;
    else kinds.set(message, { first: { line: e.linePos?.[0].line ?? 1, col: e.linePos?.[0].col ?? 1, message }, more: 0 });
  }
  const all = [...kinds.values()];
  const shown = all.slice(0, MAX_KINDS).map(({ first, more }) => (more === 0 ? first : { ...first, message: `${first.message} (and ${more} more like this)` }));
  const hidden = all.slice(MAX_KINDS).reduce((n, k) => n + 1 + k.more, 0);
  const last = shown.at(-1);
  if (hidden > 0 && last) shown.push({ ...last, message: `YAML: ${hidden} more errors of other kinds; fix the ones above first` });
  return shown;
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
