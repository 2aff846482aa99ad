// The two kinds of snapshot, on loop-mounted image files (never a host disk), through the real CLI as root with
// real rsync and the real btrfs command: the same backups, prunes and resumes on an ext4 drive (hard-linked
// folders) and a btrfs drive (read-only subvolumes), then what only btrfs has (a drive that had hard-link
// snapshots before, a link planted in a read-only snapshot, deleting without CAP_SYS_ADMIN).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';

const execFileP = promisify(execFile);
const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

const SUBVOLUME_ROOT = 256;
const KEEP_ONE = 'retention: {keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0}';

async function workspace(kind: 'ext4' | 'btrfs', extra = ''): Promise<Workspace> {
  const w = await Workspace.create(kind, extra);
  workspaces.push(w);
  return w;
}

/** One backup of d1 that must succeed; snapshot names are per second, so runs are kept a second apart. */
async function backup(w: Workspace, options: { wrapper?: string[] } = {}): Promise<string[]> {
  const before = await w.completeSnapshots();
  if (before.length > 0) await sleep(1100);
  const r = await w.cli(['run', 'd1'], options);
  expect(r.code, shown(r)).toBe(0);
  return r.messages;
}

const inSnapshot = (w: Workspace, name: string, file: string) => path.join(w.snapshots, name, 'photos', w.src, file);
const btrfs = async (...args: string[]) => (await execFileP('btrfs', args)).stdout;
const isReadOnly = async (dir: string) => (await btrfs('property', 'get', '-ts', dir, 'ro')).trim() === 'ro=true';
const withoutSysAdmin = ['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin', '--'];

describe.each(['ext4', 'btrfs'] as const)('snapshots on a %s drive', (kind) => {
  it('a second backup holds the change and leaves the first snapshot as it was', async () => {
    const w = await workspace(kind);
    await backup(w);
    await fs.writeFile(path.join(w.src, 'p1.jpg'), 'photo 1, edited\n');
    await backup(w);
    const [first, second] = (await w.completeSnapshots()) as [string, string];
    expect(await fs.readFile(inSnapshot(w, first, 'p1.jpg'), 'utf8')).toBe('photo 1\n');
    expect(await fs.readFile(inSnapshot(w, second, 'p1.jpg'), 'utf8')).toBe('photo 1, edited\n');
    expect(await fs.readFile(inSnapshot(w, second, 'sub/deep.txt'), 'utf8')).toBe('deep\n');
    const unchanged = await fs.stat(inSnapshot(w, second, 'p2.jpg'));
    const snapshotRoot = await fs.stat(path.join(w.snapshots, second));
    if (kind === 'btrfs') {
      // Subvolumes, read-only once complete; unchanged files are shared by copy-on-write, not hard links.
      expect(snapshotRoot.ino).toBe(SUBVOLUME_ROOT);
      expect(await isReadOnly(path.join(w.snapshots, first))).toBe(true);
      expect(await isReadOnly(path.join(w.snapshots, second))).toBe(true);
      expect(unchanged.nlink).toBe(1);
      await expect(fs.writeFile(inSnapshot(w, first, 'p2.jpg'), 'tampered')).rejects.toThrow(/EROFS/);
      // Nothing of the previous snapshot's record is left in the new one but its own.
      const record = JSON.parse(await fs.readFile(path.join(w.snapshots, second, 'snapshot.json'), 'utf8')) as { name: string };
      expect(record.name).toBe(second);
    } else {
      expect(snapshotRoot.ino).not.toBe(SUBVOLUME_ROOT);
      expect(unchanged.nlink).toBe(2);
    }
    // Detected, never configured, and said where people look.
    const listed = await w.cli(['snapshots', 'd1']);
    expect(listed.stdout).toContain(kind === 'btrfs' ? 'snapshots kept as btrfs: each snapshot is a read-only subvolume' : 'snapshots kept as hard links');
    const json = JSON.parse((await w.cli(['snapshots', 'd1', '--json'])).stdout) as { kind: string };
    expect(json.kind).toBe(kind === 'btrfs' ? 'btrfs-subvolumes' : 'hard-links');
    const drives = (await w.cli(['drives'])).stdout.split('\n');
    expect(drives[0]).toMatch(/ KIND /);
    expect(drives.find((l) => l.startsWith('d1'))).toMatch(kind === 'btrfs' ? / btrfs / : / hard links /);
  });

  it('a hard link the source splits up is copied as two files, each with its own content, in the new snapshot only', async () => {
    // rsync -H with --inplace would write the new content through every name of the old link (checked with
    // rsync 3.5.0): why a btrfs snapshot is brought up to date without --inplace.
    const w = await workspace(kind);
    await fs.link(path.join(w.src, 'p1.jpg'), path.join(w.src, 'p1-also.jpg'));
    await backup(w);
    await fs.rm(path.join(w.src, 'p1-also.jpg'));
    await fs.writeFile(path.join(w.src, 'p1-also.jpg'), 'photo 1\n');
    await fs.writeFile(path.join(w.src, 'p1.jpg'), 'photo 1, edited alone\n');
    await backup(w);
    const [first, second] = (await w.completeSnapshots()) as [string, string];
    expect(await fs.readFile(inSnapshot(w, second, 'p1.jpg'), 'utf8')).toBe('photo 1, edited alone\n');
    expect(await fs.readFile(inSnapshot(w, second, 'p1-also.jpg'), 'utf8')).toBe('photo 1\n');
    expect(await fs.readFile(inSnapshot(w, first, 'p1.jpg'), 'utf8')).toBe('photo 1\n');
    expect(await fs.readFile(inSnapshot(w, first, 'p1-also.jpg'), 'utf8')).toBe('photo 1\n');
    const [a, b] = await Promise.all(['p1.jpg', 'p1-also.jpg'].map((f) => fs.stat(inSnapshot(w, second, f))));
    expect(a?.ino).not.toBe(b?.ino);
  });

  it('restores a folder from an older snapshot, and every version of a file is listed', async () => {
    const w = await workspace(kind);
    await backup(w);
    const [first] = (await w.completeSnapshots()) as [string];
    await fs.writeFile(path.join(w.src, 'sub', 'deep.txt'), 'deeper\n');
    await backup(w);
    const to = path.join(w.dir, 'restored');
    const r = await w.cli(['restore', 'd1', '--snapshot', first, '--path', path.join(w.src, 'sub'), '--to', to, '--yes']);
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(path.join(to, w.src, 'sub', 'deep.txt'), 'utf8')).toBe('deep\n');
    const versions = JSON.parse((await w.cli(['versions', 'd1', path.join(w.src, 'sub', 'deep.txt'), '--json'])).stdout) as { versions: unknown[] };
    expect(versions.versions).toHaveLength(2);
  });

  it('prune deletes the snapshot retention no longer keeps, and nothing else', async () => {
    const w = await workspace(kind, KEEP_ONE);
    await backup(w);
    const [first] = (await w.completeSnapshots()) as [string];
    await fs.writeFile(path.join(w.src, 'p3.jpg'), 'photo 3, edited\n');
    const messages = await backup(w);
    const names = await w.completeSnapshots();
    expect(names).toHaveLength(1);
    expect(names).not.toContain(first);
    expect(await fs.readdir(w.snapshots)).toEqual(names);
    expect(messages.join('\n')).toContain(`pruning snapshot ${first}`);
    expect(await fs.readFile(inSnapshot(w, names[0] as string, 'p3.jpg'), 'utf8')).toBe('photo 3, edited\n');
    if (kind === 'btrfs') expect(await btrfs('subvolume', 'list', '-o', w.snapshots)).not.toContain(first);
  });

  it('continues an interrupted snapshot, even one a crash left read-only before its rename', async () => {
    const w = await workspace(kind);
    await backup(w);
    const [first] = (await w.completeSnapshots()) as [string];
    // A run that got as far as making its snapshot read-only (btrfs) and no further.
    const left = path.join(w.snapshots, `${first.slice(0, -3)}59Z.incomplete`);
    if (kind === 'btrfs') await btrfs('subvolume', 'snapshot', '-r', path.join(w.snapshots, first), left);
    else await execFileP('cp', ['-a', path.join(w.snapshots, first), left]);
    await fs.writeFile(path.join(w.src, 'new.jpg'), 'new photo\n');
    const messages = await backup(w);
    expect(messages.some((m) => m.startsWith('resuming the interrupted snapshot'))).toBe(true);
    const names = await w.completeSnapshots();
    expect(names).toHaveLength(2);
    expect(await fs.readdir(w.snapshots)).toEqual(names);
    const resumed = names.find((n) => n !== first) as string;
    expect(await fs.readFile(inSnapshot(w, resumed, 'new.jpg'), 'utf8')).toBe('new photo\n');
    if (kind === 'btrfs') expect(await isReadOnly(path.join(w.snapshots, resumed))).toBe(true);
  });
});

describe('snapshots on a btrfs drive', () => {
  it('a drive with hard-link snapshots from before gets subvolumes from now on, with every file', async () => {
    const w = await workspace('btrfs');
    await backup(w);
    const [first] = (await w.completeSnapshots()) as [string];
    // Turn the first snapshot into a plain folder, as an older plugback made them.
    const dir = path.join(w.snapshots, first);
    await execFileP('cp', ['-a', dir, `${dir}.plain`]);
    await btrfs('subvolume', 'delete', dir);
    await fs.rename(`${dir}.plain`, dir);
    expect((await fs.stat(dir)).ino).not.toBe(SUBVOLUME_ROOT);
    await backup(w);
    const second = (await w.completeSnapshots()).find((n) => n !== first) as string;
    expect((await fs.stat(path.join(w.snapshots, second))).ino).toBe(SUBVOLUME_ROOT);
    expect(await w.tree(path.join(w.snapshots, second, 'photos', w.src))).toEqual(await w.tree(w.src));
    expect(await w.tree(path.join(w.snapshots, first, 'photos', w.src))).toEqual(await w.tree(w.src));
  });

  it('a link planted in the previous snapshot where a folder belongs is replaced, never followed', async () => {
    const w = await workspace('btrfs');
    await backup(w);
    const [first] = (await w.completeSnapshots()) as [string];
    const snapshot = path.join(w.snapshots, first);
    await btrfs('property', 'set', '-ts', snapshot, 'ro', 'false');
    await fs.rm(inSnapshot(w, first, 'sub'), { recursive: true });
    await fs.symlink(w.victim, inSnapshot(w, first, 'sub'));
    await btrfs('property', 'set', '-ts', snapshot, 'ro', 'true');
    const victim = await w.tree();
    await backup(w);
    expect(await w.tree()).toEqual(victim);
    const second = (await w.completeSnapshots()).find((n) => n !== first) as string;
    expect((await fs.lstat(inSnapshot(w, second, 'sub'))).isDirectory()).toBe(true);
    expect(await fs.readFile(inSnapshot(w, second, 'sub/deep.txt'), 'utf8')).toBe('deep\n');
  });

  it('forget without CAP_SYS_ADMIN (the sandboxed services) still deletes the snapshot, file by file', async () => {
    const w = await workspace('btrfs');
    await backup(w);
    await backup(w);
    const [first, second] = (await w.completeSnapshots()) as [string, string];
    const r = await w.cli(['forget', 'd1', first], { wrapper: withoutSysAdmin });
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readdir(w.snapshots)).toEqual([second]);
    expect(await btrfs('subvolume', 'list', '-o', w.snapshots)).not.toContain(first);
  });

  it('a snapshot holding a subvolume of its own is not deleted, and says why', async () => {
    const w = await workspace('btrfs');
    await backup(w);
    await backup(w);
    const [first, second] = (await w.completeSnapshots()) as [string, string];
    const snapshot = path.join(w.snapshots, first);
    await btrfs('property', 'set', '-ts', snapshot, 'ro', 'false');
    await btrfs('subvolume', 'create', path.join(snapshot, 'planted'));
    const r = await w.cli(['forget', 'd1', first]);
    expect(r.code, shown(r)).not.toBe(0);
    expect(r.stderr).toMatch(/btrfs failed in .*snapshots.*not empty/i);
    // Set aside as .deleting, untouched otherwise, and the newest snapshot as it was.
    expect((await fs.readdir(w.snapshots)).sort()).toEqual([`${first}.deleting`, second]);
    expect(await fs.readFile(inSnapshot(w, second, 'p1.jpg'), 'utf8')).toBe('photo 1\n');
  });
});
