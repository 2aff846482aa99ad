// `plugback restore` and `plugback versions` end to end: backups made in-process with the fixture, then the built
// command line (dist/main.js) run the way a user runs it, checking the trees it leaves behind with snapshotTree.
// Needs root (ownership, trusted xattrs), rsync, flock(1) and the attr/acl tools, like the backup-engine tests.
import { execa } from 'execa';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackupFixture, DRIVE, type FixtureSettings } from '../helpers/backup-fixture.js';
import { buildFidelityTree } from '../helpers/tree-build.js';
import { diffTrees, snapshotTree, type TreeEntry } from '../helpers/tree.js';
import { sq, readEnv, rsyncProcessesUnder } from '../helpers/processes.js';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const KEPT_MARK = '.plugback-before-restore-';

// ---------------------------------------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------------------------------------

interface CliResult {
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
async function cli(args: string[]): Promise<CliResult> {
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

const restore = (f: BackupFixture, ...args: string[]) => cli(['restore', DRIVE, '--config', f.configFile, ...args]);
const versions = (f: BackupFixture, target: string, ...args: string[]) => cli(['versions', DRIVE, target, '--config', f.configFile, ...args]);

/** What a failed assertion should show about a CLI run. */
function shown(r: CliResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures and clean-up
// ---------------------------------------------------------------------------------------------------------

const fixtures: BackupFixture[] = [];

async function setup(settings: FixtureSettings = {}): Promise<BackupFixture> {
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

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

/** Runs one backup in-process and returns the snapshot's name. */
async function backup(f: BackupFixture): Promise<string> {
  const result = await f.run();
  expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'success', warnings: [] });
  if (result.snapshot === undefined) throw new Error('the backup completed no snapshot');
  return result.snapshot;
}

async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), content);
  }
}

/** The `<p>.plugback-before-restore-<time>` siblings of `p`, sorted. */
async function keptAsideOf(p: string): Promise<string[]> {
  const prefix = `${path.basename(p)}${KEPT_MARK}`;
  const names = await fs.readdir(path.dirname(p));
  return names
    .filter((n) => n.startsWith(prefix))
    .sort()
    .map((n) => path.join(path.dirname(p), n));
}

/** Every entry in `root`'s parent whose name mentions the kept-aside mark, at any depth below it too. */
async function anyKeptAside(root: string): Promise<string[]> {
  const { stdout } = await execFileP('find', [path.dirname(root), '-name', `*${KEPT_MARK}*`]);
  return stdout.split('\n').filter(Boolean);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const without = (tree: TreeEntry[], drop: (p: string) => boolean) => tree.filter((e) => !drop(e.path));



/** What a user might do to a fidelity tree after its backup: edit, delete, add, chmod, drop an xattr. */
async function changeFidelityTree(root: string): Promise<void> {
  await fs.writeFile(path.join(root, 'modes', 'plain-0644.txt'), 'edited after the backup, and longer\n');
  // One half of a hard-linked pair: the restore must bring it back as the same inode as its twin.
  await fs.rm(path.join(root, 'links', 'target.txt'));
  await fs.writeFile(path.join(root, 'added-after-backup.txt'), 'not in the snapshot\n');
  await fs.chmod(path.join(root, 'modes', 'secret-0600.txt'), 0o644);
  await execFileP('setfattr', ['-x', 'user.plugback.test', path.join(root, 'xattrs.txt')]);
}

/** The lines of a dry run's listing: `create x`, `change y`, `delete z`. */
function listed(stdout: string, label: 'create' | 'change' | 'delete'): string[] {
  const prefix = `  ${label} `;
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

const YEAR_2020 = new Date('2020-01-01T00:00:00Z');
const YEAR_2021 = new Date('2021-06-15T12:30:45Z');

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

describe('plugback restore of a whole folder', () => {
  it('puts the backed-up tree back exactly and keeps the changed folder aside as it was', async () => {
    const f = await setup();
    await buildFidelityTree(f.source);
    await backup(f);
    const backedUp = await snapshotTree(f.source);

    await changeFidelityTree(f.source);
    const changed = await snapshotTree(f.source);
    expect(diffTrees(backedUp, changed), 'the changes made after the backup').not.toEqual([]);

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(0);

    // Content, modes, numeric owners, hard links, symlinks, xattrs, ACLs, sparseness and times, root included.
    expect(diffTrees(backedUp, await snapshotTree(f.source))).toEqual([]);

    const kept = await keptAsideOf(f.source);
    expect(kept).toHaveLength(1);
    const keptAs = kept[0] as string;
    expect(path.basename(keptAs)).toMatch(/^source\.plugback-before-restore-\d{4}-\d{2}-\d{2}T\d+Z$/);
    expect(diffTrees(changed, await snapshotTree(keptAs))).toEqual([]);
    expect(r.stdout).toContain(`kept ${f.source} as it was before: ${keptAs}`);
    expect(r.stdout).toMatch(/^restored 1 item from snapshot \d{4}-\d{2}-\d{2}T\d{6}Z$/m);
  });

  it('restores into an empty --to directory under the original absolute path and leaves the original folder alone', async () => {
    const f = await setup();
    await buildFidelityTree(f.source);
    const snap = await backup(f);
    const backedUp = await snapshotTree(f.source);
    await changeFidelityTree(f.source);
    const current = await snapshotTree(f.source);
    const fresh = path.join(f.root, 'fresh-clone');
    await fs.mkdir(fresh);

    const r = await restore(f, '--to', fresh, '--yes');
    expect(r.code, shown(r)).toBe(0);

    const restored = path.join(fresh, f.source);
    const restoredTree = await snapshotTree(restored);
    expect(diffTrees(await snapshotTree(f.inSnapshot(snap)), restoredTree)).toEqual([]);
    expect(diffTrees(backedUp, restoredTree)).toEqual([]);
    // The original folder is as it was, and nothing was set aside (the destination did not exist).
    expect(diffTrees(current, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });

  it('with --no-keep overwrites in place, leaving no copy aside, and restores a file changed without changing its size or mtime', async () => {
    const f = await setup();
    await buildFidelityTree(f.source);
    await backup(f);
    const backedUp = await snapshotTree(f.source);

    // Same length as 'hello, plugback\n', and the old times put back: only the content tells them apart.
    const sneaky = path.join(f.source, 'modes', 'plain-0644.txt');
    const before = await fs.stat(sneaky);
    await fs.writeFile(sneaky, 'HELLO, PLUGBACK\n');
    await fs.utimes(sneaky, before.atime, before.mtime);
    const after = await fs.stat(sneaky);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    await fs.writeFile(path.join(f.source, 'added-after-backup.txt'), 'not in the snapshot\n');
    await execFileP('setfattr', ['-x', 'user.plugback.test', path.join(f.source, 'xattrs.txt')]);

    const r = await restore(f, '--no-keep', '--yes');
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(sneaky, 'utf8')).toBe('hello, plugback\n');
    expect(diffTrees(backedUp, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
    expect(r.stdout).not.toContain('as it was before');
  });
});

describe('plugback restore --dry-run', () => {
  it('lists the files it would create, change and delete with their counts, and changes nothing', async () => {
    const f = await setup();
    await writeFiles(f.source, {
      'same.txt': 'never changes\n',
      'edited.txt': 'as backed up\n',
      'deleted.txt': 'removed after the backup\n',
      'chmodded.txt': 'mode changes\n',
      'sub/deep.txt': 'deep\n',
    });
    await backup(f);
    await fs.writeFile(path.join(f.source, 'edited.txt'), 'edited after the backup\n');
    await fs.rm(path.join(f.source, 'deleted.txt'));
    await fs.writeFile(path.join(f.source, 'added.txt'), 'new since the backup\n');
    await fs.chmod(path.join(f.source, 'chmodded.txt'), 0o600);
    const before = await snapshotTree(f.source);

    const r = await restore(f, '--dry-run');
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain(`${f.source}: 1 to create, 2 to change, 1 to delete\n`);
    expect(listed(r.stdout, 'create')).toEqual(['deleted.txt']);
    expect(listed(r.stdout, 'change').sort()).toEqual(['chmodded.txt', 'edited.txt']);
    expect(listed(r.stdout, 'delete')).toEqual(['added.txt']);
    expect(r.stdout).toContain('dry run: nothing was changed');

    expect(diffTrees(before, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });

  it('counts a file whose only difference is an extended attribute or an ACL entry as one to change', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'tagged.txt': 'has an xattr\n', 'shared.txt': 'has an ACL\n', 'plain.txt': 'plain\n' });
    const tagged = path.join(f.source, 'tagged.txt');
    const shared = path.join(f.source, 'shared.txt');
    await execFileP('setfattr', ['-n', 'user.plugback.tag', '-v', 'keep-me', tagged]);
    await execFileP('setfacl', ['-m', 'u:12345:rw', shared]);
    await backup(f);
    const modeBefore = (await fs.stat(shared)).mode;
    await execFileP('setfattr', ['-x', 'user.plugback.tag', tagged]);
    // -n keeps the mask, so the mode bits stay as they were: only the ACL entry differs.
    await execFileP('setfacl', ['-n', '-m', 'u:12345:r', shared]);
    expect((await fs.stat(shared)).mode).toBe(modeBefore);

    const r = await restore(f, '--dry-run');
    expect(r.code, shown(r)).toBe(0);
    // The real restore puts the xattr and the ACL back (it copies with -A -X): the preview must say so.
    expect(listed(r.stdout, 'change').sort(), shown(r)).toEqual(['shared.txt', 'tagged.txt']);
    expect(r.stdout).toContain(`${f.source}: 0 to create, 2 to change, 0 to delete\n`);
  });

  it('previews a restore into an empty --to directory as files to create, with nothing to change or delete', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'a\n', 'sub/b.txt': 'b\n' });
    await backup(f);
    const fresh = path.join(f.root, 'fresh-clone');
    await fs.mkdir(fresh);

    const r = await restore(f, '--to', fresh, '--dry-run');
    expect(r.code, shown(r)).toBe(0);
    const destination = path.join(fresh, f.source);
    expect(r.stdout).toMatch(new RegExp(`^${escapeRegExp(destination)}: \\d+ to create, 0 to change, 0 to delete$`, 'm'));
    expect(listed(r.stdout, 'create')).toEqual(expect.arrayContaining(['a.txt', 'sub/', 'sub/b.txt']));
    expect(listed(r.stdout, 'change'), shown(r)).toEqual([]);
    expect(await fs.readdir(fresh), 'the dry run created something under --to').toEqual([]);
  });
});

describe('plugback restore confirmation', () => {
  it('refuses with exit 2 and asks for --yes when stdin is not a terminal, changing nothing', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'as backed up\n' });
    await backup(f);
    await fs.writeFile(path.join(f.source, 'a.txt'), 'changed since\n');
    await fs.writeFile(path.join(f.source, 'b.txt'), 'new since\n');
    const before = await snapshotTree(f.source);

    const r = await restore(f);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).toContain('not a terminal');
    expect(diffTrees(before, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });
});

describe('postRestore hooks', () => {
  it("run each state's hook in config order and then the global one, after the copy, with the restore in their environment", async () => {
    const f = await setup();
    const a = path.join(f.source, 'a');
    const b = path.join(f.source, 'b');
    await writeFiles(f.source, { 'a/x.txt': 'alpha as backed up\n', 'b/y.txt': 'beta as backed up\n' });
    const order = sq(path.join(f.root, 'order.log'));
    const hook = (name: string, shows: string) =>
      `echo "${name} sees: $(cat ${sq(shows)})" >> ${order}; env -0 > ${sq(path.join(f.root, `${name}.env`))}`;
    await f.configure({
      hooks: { postRestore: hook('global', path.join(b, 'y.txt')) },
      states: {
        alpha: { folders: [a], postRestore: hook('alpha', path.join(a, 'x.txt')) },
        beta: { folders: [b], postRestore: hook('beta', path.join(b, 'y.txt')) },
      },
    });
    const snap = await backup(f);
    await fs.writeFile(path.join(a, 'x.txt'), 'alpha changed\n');
    await fs.writeFile(path.join(b, 'y.txt'), 'beta changed\n');

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(0);
    // In that order, and each saw the restored files: the hooks ran after the copy.
    expect(await fs.readFile(path.join(f.root, 'order.log'), 'utf8')).toBe(
      'alpha sees: alpha as backed up\nbeta sees: beta as backed up\nglobal sees: beta as backed up\n',
    );
    const envs = {
      alpha: await readEnv(path.join(f.root, 'alpha.env')),
      beta: await readEnv(path.join(f.root, 'beta.env')),
      global: await readEnv(path.join(f.root, 'global.env')),
    };
    for (const env of Object.values(envs)) {
      expect(env.get('PLUGBACK_EVENT')).toBe('postRestore');
      expect(env.get('PLUGBACK_DRIVE')).toBe(DRIVE);
      expect(env.get('PLUGBACK_SNAPSHOT')).toBe(snap);
    }
    expect(envs.alpha.get('PLUGBACK_STATE')).toBe('alpha');
    expect(envs.alpha.get('PLUGBACK_RESTORED')).toBe(a);
    expect(envs.beta.get('PLUGBACK_STATE')).toBe('beta');
    expect(envs.beta.get('PLUGBACK_RESTORED')).toBe(b);
    expect(envs.global.get('PLUGBACK_STATE')).toBe('');
    expect(envs.global.get('PLUGBACK_RESTORED')).toBe(`${a}\n${b}`);
  });

  it('make the restore exit 1 with the hook output in the message when one fails, the files being restored already', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'as backed up\n' });
    await f.configure({
      states: { data: { folders: [f.source], postRestore: 'echo restore-hook-broke >&2; exit 4' } },
    });
    await backup(f);
    const backedUp = await snapshotTree(f.source);
    await fs.writeFile(path.join(f.source, 'a.txt'), 'changed since\n');

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('restore failed at post-restore-hooks');
    expect(r.stderr).toContain('postRestore hook of state "data" exited with code 4');
    expect(`${r.stderr}\n${r.stdout}`).toContain('restore-hook-broke');
    // The hook runs after the copy, and its failure does not undo it: the folder is restored, the old one kept.
    expect(diffTrees(backedUp, await snapshotTree(f.source))).toEqual([]);
    const kept = await keptAsideOf(f.source);
    expect(kept).toHaveLength(1);
    expect(await fs.readFile(path.join(kept[0] as string, 'a.txt'), 'utf8')).toBe('changed since\n');
  });
});

describe('plugback versions and restoring one file', () => {
  it('lists a file in three snapshots, marks the unchanged one, and restores the first version next to the rest as it is now', async () => {
    const f = await setup();
    const notes = path.join(f.source, 'notes.txt');
    await writeFiles(f.source, { 'notes.txt': 'version one\n', 'other.txt': 'other as backed up\n' });
    await fs.utimes(notes, YEAR_2020, YEAR_2020);
    const s1 = await backup(f);
    await fs.writeFile(notes, 'version two, longer\n');
    await fs.utimes(notes, YEAR_2021, YEAR_2021);
    const s2 = await backup(f);
    const s3 = await backup(f);

    const table = await versions(f, notes);
    expect(table.code, shown(table)).toBe(0);
    const lines = table.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${s1}\\s+12 B\\s+modified 2020-01-01 00:00:00 UTC$`));
    expect(lines[1]).toMatch(new RegExp(`^${s2}\\s+20 B\\s+modified 2021-06-15 12:30:45 UTC$`));
    expect(lines[2]).toMatch(new RegExp(`^${s3}\\s+20 B\\s+modified 2021-06-15 12:30:45 UTC  \\(unchanged\\)$`));

    const json = await versions(f, notes, '--json');
    expect(json.code, shown(json)).toBe(0);
    const parsed = JSON.parse(json.stdout) as { drive: string; path: string; versions: { snapshot: string; size: number; type: string; sameAsPrevious: boolean }[] };
    expect(parsed).toMatchObject({ drive: DRIVE, path: notes });
    expect(parsed.versions.map(({ snapshot, size, type, sameAsPrevious }) => ({ snapshot, size, type, sameAsPrevious }))).toEqual([
      { snapshot: s1, size: 12, type: 'file', sameAsPrevious: false },
      { snapshot: s2, size: 20, type: 'file', sameAsPrevious: false },
      { snapshot: s3, size: 20, type: 'file', sameAsPrevious: true },
    ]);

    // Life goes on after the last backup.
    await fs.writeFile(path.join(f.source, 'other.txt'), 'other changed since\n');
    await fs.writeFile(path.join(f.source, 'later.txt'), 'created after the backups\n');
    const now = await snapshotTree(f.source);

    const r = await restore(f, '--snapshot', s1, '--path', notes, '--yes');
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(notes, 'utf8')).toBe('version one\n');
    expect((await fs.stat(notes)).mtime.toISOString()).toBe(YEAR_2020.toISOString());
    const kept = await keptAsideOf(notes);
    expect(kept).toHaveLength(1);
    expect(await fs.readFile(kept[0] as string, 'utf8')).toBe('version two, longer\n');
    expect(r.stdout).toContain(`kept ${notes} as it was before: ${kept[0]}`);
    // Everything else is as it was just before; the folder's own mtime moves because a file was set aside in it.
    const isNotes = (p: string) => p === 'notes.txt' || p.startsWith(`notes.txt${KEPT_MARK}`);
    expect(diffTrees(without(now, isNotes), without(await snapshotTree(f.source), isNotes), { ignoreRootMtime: true })).toEqual([]);
    expect(await keptAsideOf(f.source)).toEqual([]);
  });

  it('keeps every earlier content aside when the same file is restored twice in a row', async () => {
    const f = await setup();
    const notes = path.join(f.source, 'notes.txt');
    // Different sizes and times, so rsync's quick check (size and whole-second mtime) sees every edit.
    await writeFiles(f.source, { 'notes.txt': 'version one\n' });
    await fs.utimes(notes, YEAR_2020, YEAR_2020);
    const s1 = await backup(f);
    await fs.writeFile(notes, 'version two, longer\n');
    await fs.utimes(notes, YEAR_2021, YEAR_2021);
    const s2 = await backup(f);
    await fs.writeFile(notes, 'the current version, in no snapshot\n');
    // Both restores within the same clock minute, so the outcome does not depend on when the test runs.
    const seconds = new Date().getUTCSeconds();
    if (seconds >= 52) await sleep((61 - seconds) * 1000);

    // A user restores the wrong snapshot first, then the right one.
    const wrong = await restore(f, '--snapshot', s1, '--path', notes, '--yes');
    expect(wrong.code, shown(wrong)).toBe(0);
    const right = await restore(f, '--snapshot', s2, '--path', notes, '--yes');
    expect(right.code, shown(right)).toBe(0);

    expect(await fs.readFile(notes, 'utf8')).toBe('version two, longer\n');
    const kept = await keptAsideOf(notes);
    const keptContents = await Promise.all(kept.map((k) => fs.readFile(k, 'utf8')));
    // The current version existed nowhere else: losing it would lose data.
    expect(keptContents.sort(), `kept aside: ${kept.join(', ')}`).toEqual(['the current version, in no snapshot\n', 'version one\n']);
  });
});

describe('plugback restore with a snapshot or state that does not exist', () => {
  it('fails with exit 1 and lists the snapshots for an unknown snapshot id', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const s1 = await backup(f);
    await fs.writeFile(path.join(f.source, 'b.txt'), 'b\n');
    const s2 = await backup(f);
    const before = await snapshotTree(f.source);

    const r = await restore(f, '--snapshot', '1999-01-01T000000Z', '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('there is no snapshot "1999-01-01T000000Z"');
    expect(r.stderr).toContain(`${s1}, ${s2}`);
    expect(diffTrees(before, await snapshotTree(f.source))).toEqual([]);
  });

  it('fails with exit 1 and names the states the snapshot has for an unknown --state', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'web/index.html': '<p>hi</p>\n', 'db/data.sql': 'select 1;\n' });
    await f.configure({ states: { web: { folders: [path.join(f.source, 'web')] }, db: { folders: [path.join(f.source, 'db')] } } });
    const snap = await backup(f);

    const r = await restore(f, '--state', 'nosuch', '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`snapshot ${snap} has no state "nosuch"`);
    expect(r.stderr).toMatch(/\(it has: (web, db|db, web)\)/);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });
});
