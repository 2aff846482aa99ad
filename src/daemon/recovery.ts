// What an earlier daemon (killed, crashed, or the machine lost power) may have left behind, put right before
// anything new starts: a drive still mounted at plugback's mount point, and a LUKS mapping still open.
// Interrupted snapshots (`.incomplete`) stay on the drive: the next backup continues them.
// Only the drive's own mapping is touched: a mount at its mount point that is something else (the admin's, or a
// wrong mountPoint over a real disk), or one that is busy, is left alone and logged.
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config, LuksDrive } from '../config/model.js';
import { withRepository } from '../repo/repository.js';
import { mountAt, readMounts, type MountEntry } from '../system/mounts.js';
import { mapperPath } from '../system/dm-mapping.js';
import { closeStaleMapping, unmountThroughSystemd, type UnitJobs } from '../system/drive-mounts.js';
import { busyHolders } from '../system/mount-device.js';
import { cryptsetupUnit } from '../units/escape.js';

const STOP_TIMEOUT_MS = 60_000;

/** What recovery did per drive, in words for the crash report ("unmounted it from /mnt/a"). */
export type RecoveryReport = Map<string, string[]>;

export interface RecoveryOptions {
  /** The device of a drive's mapping; /dev/mapper/<cryptName>. Tests give another block device. */
  mappingOf?: (drive: LuksDrive) => string;
  /** Drives to leave as they are: those people opened (`plugback open`). */
  leave?: (name: string) => boolean;
}

export async function recoverLeftovers(
  config: Config,
  systemd: UnitJobs,
  log: Logger,
  options: RecoveryOptions = {},
): Promise<RecoveryReport> {
  const mappingOf = options.mappingOf ?? ((d: LuksDrive) => mapperPath(d.cryptName));
  const report: RecoveryReport = new Map();
  for (const drive of config.drives) {
    if (drive.kind !== 'luks') continue;
    const done: string[] = [];
    report.set(drive.name, done);
    if (options.leave?.(drive.name)) {
      log.info({ drive: drive.name }, `drive "${drive.name}" is open (plugback open): left mounted and unlocked`);
      continue;
    }
    try {
      const mapping = mappingOf(drive);
      if (await unmountLeftover(config, drive, mapping, systemd, log, done)) await closeLeftover(drive, mapping, systemd, log, done);
    } catch (error) {
      log.error({ drive: drive.name }, `could not clean up after an earlier run of drive "${drive.name}": ${(error as Error).message}`);
      done.push(`could not clean it up: ${(error as Error).message}`);
    }
  }
  return report;
}

/** Unmounts the drive's mapping from its mount point; returns whether the mapping is unmounted everywhere now. */
async function unmountLeftover(config: Config, drive: LuksDrive, mapping: string, systemd: UnitJobs, log: Logger, done: string[]): Promise<boolean> {
  const mounted = await mountAt(drive.mountPoint).catch(() => undefined);
  if (mounted && !(await isMappingMount(mounted, mapping))) {
    log.warn(
      { drive: drive.name, mountPoint: drive.mountPoint, source: mounted.source },
      `${mounted.source} (${mounted.fsType}) is mounted at ${drive.mountPoint}, the mount point of drive "${drive.name}", but it is not the drive's mapping ${mapping}; ` +
        `left as it is: unmount it yourself if it should not be there, or give the drive another mountPoint`,
    );
    done.push(`left ${mounted.source} mounted at ${drive.mountPoint}: it is not the drive's mapping`);
  } else if (mounted) {
    const listing = await withRepository(drive.mountPoint, config.host, (repo) => repo.list()).catch(() => undefined);
    for (const name of listing?.incomplete ?? []) {
      log.info({ drive: drive.name, snapshot: name }, `interrupted snapshot ${name} on drive "${drive.name}" is kept; the next backup continues it`);
    }
    try {
      // Never lazily at start: a busy mount is someone's work (a restore, a shell in it); it stays, and we say who.
      await unmountThroughSystemd(systemd, drive.mountPoint, { attempts: 3 });
    } catch (error) {
      log.warn(
        { drive: drive.name, mountPoint: drive.mountPoint },
        `drive "${drive.name}" is still mounted at ${drive.mountPoint} from an earlier run and left mounted: ${(error as Error).message}; ` +
          `its LUKS mapping stays open too. Stop those processes and run "umount ${drive.mountPoint}", or restart plugback once they are done`,
      );
      done.push(`could not unmount it from ${drive.mountPoint} (${(error as Error).message}), so it is still mounted and open`);
      return false;
    }
    log.warn({ drive: drive.name, mountPoint: drive.mountPoint }, `unmounted ${mounted.source} from ${drive.mountPoint}, left mounted by an earlier run`);
    done.push(`unmounted it from ${drive.mountPoint}`);
  }
  // The mapping may be mounted somewhere else too (by hand): then its unit must not be stopped under it.
  const elsewhere = await mappingMounts(mapping);
  if (elsewhere.length > 0) {
    const where = elsewhere.map((m) => m.mountPoint).join(', ');
    const holders = (await Promise.all(elsewhere.map((m) => busyHolders(m.mountPoint)))).flat();
    const who = holders.length ? ` (in use by ${holders.map((h) => `PID ${h.pid} (${h.command})`).join(', ')})` : '';
    log.warn({ drive: drive.name }, `the LUKS mapping ${mapping} of drive "${drive.name}" is mounted at ${where}${who}; it is left open. Unmount it to let plugback close it`);
    done.push(`left its LUKS mapping open: it is mounted at ${where}${who}`);
    return false;
  }
  return true;
}

/** Whether a mount's file system is on `device`: by device number (any path to it), or by name. */
async function isMappingMount(mount: MountEntry, device: string): Promise<boolean> {
  if (mount.source === device) return true;
  const st = await stat(device).catch(() => undefined);
  if (!st?.isBlockDevice()) return false;
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((Math.floor(st.rdev / 4096) & 0xfff00) >>> 0);
  return mount.device === `${major}:${minor}`;
}

async function mappingMounts(device: string): Promise<MountEntry[]> {
  const found: MountEntry[] = [];
  for (const m of await readMounts().catch(() => [] as MountEntry[])) if (await isMappingMount(m, device)) found.push(m);
  return found;
}

async function closeLeftover(drive: LuksDrive, mapping: string, systemd: UnitJobs, log: Logger, done: string[]): Promise<void> {
  const unit = cryptsetupUnit(drive.cryptName);
  const state = await systemd.unitState(unit);
  if (state.loadState !== 'not-found' && (state.activeState === 'active' || state.activeState === 'activating')) {
    const result = await systemd.stopUnit(unit, STOP_TIMEOUT_MS);
    if (result !== 'done') throw new Error(`stopping ${unit} ended "${result}"`);
    log.warn({ drive: drive.name, unit }, `closed the LUKS mapping ${drive.cryptName}, left open by an earlier run`);
    done.push(`closed its LUKS mapping ${drive.cryptName}`);
  }
  // A mapping whose disk was pulled out while busy outlives its (stopped) unit.
  if (mapping === mapperPath(drive.cryptName) && (await closeStaleMapping(systemd, drive.cryptName))) {
    log.warn({ drive: drive.name }, `closed the stale LUKS mapping ${drive.cryptName}, left behind when its drive was pulled out`);
    done.push(`closed its stale LUKS mapping ${drive.cryptName}`);
  }
}
