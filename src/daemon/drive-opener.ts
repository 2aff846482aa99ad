// The drives people opened (`plugback open`) while the daemon runs. The daemon opens and closes them through
// systemd (src/drives/open-drive.ts), keeps their record, and starts no backup on an open drive. An open request
// for a drive not plugged in waits for it: its next plug-in opens it instead of starting a backup.
import type { Logger } from 'pino';
import type { Config, LuksDrive } from '../config/model.js';
import type { PresentDrive } from '../drives/drive-watcher.js';
import { closedMessage, closeDrive, openDrive } from '../drives/open-drive.js';
import { openRecordOf, recordClosed, recordOpen, type OpenMode } from '../drives/open-record.js';
import type { UdisksClient } from '../drives/udisks.js';
import type { UnitJobs } from '../system/drive-mounts.js';
import { RequestError } from './request-error.js';

export interface DriveOpenerOptions {
  log: Logger;
  config(): Config;
  /** systemd1 and udisks2, once the daemon is connected. */
  devices(): { systemd: UnitJobs; udisks: UdisksClient | undefined } | undefined;
  find(name: string): PresentDrive | undefined;
  /** The drive being backed up now, if any. */
  running(): string | undefined;
  /** Takes the drive out of the backup queue; whether it was in it. */
  dequeue(name: string): boolean;
}

interface Waiter {
  mode: OpenMode;
  by: string;
  settle: (error: Error | undefined) => void;
}

export class DriveOpener {
  /** Open now (or being opened or closed): name → mode. */
  private readonly open = new Map<string, OpenMode>();
  private readonly waiting = new Map<string, Waiter>();

  constructor(private readonly options: DriveOpenerOptions) {}

  /** At start: the drives the record says are open and whose mapping is there (opened by an earlier daemon or the CLI). */
  async load(): Promise<void> {
    const { systemd } = this.connected();
    for (const drive of this.options.config().drives) {
      if (drive.kind !== 'luks') continue;
      const record = await openRecordOf(this.options.config().stateDir, drive, systemd).catch(() => undefined);
      if (record) {
        this.open.set(drive.name, record.mode);
        this.options.log.info({ drive: drive.name }, `drive "${drive.name}" is open (${record.mode}, by ${record.by}): no backup starts on it until "plugback close ${drive.name}"`);
      }
    }
  }

  /** Whether no backup may start on the drive: it is open, or an open waits for it. */
  holds(name: string): boolean {
    return this.open.has(name) || this.waiting.has(name);
  }

  mode(name: string): OpenMode | undefined {
    return this.open.get(name);
  }

  /** Opens the drive; when it is not plugged in, waits up to `waitMs` for its plug-in. Resolves with its mount point. */
  async request(name: string, mode: OpenMode, waitMs: number, by: string): Promise<string> {
    const drive = this.luksDrive(name);
    if (this.options.running() === name) throw new RequestError(`drive "${name}" is being backed up right now: open it once the backup has ended, or cancel it ("plugback cancel")`);
    if (this.open.has(name)) throw new RequestError(`drive "${name}" is already open (${this.open.get(name)}) at ${drive.mountPoint}: "plugback close ${name}" closes it`);
    if (this.waiting.has(name)) throw new RequestError(`an open of drive "${name}" is already waiting for it to be plugged in`);
    if (this.options.dequeue(name)) this.options.log.info({ drive: name }, `the queued backup of "${name}" is dropped: ${by} opens it`);
    if (!this.options.find(name)) await this.waitForPlugIn(drive, mode, waitMs, by);
    else await this.openNow(drive, mode, by);
    return drive.mountPoint;
  }

  /** A plug-in: whether an open waited for this drive (then it is opened, and no backup starts). */
  claimPlugIn(drive: LuksDrive): boolean {
    const waiter = this.waiting.get(drive.name);
    if (!waiter) return this.open.has(drive.name);
    this.waiting.delete(drive.name);
    void this.openNow(drive, waiter.mode, waiter.by).then(() => waiter.settle(undefined), (error: Error) => waiter.settle(error));
    return true;
  }

  /** The drive was pulled out: systemd took its mount and mapping down (BindsTo=); it is not open any more. */
  driveRemoved(drive: LuksDrive): void {
    if (!this.open.delete(drive.name)) return;
    this.options.log.warn({ drive: drive.name }, `drive "${drive.name}" was pulled out while open; systemd unmounted and locked it`);
    void recordClosed(this.options.config().stateDir, drive.name).catch(() => undefined);
  }

  async close(name: string, by: string): Promise<string> {
    const drive = this.luksDrive(name);
    const waiter = this.waiting.get(name);
    if (waiter) {
      this.waiting.delete(name);
      waiter.settle(new RequestError(`the open of drive "${name}" was called off by ${by} ("plugback close")`));
      return `drive "${name}" was not plugged in yet; its open is called off`;
    }
    if (!this.open.has(name)) throw new RequestError(`drive "${name}" is not open`);
    const devices = this.connected();
    const done = await closeDrive(devices.systemd, drive, devices.udisks).catch((error: Error) => {
      throw new RequestError(`could not close drive "${name}": ${error.message}`);
    });
    this.open.delete(name);
    await recordClosed(this.options.config().stateDir, name);
    this.options.log.info({ drive: name, requestedBy: by }, `drive "${name}" closed by ${by} (${done.join(', ') || 'it was not mounted'}): safe to remove`);
    return closedMessage(name, done);
  }

  /** Ends every wait (the daemon stops); open drives stay open, their record says so to the next daemon. */
  stop(): void {
    for (const [name, waiter] of this.waiting) waiter.settle(new RequestError(`the daemon stopped before drive "${name}" was plugged in`));
    this.waiting.clear();
  }

  private async openNow(drive: LuksDrive, mode: OpenMode, by: string): Promise<void> {
    this.open.set(drive.name, mode);
    try {
      await openDrive(this.connected().systemd, drive, mode);
      await recordOpen(this.options.config().stateDir, drive.name, mode, by);
    } catch (error) {
      this.open.delete(drive.name);
      throw new RequestError(`could not open drive "${drive.name}": ${(error as Error).message}`);
    }
    this.options.log.info({ drive: drive.name, requestedBy: by }, `drive "${drive.name}" opened ${mode} at ${drive.mountPoint} by ${by}: no backup starts on it until "plugback close ${drive.name}"`);
  }

  private waitForPlugIn(drive: LuksDrive, mode: OpenMode, waitMs: number, by: string): Promise<void> {
    if (waitMs <= 0) return Promise.reject(new RequestError(`drive "${drive.name}" is not plugged in`));
    this.options.log.info({ drive: drive.name, requestedBy: by }, `${by} opens drive "${drive.name}" when it is plugged in (waiting up to ${Math.round(waitMs / 1000)}s); that plug-in starts no backup`);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiting.get(drive.name)?.settle !== settle) return;
        this.waiting.delete(drive.name);
        reject(new RequestError(`drive "${drive.name}" was not plugged in within ${Math.round(waitMs / 1000)}s; nothing was opened`));
      }, waitMs);
      const settle = (error: Error | undefined) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      this.waiting.set(drive.name, { mode, by, settle });
    });
  }

  private luksDrive(name: string): LuksDrive {
    const config = this.options.config();
    const drive = config.drives.find((d) => d.name === name);
    if (!drive) throw new RequestError(`there is no drive "${name}" in ${config.file} (drives: ${config.drives.map((d) => d.name).join(', ') || 'none'})`);
    if (drive.kind !== 'luks') throw new RequestError(`drive "${name}" is a directory target: it is always at ${drive.path}, there is nothing to open`);
    return drive;
  }

  private connected(): { systemd: UnitJobs; udisks: UdisksClient | undefined } {
    const devices = this.options.devices();
    if (!devices) throw new RequestError('the daemon is not started');
    return devices;
  }
}
