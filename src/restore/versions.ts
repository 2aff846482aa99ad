// `plugback versions DRIVE PATH`: every snapshot that holds a path, so a user can pick a date.
import { lstat } from 'node:fs/promises';
import type { Repository } from '../repo/repository.js';
import { locatePath } from './plan.js';

export interface PathVersion {
  snapshot: string;
  state: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  modified: string;
  /** Identical to the previous version listed (the same hard-linked file). */
  sameAsPrevious: boolean;
}

/** The versions of `target` across this host's snapshots, oldest first. */
export async function pathVersions(repo: Repository, target: string): Promise<PathVersion[]> {
  const { complete } = await repo.list(true);
  const versions: PathVersion[] = [];
  let previousInode: number | undefined;
  for (const snapshot of complete) {
    const found = await locatePath(snapshot, target);
    if (!found) {
      previousInode = undefined;
      continue;
    }
    const info = await lstat(found.from);
    const type = info.isFile() ? 'file' : info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'other';
    versions.push({
      snapshot: snapshot.name,
      state: found.state,
      type,
      size: info.size,
      modified: info.mtime.toISOString(),
      sameAsPrevious: type === 'file' && info.ino === previousInode,
    });
    previousInode = info.ino;
  }
  return versions;
}
