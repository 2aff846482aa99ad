// Checks plugback's JSON output against the shapes docs/json.md documents (src/cli/json-shapes/), and keeps what
// it saw as examples for docs/json.md when PLUGBACK_JSON_EXAMPLES names a folder (real output, never invented).
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { JSON_SHAPES, type ShapeName } from '../../src/cli/json-shapes/index.js';

/** The problems of `value` as shape `name`, one line each ("drives.0.record: expected object"); [] when it fits. */
export function shapeProblems(name: ShapeName, value: unknown): string[] {
  const parsed = JSON_SHAPES[name].safeParse(value);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
}

/** Parses a JSON document and checks it against shape `name`. */
export function expectDocument<T = Record<string, unknown>>(name: ShapeName, stdout: string): T {
  const value = JSON.parse(stdout) as T;
  expect(shapeProblems(name, value), stdout).toEqual([]);
  keep(name, stdout.trim());
  return value;
}

/** Checks that every line of stdout is a JSON line of shape `name`; returns them parsed. */
export function expectLines<T = { type: string; [key: string]: unknown }>(name: ShapeName, stdout: string): T[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  expect(lines.length, 'no JSON lines on stdout').toBeGreaterThan(0);
  const parsed = lines.map((l) => {
    const value = JSON.parse(l) as T;
    expect(shapeProblems(name, value), l).toEqual([]);
    return value;
  });
  keep(name, lines.join('\n'));
  return parsed;
}

function keep(name: string, text: string): void {
  const dir = process.env.PLUGBACK_JSON_EXAMPLES;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  appendFileSync(path.join(dir, `${name}.txt`), `${text}\n-----\n`);
}
