// check-target: the drive is really there and really the drive the config means; then the repository is opened.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { INCOMPLETE_SUFFIX, snapshotName } from '../../repo/layout.js';
import { ensureRepoFolders, listSnapshots } from '../../repo/snapshots.js';
import { probeFsFeatures } from '../../system/fs-features.js';
import { verifyDrive } from '../../repo/verify-drive.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const checkTarget: Step<BackupContext> = {
  name: 'check-target',
  async run(ctx) {
    ctx.identity = await verifyDrive(ctx.config, ctx.drive, ctx.paths);
    try {
      await ensureRepoFolders(ctx.paths);
      ctx.features = await probeFsFeatures(ctx.paths.snapshots);
    } catch (error) {
      throw new Error(
        `cannot write to drive "${ctx.drive.name}" at ${ctx.paths.root} (${(error as Error).message}): is it mounted read-only, full, or owned by another user?`,
      );
    }
    for (const note of ctx.features.notes) ctx.warn(note);
    const listing = await listSnapshots(ctx.paths, true);
    ctx.previous = listing.complete.at(-1);
    ctx.snapshotName = await freeSnapshotName(ctx);
    ctx.runLog.attachFile(path.join(ctx.paths.logs, `${ctx.snapshotName}.log`));
    ctx.log.info(
      { target: ctx.paths.root, previous: ctx.previous?.name, snapshot: ctx.snapshotName },
      `drive "${ctx.drive.name}" checked: ${ctx.previous ? `previous snapshot ${ctx.previous.name}` : 'first snapshot'}`,
    );
  },
};

/** The run's start time as a snapshot name; if a snapshot of that second exists, the next second. */
async function freeSnapshotName(ctx: BackupContext): Promise<string> {
  for (;;) {
    const name = snapshotName(new Date());
    const taken = await Promise.all(
      [name, `${name}${INCOMPLETE_SUFFIX}`].map((n) => stat(path.join(ctx.paths.snapshots, n)).then(() => true, () => false)),
    );
    if (!taken.includes(true)) return name;
    await sleep(1000 - (Date.now() % 1000) + 5);
  }
}
