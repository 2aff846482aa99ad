// The lock file itself: opened so that no other user can plant a link or a file of theirs there (plugback runs as
// root, and it writes into this file), and the one-line record of who holds the lock, written by the holder.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** What the lock is held for; a second backup of the same drive is refused at once rather than queued. */
export type LockPurpose = 'backup' | 'restore' | 'delete-snapshot' | 'archive' | 'check' | 'retire';

export interface LockOwner {
  what: LockPurpose;
  drive?: string;
}

/** The holder's record in the lock file: one JSON line. */
export interface LockRecord extends LockOwner {
  pid: number;
  /** ISO time the lock was taken. */
  since: string;
}

/** The lock file cannot be used as it is; the message says why and what to change. */
export class LockFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockFileError';
  }
}

export const DEFAULT_LOCK_FILE = '/run/lock/plugback/plugback.lock';
const RECORD_MAX_BYTES = 1024;
const asRoot = () => process.getuid?.() === 0;

/** Opens (creating it 0600, and its directory 0700, if missing) the lock file, refusing one that is unsafe to use. */
export async function openLockFile(file: string): Promise<FileHandle> {
  const dir = path.dirname(file);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw openError(file, error, `cannot create the lock file's directory ${dir}`);
  }
  await checkDirectory(dir, file);
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a link planted where the lock file should be is refused (ELOOP), not followed.
    handle = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    // With O_CREAT the kernel may answer a planted link with EACCES rather than ELOOP: look at what is there.
    const there = await lstat(file).catch(() => undefined);
    const code = there?.isSymbolicLink() ? 'ELOOP' : there?.isDirectory() ? 'EISDIR' : (error as NodeJS.ErrnoException).code;
    throw openError(file, Object.assign(error as Error, { code }), `cannot open the lock file ${file}`);
  }
  try {
    await checkFile(handle, file);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

async function checkDirectory(dir: string, file: string): Promise<void> {
  const st = await stat(dir);
  const fix = `use a directory only root can write, such as the default ${path.dirname(DEFAULT_LOCK_FILE)}, in backup.lockFile`;
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
    throw new LockFileError(`the lock file ${file} is in ${dir}, which every user may write and which has no sticky bit, so anyone could replace it; ${fix}`);
  }
  if (asRoot() && st.uid !== 0) {
    throw new LockFileError(`the lock file ${file} is in ${dir}, which belongs to uid ${st.uid}, not root, so that user could replace it; ${fix}`);
  }
}

async function checkFile(handle: FileHandle, file: string): Promise<void> {
  const st = await handle.stat();
  const remove = `remove it (rm ${file}) and plugback creates a fresh one, or set backup.lockFile to another path`;
  if (!st.isFile()) throw new LockFileError(`the lock file ${file} is not a regular file; ${remove}`);
  if (asRoot() && st.uid !== 0) {
    throw new LockFileError(`the lock file ${file} belongs to uid ${st.uid}, not root: another user may have put it there; ${remove}`);
  }
  // A hard link to some other root file, made by a user in a shared directory, would be truncated below.
  if (st.nlink !== 1) throw new LockFileError(`the lock file ${file} has ${st.nlink} hard links, so it may be another file linked there; ${remove}`);
}

function openError(file: string, error: unknown, what: string): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const elsewhere = `or set backup.lockFile to another path (the default is ${DEFAULT_LOCK_FILE})`;
  switch (code) {
    case 'ELOOP':
      return new LockFileError(`the lock file ${file} is a symbolic link, which plugback does not follow: another user may have put it there; remove it (rm ${file}) ${elsewhere}`);
    case 'EISDIR':
      return new LockFileError(`the lock file ${file} is a directory; remove it (rmdir ${file}) ${elsewhere}`);
    case 'EROFS':
      return new LockFileError(`${what}: the file system is read-only; set backup.lockFile to a path on a writable one (the default is ${DEFAULT_LOCK_FILE})`);
    case 'EACCES':
    case 'EPERM':
      return new LockFileError(`${what}: permission denied; run plugback as root, ${elsewhere}`);
    case 'ENOTDIR':
    case 'EEXIST':
      return new LockFileError(`${what}: a part of the path is not a directory; ${elsewhere.replace(/^or /, '')}`);
    default:
      return new LockFileError(`${what}: ${(error as Error).message}; check backup.lockFile`);
  }
}

/** Replaces the record with this process's; the caller holds the lock. */
export async function writeRecord(handle: FileHandle, owner: LockOwner): Promise<void> {
  const record: LockRecord = { pid: process.pid, ...owner, since: new Date().toISOString() };
  await handle.truncate(0);
  await handle.write(`${JSON.stringify(record)}\n`, 0);
}

/** Empties the record before the lock goes, so it never names a process that no longer holds it. */
export async function clearRecord(handle: FileHandle): Promise<void> {
  await handle.truncate(0).catch(() => undefined);
}

/** The holder's record, read through our own open file (bounded, no second open); undefined when none or not ours. */
export async function readRecord(handle: FileHandle): Promise<LockRecord | undefined> {
  const buffer = Buffer.alloc(RECORD_MAX_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, RECORD_MAX_BYTES, 0).catch(() => ({ bytesRead: 0 }));
  const line = buffer.subarray(0, bytesRead).toString('utf8').split('\n')[0] ?? '';
  try {
    const value = JSON.parse(line) as Partial<LockRecord>;
    if (!Number.isInteger(value.pid) || typeof value.what !== 'string' || typeof value.since !== 'string') return undefined;
    if (value.drive !== undefined && typeof value.drive !== 'string') return undefined;
    return value as LockRecord;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` has the file with inode `ino` on device `dev` open (the record's writer still holds it). */
export async function hasOpen(pid: number, dev: number, ino: number): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const st = await stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
    if (st && st.ino === ino && st.dev === dev) return true;
  }
  return false;
}

export interface LockHolder {
  pid: number;
  /** Its command line; undefined when it cannot be read (the process is gone, or not ours to see). */
  command?: string;
  /** What it holds the lock for, from its record, when the holder is the process that wrote the record. */
  owner?: LockOwner;
}

/**
 * Who holds the lock on the open file. /proc/locks names the process that took the lock: for plugback that is the
 * flock(1) it ran, which has exited while the lock lives on in plugback's open file, so the record's PID is used
 * instead when that process still has the file open.
 */
export async function lockHolders(handle: FileHandle): Promise<LockHolder[]> {
  const st = await handle.stat();
  const record = await readRecord(handle);
  const locks = await readFile('/proc/locks', 'utf8').catch(() => '');
  const holders = new Map<number, LockHolder>();
  for (const line of locks.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:00:1234567 0 EOF"; the "->" lines are waiters.
    const m = /^\d+:\s+FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (!m || Number(m[2]) !== st.ino || Number(m[1]) === 0) continue;
    let pid = Number(m[1]);
    let command = await commandOf(pid);
    if (command === undefined && record && (await hasOpen(record.pid, st.dev, st.ino))) {
      pid = record.pid;
      command = await commandOf(pid);
    }
    const owner = record && record.pid === pid ? { what: record.what, ...(record.drive === undefined ? {} : { drive: record.drive }) } : undefined;
    holders.set(pid, { pid, ...(command === undefined ? {} : { command }), ...(owner ? { owner } : {}) });
  }
  return [...holders.values()];
}

async function commandOf(pid: number): Promise<string | undefined> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').filter(Boolean).join(' ') || undefined;
}

const PURPOSE: Record<LockPurpose, string> = { backup: 'a backup of', restore: 'a restore from', 'delete-snapshot': 'a snapshot deletion on', archive: 'an archive of', check: 'a check of', retire: 'the retirement of' };

/** "PID 12 (flock ...)", or "PID 12" when its command line cannot be read; with what a plugback holder does: "PID 12 (...), an archive of d1". */
export function describeHolder(h: LockHolder): string {
  const who = h.command ? `PID ${h.pid} (${h.command})` : `PID ${h.pid}`;
  if (!h.owner) return who;
  const what = PURPOSE[h.owner.what] ?? `plugback (${h.owner.what})`;
  return `${who}, ${what} ${h.owner.drive ?? 'a drive'}`;
}
