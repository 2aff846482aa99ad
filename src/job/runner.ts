// Runs a job's steps in order. Whatever happens (a failure, a cancel, an error inside an undo), it ends in a
// known state: every step that took something (a lock, a mount, a hook that stopped a service) is undone in
// reverse order, and the outcome says which step failed and why.
import type { StepName } from './events.js';

export interface StepContext {
  signal: AbortSignal;
}

export interface Step<C extends StepContext> {
  name: StepName;
  run(ctx: C): Promise<void>;
  /** Puts back what `run` took, when a later step fails or the job is cancelled. */
  undo?(ctx: C): Promise<void>;
  /** The earlier step whose undo this step makes unnecessary (release-lock closes lock). */
  closes?: StepName;
}

export interface StepFailure {
  step: StepName;
  error: Error;
  cancelled: boolean;
  /** The AbortFailure that stopped the job, when one did (DriveRemoved: the drive was pulled out). */
  reason?: AbortFailure;
}

/**
 * An abort reason that fails the job instead of cancelling it, naming the step it hit: the daemon aborts with
 * `new AbortFailure('drive removed')` and the job fails with "drive removed during sync".
 */
export class AbortFailure extends Error {}

/** The drive was pulled out (udisks2 said so, or the kernel or systemd no longer has its device). */
export class DriveRemoved extends AbortFailure {
  constructor() {
    super('drive removed');
  }
}

export interface RunnerHooks {
  /**
   * Called when a step fails on its own, before the failure is recorded: the daemon waits there briefly for
   * news that the drive was pulled out, which is the real cause when rsync fails with an I/O error first.
   * It may also return the cause itself (a DriveRemoved found by looking at the device).
   */
  settleFailure?(): Promise<AbortFailure | undefined | void>;
  stepStarted(step: StepName): void;
  stepFinished(step: StepName, durationMs: number): void;
  stepFailed(failure: StepFailure): void;
}

export interface StepsOutcome {
  failure?: StepFailure;
  undoErrors: { step: StepName; error: Error }[];
  /** The steps that ran to the end, in order. */
  finished: StepName[];
  /** The steps whose undo ran without an error. */
  undone: StepName[];
}

/** Runs `steps` in order; on failure or cancel, undoes the completed ones in reverse. */
export async function runSteps<C extends StepContext>(steps: readonly Step<C>[], ctx: C, hooks: RunnerHooks): Promise<StepsOutcome> {
  const taken: Step<C>[] = [];
  const finished: StepName[] = [];
  let failure: StepFailure | undefined;
  for (const step of steps) {
    if (ctx.signal.aborted) {
      failure = abortFailure(step.name, ctx.signal) ?? { step: step.name, error: new Error('cancelled'), cancelled: true };
      hooks.stepFailed(failure);
      break;
    }
    const startedAt = Date.now();
    hooks.stepStarted(step.name);
    try {
      await step.run(ctx);
    } catch (error) {
      const settled = ctx.signal.aborted ? undefined : await hooks.settleFailure?.();
      failure = abortFailure(step.name, ctx.signal) ??
        (settled instanceof AbortFailure ? failureOf(step.name, settled) : { step: step.name, error: asError(error), cancelled: ctx.signal.aborted });
      hooks.stepFailed(failure);
      break;
    }
    finished.push(step.name);
    hooks.stepFinished(step.name, Date.now() - startedAt);
    if (step.closes) {
      const index = taken.findIndex((s) => s.name === step.closes);
      if (index >= 0) taken.splice(index, 1);
    }
    if (step.undo) taken.push(step);
  }
  const undoErrors: StepsOutcome['undoErrors'] = [];
  const undone: StepName[] = [];
  if (failure) {
    for (const step of taken.reverse()) {
      try {
        await step.undo?.(ctx);
        undone.push(step.name);
      } catch (error) {
        undoErrors.push({ step: step.name, error: asError(error) });
      }
    }
  }
  const ran = { undoErrors, finished, undone };
  return failure ? { failure, ...ran } : ran;
}

/** The failure an AbortFailure reason on the signal stands for, e.g. "drive removed during sync". */
function abortFailure(step: StepName, signal: AbortSignal): StepFailure | undefined {
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  return reason instanceof AbortFailure ? failureOf(step, reason) : undefined;
}

function failureOf(step: StepName, reason: AbortFailure): StepFailure {
  return { step, error: new Error(`${reason.message} during ${step}`), cancelled: false, reason };
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
