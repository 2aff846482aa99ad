// A backup job: the steps of DESIGN.md in order, the shared context, the log, and the typed result.
import { randomUUID } from 'node:crypto';
import type { Level } from 'pino';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { repoPaths } from '../repo/layout.js';
import type { HeldLock } from '../system/flock.js';
import { settleRemoval, type DevicePresence } from '../drives/device-presence.js';
import type { BackupContext, BackupOptions } from './context.js';
import { endingOfRun } from './ending.js';
import type { JobEvent, JobListener, JobResult } from './events.js';
import { JobLog, type LineSink } from './job-log.js';
import { DriveRemoved, runSteps, type Step } from './runner.js';
import { archive } from './steps/archive.js';
import { checkShrink } from './steps/check-shrink.js';
import { checkSpace } from './steps/check-space.js';
import { checkSource } from './steps/check-source.js';
import { checkTarget } from './steps/check-target.js';
import { recordChecksums } from './steps/checksums.js';
import { complete } from './steps/complete.js';
import { drill } from './steps/drill.js';
import { health } from './steps/health.js';
import { postBackupHooks, preBackupHooks } from './steps/hooks.js';
import { releaseLock, takeLock } from './steps/lock.js';
import type { SubvolumeHelper } from '../repo/subvolumes.js';
import type { SmartReader } from '../system/smart-through-systemd.js';
import { prune } from './steps/prune.js';
import { sync } from './steps/sync.js';
import { verify } from './steps/verify.js';

export interface BackupJobRequest {
  config: Config;
  drive: Drive;
  options?: Partial<BackupOptions>;
  /** Cancels the job: the running step stops, the undo chain runs, the copy so far is kept. */
  signal?: AbortSignal;
  /** Where log lines go besides the drive's log file (stdout for `plugback run`). */
  console: LineSink;
  logLevel?: Level;
  onEvent?: JobListener;
  /** Steps that make the drive available (unlock, mount) and put it away (unmount, close, power off): the daemon's. */
  deviceSteps?: { before: Step<BackupContext>[]; after: Step<BackupContext>[]; presence?: DevicePresence };
  /** See RunnerHooks.settleFailure: lets the daemon turn an I/O error into "drive removed during <step>". */
  settleFailure?: () => Promise<void>;
  /** See BackupContext.subvolumeHelper. */
  subvolumeHelper?: SubvolumeHelper;
  /** See BackupContext.smartReader. */
  smartReader?: SmartReader;
  /** The repository lock, when the caller asked for it already (plugback run); the lock step waits for it instead. */
  lock?: Promise<HeldLock>;
}

/** The steps that run with the drive in place, from lock to post-backup-hooks. */
export const BACKUP_STEPS: readonly Step<BackupContext>[] = [
  // First: no hook runs while another job holds the lock, and check-target picks the snapshot name under it.
  takeLock,
  health,
  checkTarget,
  checkSource,
  checkSpace,
  preBackupHooks,
  sync,
  checkShrink,
  // Before complete: a snapshot is never complete without its checksum list (on btrfs it is read-only after).
  recordChecksums,
  complete,
  // Before prune: a snapshot that reads back wrong must not be the reason older ones are deleted.
  verify,
  prune,
  // After prune (which never removes the new snapshot), and under the lock, so no other job prunes what tar reads.
  archive,
  // Last under the lock: it reads every snapshot, and a restore needs the lock the job holds.
  drill,
  releaseLock,
  postBackupHooks,
];

/** Runs one backup job to the end and returns how it went; it does not throw for job failures. */
export async function runBackupJob(req: BackupJobRequest): Promise<JobResult> {
  const jobId = randomUUID();
  const steps = [...(req.deviceSteps?.before ?? []), ...BACKUP_STEPS, ...(req.deviceSteps?.after ?? [])];
  const runLog = new JobLog(req.console, req.logLevel ?? 'info', { drive: req.drive.name, job: jobId.slice(0, 8) });
  const log = runLog.logger;
  const emit = (event: JobEvent) => req.onEvent?.(event);
  const warnings: string[] = [];
  const ctx: BackupContext = {
    jobId,
    config: req.config,
    drive: req.drive,
    paths: repoPaths(driveRoot(req.drive), req.config.host),
    options: { allowShrink: false, ...req.options },
    log,
    runLog,
    startedAt: new Date(),
    signal: req.signal ?? new AbortController().signal,
    emit,
    warnings,
    warn(message) {
      warnings.push(message);
      log.warn(message);
      emit({ type: 'warning', message });
    },
    states: {},
    folderEntries: {},
    rsyncExitCodes: [],
    problems: [],
    transferredBytes: 0,
    partialBytes: 0,
    files: { new: 0, changed: 0, deleted: 0 },
    hooks: { entered: [], postDone: new Set() },
    ...(req.lock ? { takenLock: req.lock } : {}),
    ...(req.subvolumeHelper ? { subvolumeHelper: req.subvolumeHelper } : {}),
    ...(req.smartReader ? { smartReader: req.smartReader } : {}),
  };

  log.info({ steps: steps.map((s) => s.name), config: req.config.file }, `backup of drive "${req.drive.name}" started`);
  emit({ type: 'job-started', jobId, drive: req.drive.name, steps: steps.map((s) => s.name) });
  const settleFailure = settlerOf(req);
  const outcome = await runSteps(steps, ctx, {
    ...(settleFailure ? { settleFailure } : {}),
    stepStarted: (step) => {
      log.debug({ step }, `step ${step}`);
      emit({ type: 'step-started', step });
    },
    stepFinished: (step, durationMs) => emit({ type: 'step-finished', step, durationMs }),
    stepFailed: (f) => {
      // A pull is the user's doing, not an error of ours; the ending says what it means.
      if (f.reason instanceof DriveRemoved) log.warn({ step: f.step }, `stopped at ${f.step}: ${f.error.message}`);
      else log.error({ step: f.step, err: f.error.message, stepFailed: true }, `${f.cancelled ? 'cancelled' : 'failed'} at ${f.step}: ${f.error.message}`);
      emit({ type: 'step-failed', step: f.step, error: f.error.message });
    },
  });
  for (const u of outcome.undoErrors) log.error({ step: u.step, err: u.error.message }, `clean-up of ${u.step} failed: ${u.error.message}`);

  // A cancel or a pull after the snapshot is complete does not undo it: the ending says so, rather than "failed".
  const facts = { drive: req.drive.name, snapshot: ctx.snapshot, previousSnapshot: ctx.previous?.name, keptForResume: ctx.workDir };
  const ending = endingOfRun(steps.map((s) => s.name), outcome, facts, warnings, (m) => ctx.warn(m));
  const failure = ending.verdict === 'failed' || ending.verdict === 'cancelled' ? outcome.failure : undefined;
  const finished = new Date();
  const result: JobResult = {
    jobId,
    drive: req.drive.name,
    outcome: ending.verdict,
    startedAt: ctx.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - ctx.startedAt.getTime(),
    snapshot: ctx.snapshot,
    failedStep: failure?.step,
    error: failure?.error.message,
    leftForResume: ctx.workDir,
    // A cancel mid-state still wrote what rsync copied so far into the .incomplete folder.
    transferredBytes: ctx.transferredBytes + ctx.partialBytes,
    files: Object.keys(ctx.states).length > 0 ? ctx.files : undefined,
    warnings,
    undoErrors: outcome.undoErrors.map((u) => ({ step: u.step, error: u.error.message })),
    logFile: runLog.file,
    ending,
  };
  log[result.outcome === 'success' ? 'info' : result.outcome === 'warning' ? 'warn' : 'error']({ result }, summary(result));
  runLog.detachFile();
  emit({ type: 'job-finished', result });
  return result;
}

/**
 * What a failed step waits for before its cause is recorded: the caller's news of a removal (udisks2's signal),
 * and the kernel's and systemd's view of the device, which can say "gone" a second before udisks2 does.
 */
function settlerOf(req: BackupJobRequest): (() => Promise<DriveRemoved | undefined>) | undefined {
  const presence = req.deviceSteps?.presence;
  if (!req.settleFailure && !presence) return undefined;
  return async () => {
    const news = req.settleFailure?.() ?? Promise.resolve();
    if (presence && (await settleRemoval(presence, news))) return new DriveRemoved();
    await news;
    return undefined;
  };
}

/** One sentence on how the job went. */
export function summary(r: JobResult): string {
  const seconds = `${(r.durationMs / 1000).toFixed(1)}s`;
  switch (r.outcome) {
    case 'success':
      return `backup of "${r.drive}" finished: snapshot ${r.snapshot} in ${seconds}${r.ending.notes.map((n) => `; ${n}`).join('')}`;
    case 'warning':
      return `backup of "${r.drive}" ${r.ending.title}: snapshot ${r.snapshot} in ${seconds}; ${r.warnings.join('; ')}`;
    case 'cancelled':
      return `backup of "${r.drive}" was cancelled during ${r.failedStep}${r.leftForResume ? `; the copy so far is kept for the next run` : ''}`;
    case 'failed':
      return `backup of "${r.drive}" failed at ${r.failedStep}: ${r.error}`;
  }
}
