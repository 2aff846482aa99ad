// Reaching a path inside a snapshot. The snapshot is on the drive, so any entry in it may be a planted link
// (or a link the source really had, pointing at this machine's own files). The path is walked one component at
// a time through DriveDir handles (Repository.openInSnapshot), a link on the way is refused, and the last
// component is lstat'ed, never followed: a link there is restored as a link. rsync is handed /proc/<pid>/fd
// paths of those handles, which stay open until the source is closed.
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UnsafeDriveEntry, type DriveDir } from '../repo/drive-dir.js';
import type { Repository } from '../repo/repository.js';

/** A normalized absolute path as it was backed up: nothing that could climb out of a snapshot's state. */
export function isBackedUpPath(p: string): boolean {
  return path.posix.isAbsolute(p) && path.posix.normalize(p) === p && !p.includes('\0');
}

/** The usage error for a path that is not one (restore --path, versions PATH). */
export function backedUpPathProblem(p: string, what: string): string | undefined {
  if (isBackedUpPath(p)) return undefined;
  const normal = path.posix.isAbsolute(p) ? path.posix.normalize(p) : undefined;
  return (
    `${what} needs an absolute path written as it was backed up, without "..", "." or "//" in it; got ${p}` +
    (normal && normal !== p ? ` (written plainly: ${normal})` : '')
  );
}

export type SourceKind = 'file' | 'directory' | 'symlink' | 'other';

export interface SnapshotSource {
  /** What rsync reads, through the open handles (a directory without its trailing `/`). */
  from: string;
  kind: SourceKind;
  /** lstat of the entry itself. */
  stats: Stats;
  close(): Promise<void>;
}

/** A link (or a non-directory) where the walk needed a directory: never followed. */
export class LinkInSnapshot extends Error {
  constructor(
    readonly target: string,
    /** The component that is a link, as an original absolute path. */
    readonly component: string,
    snapshot: string,
  ) {
    super(
      `${target} cannot be reached in snapshot ${snapshot}: ${component} is a symbolic link there (or not a plain directory ` +
        `on the drive), and plugback never follows links inside a snapshot, because they may lead out to this machine's ` +
        `own files. To restore the link itself, use --path ${component}`,
    );
    this.name = 'LinkInSnapshot';
  }
}

/** Opens `target` (an absolute path as backed up) in `state` of `snapshot`; undefined when it is not there. */
export async function openSource(repo: Repository, snapshot: string, state: string, target: string): Promise<SnapshotSource | undefined> {
  if (!isBackedUpPath(target)) throw new Error(`internal error: ${target} is not a normalized absolute path`);
  const stateShown = repo.snapshots ? path.join(repo.snapshots.show(snapshot), state) : state;
  const open = async (folder: string) =>
    repo.openInSnapshot(snapshot, state, folder).catch((error: unknown) => {
      if (!(error instanceof UnsafeDriveEntry) || !error.path.startsWith(stateShown)) throw error;
      throw new LinkInSnapshot(target, error.path.slice(stateShown.length) || '/', snapshot);
    });
  if (target === '/') {
    const dir = await open('/');
    return dir && directorySource(dir);
  }
  const parent = await open(path.posix.dirname(target));
  if (!parent) return undefined;
  const name = path.posix.basename(target);
  try {
    const stats = await parent.lstat(name);
    if (!stats) {
      await parent.close();
      return undefined;
    }
    if (stats.isDirectory()) {
      const dir = await parent.openDir(name).catch((error: unknown) => {
        if (error instanceof UnsafeDriveEntry) throw new LinkInSnapshot(target, target, snapshot);
        throw error;
      });
      await parent.close();
      return dir && directorySource(dir);
    }
    const kind: SourceKind = stats.isFile() ? 'file' : stats.isSymbolicLink() ? 'symlink' : 'other';
    return { from: parent.at(name), kind, stats, close: () => parent.close() };
  } catch (error) {
    await parent.close();
    throw error;
  }
}

/** The opened directory itself (its pinned path resolves to the inode we hold, whatever was renamed since). */
async function directorySource(dir: DriveDir): Promise<SnapshotSource> {
  const stats = await stat(dir.pinned).catch(async (error: unknown) => {
    await dir.close();
    throw error;
  });
  return { from: dir.pinned, kind: 'directory', stats, close: () => dir.close() };
}
