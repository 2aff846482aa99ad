// The daemon's steps around a backup: unlock and mount before, unmount, close-luks and power-off after.
// Unlocking and mounting go through systemd (`systemd-cryptsetup@<name>.service`, made from the crypttab line,
// and the drive's .mount unit), so the mapping and the mount are units systemd knows about and stops by itself
// when the disk is pulled out (BindsTo=), and the sandboxed daemon needs no right to mount.
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { LuksDrive } from '../../config/model.js';
import type { UdisksClient } from '../../drives/udisks.js';
import type { PresentDrive } from '../../drives/drive-watcher.js';
import { devicePresence, sightDevice, type DevicePresence } from '../../drives/device-presence.js';
import { closeStaleMapping, detachThroughSystemd, mountedAt, mountThroughSystemd, unmountOrDetach, unmountThroughSystemd } from '../../system/drive-mounts.js';
import { secretPathProblem } from '../../system/file-perms.js';
import { fsTypeOf, preenExt } from '../../system/mount-device.js';
import type { JobResultName, Systemd1 } from '../../system/systemd1.js';
import { journalHint } from '../../system/unit-journal.js';
import { missingCrypttabLine } from '../../units/crypttab.js';
import { cryptsetupUnit } from '../../units/escape.js';
import type { BackupContext } from '../context.js';
import { DriveRemoved, type Step } from '../runner.js';

export interface DeviceAccess {
  systemd: Systemd1;
  /** Absent when udisks2 is not on the system: then the drive is not powered off. */
  udisks: UdisksClient | undefined;
  /** Where the drive is now; undefined once it has been pulled out. */
  present(): PresentDrive | undefined;
  timeouts?: Partial<DeviceTimeouts>;
  /** Runs just before the drive is unmounted (after the backup, or in the clean-up after a failure), while it can still be read. */
  beforeUnmount?: (ctx: BackupContext) => Promise<void>;
}

export interface DeviceTimeouts {
  unlockMs: number;
  cleartextMs: number;
  lockMs: number;
  powerOffMs: number;
}

const DEFAULT_TIMEOUTS: DeviceTimeouts = { unlockMs: 120_000, cleartextMs: 30_000, lockMs: 60_000, powerOffMs: 60_000 };

export interface DeviceSteps {
  before: Step<BackupContext>[];
  after: Step<BackupContext>[];
  /** Whether the kernel or systemd no longer has the drive's device (seen at unlock); false before that. */
  presence: DevicePresence;
}

/** The device steps for one job on a LUKS drive; they share what they find (the cleartext device) through a closure. */
export function deviceSteps(access_: DeviceAccess): DeviceSteps {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...access_.timeouts };
  let cleartext: string | undefined;
  let seen: DevicePresence | undefined;
  const presence: DevicePresence = { gone: async () => (seen ? seen.gone() : false) };
  /** Pulled out: udisks2 said so (the job's signal), or the kernel or systemd lost the device. */
  const removed = async (ctx: BackupContext) => ctx.signal.reason instanceof DriveRemoved || !access_.present() || (await presence.gone());

  const luks = (ctx: BackupContext): LuksDrive => {
    if (ctx.drive.kind !== 'luks') throw new Error(`drive "${ctx.drive.name}" is a directory target; it has no device to unlock`);
    return ctx.drive;
  };

  const closeMapping = async (ctx: BackupContext) => {
    const drive = luks(ctx);
    const unit = cryptsetupUnit(drive.cryptName);
    const result = await access_.systemd.stopUnit(unit, timeouts.lockMs);
    if (result !== 'done') {
      throw new Error(`could not close the LUKS mapping ${drive.cryptName} (stopping ${unit} ended "${result}"); the drive is NOT safe to remove: run "systemctl stop '${unit}'"`);
    }
    if (await closeStaleMapping(access_.systemd, drive.cryptName)) {
      ctx.log.warn({ unit }, `closed the LUKS mapping ${drive.cryptName} with cryptsetup: systemd could not while the pulled-out drive was still mounted`);
    } else {
      ctx.log.info({ unit }, `closed the LUKS mapping ${drive.cryptName}`);
    }
  };

  const unlock: Step<BackupContext> = {
    name: 'unlock',
    async run(ctx) {
      const drive = luks(ctx);
      const unit = cryptsetupUnit(drive.cryptName);
      seen = devicePresence(await sightDevice(drive.uuid, [access_.present()?.block?.device], access_.systemd), access_.systemd);
      await access(drive.keyFile, constants.R_OK).catch(() => {
        throw new Error(
          `the key file ${drive.keyFile} of drive "${drive.name}" is missing or unreadable: put the drive's key there (owned by root, mode 600), or set drives.${drive.name}.keyFile in ${ctx.config.file}`,
        );
      });
      const unsafe = await secretPathProblem(drive.keyFile, `the key file of drive "${drive.name}"`);
      if (unsafe) throw new Error(unsafe);
      const state = await access_.systemd.unitState(unit);
      if (state.loadState === 'not-found') {
        throw new Error(missingCrypttabLine(drive, unit));
      }
      if (state.activeState === 'active') {
        ctx.log.info({ unit }, `the LUKS mapping ${drive.cryptName} is already open`);
      } else {
        ctx.log.info({ unit }, `unlocking drive "${drive.name}" through ${unit}`);
        const result = await access_.systemd.startUnit(unit, timeouts.unlockMs);
        if (result !== 'done') throw new Error(await unlockFailure(drive, unit, result));
      }
      cleartext = await findCleartext(drive, access_, timeouts.cleartextMs);
    },
    undo: closeMapping,
  };

  const mount: Step<BackupContext> = {
    name: 'mount',
    async run(ctx) {
      const drive = luks(ctx);
      const device = cleartext ?? `/dev/mapper/${drive.cryptName}`;
      const already = await mountedAt(drive.mountPoint);
      if (already) {
        throw new Error(`${already.source} is already mounted at ${drive.mountPoint}; plugback mounts only onto an empty mount point. Unmount it ("umount ${drive.mountPoint}") and plug the drive in again`);
      }
      const fsType = await fsTypeOf(device);
      if (fsType && /^ext[234]$/.test(fsType)) {
        const preen = await preenExt(device, ctx.signal);
        if (preen.repaired) ctx.warn(`e2fsck repaired the file system of drive "${drive.name}": ${preen.output.split('\n').slice(-3).join(' / ')}`);
      }
      await mountThroughSystemd(access_.systemd, drive.name, drive.mountPoint);
      ctx.log.info({ device, mountPoint: drive.mountPoint, fsType }, `mounted ${device} at ${drive.mountPoint}`);
    },
    async undo(ctx) {
      const drive = luks(ctx);
      const gone = await removed(ctx);
      if (!gone) await access_.beforeUnmount?.(ctx);
      // The run log lives on the drive: let go of it first, or the unmount is busy because of us.
      ctx.runLog.detachFile();
      if (gone) {
        await detachThroughSystemd(access_.systemd, drive.mountPoint);
        ctx.log.warn({ mountPoint: drive.mountPoint }, `detached ${drive.mountPoint} (the drive is gone)`);
        return;
      }
      const detached = await unmountOrDetach(access_.systemd, drive.mountPoint);
      if (detached) ctx.log.warn({ mountPoint: drive.mountPoint }, detached);
    },
  };

  const unmountStep: Step<BackupContext> = {
    name: 'unmount',
    closes: 'mount',
    async run(ctx) {
      const drive = luks(ctx);
      // A drive already pulled out is not unmounted "cleanly": say so, whether or not udisks2 has told us yet.
      if (await removed(ctx)) throw new Error(`drive "${drive.name}" was removed before it was unmounted`);
      await access_.beforeUnmount?.(ctx);
      ctx.runLog.detachFile();
      await unmountThroughSystemd(access_.systemd, drive.mountPoint);
      ctx.log.info({ mountPoint: drive.mountPoint }, `unmounted ${drive.mountPoint}`);
    },
  };

  const closeLuks: Step<BackupContext> = { name: 'close-luks', closes: 'unlock', run: closeMapping };

  const powerOff: Step<BackupContext> = {
    name: 'power-off',
    async run(ctx) {
      if (await removed(ctx)) throw new Error(`drive "${ctx.drive.name}" was removed before it was powered off`);
      const where = access_.present();
      const drivePath = where?.block?.drive;
      const info = drivePath && drivePath !== '/' ? access_.udisks?.driveInfo(drivePath) : undefined;
      if (!access_.udisks || !drivePath || !info) {
        ctx.log.info('the drive is unmounted and closed; it cannot be powered off from here (no udisks2 drive object)');
        return;
      }
      if (!info.canPowerOff) {
        ctx.log.info(`${info.name} cannot be powered off by software; it is unmounted and closed`);
        return;
      }
      try {
        await access_.udisks.powerOff(drivePath, timeouts.powerOffMs);
        ctx.log.info({ drive: drivePath }, `powered off ${info.name}`);
      } catch (error) {
        // Pulled out meanwhile: the same answer as a pull just before this step (the runner names the removal).
        if (await removed(ctx)) throw new Error(`drive "${ctx.drive.name}" was removed before it was powered off: ${(error as Error).message}`);
        // The data is safe once unmounted and closed; a drive that stays powered is only a warning.
        ctx.warn(`could not power off ${info.name}: ${(error as Error).message}; it is unmounted and closed, so it is safe to remove`);
      }
    },
  };

  return { before: [unlock, mount], after: [unmountStep, closeLuks, powerOff], presence };
}

/** The cleartext device udisks2 announces for the unlocked container, or /dev/mapper/<name> without udisks2. */
async function findCleartext(drive: LuksDrive, access_: DeviceAccess, timeoutMs: number): Promise<string> {
  const block = access_.present()?.block;
  if (!access_.udisks || !block) return `/dev/mapper/${drive.cryptName}`;
  const clear = await access_.udisks.cleartextOf(block.path, timeoutMs);
  if (!clear) throw new Error(`the LUKS container of drive "${drive.name}" was unlocked, but udisks2 announced no cleartext device within ${Math.round(timeoutMs / 1000)}s`);
  return clear.device;
}

/** What went wrong with an unlock, and what to do about it. */
async function unlockFailure(drive: LuksDrive, unit: string, result: JobResultName): Promise<string> {
  const seeJournal = await journalHint(unit);
  switch (result) {
    case 'failed':
      return (
        `systemd-cryptsetup could not open drive "${drive.name}" with the key file ${drive.keyFile}. ` +
        `If the key file is there, it is probably not a key of this container: check with "cryptsetup open --test-passphrase --key-file ${drive.keyFile} /dev/disk/by-uuid/${drive.uuid}"${seeJournal}`
      );
    case 'timeout':
      return `unlocking drive "${drive.name}" timed out: /dev/disk/by-uuid/${drive.uuid} did not appear in time or the key derivation took too long${seeJournal}`;
    case 'dependency':
      return `the device of drive "${drive.name}" (/dev/disk/by-uuid/${drive.uuid}) is not there any more: was it unplugged?`;
    default:
      return `unlocking drive "${drive.name}" through ${unit} ended "${result}" instead of "done"${seeJournal}`;
  }
}
