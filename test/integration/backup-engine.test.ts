// The backup engine end to end: real rsync, real files, real locks and hooks, through runBackupJob.
// Needs root (ownership, tmpfs mounts), rsync, flock(1) and the attr/acl tools.
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../src/cli/run.js';
import type { BackupContext } from '../../src/job/context.js';
import type { JobEvent } from '../../src/job/events.js';
import { verify } from '../../src/job/steps/verify.js';
import type { DriveIdentity } from '../../src/repo/identity.js';
import type { SnapshotRecord } from '../../src/repo/snapshot-record.js';
import { BackupFixture, DRIVE, HOST, type FixtureSettings } from '../helpers/backup-fixture.js';
import { buildFidelityTree } from '../helpers/tree-build.js';
import { diffTrees, inodeOf, snapshotTree } from '../helpers/tree.js';
import { sq, readEnv } from '../helpers/processes.js';

const execFileP = promisify(execFile);
const MiB = 1024 * 1024;

const fixtures: BackupFixture[] = [];

async function setup(settings: FixtureSettings = {}, adopt = true): Promise<BackupFixture> {
  const f = await BackupFixture.create(settings, adopt);
  fixtures.push(f);
  return f;
}

afterEach(async () => {
  // An rsync a failed assertion left running would keep writing into the temp dir.
  for (const pid of await descendantsNamed('rsync')) process.kill(pid, 'SIGKILL');
  for (const f of fixtures.splice(0)) await f.cleanup();
});

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), content);
  }
}

/** A file of `mib` MiB: one random MiB repeated (cheap to make, and different for every file). */
async function writeBigFile(file: string, mib: number): Promise<void> {
  const chunk = randomBytes(MiB);
  const handle = await fs.open(file, 'w');
  try {
    for (let i = 0; i < mib; i++) await handle.write(chunk);
  } finally {
    await handle.close();
  }
}

const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

async function readRecord(f: BackupFixture, name: string): Promise<SnapshotRecord> {
  return JSON.parse(await fs.readFile(path.join(f.snapshotsDir(), name, 'snapshot.json'), 'utf8')) as SnapshotRecord;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Live (not zombie) processes called `comm` whose chain of parents leads to this test process. */
async function descendantsNamed(comm: string): Promise<number[]> {
  const parentOf = new Map<number, number>();
  const found: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")".
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const [state, ppid] = stat.slice(close + 2).split(' ');
    parentOf.set(Number(entry), Number(ppid));
    if (stat.slice(stat.indexOf('(') + 1, close) === comm && state !== 'Z') found.push(Number(entry));
  }
  const leadsHere = (pid: number) => {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) if (p === process.pid) return true;
    return false;
  };
  return found.filter(leadsHere);
}

/** Whether nobody holds the lock: flock(1) can take it at once. */
async function lockIsFree(file: string): Promise<boolean> {
  return execFileP('flock', ['--nonblock', file, 'true']).then(() => true, () => false);
}



function progressBytes(events: JobEvent[]): number {
  return Math.max(0, ...events.map((e) => (e.type === 'progress' ? e.progress.bytes : 0)));
}

/** Spawns a long-lived helper in its own process group, tracked for clean-up. */
function spawnTracked(f: BackupFixture, command: string, args: string[]) {
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  f.track(child);
  return child;
}

const isComplete = (name: string) => /^\d{4}-\d{2}-\d{2}T\d{6}Z$/.test(name);

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

describe('a backup onto a directory drive', () => {
  it('hard-links unchanged files into the second snapshot, copies changed ones, and drops deleted ones', async () => {
    const f = await setup();
    await writeFiles(f.source, {
      'same.txt': 'never changes\n',
      'changes.txt': 'version 1\n',
      'goes-away.txt': 'deleted before the second run\n',
      'sub/deep.bin': Buffer.alloc(10_000, 7),
    });
    const first = await f.run();
    expect(first).toMatchObject({ outcome: 'success', warnings: [], undoErrors: [] });
    const s1 = first.snapshot as string;

    await fs.writeFile(path.join(f.source, 'changes.txt'), 'version 2, longer\n');
    await fs.rm(path.join(f.source, 'goes-away.txt'));
    const second = await f.run();
    expect(second.outcome).toBe('success');
    const s2 = second.snapshot as string;

    expect(s2 > s1).toBe(true);
    expect(await f.listSnapshotNames()).toEqual([s1, s2]);
    expect(await fs.readlink(f.repo.latest)).toBe(`snapshots/${s2}`);

    const at = (snap: string, file: string) => path.join(f.inSnapshot(snap), file);
    expect(await inodeOf(at(s2, 'same.txt'))).toBe(await inodeOf(at(s1, 'same.txt')));
    expect(await inodeOf(at(s2, 'sub/deep.bin'))).toBe(await inodeOf(at(s1, 'sub/deep.bin')));
    expect(await inodeOf(at(s2, 'changes.txt'))).not.toBe(await inodeOf(at(s1, 'changes.txt')));
    expect(await fs.readFile(at(s1, 'changes.txt'), 'utf8')).toBe('version 1\n');
    expect(await fs.readFile(at(s2, 'changes.txt'), 'utf8')).toBe('version 2, longer\n');
    expect(await exists(at(s1, 'goes-away.txt'))).toBe(true);
    expect(await exists(at(s2, 'goes-away.txt'))).toBe(false);
    // Only the changed file was copied the second time.
    expect(second.transferredBytes).toBe('version 2, longer\n'.length);

    const r1 = await readRecord(f, s1);
    const r2 = await readRecord(f, s2);
    expect(r1).toMatchObject({ format: 1, name: s1, host: HOST, drive: DRIVE, problems: [], rsyncExitCodes: [0] });
    expect(r1.states.data).toMatchObject({ folders: [f.source], files: 4, bytes: 14 + 10 + 30 + 10_000 });
    expect(r2.states.data).toMatchObject({ files: 3, bytes: 14 + 18 + 10_000, transferredBytes: 18 });
  });

  it('keeps every kind of metadata: odd names, hard links, symlinks, xattrs, ACLs, sparse files, modes and owners', async () => {
    const f = await setup();
    await buildFidelityTree(f.source);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'success', warnings: [] });

    // No mtime is ignored, not even the root's: rsync copies the source folder's own metadata too.
    const copy = await snapshotTree(f.inSnapshot(result.snapshot as string));
    expect(diffTrees(await snapshotTree(f.source), copy)).toEqual([]);
    expect(copy.find((e) => e.path === 'owned-12345.txt')).toMatchObject({ uid: 12345, gid: 54321 });
  });
  it('copies a file edited within the same second without changing its size (nanosecond times)', async () => {
    const f = await setup();
    const file = path.join(f.source, 'same-size.txt');
    await fs.writeFile(file, 'version A');
    await fs.utimes(file, 1_700_000_000.1, 1_700_000_000.1);
    expect((await f.run()).outcome).toBe('success');
    await fs.writeFile(file, 'version B');
    await fs.utimes(file, 1_700_000_000.9, 1_700_000_000.9);
    expect((await f.run()).outcome).toBe('success');
    const [, second] = await f.listSnapshotNames();
    expect(await fs.readFile(path.join(f.inSnapshot(second as string), 'same-size.txt'), 'utf8')).toBe('version B');
  });
});

describe('an interrupted backup', () => {
  it('is resumed by the next run, which copies only what is missing', async () => {
    const f = await setup({ backup: { bandwidthLimit: '20MiB' } });
    // Several files rather than one: rsync keeps only whole files when it is killed (its temporary file of the
    // file in flight is left behind and deleted by the next run), so "kept" means the files finished before.
    for (const n of [1, 2, 3, 4, 5]) await writeBigFile(path.join(f.source, `part${n}.bin`), 20);
    const total = 100 * MiB;

    const running = f.run();
    await waitFor('rsync to report progress', () => progressBytes(f.events) > 0);
    const firstDone = async () => {
      const work = (await f.listSnapshotNames()).find((n) => n.endsWith('.incomplete'));
      const st = work ? await fs.stat(path.join(f.inSnapshot(work), 'part1.bin')).catch(() => undefined) : undefined;
      return st?.size === 20 * MiB;
    };
    await waitFor('the first file to be copied', firstDone);
    const rsyncs = await descendantsNamed('rsync');
    expect(rsyncs.length).toBeGreaterThan(0);
    for (const pid of rsyncs) process.kill(pid, 'SIGKILL');
    const killed = await running;

    expect(killed).toMatchObject({ outcome: 'failed', failedStep: 'sync' });
    expect(killed.error).toMatch(/rsync/);
    const work = killed.leftForResume as string;
    expect(work).toMatch(/\.incomplete$/);
    expect((await fs.stat(work)).isDirectory()).toBe(true);
    expect(await f.listSnapshotNames()).toEqual([path.basename(work)]);
    expect(await exists(f.repo.latest)).toBe(false);
    expect(await lockIsFree(f.lockFile)).toBe(true);

    await f.configure({}); // no bandwidth limit any more
    const resumed = await f.run();
    expect(resumed.outcome).toBe('success');
    const snap = resumed.snapshot as string;
    expect(await f.listSnapshotNames()).toEqual([snap]);
    expect(resumed.transferredBytes).toBeGreaterThan(0);
    expect(resumed.transferredBytes).toBeLessThanOrEqual(total - 20 * MiB);
    expect((await readRecord(f, snap)).resumedFrom).toBe(path.basename(work, '.incomplete'));
    expect(diffTrees(await snapshotTree(f.source), await snapshotTree(f.inSnapshot(snap)))).toEqual([]);
  });

  it('stops on cancel, keeps the copy so far, and still runs the postBackup hook with PLUGBACK_RESULT=failure', async () => {
    const f = await setup();
    await f.configure({ backup: { bandwidthLimit: '20MiB' }, hooks: { postBackup: `env -0 > ${sq(path.join(f.root, 'post.env'))}` } });
    await writeBigFile(path.join(f.source, 'a.bin'), 20);
    await writeBigFile(path.join(f.source, 'b.bin'), 20);

    const controller = new AbortController();
    const running = f.run({ signal: controller.signal });
    await waitFor('rsync to report progress', () => progressBytes(f.events) > 0);
    controller.abort();
    const result = await running;

    expect(result).toMatchObject({ outcome: 'cancelled', failedStep: 'sync', undoErrors: [] });
    expect(result.leftForResume).toMatch(/\.incomplete$/);
    expect((await fs.stat(result.leftForResume as string)).isDirectory()).toBe(true);
    expect((await f.listSnapshotNames()).filter(isComplete)).toEqual([]);
    expect(await lockIsFree(f.lockFile)).toBe(true);
    await waitFor('rsync to stop', async () => (await descendantsNamed('rsync')).length === 0, 5000);
    const post = await readEnv(path.join(f.root, 'post.env'));
    expect(post.get('PLUGBACK_RESULT')).toBe('failure');
    expect(post.get('PLUGBACK_EVENT')).toBe('postBackup');
  });

  it('reports a cancel that comes after the snapshot is complete as a warning, with the snapshot', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const controller = new AbortController();
    const result = await f.run({
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step-finished' && e.step === 'complete') controller.abort();
      },
    });
    expect(result).toMatchObject({ outcome: 'warning', failedStep: undefined, error: undefined });
    expect(result.warnings.join(' ')).toContain(`cancelled after snapshot ${result.snapshot} was complete; verify and the steps after it did not run`);
    expect(await f.listSnapshotNames()).toEqual([result.snapshot]);
    expect(await lockIsFree(f.lockFile)).toBe(true);
  });
});

describe('the source checks', () => {
  it('refuse a source that lost most of its files, leave the last snapshot alone, and accept it with allowShrink', async () => {
    const f = await setup();
    for (let i = 0; i < 100; i++) await writeFiles(f.source, { [`file-${String(i).padStart(3, '0')}.txt`]: `file ${i}\n`.repeat(20) });
    const first = await f.run();
    expect(first.outcome).toBe('success');
    const s1 = first.snapshot as string;
    const before = await snapshotTree(path.join(f.snapshotsDir(), s1));

    for (let i = 10; i < 100; i++) await fs.rm(path.join(f.source, `file-${String(i).padStart(3, '0')}.txt`));
    const refused = await f.run();
    expect(refused).toMatchObject({ outcome: 'failed', failedStep: 'check-shrink', snapshot: undefined });
    expect(refused.error).toContain('--allow-shrink');
    expect(refused.error).toContain('state "data" has 10 files (was 100');
    expect(diffTrees(before, await snapshotTree(path.join(f.snapshotsDir(), s1)))).toEqual([]);
    expect((await f.listSnapshotNames()).filter(isComplete)).toEqual([s1]);
    expect(await fs.readlink(f.repo.latest)).toBe(`snapshots/${s1}`);

    const accepted = await f.run({ allowShrink: true });
    expect(accepted.outcome).toBe('success');
    expect((await readRecord(f, accepted.snapshot as string)).states.data?.files).toBe(10);
    expect(await fs.readlink(f.repo.latest)).toBe(`snapshots/${accepted.snapshot}`);
  });

  it('refuse a source folder that does not exist, without writing anything into snapshots/', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const first = await f.run();
    expect(first.outcome).toBe('success');
    const listed = await f.listSnapshotNames();

    const missing = path.join(f.root, 'not-there');
    await f.configure({ states: { data: { folders: [f.source] }, extra: { folders: [missing] } } });
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'check-source', leftForResume: undefined });
    expect(result.error).toContain(`state "extra": ${missing} does not exist`);
    expect(await f.listSnapshotNames()).toEqual(listed);
  });
});

describe('the drive identity check', () => {
  async function identityOf(f: BackupFixture): Promise<DriveIdentity> {
    return JSON.parse(await fs.readFile(f.repo.identity, 'utf8')) as DriveIdentity;
  }
  async function writeIdentity(f: BackupFixture, name: string, id: string): Promise<void> {
    const identity: DriveIdentity = { format: 1, name, id, createdAt: new Date().toISOString(), plugbackVersion: 'test' };
    await fs.writeFile(f.repo.identity, JSON.stringify(identity));
  }

  it('refuses a target without plugback/drive.json and says how to adopt it', async () => {
    const f = await setup();
    await fs.rm(f.repo.identity);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'check-target' });
    expect(result.error).toContain(`plugback drive adopt ${DRIVE}`);
    expect(await exists(f.repo.host)).toBe(false);
  });

  it("refuses another drive's identity", async () => {
    const f = await setup();
    await writeIdentity(f, 'other-drive', randomUUID());
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'check-target' });
    expect(result.error).toContain(`is drive "other-drive"`);
    expect(result.error).toContain(`not "${DRIVE}"`);
    expect(await exists(f.repo.host)).toBe(false);
  });

  it('refuses a drive with the right name but not the id this machine adopted', async () => {
    const f = await setup();
    const adopted = await identityOf(f);
    const impostor = randomUUID();
    await writeIdentity(f, DRIVE, impostor);
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'check-target' });
    expect(result.error).toContain(`has id ${impostor}`);
    expect(result.error).toContain(`with id ${adopted.id}`);
    expect(await exists(f.repo.host)).toBe(false);
  });
});

describe('a LUKS drive', () => {
  const luks = (mountPoint: string): FixtureSettings => ({ drive: { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', mountPoint } });

  it('is refused when its mount point is a plain directory, and nothing is written there', async () => {
    const f = await setup({}, false);
    const mnt = path.join(f.root, 'mnt');
    await fs.mkdir(mnt);
    await f.configure(luks(mnt));
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'check-target' });
    expect(result.error).toContain(`${mnt} is not a mount point`);
    expect(await fs.readdir(mnt)).toEqual([]);
  });

  it('is backed up when a file system is mounted at its mount point', async () => {
    const f = await setup({}, false);
    const mnt = path.join(f.root, 'mnt');
    await f.configure(luks(mnt));
    await f.mountTmpfs(mnt);
    await f.adopt();
    await writeFiles(f.source, { 'a.txt': 'on tmpfs\n' });
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'success', warnings: [] });
    expect(f.inSnapshot(result.snapshot as string).startsWith(`${mnt}/plugback/${HOST}/snapshots/`)).toBe(true);
    expect(await fs.readFile(path.join(f.inSnapshot(result.snapshot as string), 'a.txt'), 'utf8')).toBe('on tmpfs\n');
  });

  it('is refused, and nothing is written, while it is mounted read-only (opened with plugback open)', async () => {
    const f = await setup({}, false);
    const mnt = path.join(f.root, 'mnt');
    await f.configure(luks(mnt));
    await f.mountTmpfs(mnt);
    await f.adopt();
    const before = await fs.readdir(path.join(mnt, 'plugback'));
    await execFileP('mount', ['-o', 'remount,ro', mnt]);
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'check-target' });
    expect(result.error).toContain(`drive "${DRIVE}" is mounted read-only at ${mnt}`);
    expect(await fs.readdir(path.join(mnt, 'plugback'))).toEqual(before);
  });
});

describe('the repository lock', () => {
  async function holdLock(f: BackupFixture, seconds: number) {
    const holder = spawnTracked(f, 'flock', [f.lockFile, 'sleep', String(seconds)]);
    await waitFor('flock(1) to take the lock', async () => !(await lockIsFree(f.lockFile)), 5000);
    return holder.pid as number;
  }

  it('fails the job at "lock" after lockWait, naming the PID that holds it', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const holder = await holdLock(f, 30);
    const started = Date.now();
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'lock', leftForResume: undefined });
    expect(result.error).toContain(`PID ${holder}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    const waiting = f.events.find((e) => e.type === 'waiting-for-lock');
    expect(waiting).toMatchObject({ file: f.lockFile, holders: [expect.objectContaining({ pid: holder })] });
    expect((await f.listSnapshotNames()).filter(isComplete)).toEqual([]);
  });

  it('waits for a holder that lets go within lockWait, then backs up', async () => {
    const f = await setup({ backup: { lockWait: '10s' } });
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    await holdLock(f, 1);
    const result = await f.run();
    expect(result.outcome).toBe('success');
    expect(f.events.some((e) => e.type === 'waiting-for-lock')).toBe(true);
  });
});

describe('hooks', () => {
  it('run the postBackup hooks of the scopes whose preBackup ran when a preBackup fails, and no others', async () => {
    const f = await setup();
    const log = sq(path.join(f.root, 'hooks.log'));
    await writeFiles(f.source, { 'a/x.txt': 'a\n', 'b/y.txt': 'b\n' });
    await f.configure({
      hooks: { preBackup: `echo global-pre >> ${log}`, postBackup: `echo "global-post $PLUGBACK_RESULT" >> ${log}` },
      states: {
        alpha: { folders: [path.join(f.source, 'a')], preBackup: 'echo alpha is broken >&2; exit 3', postBackup: `echo "alpha-post $PLUGBACK_RESULT" >> ${log}` },
        beta: { folders: [path.join(f.source, 'b')], preBackup: `echo beta-pre >> ${log}`, postBackup: `echo "beta-post $PLUGBACK_RESULT" >> ${log}` },
      },
    });
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'pre-backup-hooks', undoErrors: [] });
    expect(result.error).toContain('preBackup hook of state "alpha" exited with code 3');
    expect(result.error).toContain('alpha is broken');
    expect(await fs.readFile(path.join(f.root, 'hooks.log'), 'utf8')).toBe('global-pre\nalpha-post failure\nglobal-post failure\n');
    expect(await f.listSnapshotNames()).toEqual([]);
    expect(await lockIsFree(f.lockFile)).toBe(true);
  });

  it('kill a preBackup hook that runs past hookTimeout, with everything it started', async () => {
    const f = await setup();
    const pidPath = path.join(f.root, 'hook.pid');
    await f.configure({ backup: { hookTimeout: '1s' }, hooks: { preBackup: `echo $$ > ${sq(pidPath)}; exec sleep 30` } });
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const started = Date.now();
    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'pre-backup-hooks' });
    expect(result.error).toContain('global preBackup hook timed out after 1s');
    expect(Date.now() - started).toBeLessThan(5000);
    const pid = Number((await fs.readFile(pidPath, 'utf8')).trim());
    expect(pid).toBeGreaterThan(1);
    await waitFor(`the hook's sleep (PID ${pid}) to be gone`, async () => !(await exists(`/proc/${pid}`)), 2000);
  });

  it('see the drive, state, target and snapshot in their environment', async () => {
    const f = await setup();
    const out = (name: string) => `env -0 > ${sq(path.join(f.root, `${name}.env`))}`;
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    await f.configure({
      hooks: { preBackup: out('global-pre') },
      states: { data: { folders: [f.source], preBackup: out('data-pre'), postBackup: out('data-post') } },
    });
    const result = await f.run();
    expect(result.outcome).toBe('success');
    const snap = result.snapshot as string;
    const globalPre = await readEnv(path.join(f.root, 'global-pre.env'));
    const dataPre = await readEnv(path.join(f.root, 'data-pre.env'));
    const dataPost = await readEnv(path.join(f.root, 'data-post.env'));
    for (const env of [globalPre, dataPre, dataPost]) {
      expect(env.get('PLUGBACK_DRIVE')).toBe(DRIVE);
      expect(env.get('PLUGBACK_TARGET')).toBe(f.drivePath);
      expect(env.get('PLUGBACK_SNAPSHOT')).toBe(snap);
      expect(env.get('PLUGBACK_HOST')).toBe(HOST);
    }
    expect(globalPre.get('PLUGBACK_STATE')).toBe('');
    expect(dataPre.get('PLUGBACK_STATE')).toBe('data');
    expect(dataPre.get('PLUGBACK_FOLDERS')).toBe(f.source);
    expect(dataPre.has('PLUGBACK_RESULT')).toBe(false);
    expect(dataPost.get('PLUGBACK_STATE')).toBe('data');
    expect(dataPost.get('PLUGBACK_RESULT')).toBe('success');
    expect(dataPost.get('PLUGBACK_SNAPSHOT_DIR')).toBe(path.join(f.snapshotsDir(), snap));
  });
});

describe('retention', () => {
  // 40 snapshots over 2023-2024: clusters of daily runs, a day with two runs, months without any.
  const FAKE = [
    ...['10', '11', '12', '13', '14', '15', '16'].map((d) => `2023-01-${d}T090000Z`),
    '2023-02-27T090000Z', '2023-02-28T090000Z',
    '2023-06-01T090000Z', '2023-06-01T210000Z', '2023-06-02T090000Z',
    ...['20', '21', '22', '23', '24'].map((d) => `2023-11-${d}T090000Z`),
    '2024-01-02T090000Z', '2024-01-03T090000Z', '2024-01-04T090000Z',
    '2024-04-15T090000Z', '2024-04-29T090000Z',
    ...['01', '02', '03', '04', '05', '06', '07', '08'].map((d) => `2024-08-${d}T090000Z`),
    '2024-10-31T230000Z', '2024-11-01T010000Z',
    '2024-12-01T090000Z',
    ...['09', '10', '11', '12', '13', '14'].map((d) => `2024-12-${d}T090000Z`),
    '2024-12-14T180000Z',
  ];
  // The new snapshot N is taken now (2025 or later), so it opens a day, week, month and year of its own and
  // fills the first slot of every rule. Newest first, the rules then keep:
  //   keepLast 2     N, 2024-12-14T180000Z
  //   keepDaily 3    N, 2024-12-14T180000Z (newest of that day), 2024-12-13T090000Z
  //   keepWeekly 3   N, 2024-W50 -> 2024-12-14T180000Z, 2024-W48 -> 2024-12-01T090000Z (a Sunday)
  //   keepMonthly 6  N, 2024-12 -> 2024-12-14T180000Z, 2024-11 -> 2024-11-01T010000Z, 2024-10 -> 2024-10-31T230000Z,
  //                  2024-08 -> 2024-08-08T090000Z, 2024-04 -> 2024-04-29T090000Z
  //   keepYearly 3   N, 2024 -> 2024-12-14T180000Z, 2023 -> 2023-11-24T090000Z
  const KEPT = [
    '2023-11-24T090000Z',
    '2024-04-29T090000Z',
    '2024-08-08T090000Z',
    '2024-10-31T230000Z',
    '2024-11-01T010000Z',
    '2024-12-01T090000Z',
    '2024-12-13T090000Z',
    '2024-12-14T180000Z',
  ];

  it('keeps exactly the snapshots the policy names over an irregular schedule, and removes leftovers', async () => {
    expect(FAKE).toHaveLength(40);
    expect(new Date().getUTCFullYear()).toBeGreaterThan(2024);
    const f = await setup({ backup: { retention: { keepLast: 2, keepDaily: 3, keepWeekly: 3, keepMonthly: 6, keepYearly: 3 } } });
    await writeFiles(f.source, { 'file.txt': 'hello\n' });
    const fake = async (dirName: string, name: string) => {
      await writeFiles(f.inSnapshot(dirName), { 'file.txt': 'hello\n' });
      const record: SnapshotRecord = {
        format: 1,
        name,
        host: HOST,
        drive: DRIVE,
        driveId: '',
        startedAt: `${name.slice(0, 13)}:${name.slice(13, 15)}:${name.slice(15, 17)}Z`,
        finishedAt: `${name.slice(0, 13)}:${name.slice(13, 15)}:${name.slice(15, 17)}Z`,
        plugbackVersion: 'test',
        states: { data: { folders: [f.source], files: 1, entries: 2, bytes: 6, transferredBytes: 6, mounts: {} } },
        problems: [],
        rsyncExitCodes: [0],
      };
      await fs.writeFile(path.join(f.snapshotsDir(), dirName, 'snapshot.json'), JSON.stringify(record));
    };
    for (const name of FAKE) await fake(name, name);
    // Two interrupted runs: the newer is resumed, the older is a leftover; plus an interrupted deletion
    // and a file of the user's that plugback must not touch.
    await fake('2024-06-01T090000Z.incomplete', '2024-06-01T090000Z');
    await fake('2024-12-20T090000Z.incomplete', '2024-12-20T090000Z');
    await fake('2023-05-05T090000Z.deleting', '2023-05-05T090000Z');
    await fs.writeFile(path.join(f.snapshotsDir(), 'notes.txt'), 'mine\n');

    const result = await f.run();
    expect(result).toMatchObject({ outcome: 'success', warnings: [] });
    const newest = result.snapshot as string;
    expect(await f.listSnapshotNames()).toEqual([...KEPT, newest, 'notes.txt']);
    expect(await fs.readlink(f.repo.latest)).toBe(`snapshots/${newest}`);
    expect((await readRecord(f, newest)).resumedFrom).toBe('2024-12-20T090000Z');
    expect(f.logged('retention keeps 9 snapshots')).toBe(true);
  });
});

describe('rsync exit code 23', () => {
  it('completes the snapshot with a warning, records the problems, and skips pruning', async () => {
    const f = await setup({ backup: { retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 } } });
    await writeFiles(f.source, { 'fine.txt': 'fine\n' });
    const first = await f.run();
    expect(first.outcome).toBe('success');

    // A source path longer than PATH_MAX (4096): rsync cannot name it ("filename overflows max-path len"), skips
    // it and exits 23. It is made with cwd-relative steps (`cd -P`: dash's logical cd would chdir to $PWD/dir),
    // as no system call takes such a long path. (A source path that fits while its copy's path is past PATH_MAX
    // does not work: rsync's receiver chdirs into the snapshot folder and creates files by relative paths.)
    await execFileP('sh', ['-c', 'set -e; i=0; while [ $i -lt 18 ]; do mkdir "$C"; cd -P "$C"; i=$((i+1)); done; echo deep > deep.txt'], {
      cwd: f.source,
      env: { ...process.env, C: 'd'.repeat(240) },
    });
    const result = await f.run();
    expect(result.outcome).toBe('warning');
    expect(exitCodeOf(result)).toBe(3);
    const snap = result.snapshot as string;
    expect(result.warnings.join('\n')).toContain('exit 23');
    expect(await f.listSnapshotNames()).toEqual([first.snapshot, snap]);
    expect(await fs.readlink(f.repo.latest)).toBe(`snapshots/${snap}`);
    expect(f.logged('not pruning')).toBe(true);
    const record = await readRecord(f, snap);
    expect(record.rsyncExitCodes).toEqual([23]);
    expect(record.problems.some((p) => p.includes('overflows max-path'))).toBe(true);
    expect(await fs.readFile(path.join(f.inSnapshot(snap), 'fine.txt'), 'utf8')).toBe('fine\n');
  });
});

describe('verification of the new snapshot', () => {
  async function verifyAgain(f: BackupFixture, snapshot: string, startedAt: Date): Promise<{ error?: Error; logs: string[] }> {
    const logs: string[] = [];
    const config = { ...f.config, backup: { ...f.config.backup, verifySample: 5 } };
    const ctx = { config, snapshot, startedAt, paths: f.repo, log: { info: (_o: unknown, msg: string) => logs.push(msg) } };
    try {
      await verify.run(ctx as unknown as BackupContext);
      return { logs };
    } catch (error) {
      return { error: error as Error, logs };
    }
  }

  it('checks sampled files after every backup and says so', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'only.txt': 'the only file\n' });
    const result = await f.run();
    expect(result.outcome).toBe('success');
    expect(f.logged('verified 1 sampled files against the source')).toBe(true);
  });

  it('fails when a file reads back differently from an unchanged source file, naming the file', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'only.txt': 'the only file\n' });
    const result = await f.run();
    const copy = path.join(f.inSnapshot(result.snapshot as string), 'only.txt');
    // Corrupt the copy (as a failing drive would), keeping its size.
    await fs.writeFile(copy, 'THE ONLY FILE\n');
    const { error } = await verifyAgain(f, result.snapshot as string, new Date());
    expect(error?.message).toContain(`${f.source}/only.txt`);
    expect(error?.message).toContain('the drive may be failing');
  });

  it('does not count a source file changed after the backup began as a mismatch', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'only.txt': 'the only file\n' });
    const result = await f.run();
    await fs.writeFile(path.join(f.source, 'only.txt'), 'edited since\n');
    const { error, logs } = await verifyAgain(f, result.snapshot as string, new Date(Date.now() - 60_000));
    expect(error).toBeUndefined();
    expect(logs).toContain('verified 0 sampled files against the source');
  });
});
