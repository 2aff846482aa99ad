// Running a program to its end (no shell) and keeping its exit code and output, also when it fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` is added to process.env (a name set to undefined is left out); `cwd` is where it runs. */
export async function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return execFileP(command, args, { env: { ...process.env, ...env }, ...(cwd ? { cwd } : {}) }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
}

/** A run as an assertion message shows it. */
export const shown = (r: Run) => `exit ${r.code}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
