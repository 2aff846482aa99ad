// Running a user's hook: shell by design, values passed through the environment, never spliced into the script.
// The wait is bounded: plugback stops waiting when the shell exits, even if a process it started (say, one that
// escaped with setsid) keeps its output open, and at the timeout, even if such a process holds the pipes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { CappedOutput, LineSplitter, type OutputStream } from './hook-output.js';
import { quoteOutput } from './program-output.js';

export interface HookRequest {
  /** What to call it in logs and errors, e.g. `state "db" preBackup`. */
  label: string;
  script: string;
  /** What it inherits: childEnvironment(config), never process.env itself, which holds plugback's secrets. */
  inherited: Record<string, string>;
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Its output, at most the first and the last HEAD_LINES / TAIL_LINES lines (see hook-output.ts). */
  onOutput: (stream: OutputStream, line: string) => void;
  /** How many lines and bytes were left out between the first and the last. */
  onOmitted?: ((lines: number, bytes: number) => void) | undefined;
}

export interface HookResult {
  ok: boolean;
  exitCode?: number | undefined;
  signal?: string | undefined;
  timedOut: boolean;
  canceled: boolean;
  /** The shell exited, but a process it started still held its output: plugback stopped reading it. */
  outputHeld: boolean;
  /** The shell did not end even after SIGKILL: plugback stopped waiting for it. */
  abandoned: boolean;
  /** Why /bin/sh could not be started at all. */
  spawnError?: string | undefined;
  durationMs: number;
  /** The last lines it printed, for error messages. */
  tail: string[];
}

const KILL_GRACE_MS = 5000;
/** After the shell exits, how long its output may take to arrive (and its pipes to close). */
const OUTPUT_GRACE_MS = 1000;
/** After SIGKILL, how long plugback still waits for the shell to end. */
const ABANDON_MS = 2000;

/** Runs the script with /bin/sh in its own process group, so a timeout or cancel stops everything it started. */
export async function runHook(req: HookRequest): Promise<HookResult> {
  const started = Date.now();
  const tail: string[] = [];
  const capped = new CappedOutput({ line: req.onOutput, omitted: (lines, bytes) => req.onOmitted?.(lines, bytes) });
  const child = spawn('/bin/sh', ['-c', req.script], {
    env: { ...req.inherited, ...req.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const splitters = (['stdout', 'stderr'] as const).map((stream) => {
    const splitter = new LineSplitter((line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      capped.add(stream, line);
    });
    child[stream].on('data', (chunk: Buffer) => splitter.push(chunk));
    return splitter;
  });
  const waited = await waitForHook(child, req);
  for (const splitter of splitters) splitter.end();
  capped.finish();
  return {
    ...waited,
    ok: waited.exitCode === 0 && !waited.timedOut && !waited.canceled,
    durationMs: Date.now() - started,
    tail,
  };
}

type Waited = Omit<HookResult, 'ok' | 'durationMs' | 'tail'>;

/** Resolves when the shell has exited and its pipes closed, or within OUTPUT_GRACE_MS of its exit; never later than the kill sequence allows. */
function waitForHook(child: ChildProcess, req: HookRequest): Promise<Waited> {
  return new Promise((resolve) => {
    const pid = child.pid;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
      return timer;
    };
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let closed = false;
    let stopping: 'timeout' | 'cancel' | undefined;
    let killed = false;
    let graceOver = false;
    let grace: NodeJS.Timeout | undefined;
    let done = false;
    const startGrace = () => {
      if (grace) clearTimeout(grace);
      graceOver = false;
      grace = later(OUTPUT_GRACE_MS, () => {
        graceOver = true;
        check();
      });
    };
    const finish = (extra: { outputHeld?: boolean; abandoned?: boolean; spawnError?: string }) => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      // Whatever still holds the pipes writes into nothing from now on.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
      resolve({
        exitCode: exit?.code ?? undefined,
        signal: exit?.signal ?? undefined,
        timedOut: stopping === 'timeout',
        canceled: stopping === 'cancel',
        outputHeld: extra.outputHeld ?? false,
        abandoned: extra.abandoned ?? false,
        spawnError: extra.spawnError,
      });
    };
    const check = () => {
      if (!exit) return;
      // Stopping: the rest of the group gets its SIGKILL before plugback moves on.
      if (stopping && !killed && groupAlive(pid)) return;
      if (closed) finish({});
      else if (graceOver) finish({ outputHeld: true });
    };
    const stop = (why: 'timeout' | 'cancel') => {
      if (stopping || exit) return;
      stopping = why;
      signalGroup(pid, 'SIGTERM');
      later(KILL_GRACE_MS, () => {
        killed = true;
        signalGroup(pid, 'SIGKILL');
        if (exit) startGrace();
        check();
        later(ABANDON_MS, () => finish(exit ? { outputHeld: true } : { abandoned: true }));
      });
    };
    const onAbort = () => stop('cancel');
    later(req.timeoutMs, () => stop('timeout'));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort();
    // Only when /bin/sh cannot be started: no exit follows.
    child.once('error', (error) => finish({ spawnError: error.message }));
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      startGrace();
      check();
    });
    child.once('close', () => {
      closed = true;
      check();
    });
  });
}

/** Whether a live process of the group is left; zombies do not count (a PID 1 that is slow to reap them must not delay the job). */
function groupAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readdirSync('/proc').some((entry) => /^\d+$/.test(entry) && liveInGroup(entry, pid));
  } catch {
    return true;
  }
}

/** /proc/N/stat is "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses, so fields count from the last ")". */
function liveInGroup(entry: string, pgid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(pgrp) === pgid && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}

/** Said when a process the hook started kept its output open after the shell exited. */
export const HELD_OUTPUT =
  'a process it started still holds its output, so plugback stopped reading it; start such programs with their output redirected (>/dev/null 2>&1), or they may be stopped by SIGPIPE';

/** A hook run whose failure is an Error that says what happened and what the hook printed last. */
export async function runHookOrThrow(req: HookRequest): Promise<HookResult> {
  const outcome = await runHook(req);
  if (outcome.ok) return outcome;
  const why = outcome.timedOut
    ? `timed out after ${Math.round(req.timeoutMs / 1000)}s (backup.hookTimeout) and was killed`
    : outcome.canceled
      ? 'was cancelled'
      : outcome.spawnError
        ? `could not be started with /bin/sh (${outcome.spawnError}); check that /bin/sh exists`
        : outcome.signal
          ? `was killed by ${outcome.signal}`
          : `exited with code ${outcome.exitCode}`;
  const stuck = outcome.abandoned ? '; it did not end even after SIGKILL (stuck in the kernel?), and plugback stopped waiting for it' : '';
  const held = outcome.outputHeld && !outcome.timedOut && !outcome.canceled ? `; ${HELD_OUTPUT}` : '';
  const tail = outcome.tail.length > 0 ? `; ${quoteOutput(outcome.tail.slice(-5))}` : '';
  throw new Error(`the ${req.label} ${why}${stuck}${held}${tail}`);
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

/**
 * Runs a hook with its output (capped) in the job's log, before and after lines included; throws like runHookOrThrow.
 * `tag` marks the lines the hook printed (`photos/preBackup`), so a terminal shows them as the hook's, not plugback's.
 */
export async function runLoggedHook(parent: Logger, req: Omit<HookRequest, 'onOutput' | 'onOmitted'> & { tag: string }): Promise<void> {
  const log = parent.child({ hook: req.label, hookTag: req.tag });
  log.info(`running the ${req.label}`);
  const outcome = await runHookOrThrow({
    ...req,
    onOutput: (stream, line) => log.info({ stream }, line),
    onOmitted: (lines, bytes) => log.warn({ omittedLines: lines, omittedBytes: bytes }, `… ${lines} lines (${bytes} bytes) of the ${req.label}'s output left out here, to keep the log small …`),
  });
  if (outcome.outputHeld) log.warn(`the ${req.label} exited with code 0, but ${HELD_OUTPUT}`);
  log.info({ durationMs: outcome.durationMs }, `the ${req.label} succeeded`);
}

/** A log line's message, marked as the hook's when a hook printed it (`photos/preBackup │ ...`): terminal and mail alike. */
export function markedHookLine(entry: { hookTag?: unknown; stream?: unknown }, msg: string): string {
  return typeof entry.hookTag === 'string' && (entry.stream === 'stdout' || entry.stream === 'stderr') ? `${entry.hookTag} │ ${msg}` : msg;
}
