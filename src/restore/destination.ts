// Where a restore writes. plugback runs as root, so a folder another user can change is a way for that user to
// point root's writes anywhere (a link planted where a directory is expected). A --to destination is checked from
// / down: every existing component must belong to root (or to whoever runs plugback) and must not be writable by
// others, unless it is a sticky directory owned by root (/tmp). Missing directories are then created one at a
// time through DriveDir handles (no link followed, no other file system entered), and rsync, the probe and the
// keep-aside renames reach the destination through its parent's handle.
import type { Stats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { DriveDir } from '../repo/drive-dir.js';

export interface Destination {
  /** The destination's parent, opened; everything below goes through it. */
  parent: DriveDir;
  name: string;
  /** The destination as people read it. */
  shown: string;
}

const ROOT_ONLY = 'restore under a folder only root can change (for example: mkdir -m 700 /root/restored, then --to /root/restored)';

/** Why root must not write below `p` (one existing component), or undefined when it is safe. */
function distrust(p: string, st: Stats): string | undefined {
  const me = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me) {
    return `${p} belongs to user ${st.uid}, who could redirect a restore there (with a link in it) onto any file of this machine; ${ROOT_ONLY}`;
  }
  if (st.isSymbolicLink()) return undefined;
  const sticky = (st.mode & 0o1000) !== 0 && st.uid === 0;
  if ((st.mode & 0o022) !== 0 && !sticky) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    return `${p} can be changed by other users (mode ${mode}), who could redirect a restore there onto any file of this machine; ${ROOT_ONLY}`;
  }
  return undefined;
}

/**
 * Walks `dir` from / with lstat: the deepest existing directory (links resolved, each one checked) and the
 * missing components below it. With `trusted`, every existing component must pass `distrust`.
 */
export async function walkDestination(dir: string, trusted: boolean, depth = 0): Promise<{ existing: string; missing: string[] }> {
  if (depth > 40) throw new Error(`${dir}: too many levels of symbolic links`);
  const parts = dir.split('/').filter(Boolean);
  let current = '/';
  for (const [i, part] of parts.entries()) {
    const next = path.join(current, part);
    const st = await lstat(next).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!st) return { existing: current, missing: parts.slice(i) };
    const problem = trusted ? distrust(next, st) : undefined;
    if (problem) throw new Error(`refusing to restore to ${dir}: ${problem}`);
    if (st.isSymbolicLink()) {
      // A link root may trust (checked above): continue where it leads, checking that path from / too.
      const resolved = await walkDestination(await realpath(next), trusted, depth + 1);
      if (resolved.missing.length > 0) throw new Error(`${next} is a link to a folder that does not exist; create it or choose another folder`);
      current = resolved.existing;
    } else if (!st.isDirectory()) {
      throw new Error(`cannot restore to ${dir}: ${next} is not a directory; move it away or choose another folder`);
    } else {
      current = next;
    }
  }
  return { existing: current, missing: [] };
}

/** Opens the parent of `to` (created where missing), checking it from / down when `trusted` is asked (--to). */
export async function openDestination(to: string, trusted: boolean): Promise<Destination> {
  const { existing, missing } = await walkDestination(path.dirname(to), trusted);
  let dir = await DriveDir.openRoot(existing);
  try {
    for (const name of missing) {
      const parent = dir;
      dir = await parent.ensureDir(name, 0o755).finally(() => parent.close());
    }
  } catch (error) {
    await dir.close();
    throw error;
  }
  return { parent: dir, name: path.basename(to), shown: to };
}

/** A message with the handle paths (/proc/<pid>/fd/<n>) rsync saw put back as the paths people know. */
export function unpin(text: string, dirs: { pinned: string; path: string }[]): string {
  return dirs.reduce((t, d) => t.replaceAll(d.pinned, d.path), text);
}
