// The whole disk under a drive, for SMART: a disk's health is read from the disk (/dev/sdb), not from a partition
// (/dev/sdb1) or a LUKS mapping. sysfs knows which is which: /sys/dev/block/<major>:<minor> points at the device's
// folder, and a partition's folder holds a `partition` file and sits in its disk's folder.
import { access, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Drive } from '../config/model.js';
import { major, minor } from '../drives/device-presence.js';
import { mountOf } from './mounts.js';

export type BackingDisk = { disk: string } | { skip: string };

/** The disk a drive's data is on: a LUKS drive's container, or the block device under a directory target's file system. */
export async function backingDiskOf(drive: Drive): Promise<BackingDisk> {
  if (drive.kind === 'luks') {
    const node = `/dev/disk/by-uuid/${drive.uuid}`;
    const device = await realpath(node).catch(() => undefined);
    if (!device) return { skip: `${node} is not there, so the disk under drive "${drive.name}" is unknown` };
    return diskOfDevice(device);
  }
  const mount = await mountOf(drive.path).catch(() => undefined);
  if (!mount) return { skip: `cannot tell which file system holds ${drive.path}` };
  const [major] = mount.device.split(':');
  // Major 0 is a file system with no device of its own (tmpfs, overlay, NFS) or btrfs' anonymous one: try its source.
  if (major !== '0') return diskOfSysfs(`/sys/dev/block/${mount.device}`, `${mount.source} (${mount.device})`);
  if (mount.source.startsWith('/dev/')) return diskOfDevice(mount.source);
  return { skip: `${drive.path} is on ${mount.fsType} (${mount.source}), not on a disk` };
}

/** The disk that block device node `device` (/dev/sdb1, /dev/sdb, /dev/loop0p1) is, or is a partition of. */
export async function diskOfDevice(device: string): Promise<BackingDisk> {
  const st = await stat(device).catch(() => undefined);
  if (!st?.isBlockDevice()) return { skip: `${device} is not a block device` };
  return diskOfSysfs(`/sys/dev/block/${major(st.rdev)}:${minor(st.rdev)}`, device);
}

async function diskOfSysfs(link: string, what: string): Promise<BackingDisk> {
  const folder = await realpath(link).catch(() => undefined);
  if (!folder) return { skip: `${what} has no entry in /sys/dev/block` };
  const isPartition = await access(path.join(folder, 'partition')).then(
    () => true,
    () => false,
  );
  const disk = isPartition ? path.basename(path.dirname(folder)) : path.basename(folder);
  // A device-mapper or md device sits on other disks (LVM, RAID): which one failing matters is not ours to guess.
  if (/^(dm|md)-?\d/.test(disk)) return { skip: `${what} is a ${disk.startsWith('dm') ? 'device-mapper' : 'RAID'} device (${disk}), not a disk` };
  return { disk: `/dev/${disk}` };
}
