// Whether a drive's block device is still there, by the kernel's and systemd's view rather than udisks2's: the
// kernel drops /sys/dev/block/<major>:<minor> the moment the disk goes, and systemd's device unit follows udev
// within milliseconds, while udisks2's InterfacesRemoved can come a second later. A job that fails, or is about to
// put the drive away, asks this so that the same pull gives the same answer whichever signal comes first.
import { access, stat } from 'node:fs/promises';
import type { Systemd1 } from '../system/systemd1.js';
import { uuidDeviceUnit } from '../units/escape.js';

/** What was seen of the device while it was there: only a view that saw it can later say it is gone. */
export interface DeviceSighting {
  /** /sys/dev/block/<major>:<minor> of the LUKS container's block device, when its node could be found. */
  sysfs?: string;
  /** The device unit (dev-disk-by\x2duuid-….device), when systemd had it active. */
  unit?: string;
}

export interface DevicePresence {
  /** True once the kernel or systemd no longer has the device that was there when the job began. */
  gone(): Promise<boolean>;
}

/**
 * Looks at the device now (at the start of a job), by its /dev/disk/by-uuid link (what udev made for the LUKS
 * container) or the node udisks2 named, and at its systemd device unit.
 */
export async function sightDevice(uuid: string, nodes: (string | undefined)[], systemd: Pick<Systemd1, 'unitState'> | undefined): Promise<DeviceSighting> {
  const sighting: DeviceSighting = {};
  for (const node of [`/dev/disk/by-uuid/${uuid}`, ...nodes]) {
    if (!node) continue;
    const st = await stat(node).catch(() => undefined);
    if (!st?.isBlockDevice()) continue;
    const sysfs = `/sys/dev/block/${major(st.rdev)}:${minor(st.rdev)}`;
    if (await exists(sysfs)) {
      sighting.sysfs = sysfs;
      break;
    }
  }
  const unit = uuidDeviceUnit(uuid);
  const state = await systemd?.unitState(unit).catch(() => undefined);
  if (state?.activeState === 'active') sighting.unit = unit;
  return sighting;
}

/** The presence check for what was sighted: gone when the kernel's entry or systemd's active device unit is. */
export function devicePresence(sighting: DeviceSighting, systemd: Pick<Systemd1, 'unitState'> | undefined): DevicePresence {
  return {
    async gone() {
      if (sighting.sysfs && !(await exists(sighting.sysfs))) return true;
      if (sighting.unit && systemd) {
        const state = await systemd.unitState(sighting.unit).catch(() => undefined);
        // An answer that does not come says nothing; only systemd saying "not active" counts.
        if (state && state.activeState !== 'active' && state.activeState !== 'reloading') return true;
      }
      return false;
    },
  };
}

// Linux's dev_t encoding (glibc's gnu_dev_major/minor): 12 bits of major, 20 of minor, split across the word.
export function major(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}

export function minor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * After a step failed: waits for `news` (udisks2's removal signal, or the caller's time limit) while looking at
 * the device every 100 ms; true as soon as the device is seen gone, or when it is gone once the news is in.
 */
export async function settleRemoval(presence: DevicePresence, news: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void news.finally(() => (settled = true));
  while (!settled) {
    if (await presence.gone()) return true;
    await Promise.race([news, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  return presence.gone();
}
