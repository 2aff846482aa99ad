// What the ledger keeps about a drive that is in place: its snapshot count and free space.
import { statfs } from 'node:fs/promises';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { withRepository } from '../repo/repository.js';

export interface DriveFacts {
  snapshotCount?: number | undefined;
  freeBytes?: number | undefined;
}

/**
 * Reads both while the drive is still there. Nothing when the job never verified the drive (`verified`: it got a
 * log file on the drive): an empty mount point would give the root file system's free space and zero snapshots.
 */
export async function driveFacts(config: Config, drive: Drive, verified: boolean): Promise<DriveFacts> {
  if (!verified) return {};
  const root = driveRoot(drive);
  const [count, space] = await Promise.all([
    withRepository(root, config.host, (repo) => repo.list()).then(
      (l) => l.complete.length,
      () => undefined,
    ),
    statfs(root).then(
      (s) => s.bavail * s.bsize,
      () => undefined,
    ),
  ]);
  return { snapshotCount: count, freeBytes: space };
}
