// Which snapshots a prune may touch, and the retention plan over them: one function for the backup's prune step
// and `plugback prune --dry-run`, so what the dry run shows is what the next backup does.
import type { RetentionPolicy } from '../config/model.js';
import type { SnapshotEntry } from './repository.js';
import { planRetention, type Dated, type RetentionPlan } from './retention.js';

/** Who this installation is, as the snapshot records name it. */
export interface PruneOwner {
  host: string;
  installation: string;
}

export interface PrunePlan extends RetentionPlan {
  /** Complete snapshots never pruned, with why: another installation's, an unusable record, dated in the future. */
  untouchable: { name: string; why: string }[];
}

/** Made by this installation, by a record that can be read: the only snapshots prune may delete. */
export function isOurs(s: SnapshotEntry, owner: PruneOwner): boolean {
  const r = s.record;
  if (!r || s.future) return false;
  // Snapshots from before installations had ids belong to whoever owns the host folder, which check-target made sure is us.
  return r.installation === undefined ? r.host === owner.host : r.installation === owner.installation;
}

/**
 * The plan over `complete` (read with their records). `coming` is a snapshot not on the drive yet: the dry run's
 * stand-in for the next backup's, which the step has in `complete` already.
 */
export function planPrune(complete: readonly SnapshotEntry[], owner: PruneOwner, policy: RetentionPolicy, coming?: Dated): PrunePlan {
  const ours: Dated[] = complete.filter((s) => isOurs(s, owner));
  const untouchable = complete
    .filter((s) => !isOurs(s, owner))
    .map((s) => ({ name: s.name, why: s.future ? 'dated in the future' : (s.recordProblem ?? 'made by another installation') }));
  return { ...planRetention(coming ? [...ours, coming] : ours, policy), untouchable };
}

/** The stand-in for the next backup's snapshot in a dry run: not a snapshot name, so it meets no real one. */
export const NEXT_SNAPSHOT = 'next backup';

/** What the next backup's prune step does, if it completed a snapshot now: the plan, and the leftovers it removes. */
export interface NextPrune extends PrunePlan {
  /** The interrupted copy the next backup continues (it becomes the new snapshot), if any. */
  continued?: string | undefined;
  /** Other interrupted copies and unfinished deletes, removed after the new snapshot is complete. */
  leftovers: string[];
}

export function planNextPrune(
  listing: { complete: readonly SnapshotEntry[]; incomplete: readonly string[]; deleting: readonly string[] },
  owner: PruneOwner,
  policy: RetentionPolicy,
  now: Date,
): NextPrune {
  const plan = planPrune(listing.complete, owner, policy, { name: NEXT_SNAPSHOT, time: now });
  // The newest interrupted copy is resumed (work-dir.ts), the rest are leftovers.
  const continued = listing.incomplete.at(-1);
  return { ...plan, continued, leftovers: [...listing.incomplete.slice(0, -1), ...listing.deleting] };
}
