// Runs one queued job at a time: the backup steps with the device steps around them (unlock, mount ... unmount,
// close, power off), the drive's removal turned into the job's failure cause, and the job's subscribers (systemd
// status, notifier, LED, the in-flight record) told of its start, its events and its end, in that order.
import type { Level, Logger } from 'pino';
import type { Config, Drive } from '../config/model.js';
import type { JobStatus } from '../api/daemon-port.js';
import type { DriveWatcher } from '../drives/drive-watcher.js';
import { runBackupJob } from '../job/backup-job.js';
import type { JobEvent, JobResult } from '../job/events.js';
import type { LineSink } from '../job/job-log.js';
import { DriveRemoved } from '../job/runner.js';
import { deviceSteps } from '../job/steps/device.js';
import { deleteSubvolumeThroughSystemd } from '../system/drive-mounts.js';
import { smartThroughSystemd } from '../system/smart-through-systemd.js';
import { driveFacts, type DriveFacts } from '../notify/drive-facts.js';
import { LogCapture } from '../notify/log-capture.js';
import type { JobDetails } from '../notify/notifier.js';
import type { Systemd1 } from '../system/systemd1.js';
import type { DaemonEvents } from './daemon-events.js';
import { RequestError } from './request-error.js';

/** One subscriber's part in one job; built when the job starts, so it keeps what it had then (the notifier, the LED). */
export interface JobHooks {
  /** Before the first step. */
  started?(): Promise<void>;
  event?(event: JobEvent): void;
  /** After the last step, with what the job learnt of the drive. */
  ended?(result: JobResult, details: JobDetails): Promise<void>;
}

export type JobSubscriber = (drive: Drive, config: Config) => JobHooks;

export interface JobRunnerOptions {
  sink: LineSink;
  logLevel: Level;
  log: Logger;
  events: DaemonEvents;
  /** systemd1 and the drive watcher, once the daemon is connected. */
  devices(): { systemd: Systemd1; watcher: DriveWatcher } | undefined;
  subscribers: JobSubscriber[];
}

interface RunningJob {
  drive: string;
  controller: AbortController;
  removed: boolean;
  onRemoved: Set<() => void>;
  status: JobStatus;
}

/** How long a failed step waits for news of the drive's removal before its own error is taken as the cause. */
const REMOVAL_SETTLE_MS = 2000;

export class JobRunner {
  private current: RunningJob | undefined;

  constructor(private readonly options: JobRunnerOptions) {}

  /** The drive being backed up now, if any. */
  get running(): string | undefined {
    return this.current?.drive;
  }

  status(): JobStatus | undefined {
    return this.current && { ...this.current.status };
  }

  /** Aborts the running job with `reason` (its clean-up still runs); returns its drive. */
  cancel(reason: Error): string | undefined {
    this.current?.controller.abort(reason);
    return this.current?.drive;
  }

  /** An API caller cancels the running job; returns its drive. */
  cancelRequested(requestedBy: string): string {
    const drive = this.current?.drive;
    if (drive === undefined) throw new RequestError('no backup is running');
    this.options.log.info({ drive, requestedBy }, `backup of "${drive}" cancelled by ${requestedBy}`);
    this.cancel(new Error(`cancelled by ${requestedBy}`));
    return drive;
  }

  /** The drive was pulled out: its job fails as "drive removed during <step>". */
  driveRemoved(name: string): void {
    const job = this.current;
    if (job?.drive !== name || job.removed) return;
    // The power-off takes the drive away itself, and udisks2 may say so before its PowerOff reply: no pull.
    if (job.status.step === 'power-off') return;
    job.removed = true;
    job.controller.abort(new DriveRemoved());
    for (const notify of job.onRemoved) notify();
  }

  /** Runs the backup of `drive` with `config` (the config it started with, whatever a reload does meanwhile). */
  async run(drive: Drive, config: Config): Promise<JobResult> {
    const devices = this.options.devices();
    if (!devices) throw new Error('the daemon is not started');
    const { systemd, watcher } = devices;
    const { events, log } = this.options;
    const job: RunningJob = { drive: drive.name, controller: new AbortController(), removed: false, onRemoved: new Set(), status: { drive: drive.name } };
    this.current = job;
    events.setState('working');
    const hooks = this.options.subscribers.map((subscribe) => subscribe(drive, config));
    // The job's own lines, for the failure mail: its log file on the drive is unmounted by the time mail is written.
    const capture = new LogCapture(this.options.sink);
    let facts: DriveFacts = {};
    for (const h of hooks) await h.started?.();
    try {
      const result = await runBackupJob({
        config,
        drive,
        signal: job.controller.signal,
        console: capture.sink,
        logLevel: this.options.logLevel,
        onEvent: (event) => {
          if (event.type === 'step-started') job.status.step = event.step;
          if (event.type === 'progress') job.status.progress = event.progress;
          for (const h of hooks) h.event?.(event);
          events.emit({ type: 'job', drive: drive.name, event });
        },
        // A directory target is simply there: no unlock, mount or power-off.
        deviceSteps: drive.kind === 'directory' ? { before: [], after: [] } : deviceSteps({
          systemd,
          udisks: watcher.udisksClient,
          present: () => watcher.find(drive.name),
          beforeUnmount: async (ctx) => {
            facts = await driveFacts(config, drive, ctx.runLog.file !== undefined);
          },
        }),
        settleFailure: () => settleFailure(job),
        // The sandbox may not open a raw disk, a directory target's included: systemd reads SMART for it.
        smartReader: smartThroughSystemd(systemd),
        // A LUKS drive's mount point is plugback's own: a path there names what the job checked (drive-mounts.ts).
        ...(drive.kind === 'luks' ? { subvolumeHelper: (subvolume: string) => deleteSubvolumeThroughSystemd(systemd, subvolume) } : {}),
      });
      // A pull (seen by udisks2 or by the kernel) needs no "safe to remove": the ending's warning says what happened.
      // Taken as the job ends: the removal that follows a power-off, reported while the reporters work, is no pull.
      const pulled = job.removed || result.ending.cause === 'removed';
      // A directory target is still there to look at; a LUKS drive was read just before its unmount.
      if (drive.kind === 'directory') facts = await driveFacts(config, drive, result.logFile !== undefined);
      for (const h of hooks) await h.ended?.(result, { logText: capture.text(), ...facts });
      if (result.ending.led === 'done' && !pulled) {
        log.info({ drive: drive.name, snapshot: result.snapshot }, `drive "${drive.name}" is done: safe to remove`);
      } else if (!pulled) {
        log.info({ drive: drive.name }, `drive "${drive.name}" was left unmounted and closed after the failure: safe to remove`);
      }
      return result;
    } finally {
      this.current = undefined;
    }
  }
}

/**
 * A step failed on its own: was the drive pulled out? rsync's I/O error usually comes before udisks2's removal
 * signal, so wait a little for that news before the step's own error is taken as the cause.
 */
function settleFailure(job: RunningJob): Promise<void> {
  return waitForRemoval(job, REMOVAL_SETTLE_MS);
}

/** Resolves when the job's drive is reported removed, or after `ms`, whichever comes first. */
function waitForRemoval(job: RunningJob, ms: number): Promise<void> {
  if (job.removed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      job.onRemoved.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    job.onRemoved.add(done);
  });
}
