// A job's ending as the real runner produces it: the real step list of a daemon backup (BACKUP_STEPS and the
// device steps, with their real undo/closes shape) run by runSteps, each step a stub that succeeds, except the one
// that stops the job by the given cause. What the ending then says is what runBackupJob would say.
import { BACKUP_STEPS } from '../../src/job/backup-job.js';
import type { BackupContext } from '../../src/job/context.js';
import { endingOfRun } from '../../src/job/ending.js';
import type { JobResult, StepName } from '../../src/job/events.js';
import { DriveRemoved, runSteps, type Step, type StepContext } from '../../src/job/runner.js';
import { deviceSteps } from '../../src/job/steps/device.js';
import type { Systemd1 } from '../../src/system/systemd1.js';

const device = deviceSteps({ systemd: {} as Systemd1, udisks: undefined, present: () => undefined });
/** The steps of a daemon backup of a LUKS drive, in order. */
export const DAEMON_STEPS: readonly Step<BackupContext>[] = [...device.before, ...BACKUP_STEPS, ...device.after];
export const DAEMON_STEP_NAMES: readonly StepName[] = DAEMON_STEPS.map((s) => s.name);

export type StopCause = 'failed' | 'cancelled' | 'removed';

export interface EndedJobOptions {
  stop?: { step: StepName; cause: StopCause };
  /** Warnings the run had anyway. */
  warnings?: string[];
  /** The newest snapshot check-target finds. */
  previous?: string;
  /** Undos that fail (the clean-up could not unmount or close). */
  undoFails?: StepName[];
  steps?: readonly Step<BackupContext>[];
}

export const SNAPSHOT = '2026-12-02T021500Z';
export const PREVIOUS = '2026-11-20T090000Z';
export const KEPT = `/media/offsite-a/plugback/nas/snapshots/${SNAPSHOT}.incomplete`;

interface StubContext extends StepContext {
  snapshot?: string;
  workDir?: string | undefined;
  previous?: string;
}

export async function endedJob(options: EndedJobOptions = {}): Promise<JobResult> {
  const controller = new AbortController();
  const ctx: StubContext = { signal: controller.signal };
  const stubs = (options.steps ?? DAEMON_STEPS).map((real): Step<StubContext> => ({
    name: real.name,
    ...(real.closes ? { closes: real.closes } : {}),
    async run(c) {
      // sync makes its .incomplete folder before it copies, so a stop during it leaves one.
      if (real.name === 'sync') c.workDir = KEPT;
      if (real.name === options.stop?.step) {
        if (options.stop.cause === 'cancelled') controller.abort(new Error('cancelled by the test'));
        if (options.stop.cause === 'removed') controller.abort(new DriveRemoved());
        throw new Error(`${real.name} broke`);
      }
      if (real.name === 'check-target') c.previous = options.previous;
      if (real.name === 'complete') {
        c.snapshot = SNAPSHOT;
        c.workDir = undefined;
      }
    },
    ...(real.undo
      ? {
          async undo() {
            if (options.undoFails?.includes(real.name)) throw new Error(`undo of ${real.name} broke`);
          },
        }
      : {}),
  }));
  const quiet = { stepStarted: () => undefined, stepFinished: () => undefined, stepFailed: () => undefined };
  const outcome = await runSteps(stubs, ctx, quiet);
  const warnings = [...(options.warnings ?? [])];
  const facts = { drive: 'offsite-a', snapshot: ctx.snapshot, previousSnapshot: ctx.previous, keptForResume: ctx.workDir };
  const ending = endingOfRun(stubs.map((s) => s.name), outcome, facts, warnings, (m) => warnings.push(m));
  const failure = ending.verdict === 'failed' || ending.verdict === 'cancelled' ? outcome.failure : undefined;
  return {
    jobId: 'job-1',
    drive: 'offsite-a',
    outcome: ending.verdict,
    startedAt: '2026-12-02T02:15:00.000Z',
    finishedAt: '2026-12-02T02:20:00.000Z',
    durationMs: 300_000,
    snapshot: ctx.snapshot,
    failedStep: failure?.step,
    error: failure?.error.message,
    leftForResume: ctx.workDir,
    transferredBytes: 1024,
    warnings,
    undoErrors: outcome.undoErrors.map((u) => ({ step: u.step, error: u.error.message })),
    ending,
  };
}

/** A real run's result told as if it had failed at `step` with `error`, its ending the one the runner gives that stop. */
export async function asFailure(result: JobResult, step: StepName, error: string): Promise<JobResult> {
  const { ending } = await endedJob({ stop: { step, cause: 'failed' } });
  return { ...result, outcome: 'failed', failedStep: step, error, snapshot: ending.snapshot === undefined ? undefined : result.snapshot, ending };
}
