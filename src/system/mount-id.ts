// Which mount an open file belongs to. The kernel tells it in /proc/self/fdinfo/<fd> ("mnt_id:"), the one
// test that separates "another file system mounted here" from "another subvolume of the same btrfs file
// system" (a btrfs subvolume has a device number of its own, yet is reached through the same mount).
import { readFile } from 'node:fs/promises';

/** The mount ID of an open descriptor of this process. */
export async function mountIdOf(fd: number): Promise<number> {
  const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
  const match = /^mnt_id:\s*(\d+)$/m.exec(info);
  if (!match) throw new Error(`the kernel did not say which mount descriptor ${fd} is on (/proc/self/fdinfo/${fd} has no mnt_id)`);
  return Number(match[1]);
}
