// Which metadata the target file system can hold, so rsync is asked only for what it can keep.
import { execa } from 'execa';
import { rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface FsFeatures {
  xattrs: boolean;
  acls: boolean;
  /** Keeps sub-second modification times, so rsync can compare them to the nanosecond. */
  fineTimes: boolean;
  /** Why a feature is off, for the warning. */
  notes: string[];
}

/** Tries a user xattr, an ACL and a sub-second mtime on a scratch file in `dir` (setfattr from attr, setfacl from acl). */
export async function probeFsFeatures(dir: string): Promise<FsFeatures> {
  const probe = path.join(dir, `.plugback-probe-${process.pid}`);
  await writeFile(probe, '');
  try {
    const notes: string[] = [];
    const xattrs = await tryTool('setfattr', ['-n', 'user.plugback.probe', '-v', '1', probe], 'extended attributes', notes);
    const acls = await tryTool('setfacl', ['-m', 'u:0:r', probe], 'ACLs', notes);
    await utimes(probe, 1_000_000_000.5, 1_000_000_000.5);
    const fineTimes = (await stat(probe)).mtimeMs % 1000 === 500;
    return { xattrs, acls, fineTimes, notes };
  } finally {
    await rm(probe, { force: true });
  }
}

async function tryTool(tool: string, args: string[], what: string, notes: string[]): Promise<boolean> {
  const result = await execa(tool, args, { reject: false });
  if (result.exitCode === 0) return true;
  if ((result as { code?: string }).code === 'ENOENT') {
    notes.push(`cannot check whether the target keeps ${what}: ${tool} is not installed; copying them anyway`);
    return true;
  }
  notes.push(`the target file system does not keep ${what} (${result.stderr.trim() || `${tool} failed`}); they are not copied`);
  return false;
}
