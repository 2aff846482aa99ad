import { describe, expect, it } from 'vitest';
import type { StepName } from '../../src/job/events.js';
import { AbortFailure, DriveRemoved, runSteps, type Step, type StepContext } from '../../src/job/runner.js';

interface Ctx extends StepContext {
  trail: string[];
}

function step(name: StepName, opts: { fail?: boolean; undo?: boolean; undoFails?: boolean; closes?: StepName; abort?: AbortController } = {}): Step<Ctx> {
  return {
    name,
    ...(opts.closes ? { closes: opts.closes } : {}),
    async run(ctx) {
      ctx.trail.push(`run ${name}`);
      opts.abort?.abort();
      if (opts.fail) throw new Error(`${name} broke`);
    },
    ...(opts.undo
      ? {
          async undo(ctx: Ctx) {
            ctx.trail.push(`undo ${name}`);
            if (opts.undoFails) throw new Error(`undo of ${name} broke`);
          },
        }
      : {}),
  };
}

const quiet = { stepStarted: () => undefined, stepFinished: () => undefined, stepFailed: () => undefined };
const ctx = (signal = new AbortController().signal): Ctx => ({ signal, trail: [] });

describe('the step runner', () => {
  it('runs every step in order and undoes nothing when all succeed', async () => {
    const c = ctx();
    const outcome = await runSteps([step('check-target'), step('lock', { undo: true }), step('release-lock', { closes: 'lock' })], c, quiet);
    expect(outcome.failure).toBeUndefined();
    expect(c.trail).toEqual(['run check-target', 'run lock', 'run release-lock']);
  });

  it('undoes the steps that took something, in reverse, when a later step fails', async () => {
    const c = ctx();
    const outcome = await runSteps(
      [step('pre-backup-hooks', { undo: true }), step('lock', { undo: true }), step('sync', { fail: true }), step('complete')],
      c,
      quiet,
    );
    expect(outcome.failure).toMatchObject({ step: 'sync', cancelled: false, error: { message: 'sync broke' } });
    expect(c.trail).toEqual(['run pre-backup-hooks', 'run lock', 'run sync', 'undo lock', 'undo pre-backup-hooks']);
  });

  it('does not undo what a later step already put back', async () => {
    const c = ctx();
    await runSteps([step('lock', { undo: true }), step('release-lock', { closes: 'lock' }), step('post-backup-hooks', { fail: true })], c, quiet);
    expect(c.trail).toEqual(['run lock', 'run release-lock', 'run post-backup-hooks']);
  });

  it('keeps undoing after an undo fails, and reports it', async () => {
    const c = ctx();
    const outcome = await runSteps(
      [step('pre-backup-hooks', { undo: true }), step('lock', { undo: true, undoFails: true }), step('sync', { fail: true })],
      c,
      quiet,
    );
    expect(c.trail).toEqual(['run pre-backup-hooks', 'run lock', 'run sync', 'undo lock', 'undo pre-backup-hooks']);
    expect(outcome.undoErrors.map((u) => [u.step, u.error.message])).toEqual([['lock', 'undo of lock broke']]);
  });

  it('stops before the next step when cancelled, marks the failure as a cancel and still undoes', async () => {
    const abort = new AbortController();
    const c = ctx(abort.signal);
    const failed: string[] = [];
    const outcome = await runSteps([step('lock', { undo: true, abort }), step('sync')], c, { ...quiet, stepFailed: (f) => failed.push(f.step) });
    expect(outcome.failure).toMatchObject({ step: 'sync', cancelled: true });
    expect(failed).toEqual(['sync']);
    expect(c.trail).toEqual(['run lock', 'undo lock']);
  });

  it('turns an AbortFailure into a failure of the step it hit, e.g. "drive removed during sync"', async () => {
    const abort = new AbortController();
    const sync: Step<Ctx> = {
      name: 'sync',
      async run() {
        abort.abort(new AbortFailure('drive removed'));
        throw new Error('rsync was killed');
      },
    };
    const c = ctx(abort.signal);
    const outcome = await runSteps([step('mount', { undo: true }), sync, step('complete')], c, quiet);
    expect(outcome.failure).toMatchObject({ step: 'sync', cancelled: false });
    expect(outcome.failure?.error.message).toBe('drive removed during sync');
    expect(c.trail).toEqual(['run mount', 'undo mount']);
  });

  it('lets the caller settle a failure first: news of a removal that arrives then names the cause', async () => {
    const abort = new AbortController();
    const outcome = await runSteps([step('sync', { fail: true })], ctx(abort.signal), {
      ...quiet,
      settleFailure: async () => {
        abort.abort(new AbortFailure('drive removed'));
      },
    });
    expect(outcome.failure?.error.message).toBe('drive removed during sync');
  });

  it('takes the cause a settle returns (the device seen gone), and says which steps finished and which were undone', async () => {
    const outcome = await runSteps([step('mount', { undo: true }), step('sync', { fail: true }), step('complete')], ctx(), {
      ...quiet,
      settleFailure: async () => new DriveRemoved(),
    });
    expect(outcome.failure?.error.message).toBe('drive removed during sync');
    expect(outcome.failure?.reason).toBeInstanceOf(DriveRemoved);
    expect(outcome.finished).toEqual(['mount']);
    expect(outcome.undone).toEqual(['mount']);
  });
});
