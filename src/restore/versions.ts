// `plugback versions DRIVE PATH`: every snapshot that holds a path, so a user can pick a date. The path is reached
// inside each snapshot through the drive's handles, so a link in a snapshot never lists a file of this machine.
import type { Repository } from '../repo/repository.js';
import { locatePath } from './plan.js';
import { LinkInSnapshot } from './source.js';

export interface PathVersion {
  snapshot: string;
  state: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  modified: string;
  /** Identical to the previous version listed (the same hard-linked file). */
  sameAsPrevious: boolean;
  /** The snapshot is dated in the future (a clock that was ahead when it was made). */
  future?: boolean;
}

/** The versions of `target` across this host's snapshots, oldest first. */
export async function pathVersions(repo: Repository, target: string): Promise<PathVersion[]> {
  const { complete } = await repo.list(true);
  const versions: PathVersion[] = [];
  let previousInode: number | undefined;
  for (const snapshot of complete) {
    // A link on the way is not this path in that snapshot: it would lead out of it.
    const found = await locatePath(repo, snapshot, target).catch((error: unknown) => {
      if (error instanceof LinkInSnapshot) return undefined;
      throw error;
    });
    if (!found) {
      previousInode = undefined;
      continue;
    }
    const { stats: info, kind: type } = found.source;
    await found.source.close();
    versions.push({
      snapshot: snapshot.name,
      state: found.state,
      type,
      size: info.size,
      modified: info.mtime.toISOString(),
      sameAsPrevious: type === 'file' && info.ino === previousInode,
      ...(snapshot.future ? { future: true } : {}),
    });
    previousInode = info.ino;
  }
  return versions;
}
