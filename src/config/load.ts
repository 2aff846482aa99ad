// Reading a config file: YAML with positions, the schema, the cross checks, and messages as FILE:LINE:COL.
import type { Stats } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { viewForChecks } from './checked-view.js';
import { crossChecks } from './checks.js';
import { fileWarnings, secretFiles, type SecretFile } from './checks-files.js';
import { DEFAULT_CONFIG_FILE } from './defaults.js';
import { resolveConfig, type Config } from './model.js';
import { dotted, PositionFinder, valueAt, type ConfigPath } from './positions.js';
import { configJsonSchema, configSchema } from './schema.js';
import { closestKey } from './suggest.js';
export { dotted } from './positions.js';
import { reservedKeys, toData, yamlErrors } from './yaml-checks.js';
import { configDirectoryProblem, configFileProblem, secretPathProblem, trustedFileProblem } from '../system/file-perms.js';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
  /** Lines shown under the message (the offending line, a caret, a hint). */
  context?: string | undefined;
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
  return `${p.file}:${p.line}:${p.col}: ${p.message}${p.context ? `\n${p.context}` : ''}`;
}

export interface LoadOptions {
  /** Also check that the key files, the SMTP password file and the archive secrets are root's alone (`config check`). */
  checkSecrets?: boolean;
  /** Also have `systemd-analyze calendar` check each drive's schedule, when it is installed (`config check`). */
  checkCalendars?: boolean;
  /** Told what is not wrong but will be at run time: missing folders and secret files (`config check`). */
  onWarning?: (problem: ConfigProblem) => void;
}

/** Loads, validates and resolves a config file; throws ConfigError listing every problem. */
export async function loadConfig(given: string = DEFAULT_CONFIG_FILE, options: LoadOptions = {}): Promise<Config> {
  // Absolute, because hooks get it as PLUGBACK_CONFIG and messages quote it.
  const file = path.resolve(given);
  const { text, stats } = await readConfigFile(file);
  // Its hooks run as root: a file (or a folder on its way) that others can change would make them root.
  const unsafe = configFileProblem(file, stats) ?? (await configDirectoryProblem(await realpath(file)));
  if (unsafe) throw new ConfigError([{ file, line: 1, col: 1, message: unsafe }]);
  const { config, at, raw } = parseLocated(text, file);
  const secrets = secretFiles(config, raw, trustedFileProblem);
  const problems = options.checkSecrets ? await secretProblems(secrets, at) : [];
  if (options.checkCalendars) {
    const { calendarFindings } = await import('./calendar-check.js');
    problems.push(...(await calendarFindings(config)).map((f) => at(f.path, f.message)));
  }
  if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  if (options.onWarning) for (const w of await fileWarnings(config, secrets)) options.onWarning(at(w.path, w.message, w.atKey));
  return config;
}

async function readConfigFile(file: string): Promise<{ text: string; stats: Stats }> {
  try {
    const handle = await open(file, 'r');
    try {
      // The stats of the file read, not of whatever is at the path a moment later.
      const stats = await handle.stat();
      return { text: await handle.readFile('utf8'), stats };
    } finally {
      await handle.close();
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([
      { file, line: 1, col: 1, message: `cannot read the config (${reason}); give another with --config FILE, or start from config/plugback.example.yaml` },
    ]);
  }
}

type Locate = (path: ConfigPath, message: string, key?: boolean) => ConfigProblem;

/** The key files, the SMTP password file and the archive passphrase and keyring files that others could read or change, as located problems. */
async function secretProblems(secrets: SecretFile[], at: Locate): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const s of secrets) {
    const problem = await secretPathProblem(s.file, s.what, s.check);
    if (problem) problems.push(at(s.where, `${dotted(s.where)}: ${problem}`, s.key));
  }
  return problems;
}

/** Validates config text; throws ConfigError listing every problem. */
export function parseConfig(text: string, file: string): Config {
  return parseLocated(text, file).config;
}

function parseLocated(text: string, file: string): { config: Config; at: Locate; raw: unknown } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const yamlProblems = yamlErrors(doc, text);
  if (yamlProblems.length > 0) throw new ConfigError(yamlProblems.map((p) => ({ file, ...p })));

  const positions = new PositionFinder(doc, lines);
  const at: Locate = (path, message, key = false) => ({ file, ...positions.find(path, key), message });
  const reserved = reservedKeys(doc).map((p) => at(p, `${dotted(p)}: the name "${String(p.at(-1))}" cannot be used (JavaScript objects drop it): choose another name`, true));
  if (reserved.length > 0) throw new ConfigError(reserved);
  const converted = toData(doc);
  if ('problem' in converted) throw new ConfigError([{ file, ...converted.problem }]);
  const raw = converted.data;
  const result = configSchema.safeParse(raw);
  const schemaProblems = result.success ? [] : result.error.issues.flatMap((issue) => describeIssue(issue, raw));
  const crossProblems = crossChecks(viewForChecks(raw)).map((f) => ({ ...f, message: `${dotted(f.path)}: ${f.message}` }));
  const all = [...schemaProblems, ...crossProblems].map((d) => at(d.path, d.message, d.atKey));
  if (all.length > 0 || !result.success) throw new ConfigError(all.sort((a, b) => a.line - b.line || a.col - b.col));
  return { config: resolveConfig(result.data, file), at, raw };
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
