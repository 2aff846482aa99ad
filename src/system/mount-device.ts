// A drive's file system before systemd mounts it: its type (blkid(8)) and a preen (e2fsck(8)); and who keeps a
// mount point busy (from /proc, so it needs no psmisc). Mounting itself is systemd's: drive-mounts.ts.
import { readdir, readlink } from 'node:fs/promises';

/** The file system type on a device (or image file), as blkid probes it; undefined when it finds none. */
export async function fsTypeOf(device: string): Promise<string | undefined> {
  // execa loaded when needed: some hundred modules a daemon at rest would otherwise keep in memory.
  const { execa } = await import('execa');
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
  const { execa } = await import('execa');
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

export interface BusyHolder {
  pid: number;
  command: string;
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
