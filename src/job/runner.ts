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
}

export interface RunnerHooks {
  stepStarted(step: StepName): void;
  stepFinished(step: StepName, durationMs: number): void;
  stepFailed(failure: StepFailure): void;
}

export interface StepsOutcome {
  failure?: StepFailure;
  undoErrors: { step: StepName; error: Error }[];
}

/** Runs `steps` in order; on failure or cancel, undoes the completed ones in reverse. */
export async function runSteps<C extends StepContext>(steps: readonly Step<C>[], ctx: C, hooks: RunnerHooks): Promise<StepsOutcome> {
  const taken: Step<C>[] = [];
  let failure: StepFailure | undefined;
  for (const step of steps) {
    if (ctx.signal.aborted) {
      failure = { step: step.name, error: new Error('cancelled'), cancelled: true };
      hooks.stepFailed(failure);
      break;
    }
    const started = Date.now();
    hooks.stepStarted(step.name);
    try {
      await step.run(ctx);
    } catch (error) {
      failure = { step: step.name, error: asError(error), cancelled: ctx.signal.aborted };
      hooks.stepFailed(failure);
      break;
    }
    hooks.stepFinished(step.name, Date.now() - started);
    if (step.closes) {
      const index = taken.findIndex((s) => s.name === step.closes);
      if (index >= 0) taken.splice(index, 1);
    }
    if (step.undo) taken.push(step);
  }
  const undoErrors: StepsOutcome['undoErrors'] = [];
  if (failure) {
    for (const step of taken.reverse()) {
      try {
        await step.undo?.(ctx);
      } catch (error) {
        undoErrors.push({ step: step.name, error: asError(error) });
      }
    }
  }
  return failure ? { failure, undoErrors } : { undoErrors };
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
