// What the ledger keeps about a drive that is in place: its snapshot count, free space and kind of snapshots.
import { statfs } from 'node:fs/promises';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { withRepository } from '../repo/repository.js';
import type { SnapshotKind } from '../repo/subvolumes.js';

export interface DriveFacts {
  snapshotCount?: number | undefined;
  freeBytes?: number | undefined;
  snapshotKind?: SnapshotKind | undefined;
}

/**
 * Reads both while the drive is still there. Nothing when the job never verified the drive (`verified`: it got a
 * log file on the drive): an empty mount point would give the root file system's free space and zero snapshots.
 */
export async function driveFacts(config: Config, drive: Drive, verified: boolean): Promise<DriveFacts> {
  if (!verified) return {};
  const root = driveRoot(drive);
  const [listed, space] = await Promise.all([
    withRepository(root, config.host, async (repo) => ({ count: (await repo.list()).complete.length, kind: await repo.kind() })).catch(() => undefined),
    statfs(root).then(
      (s) => s.bavail * s.bsize,
      () => undefined,
    ),
  ]);
  return { snapshotCount: listed?.count, freeBytes: space, snapshotKind: listed?.kind };
}
