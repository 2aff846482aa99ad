// Turns udisks2 objects (or, without udisks2, systemd device units) into "configured drive plugged in / pulled
// out" events. A drive is recognised only by the UUID of its LUKS container; every other disk is logged once
// and otherwise ignored.
import type { Logger } from 'pino';
import type { LuksDrive } from '../config/model.js';
import type { DbusConnection } from '../system/dbus.js';
import type { Systemd1 } from '../system/systemd1.js';
import { uuidDeviceUnit } from '../units/escape.js';
import { UdisksClient, type BlockInfo } from './udisks.js';

export interface DriveListener {
  added(drive: LuksDrive): void;
  removed(drive: LuksDrive): void;
}

/** Where a plugged-in drive is, for the steps that unlock, mount and power it off. */
export interface PresentDrive {
  drive: LuksDrive;
  /** The LUKS container's block object in udisks2 (absent in systemd-only mode). */
  block?: BlockInfo;
}

export class DriveWatcher {
  private drives: LuksDrive[] = [];
  private readonly present = new Map<string, PresentDrive>();
  private readonly ignored = new Set<string>();
  private unwatchUnits: (() => void)[] = [];
  private udisks: UdisksClient | undefined;
  private started = false;

  constructor(
    private readonly dbus: DbusConnection,
    private readonly systemd: Systemd1,
    private readonly listener: DriveListener,
    private readonly log: Logger,
  ) {}

  /** Starts watching; drives already plugged in are reported as added. */
  async start(drives: LuksDrive[]): Promise<void> {
    this.drives = drives;
    this.udisks = await UdisksClient.connect(this.dbus, {
      blockAdded: (block) => this.blockAdded(block),
      blockRemoved: (block) => this.blockRemoved(block),
      restarted: (error) => {
        if (error) this.log.warn(`udisks2 restarted, but its disks could not be read again (${error.message}); a drive plugged in while it was down is noticed when plugged in again`);
        else this.log.info('udisks2 restarted: read its disks again');
      },
    });
    if (this.udisks) {
      this.log.info('watching for drives through udisks2');
      for (const block of this.udisks.blocks()) this.blockAdded(block);
    } else {
      this.log.info('udisks2 is not available: watching the drives\' systemd device units instead (drives will not be powered off)');
      await this.watchDeviceUnits();
    }
    this.started = true;
  }

  /** The drives to recognise changed (config reload): new ones already plugged in are reported as added. */
  async setDrives(drives: LuksDrive[]): Promise<void> {
    const before = new Map(this.drives.map((d) => [d.name, d]));
    this.drives = drives;
    for (const [name, entry] of this.present) {
      const now = drives.find((d) => d.name === name);
      if (!now || now.uuid.toLowerCase() !== entry.drive.uuid.toLowerCase()) {
        this.present.delete(name);
      } else {
        entry.drive = now;
      }
    }
    if (this.udisks) {
      for (const block of this.udisks.blocks()) this.blockAdded(block, before);
    } else {
      await this.watchDeviceUnits();
    }
  }

  /** The drive, if it is plugged in now. */
  find(name: string): PresentDrive | undefined {
    return this.present.get(name);
  }

  get udisksClient(): UdisksClient | undefined {
    return this.udisks;
  }

  stop(): void {
    for (const unwatch of this.unwatchUnits) unwatch();
    this.unwatchUnits = [];
  }

  private configuredFor(uuid: string): LuksDrive | undefined {
    return this.drives.find((d) => d.uuid.toLowerCase() === uuid.toLowerCase());
  }

  private blockAdded(block: BlockInfo, previousDrives?: Map<string, LuksDrive>): void {
    if (block.cryptoBackingDevice !== '/') return; // an unlocked mapping, not a disk
    const drive = block.encrypted && block.uuid ? this.configuredFor(block.uuid) : undefined;
    if (!drive) {
      this.ignore(block);
      return;
    }
    if (this.present.has(drive.name)) return;
    this.present.set(drive.name, { drive, block });
    // After a reload, a drive that was configured and plugged before is not news.
    if (previousDrives?.get(drive.name)?.uuid.toLowerCase() === drive.uuid.toLowerCase()) return;
    this.log.info({ drive: drive.name, device: block.device }, `drive "${drive.name}" is plugged in (${block.device})`);
    this.listener.added(drive);
  }

  private blockRemoved(block: BlockInfo): void {
    for (const [name, entry] of this.present) {
      if (entry.block?.path !== block.path) continue;
      this.present.delete(name);
      this.log.info({ drive: name, device: block.device }, `drive "${name}" was removed`);
      this.listener.removed(entry.drive);
    }
    this.ignored.delete(block.path);
  }

  /** One info line per unknown disk plugged in while we run; disks present at start are the machine's own. */
  private ignore(block: BlockInfo): void {
    if (this.ignored.has(block.path) || !block.uuid || (block.idUsage !== 'crypto' && block.idUsage !== 'filesystem')) return;
    this.ignored.add(block.path);
    const what = `${block.device} (${block.idType || block.idUsage}, UUID ${block.uuid})`;
    if (this.started) this.log.info({ device: block.device, uuid: block.uuid }, `ignoring ${what}: not a drive in the config`);
    else this.log.debug({ device: block.device, uuid: block.uuid }, `not a configured drive: ${what}`);
  }

  /** Without udisks2: follow each configured drive's `dev-disk-by\x2duuid-….device` unit. */
  private async watchDeviceUnits(): Promise<void> {
    this.stop();
    for (const drive of this.drives) {
      const unit = uuidDeviceUnit(drive.uuid);
      const update = (activeState: string) => {
        const current = this.drives.find((d) => d.name === drive.name);
        if (!current) return;
        const plugged = activeState === 'active';
        if (plugged && !this.present.has(drive.name)) {
          this.present.set(drive.name, { drive: current });
          this.log.info({ drive: drive.name, unit }, `drive "${drive.name}" is plugged in (${unit} is active)`);
          this.listener.added(current);
        } else if (!plugged && this.present.has(drive.name)) {
          this.present.delete(drive.name);
          this.log.info({ drive: drive.name, unit }, `drive "${drive.name}" was removed`);
          this.listener.removed(current);
        }
      };
      // Watch before reading, so a plug in between is not lost.
      this.unwatchUnits.push(await this.systemd.watchActiveState(unit, update));
      update((await this.systemd.unitState(unit)).activeState);
    }
  }
}
