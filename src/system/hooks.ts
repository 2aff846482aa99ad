// Running a user's hook: shell by design, values passed through the environment, never spliced into the script.
import { execa } from 'execa';
import { createInterface } from 'node:readline';

export interface HookRequest {
  /** What to call it in logs and errors, e.g. `state "db" preBackup`. */
  label: string;
  script: string;
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  onOutput: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface HookResult {
  ok: boolean;
  exitCode?: number | undefined;
  signal?: string | undefined;
  timedOut: boolean;
  canceled: boolean;
  durationMs: number;
  /** The last lines it printed, for error messages. */
  tail: string[];
}

const KILL_GRACE_MS = 5000;

/** Runs the script with /bin/sh in its own process group, so a timeout or cancel stops everything it started. */
export async function runHook(req: HookRequest): Promise<HookResult> {
  const started = Date.now();
  const tail: string[] = [];
  const child = execa('/bin/sh', ['-c', req.script], {
    env: { ...process.env, ...req.env },
    extendEnv: false,
    stdin: 'ignore',
    detached: true,
    reject: false,
    buffer: false,
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = child[stream];
    if (!source) continue;
    createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      req.onOutput(stream, line);
    });
  }
  let timedOut = false;
  let canceled = false;
  const stopGroup = () => killGroup(child.pid);
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup();
  }, req.timeoutMs);
  const onAbort = () => {
    canceled = true;
    stopGroup();
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  const result = await child;
  clearTimeout(timer);
  req.signal?.removeEventListener('abort', onAbort);
  return {
    ok: result.exitCode === 0 && !timedOut && !canceled,
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut,
    canceled,
    durationMs: Date.now() - started,
    tail,
  };
}

/** SIGTERM to the whole group, SIGKILL to what is left after a grace period. */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // The group is already gone.
    }
  };
  send('SIGTERM');
  setTimeout(() => send('SIGKILL'), KILL_GRACE_MS).unref();
}

/** A hook run whose failure is an Error that says what happened and what the hook printed last. */
export async function runHookOrThrow(req: HookRequest): Promise<HookResult> {
  const outcome = await runHook(req);
  if (outcome.ok) return outcome;
  const why = outcome.timedOut
    ? `timed out after ${Math.round(req.timeoutMs / 1000)}s (backup.hookTimeout) and was killed`
    : outcome.canceled
      ? 'was cancelled'
      : outcome.signal
        ? `was killed by ${outcome.signal}`
        : `exited with code ${outcome.exitCode}`;
  const tail = outcome.tail.length > 0 ? `; its last output: ${outcome.tail.slice(-5).join(' | ')}` : '';
  throw new Error(`the ${req.label} ${why}${tail}`);
}
