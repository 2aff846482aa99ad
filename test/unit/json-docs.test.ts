// docs/json.md, docs/json/*.schema.json and the shapes in src/cli/json-shapes cannot drift apart: each schema file
// is the one made from the code (PLUGBACK_WRITE_JSON_SCHEMAS=1 rewrites them), docs/json.md links every one, and
// each example there (```json shape=NAME, captured from a real run) fits its shape.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JSON_FORMAT } from '../../src/cli/job-output.js';
import { JSON_SHAPES, shapeJsonSchema, type ShapeName } from '../../src/cli/json-shapes/index.js';
import { shapeProblems } from '../helpers/json-shapes.js';

const root = new URL('../../', import.meta.url);
const names = Object.keys(JSON_SHAPES) as ShapeName[];
/** Shapes printed as JSON lines: each line of an example is one value. */
const LINES: readonly ShapeName[] = ['run', 'restore', 'status-follow'];
const doc = readFileSync(new URL('docs/json.md', root), 'utf8');

/** The ```json shape=NAME blocks of docs/json.md. */
function examples(): { shape: string; line: number; text: string }[] {
  const out: { shape: string; line: number; text: string }[] = [];
  const lines = doc.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```json shape=(\S+)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l === '```');
    out.push({ shape: open[1] ?? '', line: i + 1, text: lines.slice(i + 1, end).join('\n') });
  }
  return out;
}

describe('docs/json.md and docs/json/', () => {
  it.each(names)('docs/json/%s.schema.json is the schema made from src/cli/json-shapes', (name) => {
    const file = new URL(`docs/json/${name}.schema.json`, root);
    const made = shapeJsonSchema(name);
    if (process.env.PLUGBACK_WRITE_JSON_SCHEMAS === '1') writeFileSync(file, `${JSON.stringify(made, null, 2)}\n`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(made);
    expect(doc).toContain(`(json/${name}.schema.json)`);
  });

  it('has at least one example of every shape, and every example fits the shape it names', () => {
    const found = examples();
    expect([...new Set(found.map((e) => e.shape))].sort()).toEqual([...names].sort());
    for (const e of found) {
      const values = LINES.includes(e.shape as ShapeName) ? e.text.split('\n').filter(Boolean) : [e.text];
      for (const v of values) expect(shapeProblems(e.shape as ShapeName, JSON.parse(v)), `docs/json.md:${e.line}: ${v.slice(0, 200)}`).toEqual([]);
    }
  });

  it('names the format number the code prints', () => {
    expect(JSON_FORMAT).toBe(1);
    for (const name of names) expect(JSON.stringify(shapeJsonSchema(name))).toContain('"format":{"type":"number","const":1');
  });
});
