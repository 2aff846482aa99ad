// Shared by the restore tests (restore.test.ts, restore-versions.test.ts): the built command line (dist/main.js)
// run the way a user runs it, backups made in-process with the fixture, and what to look at afterwards.
import { execa } from 'execa';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, expect } from 'vitest';
import { BackupFixture, DRIVE, type FixtureSettings } from './backup-fixture.js';
import type { TreeEntry } from './tree.js';
import { rsyncProcessesUnder } from './processes.js';

export const execFileP = promisify(execFile);
export const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const KEPT_MARK = '.plugback-before-restore-';
// ---------------------------------------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------------------------------------

export interface CliResult {
  code: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** Every CLI process a test started; afterEach kills (by PID) the ones that have not finished. */
const spawned: { pid: number | undefined; finished: boolean }[] = [];

/**
 * Runs `node dist/main.js ...args` without a shell. stdin is a pipe that is closed at once (input ''), so it
 * is not a terminal; stdout and stderr are pipes too.
 */
export async function cli(args: string[]): Promise<CliResult> {
  const child = execa(process.execPath, [CLI, ...args], { reject: false, input: '', cwd: os.tmpdir(), timeout: 45_000 });
  const entry = { pid: child.pid, finished: false };
  spawned.push(entry);
  try {
    const r = await child;
    return { code: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  } finally {
    entry.finished = true;
  }
}

export const restore = (f: BackupFixture, ...args: string[]) => cli(['restore', DRIVE, '--config', f.configFile, ...args]);
export const versions = (f: BackupFixture, target: string, ...args: string[]) => cli(['versions', DRIVE, target, '--config', f.configFile, ...args]);

/** What a failed assertion should show about a CLI run. */
export function shown(r: CliResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures and clean-up
// ---------------------------------------------------------------------------------------------------------

const fixtures: BackupFixture[] = [];

export async function setup(settings: FixtureSettings = {}): Promise<BackupFixture> {
  const f = await BackupFixture.create(settings);
  fixtures.push(f);
  return f;
}


function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** Call once at the top of a test file: checks the build is there and cleans up after each test, by PID. */
export function cleanUpAfterEach(): void {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test builds before testing)`);
  });

  afterEach(async () => {
    for (const entry of spawned.splice(0)) if (!entry.finished && entry.pid !== undefined) killQuietly(entry.pid);
    for (const f of fixtures.splice(0)) {
      for (const pid of await rsyncProcessesUnder(f.root)) killQuietly(pid);
      await f.cleanup();
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

/** Runs one backup in-process and returns the snapshot's name. */
export async function backup(f: BackupFixture): Promise<string> {
  const result = await f.run();
  expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'success', warnings: [] });
  if (result.snapshot === undefined) throw new Error('the backup completed no snapshot');
  return result.snapshot;
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), content);
  }
}

/** The `<p>.plugback-before-restore-<time>` siblings of `p`, sorted. */
export async function keptAsideOf(p: string): Promise<string[]> {
  const prefix = `${path.basename(p)}${KEPT_MARK}`;
  const names = await fs.readdir(path.dirname(p));
  return names
    .filter((n) => n.startsWith(prefix))
    .sort()
    .map((n) => path.join(path.dirname(p), n));
}

/** Every entry in `root`'s parent whose name mentions the kept-aside mark, at any depth below it too. */
export async function anyKeptAside(root: string): Promise<string[]> {
  const { stdout } = await execFileP('find', [path.dirname(root), '-name', `*${KEPT_MARK}*`]);
  return stdout.split('\n').filter(Boolean);
}

export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const without = (tree: TreeEntry[], drop: (p: string) => boolean) => tree.filter((e) => !drop(e.path));



/** What a user might do to a fidelity tree after its backup: edit, delete, add, chmod, drop an xattr. */
export async function changeFidelityTree(root: string): Promise<void> {
  await fs.writeFile(path.join(root, 'modes', 'plain-0644.txt'), 'edited after the backup, and longer\n');
  // One half of a hard-linked pair: the restore must bring it back as the same inode as its twin.
  await fs.rm(path.join(root, 'links', 'target.txt'));
  await fs.writeFile(path.join(root, 'added-after-backup.txt'), 'not in the snapshot\n');
  await fs.chmod(path.join(root, 'modes', 'secret-0600.txt'), 0o644);
  await execFileP('setfattr', ['-x', 'user.plugback.test', path.join(root, 'xattrs.txt')]);
}

/** The lines of a dry run's listing: `create x`, `change y`, `delete z`. */
export function listed(stdout: string, label: 'create' | 'change' | 'delete'): string[] {
  const prefix = `  ${label} `;
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

export const YEAR_2020 = new Date('2020-01-01T00:00:00Z');
export const YEAR_2021 = new Date('2021-06-15T12:30:45Z');
