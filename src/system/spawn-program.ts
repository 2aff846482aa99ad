// Starting a program with node:child_process on `plugback run`'s way to rsync. execa is about a hundred modules
// and cost each run some 0.1 s of start-up (bench/startup.mjs); this path needs only a spawn, a cancel, the exit
// and, for the short tools, stderr. The rest of plugback (install, restore, LUKS) still uses execa.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProgramExit {
  /** Its exit code; undefined when a signal killed it or it never started. */
  exitCode?: number | undefined;
  signal?: NodeJS.Signals | undefined;
  /** Why it did not start (the spawn error's code): ENOENT when it is not installed. */
  code?: string | undefined;
}

export interface StartOptions {
  /** Aborting sends SIGTERM, then SIGKILL if it is still there FORCE_KILL_AFTER_MS later. */
  signal?: AbortSignal | undefined;
  /** The whole environment (no merging with process.env). */
  env?: Record<string, string> | undefined;
}

/** How long a cancelled program has between SIGTERM and SIGKILL (what execa's forceKillAfterDelay gave it). */
const FORCE_KILL_AFTER_MS = 5000;

/** Starts `command` with stdin closed and stdout and stderr piped; `exit` settles once it ended and its output is read. */
export function startProgram(command: string, args: readonly string[], options: StartOptions = {}): { child: ChildProcess; exit: Promise<ProgramExit> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
  const exit = new Promise<ProgramExit>((resolve) => {
    let forceKill: NodeJS.Timeout | undefined;
    const cancel = () => {
      child.kill('SIGTERM');
      forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
      forceKill.unref();
    };
    const done = (result: ProgramExit) => {
      clearTimeout(forceKill);
      options.signal?.removeEventListener('abort', cancel);
      resolve(result);
    };
    // 'close', not 'exit': by then every byte of its output has been handed to the readers.
    child.once('close', (exitCode, signal) => done({ exitCode: exitCode ?? undefined, signal: signal ?? undefined }));
    child.once('error', (error: NodeJS.ErrnoException) => done({ code: error.code ?? error.message }));
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener('abort', cancel, { once: true });
  });
  return { child, exit };
}

/** Runs a short tool to its end; its exit and what it wrote on stderr. */
export async function runProgram(command: string, args: readonly string[]): Promise<ProgramExit & { stderr: string }> {
  const { child, exit } = startProgram(command, args);
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { ...(await exit), stderr };
}
