// How a job ended, described once: the verdict, the cause and the step it hit, what is safe (this run's snapshot,
// the newest complete one), what was not done to put the drive away, and the advice. Every reporter (the LED,
// the mail, the ledger, D-Bus, metrics, `plugback drives`, the log's last line) reads this, so none of them can
// tell a different story about the same event.
import { adviceFor } from '../notify/next-steps.js';
import type { JobOutcome, StepName } from './events.js';
import { DriveRemoved, type StepFailure, type StepsOutcome } from './runner.js';

/** Why a job stopped before its last step: 'none' when it ran to the end. 'crashed' is a daemon that died mid-job. */
export type EndingCause = 'none' | 'failed' | 'cancelled' | 'removed' | 'crashed';

/** The steps that put a drive away after a backup. */
export type PutAwayStep = 'post-backup-hooks' | 'unmount' | 'close-luks' | 'power-off';
export const PUT_AWAY_STEPS: readonly PutAwayStep[] = ['post-backup-hooks', 'unmount', 'close-luks', 'power-off'];

export interface JobEnding {
  /** success and warning: the LED turns green and the run counts as a good backup; failed and cancelled: red. */
  verdict: JobOutcome;
  cause: EndingCause;
  /** The step the cause hit. */
  step?: StepName | undefined;
  /** What follows "backup of DRIVE": "succeeded", "FAILED at sync", "finished; the drive was removed before it was put away". */
  title: string;
  /** What to do now; empty when there is nothing to do. */
  advice: string;
  /** This run's snapshot, when it was completed. */
  snapshot?: string | undefined;
  /** The newest complete snapshot on the drive after the run, when known (this run's, or the one before). */
  newestSnapshot?: string | undefined;
  /** Whether the newest snapshot is known: false when the job stopped before it looked at the drive. */
  newestKnown: boolean;
  /** An interrupted copy kept on the drive for the next run. */
  keptForResume?: string | undefined;
  /** Put-away steps that did not happen: not as their step, and not by the clean-up (for a pull: not before it). */
  notDone: PutAwayStep[];
  /** Facts worth reading that are not warnings, e.g. a pull after the drive was already unmounted. */
  notes: string[];
  led: 'done' | 'failed';
}

export interface EndingInput {
  drive: string;
  /** The job's steps in order, the ones that finished, and the ones whose undo ran without an error. */
  steps: readonly StepName[];
  finished: readonly StepName[];
  undone: readonly StepName[];
  /** Where and why it stopped, when it did not run to the end. */
  stop?: { step: StepName; cause: Exclude<EndingCause, 'none'> } | undefined;
  snapshot?: string | undefined;
  /** The newest complete snapshot before this run, and whether check-target got to look. */
  previousSnapshot?: string | undefined;
  previousKnown: boolean;
  keptForResume?: string | undefined;
  warnings: readonly string[];
}

/** What the job knows besides the runner's outcome. */
export interface RunFacts {
  drive: string;
  snapshot?: string | undefined;
  previousSnapshot?: string | undefined;
  keptForResume?: string | undefined;
}

/**
 * The ending of a run of `steps` from the runner's outcome: a cancel or pull after the snapshot was complete is
 * recorded through `warn` first (it is a warning of this run), then the story is told from the warnings.
 */
export function endingOfRun(steps: readonly StepName[], outcome: StepsOutcome, facts: RunFacts, warnings: readonly string[], warn: (message: string) => void): JobEnding {
  const ran: Omit<EndingInput, 'warnings'> = {
    ...facts,
    steps,
    finished: outcome.finished,
    undone: outcome.undone,
    stop: outcome.failure && { step: outcome.failure.step, cause: causeOf(outcome.failure) },
    previousKnown: outcome.finished.includes('check-target'),
  };
  const late = lateStopWarning(ran);
  if (late) warn(late);
  return describeEnding({ ...ran, warnings });
}

function causeOf(f: StepFailure): 'failed' | 'cancelled' | 'removed' {
  if (f.reason instanceof DriveRemoved) return 'removed';
  return f.cancelled ? 'cancelled' : 'failed';
}

/** The ending of a job, from what the runner saw. Pure: the same input always tells the same story. */
export function describeEnding(input: EndingInput): JobEnding {
  const { stop, snapshot } = input;
  const notDone = notDoneOf(input);
  const afterUnmount = stop?.cause === 'removed' && snapshot !== undefined && input.finished.includes('unmount');
  const notes = afterUnmount ? [`the drive was removed during ${stop.step}, after it was unmounted: nothing was lost, only the power-off did not happen`] : [];
  const verdict = verdictOf(input);
  const ending: JobEnding = {
    verdict,
    cause: stop?.cause ?? 'none',
    step: stop?.step,
    title: '',
    advice: '',
    snapshot,
    newestSnapshot: snapshot ?? input.previousSnapshot,
    newestKnown: snapshot !== undefined || input.previousKnown,
    keptForResume: snapshot ? undefined : input.keptForResume,
    notDone,
    notes,
    led: verdict === 'success' || verdict === 'warning' ? 'done' : 'failed',
  };
  ending.title = titleOf(ending);
  ending.advice = adviceFor(ending, { drive: input.drive, putAway: putAwayState(input) });
  return ending;
}

/**
 * The warning to record when a cancel or a pull came after the snapshot was complete and before the drive was
 * unmounted: the backup is good, the stop only left the putting away undone. Undefined otherwise.
 */
export function lateStopWarning(input: Omit<EndingInput, 'warnings'>): string | undefined {
  const { stop, snapshot } = input;
  if (!stop || !snapshot) return undefined;
  if (stop.cause === 'cancelled') return `cancelled after snapshot ${snapshot} was complete; ${stop.step} and the steps after it did not run`;
  if (stop.cause !== 'removed' || input.finished.includes('unmount')) return undefined;
  return `the drive was removed during ${stop.step}, after snapshot ${snapshot} was complete; it was not put away (${notDoneOf(input).join(', ')} did not happen)`;
}

function verdictOf(input: EndingInput): JobOutcome {
  const { stop, snapshot } = input;
  const good: JobOutcome = input.warnings.length > 0 ? 'warning' : 'success';
  if (!stop) return good;
  // A complete snapshot is a good backup, whatever stopped the job afterwards, unless a step of its own failed.
  if (snapshot && (stop.cause === 'cancelled' || stop.cause === 'removed')) return good;
  return stop.cause === 'cancelled' ? 'cancelled' : 'failed';
}

/** The ending of a job its daemon did not live to finish (reported by the restarted daemon: crash-report.ts). */
export function crashEnding(drive: string, step: StepName | undefined): JobEnding {
  const ending: JobEnding = { verdict: 'failed', cause: 'crashed', step, title: '', advice: '', newestKnown: false, notDone: [], notes: [], led: 'failed' };
  ending.title = titleOf(ending);
  ending.advice = adviceFor(ending, { drive, putAway: {} });
  return ending;
}

function titleOf(e: JobEnding): string {
  switch (e.verdict) {
    case 'success':
      return 'succeeded';
    case 'warning':
      return e.cause === 'removed' ? 'finished; the drive was removed before it was put away' : 'finished with warnings';
    case 'cancelled':
      return `was cancelled during ${e.step ?? 'the job'}`;
    case 'failed':
      return e.cause === 'crashed' ? `FAILED at ${e.step ?? 'an unknown step'}: plugback stopped unexpectedly` : `FAILED at ${e.step ?? 'an unknown step'}`;
  }
}

/** What the drive's state is at the end: unmounted and closed by its step or the clean-up (undefined: no such step). */
export interface PutAwayState {
  unmounted?: boolean | undefined;
  closed?: boolean | undefined;
}

/** Unmounted (closed): by its step, by the clean-up, or never mounted (unlocked) at all; undefined for a job without the step. */
function putAwayState(input: Omit<EndingInput, 'warnings'>): PutAwayState {
  const by = (step: StepName, taken: StepName) =>
    input.steps.includes(step) ? !input.finished.includes(taken) || input.finished.includes(step) || input.undone.includes(taken) : undefined;
  return { unmounted: by('unmount', 'mount'), closed: by('close-luks', 'unlock') };
}

function notDoneOf(input: Omit<EndingInput, 'warnings'>): PutAwayStep[] {
  if (!input.stop) return [];
  const pulled = input.stop.cause === 'removed';
  const state = putAwayState(input);
  return PUT_AWAY_STEPS.filter((step) => {
    if (!input.steps.includes(step) || input.finished.includes(step)) return false;
    switch (step) {
      case 'post-backup-hooks':
        // Owed once pre-backup-hooks finished (one that fails runs them itself); its undo runs them when this step could not.
        return input.finished.includes('pre-backup-hooks') && !input.undone.includes('pre-backup-hooks');
      case 'unmount':
        // The clean-up lets go of a pulled drive's mount, but its file system on the drive was not closed cleanly.
        return input.finished.includes('mount') && (pulled || state.unmounted !== true);
      case 'close-luks':
        return state.closed !== true;
      case 'power-off':
        return true;
    }
  });
}
