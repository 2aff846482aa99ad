// prune: applies the retention policy, only now that a new snapshot is complete. It never deletes the newest
// snapshot, never touches the run in progress, and skips pruning when the new snapshot has copy errors.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { deleteSnapshotDir, listSnapshots } from '../../repo/snapshots.js';
import { planRetention } from '../../repo/retention.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const prune: Step<BackupContext> = {
  name: 'prune',
  async run(ctx) {
    if (ctx.rsyncExitCodes.includes(23)) {
      ctx.log.warn('not pruning: the new snapshot has files rsync could not copy, so older snapshots may hold the only good copy');
      return;
    }
    try {
      await pruneSnapshots(ctx);
    } catch (error) {
      // The new snapshot is safe; a failed prune only leaves more history than asked for.
      ctx.warn(`pruning old snapshots failed: ${(error as Error).message}`);
    }
  },
};

async function pruneSnapshots(ctx: BackupContext): Promise<void> {
  const listing = await listSnapshots(ctx.paths);
  const plan = planRetention(listing.complete, ctx.config.backup.retention);
  const newest = listing.complete.at(-1)?.name;
  for (const name of plan.prune) {
    if (name === newest || name === ctx.snapshot) continue; // belt and braces: planRetention keeps these already
    ctx.log.info({ snapshot: name }, `pruning snapshot ${name} (not kept by the retention policy)`);
    await deleteSnapshotDir(ctx.paths, name);
  }
  // Leftovers of runs superseded by the snapshot just made, and deletions a crash interrupted.
  for (const name of [...listing.incomplete, ...listing.deleting]) {
    ctx.log.info({ leftover: name }, `removing ${name}, left by an earlier run`);
    await deleteSnapshotDir(ctx.paths, name);
  }
  await pruneLogs(ctx, [...plan.keep.keys()].sort()[0]);
  const kept = [...plan.keep.entries()].map(([name, why]) => `${name} (${why.join(', ')})`);
  ctx.log.info({ kept: kept.length, pruned: plan.prune.length }, `retention keeps ${kept.length} snapshots: ${kept.join('; ')}`);
}

/** Run logs (failed runs' too) are kept as long as the oldest snapshot kept; older ones go with their snapshots. */
async function pruneLogs(ctx: BackupContext, oldestKept: string | undefined): Promise<void> {
  if (!oldestKept) return;
  for (const file of await readdir(ctx.paths.logs).catch(() => [])) {
    if (file.endsWith('.log') && file.slice(0, -4) < oldestKept) await rm(path.join(ctx.paths.logs, file), { force: true });
  }
}
