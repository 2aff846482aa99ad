// Running a program to its end (no shell) and keeping its exit code and output, also when it fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return execFileP(command, args, { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
}

/** A run as an assertion message shows it. */
export const shown = (r: Run) => `exit ${r.code}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
