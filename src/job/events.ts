// The events a job emits. Reporters (terminal, LED, mail, D-Bus, ledger) listen to these and nothing else.
import type { LockHolder } from '../system/flock.js';
import type { JobEnding } from './ending.js';

/** Every step a job can have. Backups: unlock/mount (daemon), lock, health, check-target ... prune, archive, release-lock, post-backup-hooks, unmount/close-luks/power-off (daemon). Restores: lock, keep-aside, restore-copy, release-lock, post-restore-hooks. */
export type StepName =
  | 'unlock'
  | 'mount'
  | 'health'
  | 'check-target'
  | 'check-source'
  | 'check-space'
  | 'pre-backup-hooks'
  | 'lock'
  | 'sync'
  | 'check-shrink'
  | 'checksums'
  | 'complete'
  | 'prune'
  | 'verify'
  | 'archive'
  | 'drill'
  | 'release-lock'
  | 'post-backup-hooks'
  | 'keep-aside'
  | 'restore-copy'
  | 'post-restore-hooks'
  | 'unmount'
  | 'close-luks'
  | 'power-off';

export interface SyncProgress {
  state: string;
  /** 1-based position of the state being copied, and how many there are. */
  stateIndex: number;
  stateCount: number;
  /** Bytes rsync has handled in this state so far. */
  bytes: number;
  /** Overall estimate over all states, 0 to 100. */
  percent: number;
  /** Bytes per second. */
  rate: number;
  etaSeconds?: number | undefined;
}

export type JobOutcome = 'success' | 'warning' | 'failed' | 'cancelled';

export interface JobResult {
  jobId: string;
  drive: string;
  outcome: JobOutcome;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The snapshot this run completed, if it got that far. */
  snapshot?: string | undefined;
  /** The step that failed, and why. */
  failedStep?: StepName | undefined;
  error?: string | undefined;
  /** An interrupted copy kept on the drive; the next run continues it. */
  leftForResume?: string | undefined;
  transferredBytes: number;
  /** Files new, changed and deleted against the previous snapshot, in the states copied; deleted unknown without one. */
  files?: { new: number; changed: number; deleted?: number | undefined } | undefined;
  warnings: string[];
  /** Clean-up that did not work: the machine may need a look. */
  undoErrors: { step: StepName; error: string }[];
  logFile?: string | undefined;
  /** How it ended, told once for every reporter: verdict (= outcome), cause, what is safe, what was not done, advice. */
  ending: JobEnding;
}

export type JobEvent =
  | { type: 'job-started'; jobId: string; drive: string; steps: StepName[] }
  | { type: 'step-started'; step: StepName }
  | { type: 'step-finished'; step: StepName; durationMs: number }
  | { type: 'step-failed'; step: StepName; error: string }
  | { type: 'waiting-for-lock'; file: string; holders: LockHolder[] }
  | { type: 'progress'; progress: SyncProgress }
  | { type: 'warning'; message: string }
  /** The postBackup hooks the job still owes (a preBackup ran, its postBackup not yet): state undefined for the global one. */
  | { type: 'post-hooks-owed'; hooks: { state?: string | undefined; script: string }[] }
  | { type: 'job-finished'; result: JobResult };

export type JobListener = (event: JobEvent) => void;
