// Reading a config file: YAML with positions, the schema, the cross checks, and messages as FILE:LINE:COL.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { crossChecks, viewForChecks } from './checks.js';
import { DEFAULT_CONFIG_FILE } from './defaults.js';
import { resolveConfig, type Config } from './model.js';
import { PositionFinder, type ConfigPath } from './positions.js';
import { configJsonSchema, configSchema } from './schema.js';
import { closestKey } from './suggest.js';


export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** A config that cannot be used; `problems` lists every reason, each with its place in the file. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

/** One problem in the conventional compiler form, so editors can jump to it. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** Loads, validates and resolves a config file; throws ConfigError listing every problem. */
export async function loadConfig(given: string = DEFAULT_CONFIG_FILE): Promise<Config> {
  // Absolute, because hooks get it as PLUGBACK_CONFIG and messages quote it.
  const file = path.resolve(given);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([
      { file, line: 1, col: 1, message: `cannot read the config (${reason}); give another with --config FILE, or start from config/plugback.example.yaml` },
    ]);
  }
  return parseConfig(text, file);
}

/** Validates config text; throws ConfigError listing every problem. */
export function parseConfig(text: string, file: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const problems: ConfigProblem[] = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0].line ?? 1,
    col: e.linePos?.[0].col ?? 1,
    message: `YAML: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
  }));
  if (problems.length > 0) throw new ConfigError(problems);

  const positions = new PositionFinder(doc, lines);
  const at = (path: ConfigPath, message: string, key = false): ConfigProblem => ({ file, ...positions.find(path, key), message });
  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  const schemaProblems = result.success ? [] : result.error.issues.flatMap((issue) => describeIssue(issue, raw));
  const crossProblems = crossChecks(viewForChecks(raw)).map((f) => ({ ...f, message: `${dotted(f.path)}: ${f.message}` }));
  const all = [...schemaProblems, ...crossProblems].map((d) => at(d.path, d.message, d.atKey));
  if (all.length > 0 || !result.success) throw new ConfigError(all.sort((a, b) => a.line - b.line || a.col - b.col));
  return resolveConfig(result.data, file);
}

interface Described {
  path: ConfigPath;
  message: string;
  atKey?: boolean;
}

/** Our wording for one schema issue; an unknown-keys issue becomes one message per key. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): Described[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(path);
    return issue.keys.map((key) => {
      const guess = closestKey(key, known);
      const hint = guess ? `; did you mean "${guess}"?` : known.length > 0 ? `; expected one of: ${known.join(', ')}` : '';
      return { path: [...path, key], atKey: true, message: `${dotted([...path, key])}: unknown key "${key}"${hint}` };
    });
  }
  if (issue.code === 'invalid_type') {
    const value = valueAt(raw, path);
    if (value === undefined) return [{ path, atKey: true, message: `${dotted(path)}: is required` }];
    return [{ path, message: `${dotted(path)}: expected ${article(issue.expected)}, got ${describeValue(value)}` }];
  }
  if (issue.code === 'invalid_key') {
    return [{ path, atKey: true, message: `${dotted(path)}: ${issue.issues[0]?.message ?? issue.message}` }];
  }
  if (issue.code === 'too_big' && issue.origin === 'number') return [{ path, message: `${dotted(path)}: must be at most ${issue.maximum}` }];
  if (issue.code === 'too_small' && issue.origin === 'number') return [{ path, message: `${dotted(path)}: must be at least ${issue.minimum}` }];
  if (issue.code === 'invalid_value') {
    return [{ path, message: `${dotted(path)}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
  }
  const value = valueAt(raw, path);
  // JSON escapes the other control characters, not DEL.
  const got = typeof value === 'string' ? `, got ${JSON.stringify(value).replace(/\x7f/g, '\\u007f')}` : '';
  return [{ path, message: `${dotted(path)}: ${issue.message}${got}` }];
}

/** The keys the schema allows in the object at `path`. */
function knownKeys(path: ConfigPath): string[] {
  type JsonNode = { properties?: Record<string, JsonNode>; additionalProperties?: JsonNode | boolean; items?: JsonNode };
  let node: JsonNode | undefined = configJsonSchema() as JsonNode;
  for (const segment of path) {
    if (!node) break;
    if (typeof segment === 'number') node = node.items;
    else node = node.properties?.[String(segment)] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
  }
  return Object.keys(node?.properties ?? {});
}

function valueAt(raw: unknown, path: ConfigPath): unknown {
  let value = raw;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function article(expected: string): string {
  const words: Record<string, string> = {
    string: 'a text',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
    record: 'a mapping',
  };
  return words[expected] ?? expected;
}

/** A config path as users write it: drives.offsite-a.uuid, states.photos.folders[0]. */
export function dotted(path: ConfigPath): string {
  if (path.length === 0) return '(top level)';
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join('');
}
