// Small helpers the integration tests share: quoting for hook scripts, reading what a hook recorded, and
// finding the rsync processes a test started (to kill them by PID when a test fails midway), and tracking the
// helper processes a test starts (dbus-daemon, the system peer) so none outlives it.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';

/** Single-quotes a value for /bin/sh. */
export const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Reads a file written by `env -0`. */
export async function readEnv(file: string): Promise<Map<string, string>> {
  const env = new Map<string, string>();
  for (const pair of (await fs.readFile(file, 'utf8')).split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) env.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return env;
}

/** PIDs of rsync processes whose command line mentions `dir` (the ones a run in that sandbox started). */
export async function rsyncProcessesUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await fs.readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'rsync') continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').includes(dir)) pids.push(Number(entry));
  }
  return pids;
}

/** A child process a test helper started: its stderr so far, its exit, and a kill by PID that is also done, as a last resort, when the test process exits. */
export interface TrackedChild {
  stderr(): string;
  exited: Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** Drops the exit-time kill (after the child was stopped properly). */
  release(): void;
}

export function trackChild(child: ChildProcess): TrackedChild {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<void>((resolve) => {
    if (!alive()) resolve();
    else child.once('exit', () => resolve());
  });
  const kill = (signal: NodeJS.Signals) => {
    if (child.pid === undefined || !alive()) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => kill('SIGKILL');
  process.once('exit', killOnExit);
  return { stderr: () => stderr, exited, kill, release: () => process.off('exit', killOnExit) };
}
