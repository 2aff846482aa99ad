// Which drive is backed up next: drives plugged in (unless backed up within daemon.minInterval), drives asked for
// through the API, first come first served, one job at a time, and drives pulled out before their turn.
import type { Logger } from 'pino';
import type { DriveStatus } from '../api/daemon-port.js';
import type { Config, Drive, LuksDrive } from '../config/model.js';
import { formatDuration } from '../config/units.js';
import type { PresentDrive } from '../drives/drive-watcher.js';
import { readLedger } from '../notify/notifier.js';
import type { DaemonEvents } from './daemon-events.js';
import type { DriveOpener } from './drive-opener.js';
import type { JobRunner } from './job-runner.js';
import type { LedSubscriber } from './led-subscriber.js';
import { DriveQueue } from './queue.js';
import { RequestError } from './request-error.js';

export interface IntakeOptions {
  configFile: string;
  log: Logger;
  events: DaemonEvents;
  runner: JobRunner;
  config(): Config;
  /** The LUKS drive, if it is plugged in now. */
  find(name: string): PresentDrive | undefined;
  led: LedSubscriber;
  /** The drives people opened: no backup starts on those. */
  opener: Pick<DriveOpener, 'holds' | 'claimPlugIn' | 'mode'>;
  /** The queue ran dry (and the daemon is not stopping). */
  idle(): Promise<void>;
}

export class Intake {
  private readonly queue = new DriveQueue();
  /** Drives just plugged in whose last backup is being looked up (daemon.minInterval). */
  private readonly checking = new Set<string>();
  private pump: Promise<void> | undefined;
  /** Drives found during start-up wait in the queue until the daemon is ready. */
  private ready = false;
  private stoppingNow = false;

  constructor(private readonly options: IntakeOptions) {}

  get stopping(): boolean {
    return this.stoppingNow;
  }

  has(name: string): boolean {
    return this.queue.has(name);
  }

  /** Nothing waits and nothing runs. */
  get empty(): boolean {
    return this.queue.list().length === 0 && this.options.runner.running === undefined;
  }

  /** Every configured drive with what the daemon knows of it now (the ledger has its history). */
  driveStatus(overdueDrives: string[]): DriveStatus[] {
    const overdue = new Set(overdueDrives);
    return this.options.config().drives.map((d) => ({
      name: d.name,
      kind: d.kind,
      present: d.kind === 'directory' || this.options.find(d.name) !== undefined,
      queued: this.queue.has(d.name),
      overdue: overdue.has(d.name),
      open: this.options.opener.mode(d.name),
    }));
  }

  /** The daemon is ready: jobs may start (runSoon starts what was found during start-up). */
  open(): void {
    this.ready = true;
  }

  /** No new job starts from now on. */
  close(): void {
    this.stoppingNow = true;
  }

  /** Resolves when the running job (cancelled by the caller) has ended. */
  async drained(): Promise<void> {
    await this.pump;
  }

  /** See DaemonControl.requestBackup: whatever daemon.minInterval says. */
  request(name: string, requestedBy: string): 'started' | 'queued' {
    const config = this.options.config();
    const drive = config.drives.find((d) => d.name === name);
    if (!drive) throw new RequestError(`there is no drive "${name}" in ${this.options.configFile} (drives: ${config.drives.map((d) => d.name).join(', ') || 'none'})`);
    if (this.stoppingNow) throw new RequestError('the daemon is stopping');
    if (drive.kind === 'luks' && !this.options.find(name)) throw new RequestError(`drive "${name}" is not plugged in`);
    if (this.options.runner.running === name) throw new RequestError(`drive "${name}" is being backed up right now`);
    if (this.options.opener.holds(name)) throw new RequestError(`drive "${name}" is open (plugback open): no backup starts on it until "plugback close ${name}"`);
    if (this.queue.has(name)) return 'queued';
    this.options.log.info({ drive: name, requestedBy }, `backup of "${name}" requested by ${requestedBy}`);
    this.queue.add(name);
    if (this.options.runner.running !== undefined) return 'queued';
    this.runSoon();
    return 'started';
  }

  /** Takes the drive out of the queue (it is being opened); whether it was in it. */
  dequeue(name: string): boolean {
    return this.queue.remove(name);
  }

  driveAdded(drive: LuksDrive): void {
    if (this.options.opener.claimPlugIn(drive)) {
      this.options.log.info({ drive: drive.name }, `drive "${drive.name}" is opened for plugback open: no backup starts on it until "plugback close ${drive.name}"`);
      return;
    }
    if (this.stoppingNow || this.options.runner.running === drive.name || this.queue.has(drive.name) || this.checking.has(drive.name)) return;
    this.checking.add(drive.name);
    void recentlyBackedUp(this.options.config(), drive).then((reason) => {
      this.checking.delete(drive.name);
      if (this.stoppingNow || !this.options.find(drive.name)) return; // pulled out again meanwhile
      if (reason === undefined) this.enqueue(drive);
      else this.skip(drive, reason);
    });
  }

  driveRemoved(drive: LuksDrive): void {
    if (this.queue.remove(drive.name)) this.options.log.info({ drive: drive.name }, `drive "${drive.name}" was removed before its backup started`);
    if (this.options.runner.running === undefined) this.options.led.driveTaken();
    this.options.runner.driveRemoved(drive.name);
  }

  private skip(drive: LuksDrive, reason: string): void {
    this.options.log.info({ drive: drive.name }, `drive "${drive.name}" was ${reason}: not backing it up again; it is safe to remove`);
    this.options.events.emit({ type: 'skipped', drive: drive.name, reason });
    if (this.options.runner.running === undefined) this.options.led.showResult('done');
  }

  private enqueue(drive: LuksDrive): void {
    if (!this.queue.add(drive.name)) return;
    const behind = this.options.runner.running;
    if (behind !== undefined) {
      this.options.log.info({ drive: drive.name, behind }, `drive "${drive.name}" is queued: it is backed up after "${behind}"`);
      this.options.events.emit({ type: 'queued', drive: drive.name, behind });
      return;
    }
    this.options.led.detected();
    this.runSoon();
  }

  runSoon(): void {
    if (!this.ready || this.stoppingNow) return;
    this.pump ??= this.runQueue().finally(() => {
      this.pump = undefined;
      // A drive queued while the loop was winding down would otherwise wait for the next event.
      if (this.queue.list().length > 0) this.runSoon();
    });
  }

  private async runQueue(): Promise<void> {
    for (let name = this.queue.next(); name !== undefined && !this.stoppingNow; name = this.queue.next()) {
      const drive = this.options.config().drives.find((d) => d.name === name);
      const here: Drive | undefined = drive?.kind === 'directory' ? drive : this.options.find(name)?.drive;
      if (!here || this.options.opener.holds(name)) continue;
      // The job keeps the config it started with; a reload meanwhile applies to the next job.
      await this.options.runner.run(here, this.options.config()).catch((error: unknown) => {
        this.options.log.error({ drive: name }, `the backup of "${name}" ended with an internal error: ${(error as Error).stack ?? String(error)}`);
      });
    }
    if (!this.stoppingNow) {
      this.options.events.setState('idle');
      await this.options.idle();
    }
  }
}

/** Why the drive needs no backup now (its last good one is within daemon.minInterval), or undefined. */
export async function recentlyBackedUp(config: Config, drive: Drive): Promise<string | undefined> {
  const minInterval = config.daemon.minInterval;
  if (minInterval <= 0) return undefined;
  const ledger = await readLedger(config.stateDir).catch(() => undefined);
  const last = ledger?.[drive.name]?.lastSuccess;
  const ago = last ? Date.now() - Date.parse(last) : Number.POSITIVE_INFINITY;
  return ago < minInterval ? `backed up ${formatDuration(ago)} ago, within daemon.minInterval (${formatDuration(minInterval)})` : undefined;
}

/** The drives the daemon watches: LUKS drives. Directory targets are for `plugback run` and timers. */
export function luksDrives(config: Config): LuksDrive[] {
  return config.drives.filter((d): d is LuksDrive => d.kind === 'luks');
}
