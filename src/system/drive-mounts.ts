// Mounting and unmounting a drive through systemd, never by plugback itself: the drive's .mount unit (written by
// `plugback install`) mounts it in the host's namespace, and the clean-up units detach a mount lazily or close a
// LUKS mapping that outlived its disk. So the sandboxed daemon needs no right to mount, and the mount is one
// systemd knows: visible to findmnt and systemctl, taken down when the drive is pulled out.
import { setTimeout as sleep } from 'node:timers/promises';
import { busyHolders } from './mount-device.js';
import { mountAt } from './mounts.js';
import { mappingExists } from './dm-mapping.js';
import type { Systemd1 } from './systemd1.js';
import { journalHint } from './unit-journal.js';
import { mountUnit, systemdEscape } from '../units/escape.js';

export type UnitJobs = Pick<Systemd1, 'startUnit' | 'stopUnit' | 'unitState'>;

const MOUNT_TIMEOUT_MS = 150_000;
const CLEAN_UP_TIMEOUT_MS = 60_000;

/** What is mounted at `mountPoint` now; undefined when nothing is, or the folder is not there (yet). */
export function mountedAt(mountPoint: string) {
  return mountAt(mountPoint).catch(() => undefined);
}

/** Starts the drive's mount unit and waits for it; throws with systemd's reason when it fails. */
export async function mountThroughSystemd(systemd: UnitJobs, drive: string, mountPoint: string): Promise<void> {
  const unit = mountUnit(mountPoint);
  const state = await systemd.unitState(unit);
  if (state.loadState === 'not-found') {
    throw new Error(`systemd has no unit ${unit}, which mounts drive "${drive}": run "plugback install" (it writes the drive's mount unit) and try again`);
  }
  const result = await systemd.startUnit(unit, MOUNT_TIMEOUT_MS);
  if (result !== 'done') throw new Error(`systemd could not mount drive "${drive}" at ${mountPoint} (${unit} ended "${result}")${await journalHint(unit)}`);
}

/**
 * Unmounts through the mount unit, trying `attempts` times while the mount stays (busy). When it stays, the
 * error names the processes that hold it (those this sandbox can see).
 */
export async function unmountThroughSystemd(systemd: UnitJobs, mountPoint: string, options: { attempts?: number; delayMs?: number } = {}): Promise<void> {
  const unit = mountUnit(mountPoint);
  const attempts = options.attempts ?? 5;
  let result = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    result = await systemd.stopUnit(unit, MOUNT_TIMEOUT_MS);
    if (!(await mountedAt(mountPoint))) return;
    if (attempt < attempts) await sleep(options.delayMs ?? 1000);
  }
  const holders = await busyHolders(mountPoint);
  const who = holders.length ? `; it is held by ${holders.map((h) => `PID ${h.pid} (${h.command})`).join(', ')}` : '';
  throw new Error(`could not unmount ${mountPoint}: stopping ${unit} ended "${result}" and it is still mounted${who}${await journalHint(unit)}`);
}

/** Detaches the mount at once, even while busy or with its device gone (`umount --lazy`, run by systemd). */
export async function detachThroughSystemd(systemd: UnitJobs, mountPoint: string): Promise<void> {
  if (!(await mountedAt(mountPoint))) return;
  const unit = systemdEscape(mountPoint, { path: true, template: 'plugback-unmount-lazily@.service' });
  const result = await systemd.startUnit(unit, CLEAN_UP_TIMEOUT_MS);
  if (result !== 'done' && (await mountedAt(mountPoint))) throw new Error(`could not detach ${mountPoint} (${unit} ended "${result}")${await journalHint(unit)}`);
}

/** Unmounts, or detaches lazily when that stays busy; returns why it had to detach, for a warning. */
export async function unmountOrDetach(systemd: UnitJobs, mountPoint: string, attempts = 3): Promise<string | undefined> {
  try {
    await unmountThroughSystemd(systemd, mountPoint, { attempts });
    return undefined;
  } catch (error) {
    await detachThroughSystemd(systemd, mountPoint);
    return `${(error as Error).message}; detached it lazily instead`;
  }
}

/**
 * Closes `/dev/mapper/<cryptName>` if it is still there after its cryptsetup unit stopped (the disk was pulled
 * out while mounted), retrying while a lazily detached mount still holds it. Returns whether there was one.
 */
export async function closeStaleMapping(systemd: UnitJobs, cryptName: string, options: { attempts?: number; delayMs?: number } = {}): Promise<boolean> {
  if (!(await mappingExists(cryptName))) return false;
  const unit = systemdEscape(cryptName, { template: 'plugback-close-mapping@.service' });
  const attempts = options.attempts ?? 10;
  let result = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    result = await systemd.startUnit(unit, CLEAN_UP_TIMEOUT_MS);
    if (result === 'done' || !(await mappingExists(cryptName))) return true;
    await sleep(options.delayMs ?? 1000);
  }
  throw new Error(
    `the LUKS mapping ${cryptName} is still open after its disk went away (${unit} ended "${result}"${await journalHint(unit)}); ` +
      `close it with "cryptsetup close ${cryptName}" once nothing uses it`,
  );
}

/**
 * Deletes the btrfs subvolume at `subvolume` (a snapshot set aside as <time>.deleting on a LUKS drive, whose
 * mount point only root can reach) through units/plugback-delete-subvolume@.service: the sandboxed daemon lacks
 * the CAP_SYS_ADMIN that takes. Whether it is gone is for the caller to look at.
 */
export async function deleteSubvolumeThroughSystemd(systemd: UnitJobs, subvolume: string): Promise<void> {
  const unit = systemdEscape(subvolume, { path: true, template: 'plugback-delete-subvolume@.service' });
  await systemd.startUnit(unit, CLEAN_UP_TIMEOUT_MS);
}
