// Opening a LUKS drive for people (`plugback open`) and closing it again (`plugback close`), through systemd as a
// backup does: the crypttab line's systemd-cryptsetup unit unlocks it, the drive's .mount unit mounts it at its
// mountPoint, and plugback-remount-read-only@.service makes the file system read-only (unless --rw). So the open
// drive is where `snapshots`, `versions` and `restore` look for it, and systemd takes it down if it is pulled out.
// The CLI alone and the daemon both use this. A failed open leaves nothing mounted or unlocked that it opened.
import type { LuksDrive } from '../config/model.js';
import { closeStaleMapping, mountedAt, mountThroughSystemd, unmountThroughSystemd, type UnitJobs } from '../system/drive-mounts.js';
import { secretPathProblem } from '../system/file-perms.js';
import { journalHint } from '../system/unit-journal.js';
import { missingCrypttabLine } from '../units/crypttab.js';
import { cryptsetupUnit, systemdEscape } from '../units/escape.js';
import type { UdisksClient } from './udisks.js';
import type { OpenMode } from './open-record.js';

const UNLOCK_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const POWER_OFF_TIMEOUT_MS = 60_000;

/** Unlocks and mounts the drive at its mountPoint, read-only unless `mode` is "read-write". */
export async function openDrive(systemd: UnitJobs, drive: LuksDrive, mode: OpenMode): Promise<void> {
  const already = await mountedAt(drive.mountPoint);
  if (already) {
    throw new Error(`${already.source} is already mounted at ${drive.mountPoint}, the mount point of drive "${drive.name}": close it first ("plugback close ${drive.name}", or "umount ${drive.mountPoint}")`);
  }
  const unsafe = await secretPathProblem(drive.keyFile, `the key file of drive "${drive.name}"`);
  if (unsafe) throw new Error(unsafe);
  const crypt = cryptsetupUnit(drive.cryptName);
  const state = await systemd.unitState(crypt);
  if (state.loadState === 'not-found') {
    throw new Error(missingCrypttabLine(drive, crypt));
  }
  const unlockedHere = state.activeState !== 'active';
  if (unlockedHere) {
    const result = await systemd.startUnit(crypt, UNLOCK_TIMEOUT_MS);
    if (result !== 'done') throw new Error(`could not unlock drive "${drive.name}": ${crypt} ended "${result}" (is the key file ${drive.keyFile} the drive's key?)${await journalHint(crypt)}`);
  }
  try {
    await mountThroughSystemd(systemd, drive.name, drive.mountPoint);
    if (mode === 'read-only') await remountReadOnly(systemd, drive.mountPoint);
  } catch (error) {
    // Nothing half-open stays behind: unmount what this mounted, lock what this unlocked.
    if (await mountedAt(drive.mountPoint)) await unmountThroughSystemd(systemd, drive.mountPoint, { attempts: 1 }).catch(() => undefined);
    if (unlockedHere) await systemd.stopUnit(crypt, STOP_TIMEOUT_MS).catch(() => undefined);
    throw error;
  }
}

/** `mount -o remount,ro` through systemd (the sandboxed daemon may not mount), then checked in mountinfo. */
async function remountReadOnly(systemd: UnitJobs, mountPoint: string): Promise<void> {
  const unit = systemdEscape(mountPoint, { path: true, template: 'plugback-remount-read-only@.service' });
  if ((await systemd.unitState(unit)).loadState === 'not-found') {
    throw new Error(`systemd has no unit ${unit}, which makes an opened drive read-only: run "plugback install" (it writes plugback-remount-read-only@.service) and try again, or open it with --rw`);
  }
  const result = await systemd.startUnit(unit, STOP_TIMEOUT_MS);
  if (!(await mountedAt(mountPoint))?.readOnly) throw new Error(`could not make ${mountPoint} read-only (${unit} ended "${result}")${await journalHint(unit)}`);
}

/**
 * Unmounts (refused while something holds the mount, naming it), locks the LUKS container and powers the drive
 * off when udisks2 can; returns what it did, for the caller's message. Throws when the drive stays unlocked.
 */
export async function closeDrive(systemd: UnitJobs, drive: LuksDrive, udisks?: UdisksClient): Promise<string[]> {
  const done: string[] = [];
  if (await mountedAt(drive.mountPoint)) {
    await unmountThroughSystemd(systemd, drive.mountPoint, { attempts: 3 });
    done.push(`unmounted ${drive.mountPoint}`);
  }
  const crypt = cryptsetupUnit(drive.cryptName);
  const state = await systemd.unitState(crypt);
  if (state.activeState === 'active' || state.activeState === 'activating') {
    const result = await systemd.stopUnit(crypt, STOP_TIMEOUT_MS);
    if (result !== 'done') throw new Error(`could not lock drive "${drive.name}": stopping ${crypt} ended "${result}"; it is NOT safe to remove: run "systemctl stop '${crypt}'"`);
    done.push(`locked ${drive.cryptName}`);
  }
  if (await closeStaleMapping(systemd, drive.cryptName)) done.push(`closed the mapping ${drive.cryptName}`);
  const off = udisks ? await powerOff(udisks, drive) : undefined;
  if (off) done.push(off);
  return done;
}

/** Powers the drive off through udisks2 when it can; a drive that cannot be is only not powered off. */
async function powerOff(udisks: UdisksClient, drive: LuksDrive): Promise<string | undefined> {
  const block = udisks.blocks().find((b) => b.encrypted && b.uuid.toLowerCase() === drive.uuid.toLowerCase());
  const info = block && block.drive !== '/' ? udisks.driveInfo(block.drive) : undefined;
  if (!block || !info?.canPowerOff) return undefined;
  try {
    await udisks.powerOff(block.drive, POWER_OFF_TIMEOUT_MS);
    return `powered off ${info.name}`;
  } catch (error) {
    return `could not power off ${info.name} (${(error as Error).message}); it is unmounted and locked`;
  }
}

/** What to tell the user once closeDrive has returned what it did. */
export function closedMessage(name: string, done: string[]): string {
  return done.some((d) => d.startsWith('powered off')) ? `drive "${name}" is closed and powered off: safe to remove` : `drive "${name}" is closed: safe to remove`;
}
