// Audit D25 and D28 through the real CLI (`npm run build` first): YAML that would blow up, and output into a
// pipe whose reader has gone.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function configFile(text: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-cli-hostile-'));
  temps.push(dir);
  const file = path.join(dir, 'config.yaml');
  await fs.writeFile(file, text);
  return file;
}

const check = (file: string) => execa(process.execPath, [CLI, 'config', 'check', file], { reject: false });

describe('config check on YAML that would blow up', () => {
  it('reports an alias bomb as FILE:1:1 with exit 2, not a stack trace (D25)', async () => {
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h']]) {
      bomb += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
    }
    const file = await configFile(bomb);
    const r = await check(file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${file}:1:1: YAML: too many aliases \\([^\\n]+\\): write the values out instead of repeating them through \\*aliases$`));
  });

  it('reports 3000 nested "[" in a few lines instead of hundreds (D28)', async () => {
    const file = await configFile('['.repeat(3000));
    const r = await check(file);
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    const problems = lines.filter((l) => l.startsWith(`${file}:`));
    expect(problems.length).toBeLessThanOrEqual(11);
    // Each problem shows at most its line (cut to 100 characters), a caret and a hint.
    expect(lines.length).toBeLessThanOrEqual(problems.length * 4);
    for (const l of lines.filter((x) => !x.startsWith(`${file}:`))) expect(l.length, l).toBeLessThanOrEqual(120);
    expect(r.stderr).toMatch(/\(and \d+ more like this\)/);
  });
});

describe('output into a closed pipe (D28)', () => {
  it('`plugback install --help | head -1` prints the first line and nothing on stderr', async () => {
    const dir = path.dirname(await configFile(''));
    const errors = path.join(dir, 'stderr');
    const r = await execa('sh', ['-c', `"$0" "$1" install --help 2>"$2" | head -1`, process.execPath, CLI, errors], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Usage: plugback install/);
    expect(await fs.readFile(errors, 'utf8')).toBe('');
  });

  it('ends quietly when the reader is gone before anything is written (EPIPE for sure)', async () => {
    const child = spawn(process.execPath, [CLI, 'install', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before plugback has even started: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
