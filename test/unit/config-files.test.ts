import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/schema.js';

const root = new URL('../../', import.meta.url);

describe('the files under config/', () => {
  it('plugback.schema.json is the schema exported from the code (run `npm run schema` after changing it)', async () => {
    const onDisk: unknown = JSON.parse(await readFile(new URL('config/plugback.schema.json', root), 'utf8'));
    expect(onDisk).toEqual(configJsonSchema());
  });

  it('plugback.example.yaml is a valid config', async () => {
    const config = await loadConfig(new URL('config/plugback.example.yaml', root).pathname);
    expect(config.drives.map((d) => d.name)).toEqual(['offsite-a', 'offsite-b', 'nas-disk']);
  });

  it('plugback.example.yaml shows every option of the schema', async () => {
    const example = await readFile(new URL('config/plugback.example.yaml', root), 'utf8');
    const missing = optionNames(configJsonSchema()).filter((name) => !new RegExp(`^\\s*#?\\s*${name}:`, 'm').test(example));
    expect(missing).toEqual([]);
  });
});

/** Every property name in a JSON Schema, at any depth. */
function optionNames(schema: unknown): string[] {
  const names = new Set<string>();
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    const { properties, additionalProperties, items } = node as Record<string, unknown>;
    if (properties && typeof properties === 'object') {
      for (const [name, child] of Object.entries(properties)) {
        names.add(name);
        walk(child);
      }
    }
    walk(additionalProperties);
    walk(items);
  };
  walk(schema);
  return [...names];
}
