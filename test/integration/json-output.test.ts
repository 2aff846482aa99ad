// `run --json`, `restore --json` and `run --quiet` as scripts and cron read them: the real CLI, real rsync, a
// directory drive; every JSON line checked against the shapes docs/json.md documents (docs/json/*.schema.json).
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { comingRunLogNames, shown, Workspace } from '../helpers/cli-workspace.js';
import { expectLines } from '../helpers/json-shapes.js';

const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

async function workspace(): Promise<Workspace> {
  const w = await Workspace.create();
  workspaces.push(w);
  return w;
}

interface ResultLine {
  type: string;
  result?: { outcome: string; snapshot?: string; failedStep?: string | null; restored?: string[] };
  step?: string;
}

describe('plugback run --json', () => {
  it('prints only documented JSON lines on stdout, the steps and log lines first and the result last', async () => {
    const w = await workspace();
    const r = await w.cli(['run', 'd1', '--json']);
    expect(r.code, shown(r)).toBe(0);
    const lines = expectLines<ResultLine>('run', r.stdout);
    expect(lines[0]?.type).not.toBe('result');
    expect(lines.map((l) => l.type)).toEqual(expect.arrayContaining(['log', 'job-started', 'step-started', 'step-finished', 'progress']));
    expect(lines.filter((l) => l.type === 'result')).toHaveLength(1);
    const last = lines.at(-1);
    expect(last?.type).toBe('result');
    expect(last?.result?.outcome).toBe('success');
    expect(await w.completeSnapshots()).toEqual([last?.result?.snapshot]);
  });

  it('ends a failed backup with its result too: outcome failed at the step that failed, exit 1', async () => {
    const w = await workspace();
    await fs.rm(w.src, { recursive: true });
    const r = await w.cli(['run', 'd1', '--json']);
    expect(r.code, shown(r)).toBe(1);
    const lines = expectLines<ResultLine>('run', r.stdout);
    expect(lines.some((l) => l.type === 'step-failed' && l.step === 'check-source'), shown(r)).toBe(true);
    expect(lines.at(-1)?.result).toMatchObject({ outcome: 'failed', failedStep: 'check-source' });
  });

  it('refuses --json with --quiet as a usage error (exit 2)', async () => {
    const w = await workspace();
    const r = await w.cli(['run', 'd1', '--json', '--quiet']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toMatch(/cannot be used with option '-q, --quiet'/);
    expect(await w.completeSnapshots()).toEqual([]);
  });
});

describe('plugback run --quiet, as cron runs it', () => {
  it('prints nothing at all when the backup succeeds, so cron sends no mail', async () => {
    const w = await workspace();
    const r = await w.cli(['run', 'd1', '--quiet']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    expect(await w.completeSnapshots()).toHaveLength(1);
  });

  it('prints the failure as plain sentences on stderr and nothing on stdout, exit 1', async () => {
    const w = await workspace();
    await fs.rm(w.src, { recursive: true });
    const r = await w.cli(['run', 'd1', '--quiet']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines.length, shown(r)).toBeGreaterThan(0);
    for (const l of lines) expect(l, shown(r)).toMatch(/^plugback: /);
    expect(r.stderr).toContain('backup of "d1" failed at check-source');
    expect(r.stderr.match(/the source is not all there/g), shown(r)).toHaveLength(1);
    expect(r.stderr).not.toContain('started');
  });

  it('prints each warning once, exit 3', async () => {
    const w = await workspace();
    // Run logs planted as links for the coming seconds: the run logs beside them and warns (once).
    const logs = path.join(w.drive, 'plugback', 'h1', 'logs');
    await fs.mkdir(logs, { recursive: true });
    for (const name of comingRunLogNames()) await fs.symlink('/nowhere', path.join(logs, name));
    const r = await w.cli(['run', 'd1', '--quiet']);
    expect(r.code, shown(r)).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.match(/already exists \(it was not made by this run\)/g), shown(r)).toHaveLength(1);
  });
});

describe('plugback restore --json', () => {
  it('--dry-run: the plan, each change preview and a dry-run result; nothing is written', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const to = path.join(w.dir, 'back');
    const r = await w.cli(['restore', 'd1', '--dry-run', '--to', to, '--json']);
    expect(r.code, shown(r)).toBe(0);
    const lines = expectLines<ResultLine & { created?: string[] }>('restore', r.stdout);
    expect(lines.map((l) => l.type)).toEqual(['plan', 'preview', 'result']);
    expect(lines[1]?.created).toContain('p1.jpg');
    expect(lines[2]?.result?.outcome).toBe('dry-run');
    // The people's version of the plan went to stderr.
    expect(r.stderr).toContain('restore from snapshot');
    await expect(fs.stat(to)).rejects.toThrow();
  });

  it('--yes: the plan, the steps and the result, and the files are back', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const to = path.join(w.dir, 'back');
    const r = await w.cli(['restore', 'd1', '--yes', '--to', to, '--json']);
    expect(r.code, shown(r)).toBe(0);
    const lines = expectLines<ResultLine>('restore', r.stdout);
    expect(lines[0]?.type).toBe('plan');
    expect(lines.some((l) => l.type === 'step-finished' && l.step === 'restore-copy')).toBe(true);
    const restored = path.join(to, w.src);
    expect(lines.at(-1)?.result).toMatchObject({ outcome: 'success', restored: [restored] });
    expect(await fs.readFile(path.join(restored, 'p1.jpg'), 'utf8')).toBe('photo 1\n');
  });
});

describe('plugback restore --quiet', () => {
  it('restores with --yes and prints nothing; without --yes it refuses (exit 2), as it cannot ask', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const to = path.join(w.dir, 'back');
    const refused = await w.cli(['restore', 'd1', '--quiet', '--to', to]);
    expect(refused.code, shown(refused)).toBe(2);
    expect(refused.stderr).toContain('add --yes');
    await expect(fs.stat(to)).rejects.toThrow();

    const r = await w.cli(['restore', 'd1', '--quiet', '--yes', '--to', to]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    expect(await fs.readFile(path.join(to, w.src, 'p1.jpg'), 'utf8')).toBe('photo 1\n');
  });
});
