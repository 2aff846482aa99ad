// Snapshots as btrfs subvolumes. On a btrfs drive a new snapshot starts as a writable snapshot of the previous
// one (copy-on-write: nothing is copied or linked file by file), rsync brings it up to date, and completing it
// makes it read-only. Deleting one is a single ioctl instead of an unlink per file. The layout does not change:
// snapshots/<ts>/<state>/<path> is browsed with ls and cp on any Linux.
//
// Every path handed to the btrfs command is a DriveDir's pinned /proc/<pid>/fd path and a name checked by it.
import { statfs } from 'node:fs/promises';
import { runProgram } from '../system/spawn-program.js';
import type { DriveDir } from './drive-dir.js';
import { SUBVOLUME_ROOT_INODE } from './drive-dir.js';

/** statfs(2)'s f_type of btrfs (BTRFS_SUPER_MAGIC). */
const BTRFS_MAGIC = 0x9123683e;

/** How a drive keeps its snapshots; detected from its file system, never configured. */
export type SnapshotKind = 'btrfs-subvolumes' | 'hard-links';

/** What people read for each kind (`plugback snapshots`, `drives`). */
export const KIND_DESCRIPTIONS: Record<SnapshotKind, string> = {
  'btrfs-subvolumes': 'btrfs: each snapshot is a read-only subvolume',
  'hard-links': 'hard links: unchanged files are shared between snapshots',
};

export async function snapshotKindOf(dir: DriveDir): Promise<SnapshotKind> {
  return (await statfs(dir.pinned)).type === BTRFS_MAGIC ? 'btrfs-subvolumes' : 'hard-links';
}

/** Whether `name` in `dir` (on a btrfs drive) is a subvolume, not a plain directory. */
export async function isSubvolume(dir: DriveDir, name: string): Promise<boolean> {
  const st = await dir.lstat(name);
  return st !== undefined && st.isDirectory() && st.ino === SUBVOLUME_ROOT_INODE;
}

/**
 * Creates subvolume `name` in `parent` as a writable snapshot of `previous` when that is a subvolume; as a new
 * one otherwise, filled from a plain-directory `previous` (a drive that had hard-link snapshots before) with
 * reflinked copies, because hard links cannot cross subvolumes. The caller removes what must not carry over.
 */
export async function startSubvolume(parent: DriveDir, name: string, previous: string | undefined): Promise<void> {
  const source = previous ? await parent.requireDir(previous) : undefined;
  try {
    if (source && (await isSubvolume(parent, previous as string))) {
      await btrfs(parent, ['subvolume', 'snapshot', '--', source.pinned, parent.at(name)]);
      return;
    }
    await btrfs(parent, ['subvolume', 'create', '--', parent.at(name)]);
    if (source) await reflinkCopy(parent, source, parent.at(name));
  } finally {
    await source?.close();
  }
}

/** How a subvolume went: one ioctl (here, or by a helper with the right to), or (without CAP_SYS_ADMIN) file by file. */
export type SubvolumeDeletion = 'at once' | 'at once, by the helper' | 'file by file, not permitted at once';

/** Deletes the subvolume at a path (as people read it) with rights this process lacks; the caller checks it is gone. */
export type SubvolumeHelper = (subvolume: string) => Promise<void>;

/** Makes a subvolume read-only (a completed snapshot) or writable again (one to resume, or to delete file by file). */
export async function setReadOnly(dir: DriveDir, readOnly: boolean): Promise<void> {
  await btrfs(dir, ['property', 'set', '-ts', '--', dir.pinned, 'ro', String(readOnly)]);
}

/**
 * Deletes subvolume `name` of `parent` at once. That needs CAP_SYS_ADMIN, which plugback's sandboxed services do
 * not have: then `helper` (when given) is asked to, and when it did not, the subvolume is made writable and removed file by file (the kernel lets an emptied subvolume go with
 * rmdir), as slow as a hard-link snapshot but as safe. A subvolume holding another
 * subvolume is not deleted either way (btrfs refuses, and rm does not leave the subvolume it started in).
 */
export async function deleteSubvolume(parent: DriveDir, name: string, helper?: SubvolumeHelper): Promise<SubvolumeDeletion> {
  const result = await runBtrfs(['subvolume', 'delete', '--', parent.at(name)]);
  if (result.exitCode === 0) return 'at once';
  if (!/Operation not permitted/.test(result.stderr)) throw btrfsFailed(parent, result.stderr, result.exitCode);
  if (helper) {
    // A helper that could not (or would not) is no failure: the files go one by one below.
    await helper(parent.show(name)).catch(() => undefined);
    if (!(await parent.lstat(name))) return 'at once, by the helper';
  }
  const dir = await parent.requireDir(name);
  try {
    await setReadOnly(dir, false);
  } finally {
    await dir.close();
  }
  await parent.removeTree(name);
  return 'file by file, not permitted at once';
}

async function reflinkCopy(parent: DriveDir, source: DriveDir, dest: string): Promise<void> {
  // -a copies links as links (never following them), -x stays on the drive's file system.
  const result = await runProgram('cp', ['-a', '-x', '--reflink=always', '--', `${source.pinned}/.`, `${dest}/`]);
  if (result.exitCode !== 0) {
    const said = result.stderr.replaceAll(source.pinned, source.path).replaceAll(parent.pinned, parent.path).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`could not carry the previous snapshot ${source.path} over into a subvolume: ${said}`);
  }
}

async function btrfs(dir: DriveDir, args: string[]): Promise<void> {
  const result = await runBtrfs(args);
  if (result.exitCode !== 0) throw btrfsFailed(dir, result.stderr, result.exitCode);
}

// node:child_process, not execa: the backup and prune path stays light (spawn-program.ts).
async function runBtrfs(args: string[]): Promise<{ exitCode: number; stderr: string }> {
  const result = await runProgram('btrfs', args);
  if (result.code === 'ENOENT') {
    throw new Error('the drive is btrfs, and plugback keeps its snapshots there as btrfs subvolumes with the btrfs command, which is not installed (apt-get install btrfs-progs)');
  }
  return { exitCode: result.exitCode ?? -1, stderr: result.stderr };
}

function btrfsFailed(dir: DriveDir, stderr: string, exitCode: number): Error {
  const said = stderr.replaceAll(dir.pinned, dir.path).trim().split('\n').slice(-2).join(' | ');
  return new Error(`btrfs failed in ${dir.path}: ${said || `exit code ${exitCode}`}`);
}
