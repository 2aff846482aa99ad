// The ledger: one small record per drive in stateDir/ledger.json, the machine's memory of each drive's history.
// `plugback drives`, reminders, metrics and the daemon's re-plug rule read it; the notifier writes it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EndingCause } from '../job/ending.js';
import type { JobOutcome, StepName } from '../job/events.js';
import { ensureDirDurable, writeFileAtomic } from '../system/atomic-file.js';
import { acquireLock } from '../system/flock.js';
import type { SnapshotMemory } from '../repo/snapshot-memory.js';
import type { SnapshotKind } from '../repo/subvolumes.js';
import type { SectorCounters, SmartVerdict } from '../system/smart-report.js';

export interface LastRun {
  outcome: JobOutcome;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  transferredBytes: number;
  snapshot?: string | undefined;
  /** How it ended (JobResult.ending): why it stopped, at which step, in the words of the mail's subject; cause
   *  "crashed" is a daemon that stopped under the job, recorded by its restart (src/daemon/crash-report.ts). */
  cause?: EndingCause | undefined;
  step?: StepName | undefined;
  title?: string | undefined;
}

export interface DriveRecord {
  /** When plugback first recorded this drive: the start of the clock for a drive never backed up. */
  trackedSince: string;
  /** The last time a job for it started (the drive was there). */
  lastSeen?: string | undefined;
  /** finishedAt of the last run that completed a snapshot (success or warning). */
  lastSuccess?: string | undefined;
  lastFailure?: { at: string; step?: StepName | undefined; reason: string } | undefined;
  lastRun?: LastRun | undefined;
  snapshotCount?: number | undefined;
  freeBytes?: number | undefined;
  /** How the drive keeps snapshots, seen at its last run (repo/subvolumes.ts). */
  snapshotKind?: SnapshotKind | undefined;
  /** When the last overdue reminder was sent. */
  lastReminder?: string | undefined;
  /** The last snapshot this machine completed on the drive: the interlocks' baseline (repo/host-memory.ts). */
  lastSnapshot?: SnapshotMemory | undefined;
  /** The disk's latest SMART reading, taken before each backup (job/steps/health.ts). */
  health?: HealthRecord | undefined;
  /** Bytes the recent incremental backups copied, oldest first (notify/space-forecast.ts). */
  recentNewBytes?: number[] | undefined;
  /** The last restore drill after a backup (job/steps/drill.ts). */
  drill?: DrillRecord | undefined;
}

/** A restore drill as the ledger keeps it. */
export interface DrillRecord {
  at: string;
  /** Files restored and compared. */
  files: number;
  damaged: number;
  /** The first few damaged files, in words. */
  problems: string[];
  /** Good backups since, without a drill: what drives.<name>.drill.everyBackups counts. */
  backupsSince: number;
}

/** A SMART reading as the ledger keeps it: the verdict now, and the last counters the disk gave. */
export interface HealthRecord extends SectorCounters {
  /** When it was read. */
  at: string;
  verdict: SmartVerdict;
  /** The whole disk that was read (/dev/sdb). */
  disk?: string | undefined;
  model?: string | undefined;
  serial?: string | undefined;
  /** Why there is no verdict, or what smartctl added. */
  note?: string | undefined;
  /** When the counters were read: earlier than `at` when this reading had none (the disk could not be read). */
  countersAt?: string | undefined;
  /** The counters that rose since the reading before, in words ("Current_Pending_Sector 0 -> 8"). */
  rising?: string[] | undefined;
}

export type Ledger = Record<string, DriveRecord>;

const FILE = 'ledger.json';

/** The ledger in `stateDir`; empty when there is none yet. Exported for the daemon (last success per drive). */
export async function readLedger(stateDir: string): Promise<Ledger> {
  let text: string;
  try {
    text = await readFile(path.join(stateDir, FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyLedger();
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const drives = (parsed as { drives?: unknown }).drives;
    return typeof drives === 'object' && drives !== null ? Object.assign(emptyLedger(), drives as Ledger) : emptyLedger();
  } catch {
    throw new Error(`${path.join(stateDir, FILE)} is not valid JSON; move it aside and plugback starts a new one`);
  }
}

// Writers in one process queue behind each other, and processes (the daemon, `plugback run`) take a flock on
// ledger.lock, so two updates cannot both read the old file and one of them be lost.
let queue: Promise<unknown> = Promise.resolve();
const LOCK_WAIT_MS = 10_000;

/** Changes the ledger under the lock and writes it atomically; returns the new ledger. */
export function updateLedger(stateDir: string, change: (ledger: Ledger) => void): Promise<Ledger> {
  const next = queue.then(async () => {
    await ensureDirDurable(stateDir);
    const lock = await acquireLock(path.join(stateDir, 'ledger.lock'), { waitMs: LOCK_WAIT_MS });
    try {
      const ledger = await readLedger(stateDir);
      change(ledger);
      // 0600: failure reasons may quote what a hook printed.
      await writeFileAtomic(path.join(stateDir, FILE), `${JSON.stringify({ version: 1, drives: ledger }, null, 2)}\n`, 0o600);
      return ledger;
    } finally {
      await lock.release();
    }
  });
  queue = next.catch(() => undefined);
  return next;
}

/** No prototype: a drive named "constructor" or "toString" must not find Object's methods as its record. */
const emptyLedger = (): Ledger => Object.create(null) as Ledger;

/** The drive's record, created (with trackedSince = now) when it is new. */
export function recordOf(ledger: Ledger, drive: string, now: Date): DriveRecord {
  const own = Object.hasOwn(ledger, drive) ? ledger[drive] : undefined;
  if (own) return own;
  const created: DriveRecord = { trackedSince: now.toISOString() };
  ledger[drive] = created;
  return created;
}
