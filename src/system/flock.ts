// The repository lock: flock(2) on a file, the same lock flock(1) takes, so other scripts on the machine can hold it.
//
// Node has no flock(). We open the lock file ourselves and let flock(1) lock our open file description
// (passed to it as fd 3). The lock belongs to the open file description, so it stays held after flock(1)
// exits and is released when we close the file (or when this process dies).
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface HeldLock {
  file: string;
  release(): Promise<void>;
}

export interface LockHolder {
  pid: number;
  command: string;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly file: string,
    readonly holders: LockHolder[],
    waitedMs: number,
  ) {
    const who = holders.length > 0 ? `held by ${holders.map((h) => `PID ${h.pid} (${h.command})`).join(', ')}` : 'held by another process';
    super(`the lock ${file} is ${who}; gave up after waiting ${Math.round(waitedMs / 1000)}s (backup.lockWait)`);
    this.name = 'LockTimeoutError';
  }
}

const CONFLICT = 75;

/** Takes the exclusive lock, waiting up to `waitMs`; `onWait` is told who holds it when it has to wait. */
export async function acquireLock(
  file: string,
  options: { waitMs: number; signal?: AbortSignal | undefined; onWait?: (holders: LockHolder[]) => void },
): Promise<HeldLock> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'a', 0o644);
  try {
    if (!(await tryFlock(handle, ['--nonblock']))) {
      const holders = await lockHolders(file);
      options.onWait?.(holders);
      const seconds = (options.waitMs / 1000).toFixed(3);
      if (!(await tryFlock(handle, ['--wait', seconds], options.signal))) {
        throw new LockTimeoutError(file, await lockHolders(file), options.waitMs);
      }
    }
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
      await handle.close();
    },
  };
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

/** The processes holding a flock on `file`, from /proc/locks (the kernel records who took the lock). */
export async function lockHolders(file: string): Promise<LockHolder[]> {
  const st = await stat(file);
  const locks = await readFile('/proc/locks', 'utf8').catch(() => '');
  const pids = new Set<number>();
  for (const line of locks.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:00:1234567 0 EOF"; the "->" lines are waiters.
    const m = /^\d+:\s+FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m && Number(m[2]) === st.ino && Number(m[1]) !== 0) pids.add(Number(m[1]));
  }
  const holders: LockHolder[] = [];
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    holders.push({ pid, command: cmdline.split('\0').filter(Boolean).join(' ') || 'exited' });
  }
  return holders;
}
