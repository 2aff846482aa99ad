// The lock file against other local users (uid 65534 planting links and files, holding the lock) and against a
// lock path that cannot work (a directory, a read-only file system): refused with a message that says what to do.
// Needs root, setpriv(1) and flock(1).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { acquireLock, LockFileError } from '../../src/system/flock.js';
import { BackupFixture } from '../helpers/backup-fixture.js';
import { sq } from '../helpers/processes.js';

const execFileP = promisify(execFile);
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

const roots: string[] = [];
const fixtures: BackupFixture[] = [];

afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
  for (const root of roots.splice(0)) await fs.rm(root, { recursive: true, force: true });
});

/** A temp dir other users can enter, with a lock directory of mode `mode` in it. */
async function lockDir(mode: number): Promise<{ root: string; dir: string; file: string }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-lock-'));
  roots.push(root);
  await fs.chmod(root, 0o755);
  const dir = path.join(root, 'lock');
  await fs.mkdir(dir);
  await fs.chmod(dir, mode);
  return { root, dir, file: path.join(dir, 'plugback.lock') };
}

/** Runs `sh -c script` as nobody; resolves with its exit code. */
async function asNobody(script: string): Promise<number> {
  return execFileP('setpriv', [...NOBODY, 'sh', '-c', script]).then(
    () => 0,
    (error: { code?: number }) => error.code ?? -1,
  );
}

async function refusal(file: string): Promise<LockFileError> {
  const error: unknown = await acquireLock(file, { waitMs: 0 }).then(
    async (lock) => {
      await lock.release();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LockFileError);
  return error as LockFileError;
}

describe('the lock file, against other users', () => {
  it('refuses a symbolic link planted by another user in a shared sticky directory, and does not create its target', async () => {
    const { root, dir, file } = await lockDir(0o1777);
    const victim = path.join(root, 'etc-nologin');
    expect(await asNobody(`ln -s ${sq(victim)} ${sq(file)}`)).toBe(0);
    const error = await refusal(file);
    expect(error.message).toContain(`the lock file ${file} is a symbolic link`);
    expect(error.message).toContain(`rm ${file}`);
    expect(await fs.lstat(victim).then(() => true, () => false)).toBe(false);
    expect((await fs.lstat(path.join(dir, 'plugback.lock'))).isSymbolicLink()).toBe(true);
  });

  it('refuses a lock file that another user created there first', async () => {
    const { file } = await lockDir(0o1777);
    expect(await asNobody(`touch ${sq(file)}`)).toBe(0);
    const error = await refusal(file);
    expect(error.message).toContain(`the lock file ${file} belongs to uid 65534, not root`);
  });

  it('refuses a hard link to another file, and leaves that file as it was', async () => {
    const { root, file } = await lockDir(0o1777);
    const victim = path.join(root, 'important');
    await fs.writeFile(victim, 'keep me\n');
    await fs.link(victim, file);
    const error = await refusal(file);
    expect(error.message).toContain('has 2 hard links');
    expect(await fs.readFile(victim, 'utf8')).toBe('keep me\n');
  });

  it('refuses a lock file in a directory every user may write that has no sticky bit', async () => {
    const { dir, file } = await lockDir(0o777);
    const error = await refusal(file);
    expect(error.message).toContain(`is in ${dir}, which every user may write and which has no sticky bit`);
  });

  it('creates a missing lock directory 0700 and the file 0600, so another user cannot flock it (W31)', async () => {
    const { root } = await lockDir(0o755);
    const file = path.join(root, 'run-lock', 'plugback', 'plugback.lock');
    const lock = await acquireLock(file, { waitMs: 0 });
    await lock.release();
    expect((await fs.stat(path.dirname(file))).mode & 0o7777).toBe(0o700);
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o600);
    // Not even the file, when the directory is opened up: the file itself is 0600.
    await fs.chmod(path.dirname(file), 0o755);
    expect(await asNobody(`flock -s -n ${sq(file)} true`)).not.toBe(0);
    // root's scripts still take it with flock(1).
    await execFileP('flock', ['--nonblock', file, 'true']);
  });

  it('defaults to /run/lock/plugback/plugback.lock, in a directory of its own', async () => {
    const { root } = await lockDir(0o755);
    const configFile = path.join(root, 'plugback.yaml');
    await fs.writeFile(configFile, `host: h\nstateDir: ${root}/state\ndrives:\n  d:\n    path: ${root}/d\nstates:\n  s:\n    folders: [${root}/src]\n`);
    expect((await loadConfig(configFile)).backup.lockFile).toBe('/run/lock/plugback/plugback.lock');
  });
});

describe('a lock path that cannot work', () => {
  async function hookedFixture(lockFile: string): Promise<{ f: BackupFixture; hookLog: string }> {
    const f = await BackupFixture.create();
    fixtures.push(f);
    const hookLog = path.join(f.root, 'hooks.log');
    await fs.writeFile(path.join(f.source, 'a.txt'), 'a\n');
    await f.configure({ backup: { lockFile }, hooks: { preBackup: `echo pre >> ${sq(hookLog)}`, postBackup: `echo post >> ${sq(hookLog)}` } });
    return { f, hookLog };
  }

  it('a directory: fails at lock, before any hook, saying what to do (W29)', async () => {
    const { root } = await lockDir(0o755);
    const lockFile = path.join(root, 'plugback.lock');
    await fs.mkdir(lockFile);
    const { f, hookLog } = await hookedFixture(lockFile);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'lock' });
    expect(result.error).toBe(`the lock file ${lockFile} is a directory; remove it (rmdir ${lockFile}) or set backup.lockFile to another path (the default is /run/lock/plugback/plugback.lock)`);
    expect(await fs.readFile(hookLog, 'utf8').catch(() => 'no hook ran')).toBe('no hook ran');
  });

  it('on a read-only file system: fails at lock, before any hook, saying what to do (W30)', async () => {
    const { root } = await lockDir(0o755);
    const { f, hookLog } = await hookedFixture(path.join(root, 'ro', 'plugback.lock'));
    await f.mountTmpfs(path.join(root, 'ro'), '1m');
    await execFileP('mount', ['-o', 'remount,ro', path.join(root, 'ro')]);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'lock' });
    expect(result.error).toContain(`cannot open the lock file ${path.join(root, 'ro', 'plugback.lock')}: the file system is read-only; set backup.lockFile`);
    expect(result.error).not.toContain('EROFS');
    expect(await fs.readFile(hookLog, 'utf8').catch(() => 'no hook ran')).toBe('no hook ran');
  });
});
