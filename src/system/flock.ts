// The repository lock: flock(2) on a file, the same lock flock(1) takes, so other scripts on the machine can hold it.
//
// Node has no flock(). We open the lock file ourselves and let flock(1) lock our open file description
// (passed to it as fd 3). The lock belongs to the open file description, so it stays held after flock(1)
// exits and is released when we close the file (or when this process dies).
import { spawn } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import {
  clearRecord,
  describeHolder,
  hasOpen,
  lockHolders,
  openLockFile,
  readRecord,
  writeRecord,
  type LockHolder,
  type LockOwner,
  type LockRecord,
} from './lock-file.js';

export type { LockHolder, LockOwner, LockPurpose, LockRecord } from './lock-file.js';
export { LockFileError } from './lock-file.js';

export interface HeldLock {
  file: string;
  release(): Promise<void>;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly file: string,
    readonly holders: LockHolder[],
    waitedMs: number,
  ) {
    const who = holders.length > 0 ? `held by ${holders.map(describeHolder).join(', ')}` : 'held by another process';
    super(`the lock ${file} is ${who}; gave up after waiting ${Math.round(waitedMs / 1000)}s (backup.lockWait)`);
    this.name = 'LockTimeoutError';
  }
}

/** Another live process is already backing up the same drive: a second run would only copy it again. */
export class AlreadyRunningError extends Error {
  constructor(readonly holder: LockRecord) {
    super(`already backing up ${holder.drive ?? 'this drive'} (PID ${holder.pid}, since ${localTime(holder.since)})`);
    this.name = 'AlreadyRunningError';
  }
}

const CONFLICT = 75;
/** While waiting, the holder is looked at again this often: a backup of our drive may have taken over meanwhile. */
const WAIT_SLICE_MS = 2000;

export interface LockOptions {
  waitMs: number;
  signal?: AbortSignal | undefined;
  /** Told who holds the lock when it has to wait. */
  onWait?: (holders: LockHolder[]) => void;
  /** Recorded in the lock file while held; a backup finding a backup of the same drive there fails at once. */
  owner?: LockOwner;
}

/** Takes the exclusive lock, waiting up to `waitMs`; throws AlreadyRunningError, LockTimeoutError or LockFileError. */
export async function acquireLock(file: string, options: LockOptions): Promise<HeldLock> {
  const handle = await openLockFile(file);
  try {
    if (!(await tryFlock(handle, ['--nonblock']))) await waitForLock(handle, file, options);
    if (options.owner) await writeRecord(handle, options.owner);
  } catch (error) {
    await handle.close();
    throw error;
  }
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      if (options.owner) await clearRecord(handle);
      await handle.close();
    },
  };
}

async function waitForLock(handle: FileHandle, file: string, options: LockOptions): Promise<void> {
  await refuseSameBackup(handle, options.owner);
  options.onWait?.(await lockHolders(handle));
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const slice = Math.max(0, Math.min(WAIT_SLICE_MS, deadline - Date.now()));
    if (await tryFlock(handle, ['--wait', (slice / 1000).toFixed(3)], options.signal)) return;
    if (Date.now() >= deadline) throw new LockTimeoutError(file, await lockHolders(handle), options.waitMs);
    await refuseSameBackup(handle, options.owner);
  }
}

async function refuseSameBackup(handle: FileHandle, owner: LockOwner | undefined): Promise<void> {
  if (owner?.what !== 'backup' || owner.drive === undefined) return;
  const record = await readRecord(handle);
  if (!record || record.what !== 'backup' || record.drive !== owner.drive || record.pid === process.pid) return;
  const st = await handle.stat();
  // A record left by a process that died (or a reused PID) names a process without the file open.
  if (await hasOpen(record.pid, st.dev, st.ino)) throw new AlreadyRunningError(record);
}

/** HH:MM in local time. */
function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// node:child_process rather than execa: execa cannot hand an inherited file descriptor to the child.
async function tryFlock(handle: FileHandle, extra: string[], signal?: AbortSignal): Promise<boolean> {
  const child = spawn('flock', ['--exclusive', '--conflict-exit-code', String(CONFLICT), ...extra, '3'], {
    stdio: ['ignore', 'ignore', 'pipe', handle.fd],
    signal,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, killedBy] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', (e) => (signal?.aborted ? resolve([null, 'SIGTERM']) : reject(e)));
    child.on('close', (c, s) => resolve([c, s]));
  });
  if (signal?.aborted) throw new Error(`cancelled while waiting for the lock`);
  if (code === 0) return true;
  if (code === CONFLICT) return false;
  throw new Error(`flock(1) failed (${code ?? killedBy}): ${stderr.trim() || 'no message'}`);
}
