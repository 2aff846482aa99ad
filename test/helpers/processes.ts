// Small helpers the integration tests share: quoting for hook scripts, reading what a hook recorded, and
// finding the rsync processes a test started (to kill them by PID when a test fails midway).
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
