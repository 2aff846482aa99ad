// Which metadata the target file system can hold, so rsync is asked only for what it can keep.
import type { DriveDir } from '../repo/drive-dir.js';
import { temporaryName } from '../repo/drive-dir.js';
import { runProgram } from './spawn-program.js';

export interface FsFeatures {
  xattrs: boolean;
  acls: boolean;
  /** Keeps sub-second modification times, so rsync can compare them to the nanosecond. */
  fineTimes: boolean;
  /** Why a feature is off, for the warning. */
  notes: string[];
}

/**
 * Tries a user xattr, an ACL and a sub-second mtime on a scratch file in `dir` (setfattr from attr, setfacl from
 * acl). The file is new (O_EXCL, a random name) and every tool reaches it through our open descriptor
 * (/proc/<pid>/fd/<n>), so a link planted or swapped in by whoever owns the folder is never written through.
 */
export async function probeFsFeatures(dir: DriveDir): Promise<FsFeatures> {
  const name = temporaryName('plugback-probe');
  const handle = await dir.createFile(name, 0o600);
  try {
    const file = `/proc/${process.pid}/fd/${handle.fd}`;
    // Both at once: each is a process start on the way to rsync.
    const [xattrs, acls] = await Promise.all([
      tryTool('setfattr', ['-n', 'user.plugback.probe', '-v', '1', file], 'extended attributes'),
      tryTool('setfacl', ['-m', 'u:0:r', file], 'ACLs'),
    ]);
    const notes = [xattrs.note, acls.note].filter((note) => note !== undefined);
    await handle.utimes(1_000_000_000.5, 1_000_000_000.5);
    const fineTimes = (await handle.stat()).mtimeMs % 1000 === 500;
    return { xattrs: xattrs.keeps, acls: acls.keeps, fineTimes, notes };
  } finally {
    await handle.close();
    await dir.unlink(name).catch(() => undefined);
  }
}

/** Whether the target keeps `what`, by whether `tool` could set it; a note when it cannot tell or it does not. */
async function tryTool(tool: string, args: string[], what: string): Promise<{ keeps: boolean; note?: string }> {
  const result = await runProgram(tool, args);
  if (result.exitCode === 0) return { keeps: true };
  if (result.code === 'ENOENT') {
    return { keeps: true, note: `cannot check whether the target keeps ${what}: ${tool} is not installed; copying them anyway` };
  }
  return { keeps: false, note: `the target file system does not keep ${what} (${result.stderr.trim() || `${tool} failed`}); they are not copied` };
}
