// The one way onto a drive (src/repo/drive-dir.ts), against a real file system: links planted at every
// component, another file system mounted inside, FIFOs, and names swapped for links between check and use.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DriveDir, NEVER_FOLLOWS, UnsafeDriveEntry } from '../../src/repo/drive-dir.js';
import { Repository } from '../../src/repo/repository.js';
import { probeFsFeatures } from '../../src/system/fs-features.js';

const execFileP = promisify(execFile);

let root: string;
let drive: string;
let victim: string;
const mounts: string[] = [];
const opened: DriveDir[] = [];

async function openRoot(): Promise<DriveDir> {
  const dir = await DriveDir.openRoot(drive);
  opened.push(dir);
  return dir;
}

/** The victim folder's names and contents, to prove nothing in it changed. */
async function victimState(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await fs.readdir(victim)).sort()) out[name] = await fs.readFile(path.join(victim, name), 'utf8').catch(() => '<dir>');
  return out;
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-drivedir-'));
  drive = path.join(root, 'drive');
  victim = path.join(root, 'victim');
  await fs.mkdir(drive);
  await fs.mkdir(victim);
  await fs.writeFile(path.join(victim, 'important.conf'), 'keep me\n');
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
  for (const m of mounts.splice(0).reverse()) await execFileP('umount', [m]).catch(() => execFileP('umount', ['-l', m]));
  await fs.rm(root, { recursive: true, force: true });
});

describe('DriveDir', () => {
  it.each(['plugback', 'plugback/testhost', 'plugback/testhost/snapshots'])(
    'refuses a symbolic link planted as %s, naming it, and writes nothing through it',
    async (planted) => {
      const parent = path.join(drive, path.dirname(planted));
      await fs.mkdir(parent, { recursive: true });
      await fs.symlink(victim, path.join(drive, planted));
      const before = await victimState();
      const repoOpen = Repository.open(drive, 'testhost').then(async (repo) => {
        try {
          await repo.createFolders();
        } finally {
          await repo.close();
        }
      });
      const error = await repoOpen.then(() => undefined, (e: Error) => e);
      expect(error).toBeInstanceOf(UnsafeDriveEntry);
      expect(error?.message).toContain(path.join(drive, planted));
      expect(error?.message).toContain(NEVER_FOLLOWS);
      expect(await victimState()).toEqual(before);
      expect((await fs.lstat(path.join(drive, planted))).isSymbolicLink()).toBe(true);
    },
  );

  it('refuses a directory that lies on another file system (a tmpfs mounted inside the drive)', async () => {
    const inner = path.join(drive, 'plugback');
    await fs.mkdir(inner);
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', inner]);
    mounts.push(inner);
    const dir = await openRoot();
    await expect(dir.openDir('plugback')).rejects.toThrow(/on another file system than the drive/);
  });

  it('reads only regular files: a link, a FIFO (without hanging) and an oversized file are refused', async () => {
    const dir = await openRoot();
    await fs.symlink('/etc/hostname', path.join(drive, 'link.json'));
    await execFileP('mkfifo', [path.join(drive, 'fifo.json')]);
    await fs.writeFile(path.join(drive, 'big.json'), 'x'.repeat(2000));
    await expect(dir.readFile('link.json', 1000)).rejects.toThrow(/symbolic link/);
    await expect(dir.readFile('fifo.json', 1000)).rejects.toThrow(/not a regular file/);
    await expect(dir.readFile('big.json', 1000)).rejects.toThrow(/more than such a file can be/);
    expect(await dir.readFile('missing.json', 1000)).toBeUndefined();
  });

  it('creates files exclusively: a link already carrying the name is never opened, so its target keeps its content', async () => {
    const dir = await openRoot();
    const target = path.join(victim, 'important.conf');
    await fs.symlink(target, path.join(drive, 'run.log'));
    await expect(dir.createFile('run.log')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(() => dir.createFileSync('run.log')).toThrow(/EEXIST/);
    expect(await fs.readFile(target, 'utf8')).toBe('keep me\n');
  });

  it('writes atomically under a name nobody can predict: planted .NAME.PID.tmp links are never touched', async () => {
    const dir = await openRoot();
    const target = path.join(victim, 'important.conf');
    for (let pid = process.pid - 5; pid < process.pid + 5; pid++) await fs.symlink(target, path.join(drive, `.drive.json.${pid}.tmp`));
    await dir.writeAtomic('drive.json', '{"name":"x"}\n');
    expect(await fs.readFile(path.join(drive, 'drive.json'), 'utf8')).toBe('{"name":"x"}\n');
    expect((await fs.lstat(path.join(drive, 'drive.json'))).isFile()).toBe(true);
    expect(await fs.readFile(target, 'utf8')).toBe('keep me\n');
  });

  it('keeps working on the directory it checked when the name is swapped for a link afterwards (check-then-use race)', async () => {
    await fs.mkdir(path.join(drive, 'plugback'));
    const dir = await openRoot();
    const base = await dir.requireDir('plugback');
    opened.push(base);
    // Someone who owns the target renames the checked folder away and puts a link to the victim in its place.
    await fs.rename(path.join(drive, 'plugback'), path.join(drive, 'moved'));
    await fs.symlink(victim, path.join(drive, 'plugback'));
    await base.writeAtomic('drive.json', 'written\n');
    await (await base.ensureDir('logs')).close();
    expect(await fs.readFile(path.join(drive, 'moved', 'drive.json'), 'utf8')).toBe('written\n');
    expect(await fs.readdir(victim)).toEqual(['important.conf']);
  });

  it('deletes a tree without following its links or entering a mount inside it', async () => {
    const tree = path.join(drive, 'doomed');
    await fs.mkdir(path.join(tree, 'sub'), { recursive: true });
    await fs.writeFile(path.join(tree, 'sub', 'f'), 'x');
    await fs.symlink(victim, path.join(tree, 'sub', 'to-victim'));
    await fs.symlink(victim, path.join(drive, 'link-entry'));
    const dir = await openRoot();
    await dir.removeTree('doomed');
    await dir.removeTree('link-entry');
    expect(await fs.readdir(drive)).toEqual([]);
    expect(await victimState()).toEqual({ 'important.conf': 'keep me\n' });

    await fs.mkdir(path.join(tree, 'mnt'), { recursive: true });
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(tree, 'mnt')]);
    mounts.push(path.join(tree, 'mnt'));
    await fs.writeFile(path.join(tree, 'mnt', 'other-fs.txt'), 'not the drive\n');
    await expect(dir.removeTree('doomed')).rejects.toThrow(/could not delete .*doomed/);
    expect(await fs.readFile(path.join(tree, 'mnt', 'other-fs.txt'), 'utf8')).toBe('not the drive\n');
  });

  it('probes a file system with a new scratch file: links planted at .plugback-probe-<pid> are not truncated', async () => {
    const target = path.join(victim, 'important.conf');
    for (let pid = process.pid - 5; pid < process.pid + 5; pid++) await fs.symlink(target, path.join(drive, `.plugback-probe-${pid}`));
    const dir = await openRoot();
    const features = await probeFsFeatures(dir);
    expect(features.acls && features.xattrs).toBe(true);
    expect(await fs.readFile(target, 'utf8')).toBe('keep me\n');
    await expect(execFileP('getfattr', ['-n', 'user.plugback.probe', target])).rejects.toThrow();
    expect((await fs.readdir(drive)).filter((n) => !n.startsWith('.plugback-probe-'))).toEqual([]);
  });
});
