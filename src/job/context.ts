// What the steps of a backup job share: the inputs, and what each step finds out for the ones after it.
import type { Logger } from 'pino';
import type { Config, Drive, State } from '../config/model.js';
import type { DriveIdentity } from '../repo/identity.js';
import type { RepoPaths } from '../repo/layout.js';
import type { SnapshotMemory } from '../repo/host-memory.js';
import type { SnapshotEntry } from '../repo/repository.js';
import type { StateRecord } from '../repo/snapshot-record.js';
import type { SubvolumeHelper } from '../repo/subvolumes.js';
import type { HeldLock } from '../system/flock.js';
import type { FsFeatures } from '../system/fs-features.js';
import type { SmartReader } from '../system/smart-through-systemd.js';
import type { JobEvent } from './events.js';
import type { JobLog } from './job-log.js';
import type { StepContext } from './runner.js';

/** A place hooks run for: the global hooks, or one state's. */
export type HookScope = { kind: 'global' } | { kind: 'state'; state: State };

export interface BackupOptions {
  /** Accept a source that shrank past backup.maxShrinkPercent, for this run only. */
  allowShrink: boolean;
}

export interface FileChanges {
  new: number;
  changed: number;
  /** Undefined when some state had no previous snapshot to compare with. */
  deleted?: number | undefined;
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
  /** Deletes a pruned btrfs snapshot with rights this process lacks (the daemon's, for LUKS drives). */
  readonly subvolumeHelper?: SubvolumeHelper | undefined;
  /** Reads a disk's SMART with rights this process lacks (the daemon's, through systemd); readSmart when absent. */
  readonly smartReader?: SmartReader | undefined;
  emit(event: JobEvent): void;
  /** Records a warning: logged, reported, and the job ends "completed with warnings". */
  warn(message: string): void;
  /** The warnings so far. */
  readonly warnings: string[];

  // Found out along the way.
  identity?: DriveIdentity;
  /** This plugback installation's id (stateDir), written into the record; only its own snapshots are pruned. */
  installation?: string;
  /** What this machine remembers of its last snapshot on the drive: the baseline the drive cannot forge. */
  memory?: SnapshotMemory | undefined;
  /** The ledger could not be read: the checks fall back on the drive, and nothing is pruned. */
  memoryUnreadable?: boolean;
  /** The newest complete snapshot before this run (by this machine's memory, never one dated in the future). */
  previous?: SnapshotEntry | undefined;
  /** A check had no trustworthy baseline for some state: the snapshot completes, but nothing is pruned this run. */
  noPruneReason?: string;
  /** This run's snapshot name (its start time). */
  snapshotName?: string;
  /** The .incomplete directory being filled (as people read it), kept for resume if the job stops. */
  workDir?: string | undefined;
  /** Its name in the snapshots folder. */
  workName?: string | undefined;
  resumedFrom?: string;
  features?: FsFeatures;
  states: Record<string, StateRecord>;
  /** Per state, per folder: whether the source folder held anything (for the host's memory). */
  folderEntries: Record<string, Record<string, boolean>>;
  rsyncExitCodes: number[];
  /** rsync's complaints on exit 23/24, bounded. */
  problems: string[];
  transferredBytes: number;
  /** Bytes rsync has copied of the state it is at (counted in transferredBytes once the state is done). */
  partialBytes: number;
  /** Files new, changed and deleted since the previous snapshot, over the states copied (see JobResult.files). */
  files: FileChanges;
  /** Set once the snapshot is complete. */
  snapshot?: string;
  lock?: HeldLock;
  /** See LockingContext.takenLock. */
  readonly takenLock?: Promise<HeldLock>;
  /** Hook scopes whose preBackup ran (or had none), and the ones whose postBackup already ran. */
  hooks: { entered: HookScope[]; postDone: Set<HookScope> };
}
