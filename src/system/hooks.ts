// Running a user's hook: shell by design, values passed through the environment, never spliced into the script.
import { execa } from 'execa';
import type { Logger } from 'pino';
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

/** What every hook is told, backup or restore; the one place the PLUGBACK_* names are spelled. */
export interface HookFacts {
  event: 'preBackup' | 'postBackup' | 'postRestore';
  jobId: string;
  drive: string;
  host: string;
  target: string;
  /** Empty for the global hooks. */
  state: string;
  folders: string[];
  snapshot: string;
  snapshotDir: string;
  config: string;
}

/** The environment of a hook: values go through variables, never into the script text. */
export function hookEnvironment(facts: HookFacts, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PLUGBACK_EVENT: facts.event,
    PLUGBACK_JOB_ID: facts.jobId,
    PLUGBACK_DRIVE: facts.drive,
    PLUGBACK_HOST: facts.host,
    PLUGBACK_TARGET: facts.target,
    PLUGBACK_STATE: facts.state,
    PLUGBACK_FOLDERS: facts.folders.join('\n'),
    PLUGBACK_SNAPSHOT: facts.snapshot,
    PLUGBACK_SNAPSHOT_DIR: facts.snapshotDir,
    PLUGBACK_CONFIG: facts.config,
    ...extra,
  };
}

/** Runs a hook with its output in the job's log, before and after lines included; throws like runHookOrThrow. */
export async function runLoggedHook(parent: Logger, req: Omit<HookRequest, 'onOutput'>): Promise<void> {
  const log = parent.child({ hook: req.label });
  log.info(`running the ${req.label}`);
  const outcome = await runHookOrThrow({ ...req, onOutput: (stream, line) => log.info({ stream }, line) });
  log.info({ durationMs: outcome.durationMs }, `the ${req.label} succeeded`);
}
