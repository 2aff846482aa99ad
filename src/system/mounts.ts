// What is mounted where, from /proc/self/mountinfo (proc(5)).
import { readFile, realpath } from 'node:fs/promises';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  /** major:minor of the file system's device. */
  device: string;
  /** Mounted read-only: this mount, or its whole file system (the per-mount or the super block options say "ro"). */
  readOnly: boolean;
}

// mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Parses mountinfo text into entries, in mount order. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    entries.push({
      device: fields[2] as string,
      mountPoint: unescape(fields[4] as string),
      fsType: fields[dash + 1] as string,
      source: unescape(fields[dash + 2] ?? ''),
      readOnly: [fields[5], fields[dash + 3]].some((options) => (options ?? '').split(',').includes('ro')),
    });
  }
  return entries;
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The mount that holds `path` (the last mounted on the longest matching mount point). */
export async function mountOf(path: string): Promise<MountEntry | undefined> {
  const real = await realpath(path);
  let best: MountEntry | undefined;
  for (const m of await readMounts()) {
    const inside = real === m.mountPoint || real.startsWith(m.mountPoint === '/' ? '/' : `${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** The mount whose mount point is exactly `path`, if any: an empty directory there means "not mounted". */
export async function mountAt(path: string): Promise<MountEntry | undefined> {
  const real = await realpath(path);
  const mounts = (await readMounts()).filter((m) => m.mountPoint === real);
  return mounts[mounts.length - 1];
}
