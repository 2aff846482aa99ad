// What the steps of a backup job share: the inputs, and what each step finds out for the ones after it.
import type { Logger } from 'pino';
import type { Config, Drive, State } from '../config/model.js';
import type { DriveIdentity } from '../repo/identity.js';
import type { RepoPaths } from '../repo/layout.js';
import type { SnapshotEntry, StateRecord } from '../repo/snapshots.js';
import type { HeldLock } from '../system/flock.js';
import type { FsFeatures } from '../system/fs-features.js';
import type { JobEvent } from './events.js';
import type { JobLog } from './job-log.js';
import type { StepContext } from './runner.js';

/** A place hooks run for: the global hooks, or one state's. */
export type HookScope = { kind: 'global' } | { kind: 'state'; state: State };

export interface BackupOptions {
  /** Accept a source that shrank past backup.maxShrinkPercent, for this run only. */
  allowShrink: boolean;
}

export interface BackupContext extends StepContext {
  readonly jobId: string;
  readonly config: Config;
  readonly drive: Drive;
  readonly paths: RepoPaths;
  readonly options: BackupOptions;
  readonly log: Logger;
  readonly runLog: JobLog;
  readonly startedAt: Date;
  emit(event: JobEvent): void;
  /** Records a warning: logged, reported, and the job ends "completed with warnings". */
  warn(message: string): void;
  /** The warnings so far. */
  readonly warnings: string[];

  // Found out along the way.
  identity?: DriveIdentity;
  /** The newest complete snapshot before this run. */
  previous?: SnapshotEntry;
  /** This run's snapshot name (its start time). */
  snapshotName?: string;
  /** The .incomplete directory being filled, kept for resume if the job stops. */
  workDir?: string;
  resumedFrom?: string;
  features?: FsFeatures;
  states: Record<string, StateRecord>;
  rsyncExitCodes: number[];
  /** rsync's complaints on exit 23/24, bounded. */
  problems: string[];
  transferredBytes: number;
  /** Set once the snapshot is complete. */
  snapshot?: string;
  lock?: HeldLock;
  /** See LockingContext.takenLock. */
  readonly takenLock?: Promise<HeldLock>;
  /** Hook scopes whose preBackup ran (or had none), and the ones whose postBackup already ran. */
  hooks: { entered: HookScope[]; postDone: Set<HookScope> };
}
