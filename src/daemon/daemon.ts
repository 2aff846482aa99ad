// `plugback daemon`: watches for the configured drives and backs each one up when it is plugged in, one job at
// a time: unlock, mount, the backup steps, unmount, close, power off, then "safe to remove".
import type { Level, Logger } from 'pino';
import type { Config, Drive, LuksDrive } from '../config/model.js';
import { formatBytes, formatDuration } from '../config/units.js';
import { DaemonApi } from '../api/service.js';
import { DriveWatcher } from '../drives/drive-watcher.js';
import { runBackupJob } from '../job/backup-job.js';
import type { JobEvent, JobResult, StepName, SyncProgress } from '../job/events.js';
import { lineLogger, type LineSink } from '../job/job-log.js';
import { DriveRemoved } from '../job/runner.js';
import { deviceSteps } from '../job/steps/device.js';
import { ledReporter } from '../led/led-reporter.js';
import { startLed, type LedSession } from '../led/led-session.js';
import { driveFacts, type DriveFacts } from '../notify/drive-facts.js';
import { LogCapture } from '../notify/log-capture.js';
import { Notifier, readLedger } from '../notify/notifier.js';
import { DbusConnection, errorText } from '../system/dbus.js';
import { notifySystemd } from '../system/sd-notify.js';
import { Systemd1 } from '../system/systemd1.js';
import { watchForReload } from './config-watch.js';
import { DriveQueue } from './queue.js';
import { RequestError } from './request-error.js';
import { recoverLeftovers } from './recovery.js';

export interface DaemonOptions {
  configFile: string;
  /** Where log lines go (stdout, with journal priorities under systemd). */
  sink: LineSink;
  logLevel: Level;
  /** Loads the config file again for a reload; throws ConfigError when it is invalid. */
  loadConfig(file: string): Promise<Config>;
  /** The daemon cannot go on (the system bus went away): the process should exit non-zero so systemd restarts it. */
  onFatal(error: Error): void;
}

/** What the daemon tells the outside (the D-Bus API listens to these). */
export type DaemonEvent =
  | { type: 'state'; state: DaemonState }
  | { type: 'queued'; drive: string; behind: string }
  | { type: 'skipped'; drive: string; reason: string }
  | { type: 'job'; drive: string; event: JobEvent };

export type DaemonState = 'starting' | 'idle' | 'working' | 'stopping';

/** The running job as the API shows it. */
export interface JobStatus {
  drive: string;
  step?: StepName | undefined;
  progress?: SyncProgress | undefined;
}

/** One configured drive as the API shows it. */
export interface DriveStatus {
  name: string;
  kind: Drive['kind'];
  present: boolean;
  queued: boolean;
  overdue: boolean;
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

export class Daemon {
  private readonly log: Logger;
  private dbus: DbusConnection | undefined;
  private systemd: Systemd1 | undefined;
  private watcher: DriveWatcher | undefined;
  private led: LedSession | undefined;
  private readonly queue = new DriveQueue();
  /** Drives just plugged in whose last backup is being looked up (daemon.minInterval). */
  private readonly checking = new Set<string>();
  private current: RunningJob | undefined;
  private pump: Promise<void> | undefined;
  private notifier: Notifier | undefined;
  private stopOverdueWatch: (() => void) | undefined;
  /** What the LED shows after a job: green until the drive is taken away, red until its next plug. */
  private ledResult: 'done' | 'failed' | undefined;
  private readonly listeners = new Set<(event: DaemonEvent) => void>();
  private stopWatching: (() => Promise<void>) | undefined;
  private api: DaemonApi | undefined;
  private lastStatusAt = 0;
  private reloading: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Drives found during start-up wait in the queue until the daemon is ready. */
  private ready = false;
  private stateNow: DaemonState = 'starting';

  constructor(
    private config: Config,
    private readonly options: DaemonOptions,
  ) {
    this.log = lineLogger(options.sink, options.logLevel, { component: 'daemon' });
  }

  get state(): DaemonState {
    return this.stateNow;
  }

  /** The running job, if any. */
  jobStatus(): JobStatus | undefined {
    return this.current && { ...this.current.status };
  }

  /** Every configured drive with what the daemon knows of it now (the ledger has its history). */
  driveStatus(): DriveStatus[] {
    const overdue = new Set(this.notifier?.overdueDrives() ?? []);
    return this.config.drives.map((d) => ({
      name: d.name,
      kind: d.kind,
      present: d.kind === 'directory' || this.watcher?.find(d.name) !== undefined,
      queued: this.queue.has(d.name),
      overdue: overdue.has(d.name),
    }));
  }

  /** The config in force (the API reads drives and the state folder from it). */
  get currentConfig(): Config {
    return this.config;
  }

  /**
   * Backs up `name` now (queued behind a running job), whatever daemon.minInterval says: a LUKS drive that is
   * plugged in, or a directory target. Returns "started" or "queued".
   */
  requestBackup(name: string, requestedBy: string): 'started' | 'queued' {
    const drive = this.config.drives.find((d) => d.name === name);
    if (!drive) throw new RequestError(`there is no drive "${name}" in ${this.options.configFile} (drives: ${this.config.drives.map((d) => d.name).join(', ') || 'none'})`);
    if (this.stopping) throw new RequestError('the daemon is stopping');
    if (drive.kind === 'luks' && !this.watcher?.find(name)) throw new RequestError(`drive "${name}" is not plugged in`);
    if (this.current?.drive === name) throw new RequestError(`drive "${name}" is being backed up right now`);
    if (this.queue.has(name)) return 'queued';
    this.log.info({ drive: name, requestedBy }, `backup of "${name}" requested by ${requestedBy}`);
    this.queue.add(name);
    if (this.current) return 'queued';
    this.runQueueSoon();
    return 'started';
  }

  /** Cancels the running job (its clean-up still runs); returns the drive it was for. */
  cancelJob(requestedBy: string): string {
    const job = this.current;
    if (!job) throw new RequestError('no backup is running');
    this.log.info({ drive: job.drive, requestedBy }, `backup of "${job.drive}" cancelled by ${requestedBy}`);
    job.controller.abort(new Error(`cancelled by ${requestedBy}`));
    return job.drive;
  }

  onEvent(listener: (event: DaemonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects to the system bus, cleans up after an earlier run, and starts watching; drives already plugged in are queued. */
  async start(): Promise<void> {
    this.dbus = await DbusConnection.system();
    this.dbus.bus.on('error', (error: unknown) => this.fatal(new Error(`lost the D-Bus system bus: ${errorText(error)}`)));
    this.systemd = await Systemd1.connect(this.dbus);
    await recoverLeftovers(this.config, this.systemd, this.log);
    this.led = await startLed(this.config.led, this.log.child({ component: 'led' }));
    this.startNotifier(this.config);
    this.watcher = new DriveWatcher(this.dbus, this.systemd, { added: (d) => this.driveAdded(d), removed: (d) => this.driveRemoved(d) }, this.log);
    await this.watcher.start(luksDrives(this.config));
    this.stopWatching = await watchForReload(this.options.configFile, (why) => void this.reload(why));
    this.api = await DaemonApi.start(this.dbus, this);
    const names = luksDrives(this.config).map((d) => d.name);
    this.log.info({ drives: names, config: this.options.configFile }, `plugback daemon ready, waiting for ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'drives (none is configured)'}`);
    this.ready = true;
    this.setState('idle');
    // Ready for systemd only now: the bus name is ours and the drives already plugged in are known.
    await notifySystemd({ READY: '1', STATUS: this.idleStatus() });
    this.runQueueSoon();
  }

  /** Stops cleanly: a running job is cancelled and its clean-up (unmount, close) finishes before this resolves. */
  async stop(why: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.setState('stopping');
    await notifySystemd({ STOPPING: '1' });
    if (this.current) {
      this.log.info({ drive: this.current.drive }, `${why}: cancelling the backup of "${this.current.drive}" and cleaning up`);
      this.current.controller.abort(new Error(`cancelled: the daemon is stopping (${why})`));
    }
    await this.pump;
    await this.stopWatching?.();
    this.watcher?.stop();
    await this.stopNotifier();
    await this.api?.stop();
    await this.led?.close();
    this.dbus?.close();
    this.log.info(`plugback daemon stopped (${why})`);
  }

  /** Reads the config file again; an invalid file is refused with its problems and the old config stays in force. */
  reload(why: string): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      if (this.stopping) return;
      let next: Config;
      try {
        next = await this.options.loadConfig(this.options.configFile);
      } catch (error) {
        this.log.error({ why }, `the config was not reloaded (${why}); the previous one stays in force until this is fixed:\n${(error as Error).message}`);
        return;
      }
      const ledChanged = JSON.stringify(next.led) !== JSON.stringify(this.config.led);
      this.config = next;
      await this.stopNotifier();
      this.startNotifier(next);
      await this.watcher?.setDrives(luksDrives(next));
      const running = this.current ? `; the backup of "${this.current.drive}" goes on with the config it started with` : '';
      this.log.info({ why, drives: next.drives.map((d) => d.name) }, `config reloaded (${why})${running}`);
      if (ledChanged) this.log.info('the new LED settings take effect when the daemon restarts');
    });
    return this.reloading;
  }

  private driveAdded(drive: LuksDrive): void {
    if (this.stopping || this.current?.drive === drive.name || this.queue.has(drive.name) || this.checking.has(drive.name)) return;
    this.checking.add(drive.name);
    void this.recentlyBackedUp(drive).then((reason) => {
      this.checking.delete(drive.name);
      if (this.stopping || !this.watcher?.find(drive.name)) return; // pulled out again meanwhile
      if (reason === undefined) this.enqueue(drive);
      else this.skip(drive, reason);
    });
  }

  /** Why the drive needs no backup now (its last good one is within daemon.minInterval), or undefined. */
  private async recentlyBackedUp(drive: LuksDrive): Promise<string | undefined> {
    const minInterval = this.config.daemon.minInterval;
    if (minInterval <= 0) return undefined;
    const ledger = await readLedger(this.config.stateDir).catch(() => undefined);
    const last = ledger?.[drive.name]?.lastSuccess;
    const ago = last ? Date.now() - Date.parse(last) : Number.POSITIVE_INFINITY;
    return ago < minInterval ? `backed up ${formatDuration(ago)} ago, within daemon.minInterval (${formatDuration(minInterval)})` : undefined;
  }

  private skip(drive: LuksDrive, reason: string): void {
    this.log.info({ drive: drive.name }, `drive "${drive.name}" was ${reason}: not backing it up again; it is safe to remove`);
    this.emit({ type: 'skipped', drive: drive.name, reason });
    if (!this.current) this.showResult('done');
  }

  private enqueue(drive: LuksDrive): void {
    if (!this.queue.add(drive.name)) return;
    if (this.current) {
      this.log.info({ drive: drive.name, behind: this.current.drive }, `drive "${drive.name}" is queued: it is backed up after "${this.current.drive}"`);
      this.emit({ type: 'queued', drive: drive.name, behind: this.current.drive });
      return;
    }
    this.ledResult = undefined;
    void this.led?.controller.set('detected');
    this.runQueueSoon();
  }

  private runQueueSoon(): void {
    if (!this.ready || this.stopping) return;
    this.pump ??= this.runQueue().finally(() => {
      this.pump = undefined;
      // A drive queued while the loop was winding down would otherwise wait for the next event.
      if (this.queue.list().length > 0) this.runQueueSoon();
    });
  }

  private driveRemoved(drive: LuksDrive): void {
    if (this.queue.remove(drive.name)) this.log.info({ drive: drive.name }, `drive "${drive.name}" was removed before its backup started`);
    const job = this.current;
    if (!job && this.ledResult === 'done') {
      // Green has done its job once the drive is gone; red stays until that drive's next plug.
      this.ledResult = undefined;
      this.showIdle();
    }
    if (job?.drive !== drive.name || job.removed) return;
    job.removed = true;
    job.controller.abort(new DriveRemoved());
    for (const notify of job.onRemoved) notify();
  }

  private async runQueue(): Promise<void> {
    for (let name = this.queue.next(); name !== undefined && !this.stopping; name = this.queue.next()) {
      const drive = this.config.drives.find((d) => d.name === name);
      const here = drive?.kind === 'directory' ? drive : this.watcher?.find(name)?.drive;
      if (!here) continue;
      await this.runJob(here).catch((error: unknown) => {
        this.log.error({ drive: name }, `the backup of "${name}" ended with an internal error: ${(error as Error).stack ?? String(error)}`);
      });
    }
    if (!this.stopping) {
      this.setState('idle');
      await notifySystemd({ STATUS: this.idleStatus() });
    }
  }

  private async runJob(drive: Drive): Promise<JobResult> {
    const { systemd, watcher } = this;
    if (!systemd || !watcher) throw new Error('the daemon is not started');
    // The job keeps the config it started with; a reload meanwhile applies to the next job.
    const config = this.config;
    const job: RunningJob = { drive: drive.name, controller: new AbortController(), removed: false, onRemoved: new Set(), status: { drive: drive.name } };
    this.current = job;
    this.setState('working');
    const led = this.led ? ledReporter(this.led.controller) : undefined;
    const notifier = this.notifier;
    // The job's own lines, for the failure mail: its log file on the drive is unmounted by the time mail is written.
    const capture = new LogCapture(this.options.sink);
    let facts: DriveFacts = {};
    await notifySystemd({ STATUS: `backing up "${drive.name}"` });
    await notifier?.jobStarted(drive.name);
    try {
      const result = await runBackupJob({
        config,
        drive,
        signal: job.controller.signal,
        console: capture.sink,
        logLevel: this.options.logLevel,
        onEvent: (event) => {
          led?.(event);
          if (event.type === 'step-started') job.status.step = event.step;
          if (event.type === 'progress') {
            job.status.progress = event.progress;
            this.progressStatus(drive.name, event.progress);
          }
          this.emit({ type: 'job', drive: drive.name, event });
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
        settleFailure: () => waitForRemoval(job, REMOVAL_SETTLE_MS),
      });
      // A directory target is still there to look at; a LUKS drive was read just before its unmount.
      if (drive.kind === 'directory') facts = await driveFacts(config, drive, result.logFile !== undefined);
      const pulled = job.removed || result.ending.cause === 'removed';
      this.ledResult = result.ending.led;
      await notifier?.jobFinished(drive.name, result, { logText: capture.text(), ...facts });
      if (result.ending.led === 'done' && !pulled) {
        this.log.info({ drive: drive.name, snapshot: result.snapshot }, `drive "${drive.name}" is done: safe to remove`);
      } else if (!pulled) {
        this.log.info({ drive: drive.name }, `drive "${drive.name}" was left unmounted and closed after the failure: safe to remove`);
      }
      return result;
    } finally {
      this.current = undefined;
    }
  }

  /** Mail, ledger, metrics and the reminder schedule for `config`; the overdue drives light the LED when it is idle. */
  private startNotifier(config: Config): void {
    this.notifier = new Notifier(config, this.log.child({ component: 'notify' }));
    this.stopOverdueWatch = this.notifier.onOverdueChange(() => this.showIdle());
    this.notifier.start();
  }

  private async stopNotifier(): Promise<void> {
    this.stopOverdueWatch?.();
    await this.notifier?.stop();
    this.notifier = undefined;
  }

  private showResult(state: 'done' | 'failed'): void {
    this.ledResult = state;
    void this.led?.controller.set(state);
  }

  /** With no job running and no result to show, the LED shows "overdue" when a drive is overdue, else nothing. */
  private showIdle(): void {
    if (this.current || this.queue.list().length > 0 || this.ledResult) return;
    void this.led?.controller.set(this.notifier?.overdueDrives().length ? 'overdue' : 'idle');
  }

  /** Logs what an API caller had done (the API has no logger of its own). */
  logRequest(drive: string, message: string): void {
    this.log.info({ drive }, message);
  }

  /** `systemctl status plugback` shows the copy's progress; every few seconds is enough for a human. */
  private progressStatus(drive: string, p: SyncProgress): void {
    if (Date.now() - this.lastStatusAt < 5000) return;
    this.lastStatusAt = Date.now();
    const eta = p.etaSeconds !== undefined ? `, ${formatDuration(p.etaSeconds * 1000)} left` : '';
    void notifySystemd({ STATUS: `${drive}: syncing ${Math.floor(p.percent)}%, ${formatBytes(p.rate)}/s${eta}` });
  }

  private setState(state: DaemonState): void {
    if (state === this.stateNow) return;
    this.stateNow = state;
    this.emit({ type: 'state', state });
  }

  private emit(event: DaemonEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private idleStatus(): string {
    return `waiting for drives (${luksDrives(this.config).map((d) => d.name).join(', ') || 'none configured'})`;
  }

  private fatal(error: Error): void {
    this.log.fatal(error.message);
    this.options.onFatal(error);
  }
}

/** The drives the daemon watches: LUKS drives. Directory targets are for `plugback run` and timers. */
function luksDrives(config: Config): LuksDrive[] {
  return config.drives.filter((d): d is LuksDrive => d.kind === 'luks');
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
