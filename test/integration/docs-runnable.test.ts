// Every shell block marked `runnable` in README.md and docs/ runs as written, each in a new empty folder with
// `plugback` on PATH (the built dist/main.js), under bash -euo pipefail: a page whose commands stop working
// fails here. The blocks write only in their folder (they use $PWD for every path).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { docBlocks, runnableBlocks, type DocBlock } from '../helpers/doc-blocks.js';

const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(CHECKOUT, 'dist', 'main.js');
const blocks = await docBlocks(CHECKOUT);
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

/** Runs a block in a new folder; the child is killed by its PID if it outlives the limit. */
async function runBlock(block: DocBlock): Promise<{ code: number | null; output: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-docs-'));
  folders.push(dir);
  const bin = path.join(dir, '.bin');
  await fs.mkdir(bin);
  await fs.writeFile(path.join(bin, 'plugback'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
  const work = path.join(dir, 'work');
  await fs.mkdir(work);
  const child = spawn('bash', ['-euo', 'pipefail', '-c', block.code], {
    cwd: work,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const limit = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(limit);
  return { code, output };
}

describe('runnable blocks in the docs', () => {
  it('exist on the pages that walk a user through plugback', () => {
    const files = new Set(blocks.map((b) => b.file));
    for (const page of ['docs/backups.md', 'docs/getting-files-back.md', 'docs/installing.md']) expect([...files]).toContain(page);
  });

  for (const block of blocks) {
    it(`${block.file}:${block.line} runs as written (exit ${block.exit})`, { timeout: 180_000 }, async () => {
      const r = await runBlock(block);
      expect(r.code, `${block.file}:${block.line}\n--- the block:\n${block.code}\n--- its output:\n${r.output}`).toBe(block.exit);
    });
  }
});

describe('finding runnable blocks', () => {
  it('takes only blocks marked runnable, with their line and exit code, and skips other fences whole', () => {
    const md = ['# t', '```sh', 'echo no', '```', '', '```sh runnable', 'echo yes', '```', '````md', '```sh runnable', 'inside', '```', '````', '~~~ bash runnable exit=2', 'false', '~~~'].join('\n');
    expect(runnableBlocks(md, 'x.md')).toEqual([
      { file: 'x.md', line: 6, code: 'echo yes', exit: 0 },
      { file: 'x.md', line: 14, code: 'false', exit: 2 },
    ]);
  });

  it('refuses a page with a block that is never closed', () => {
    expect(() => runnableBlocks('```sh runnable\necho', 'y.md')).toThrow('y.md:1: a code block that is never closed');
  });
});
