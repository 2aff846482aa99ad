// Mounting and unmounting a drive's file system with mount(8), umount(8), blkid(8) and e2fsck(8), and finding
// out who keeps a mount point busy (from /proc, so it needs no psmisc).
import { readdir, readlink } from 'node:fs/promises';
import { execa } from 'execa';

/** Options every drive is mounted with: nothing on a backup drive is run, and atime updates would only wear it. */
export const MOUNT_OPTIONS = ['nodev', 'nosuid', 'noexec', 'noatime', 'x-systemd.device-bound'];

/** The file system type on a device (or image file), as blkid probes it; undefined when it finds none. */
export async function fsTypeOf(device: string): Promise<string | undefined> {
  const result = await execa('blkid', ['-p', '-o', 'value', '-s', 'TYPE', device], { reject: false, timeout: 30_000 });
  return result.exitCode === 0 && result.stdout.trim() ? result.stdout.trim() : undefined;
}

export interface PreenResult {
  /** e2fsck repaired something. */
  repaired: boolean;
  output: string;
}

/** `e2fsck -p`: fixes what is safe to fix without asking; throws when the file system needs a human. */
export async function preenExt(device: string, signal?: AbortSignal): Promise<PreenResult> {
  const result = await execa('e2fsck', ['-p', device], { reject: false, all: true, timeout: 30 * 60_000, ...(signal ? { cancelSignal: signal } : {}) });
  const output = (result.all ?? '').trim();
  const code = result.exitCode ?? -1;
  // e2fsck(8): 0 no errors, 1 errors corrected, 2 corrected and the system should be rebooted, 4+ uncorrected.
  if (code === 0) return { repaired: false, output };
  if (code === 1 || code === 2) return { repaired: true, output };
  throw new Error(
    `the file system on ${device} has errors that "e2fsck -p" will not fix on its own (exit ${code}${output ? `: ${lastLine(output)}` : ''}); ` +
      `repair it by hand with "e2fsck -f ${device}" while the drive is unlocked`,
  );
}

export async function mountDevice(device: string, mountPoint: string, fsType: string | undefined): Promise<void> {
  const args = [...(fsType ? ['-t', fsType] : []), '-o', MOUNT_OPTIONS.join(','), device, mountPoint];
  const result = await execa('mount', args, { reject: false, all: true, timeout: 120_000 });
  if (result.exitCode !== 0) {
    throw new Error(`could not mount ${device} at ${mountPoint}: ${(result.all ?? '').trim() || `mount exited with ${result.exitCode}`}`);
  }
}

export interface BusyHolder {
  pid: number;
  command: string;
}

/**
 * Unmounts `mountPoint`, trying `attempts` times while it is busy. When it stays busy, the error names the
 * processes that hold it.
 */
export async function unmount(mountPoint: string, options: { attempts?: number; delayMs?: number } = {}): Promise<void> {
  const attempts = options.attempts ?? 5;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result = await execa('umount', [mountPoint], { reject: false, all: true, timeout: 120_000 });
    if (result.exitCode === 0) return;
    last = (result.all ?? '').trim();
    if (/not mounted/.test(last)) return;
    if (!/busy/i.test(last) || attempt === attempts) break;
    await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 1000));
  }
  const holders = await busyHolders(mountPoint);
  const who = holders.length ? `; it is held by ${holders.map((h) => `PID ${h.pid} (${h.command})`).join(', ')}` : '';
  throw new Error(`could not unmount ${mountPoint}: ${last || 'umount failed'}${who}`);
}

/**
 * Unmounts, or, when that stays busy, detaches the mount lazily (the clean-up after a failure, and at start).
 * Returns why it had to detach, for a warning, or undefined when the plain unmount worked.
 */
export async function unmountOrDetach(mountPoint: string, attempts = 3): Promise<string | undefined> {
  try {
    await unmount(mountPoint, { attempts });
    return undefined;
  } catch (error) {
    await unmountLazily(mountPoint);
    return `${(error as Error).message}; detached it lazily instead`;
  }
}

/** `umount -l`: detaches the mount now, even if busy or if its device is gone; the kernel finishes later. */
export async function unmountLazily(mountPoint: string): Promise<void> {
  const result = await execa('umount', ['-l', mountPoint], { reject: false, all: true, timeout: 60_000 });
  if (result.exitCode !== 0 && !/not mounted/.test(result.all ?? '')) {
    throw new Error(`could not detach ${mountPoint}: ${(result.all ?? '').trim() || `umount -l exited with ${result.exitCode}`}`);
  }
}

/** Processes with their working directory, root, or an open file under `mountPoint`. */
export async function busyHolders(mountPoint: string): Promise<BusyHolder[]> {
  const inside = (target: string) => target === mountPoint || target.startsWith(`${mountPoint}/`);
  const holders: BusyHolder[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const links = ['cwd', 'root', 'exe'].map((l) => `/proc/${entry}/${l}`);
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    links.push(...fds.map((fd) => `/proc/${entry}/fd/${fd}`));
    for (const link of links) {
      const target = await readlink(link).catch(() => '');
      if (!inside(target)) continue;
      const command = await readlink(`/proc/${entry}/exe`).catch(() => '?');
      holders.push({ pid: Number(entry), command });
      break;
    }
  }
  return holders;
}

function lastLine(text: string): string {
  return text.split('\n').filter(Boolean).pop() ?? '';
}
