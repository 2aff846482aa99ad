// prune: applies the retention policy, only now that a new snapshot is complete. It deletes only snapshots this
// installation made (by their record), never one dated in the future, never the newest or the one just made,
// and not at all when this run's checks had no baseline they could trust or the copy had errors.
import { planPrune } from '../../repo/prune-plan.js';
import { withRepository, type Repository } from '../../repo/repository.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const prune: Step<BackupContext> = {
  name: 'prune',
  async run(ctx) {
    if (ctx.rsyncExitCodes.includes(23)) {
      ctx.log.warn('not pruning: the new snapshot has files rsync could not copy, so older snapshots may hold the only good copy');
      return;
    }
    if (ctx.noPruneReason || ctx.memoryUnreadable) {
      ctx.log.warn(`not pruning: ${ctx.noPruneReason ?? "this machine's ledger could not be read"}`);
      return;
    }
    try {
      await withRepository(ctx.paths.root, ctx.config.host, (repo) => pruneSnapshots(ctx, repo));
    } catch (error) {
      // The new snapshot is safe; a failed prune only leaves more history than asked for.
      ctx.warn(`pruning old snapshots failed: ${(error as Error).message}`);
    }
  },
};

async function pruneSnapshots(ctx: BackupContext, repo: Repository): Promise<void> {
  const listing = await repo.list(true);
  const plan = planPrune(listing.complete, { host: ctx.config.host, installation: ctx.installation as string }, ctx.config.backup.retention);
  // Future-dated ones are reported by check-target already.
  const others = plan.untouchable.filter((s) => s.why !== 'dated in the future');
  if (others.length > 0) {
    ctx.log.info({ snapshots: others.map((s) => s.name) }, `never pruned: ${others.map((s) => `${s.name} (${s.why})`).join('; ')}`);
  }
  for (const name of plan.prune) {
    if (name === ctx.snapshot) continue; // belt and braces: planRetention keeps the newest (this one) already
    ctx.log.info({ snapshot: name }, `pruning snapshot ${name} (not kept by the retention policy)`);
    const how = await repo.deleteSnapshot(name, ctx.subvolumeHelper);
    if (how === 'file by file, not permitted at once') {
      const helper = ctx.subvolumeHelper ? ', and plugback-delete-subvolume@.service did not (plugback install writes it)' : '';
      ctx.log.info({ snapshot: name }, `snapshot ${name} was deleted file by file: deleting a btrfs subvolume at once needs CAP_SYS_ADMIN, which this sandboxed service does not have${helper} (docs/drives.md, "Two kinds of snapshot")`);
    }
  }
  // Leftovers of runs superseded by the snapshot just made, and deletions a crash or a pull interrupted.
  for (const name of listing.incomplete) {
    ctx.log.info({ leftover: name }, `removing ${name}, left by an earlier run`);
    await repo.deleteSnapshot(name, ctx.subvolumeHelper);
  }
  for (const name of listing.deleting) await repo.deleteSnapshot(name, ctx.subvolumeHelper);
  if (listing.deleting.length > 0) {
    const n = listing.deleting.length;
    ctx.log.info({ leftovers: listing.deleting }, `removed ${n} half-deleted snapshot${n === 1 ? '' : 's'} left by an interrupted prune: ${listing.deleting.join(', ')}`);
  }
  await pruneLogs(repo, [...plan.keep.keys()].sort()[0]);
  const kept = [...plan.keep.entries()].map(([name, why]) => `${name} (${why.join(', ')})`);
  ctx.log.info({ kept: kept.length, pruned: plan.prune.length }, `retention keeps ${kept.length} snapshots: ${kept.join('; ')}`);
}

/** Run logs (failed runs' too) are kept as long as the oldest snapshot kept; older ones go with their snapshots. */
async function pruneLogs(repo: Repository, oldestKept: string | undefined): Promise<void> {
  if (!oldestKept) return;
  const logs = await repo.logs();
  try {
    for (const entry of await logs.entries()) {
      // Files and links only (a link is removed itself, never followed); a folder there is not a log.
      if (entry.kind !== 'dir' && entry.name.endsWith('.log') && entry.name.slice(0, -4) < oldestKept) await logs.unlink(entry.name);
    }
  } finally {
    await logs.close();
  }
}
