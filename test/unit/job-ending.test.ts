// The ending of a daemon backup for every step x cause (failed on its own, cancelled, drive removed), plus the
// ways it ends well: the verdict, the LED, the mail's subject and the advice a user reads. The runs go through the
// real runner over the real step list (test/helpers/ended-job.ts).
import { describe, expect, it } from 'vitest';
import type { JobEvent, StepName } from '../../src/job/events.js';
import type { LedController } from '../../src/led/led-controller.js';
import { ledReporter } from '../../src/led/led-reporter.js';
import type { LedState } from '../../src/led/patterns.js';
import { jobMail } from '../../src/notify/mail-message.js';
import { summary } from '../../src/job/backup-job.js';
import { DAEMON_STEP_NAMES, endedJob, PREVIOUS, SNAPSHOT, type StopCause } from '../helpers/ended-job.js';

const at = (step: StepName) => DAEMON_STEP_NAMES.indexOf(step);
const afterComplete = (step: StepName) => at(step) > at('complete');
const afterUnmount = (step: StepName) => at(step) > at('unmount');
const BEFORE_COPY: StepName[] = ['unlock', 'mount', 'lock', 'health', 'check-target', 'check-source', 'check-space', 'pre-backup-hooks'];

/** What the LED ends on, through the real ledReporter. */
function ledAfter(event: JobEvent): LedState | undefined {
  let shown: LedState | undefined;
  const led = { set: async (state: LedState) => void (shown = state) } as unknown as LedController;
  ledReporter(led)(event);
  return shown;
}

async function ended(step: StepName, cause: StopCause) {
  const result = await endedJob({ stop: { step, cause }, previous: PREVIOUS });
  const mail = jobMail({ host: 'nas', result });
  return { result, e: result.ending, mail, subject: mail.subject.replace('plugback: backup of offsite-a on nas ', ''), led: ledAfter({ type: 'job-finished', result }) };
}

const CASES = DAEMON_STEP_NAMES.flatMap((step) => (['failed', 'cancelled', 'removed'] as const).map((cause) => [step, cause] as const));

describe('the ending of a backup, for every step x cause', () => {
  it.each(CASES)('%s, %s: verdict, LED and subject agree, and the advice fits the cause', async (step, cause) => {
    const { result, e, mail, subject, led } = await ended(step, cause);
    const good = cause !== 'failed' && afterComplete(step);
    const expected = !good ? (cause === 'cancelled' ? 'cancelled' : 'failed') : cause === 'removed' && afterUnmount(step) ? 'success' : 'warning';
    expect(e.verdict).toBe(expected);
    expect(result.outcome).toBe(expected);
    expect(e.cause).toBe(cause);
    expect(e.step).toBe(step);
    expect(led).toBe(good ? 'done' : 'failed');
    expect(e.led).toBe(led);
    expect(e.snapshot).toBe(afterComplete(step) ? SNAPSHOT : undefined);
    // A good run carries no failed step: the ledger, D-Bus and healthchecks count it as a backup.
    expect(result.failedStep).toBe(good ? undefined : step);

    const subjects: Record<string, string> = {
      failed: `FAILED at ${step}`,
      cancelled: `was cancelled during ${step}`,
      warning: cause === 'removed' ? 'finished; the drive was removed before it was put away' : 'finished with warnings',
      success: 'succeeded',
    };
    expect(subject).toBe(subjects[expected]);
    expect(e.title).toBe(subjects[expected]);

    const advice = e.advice;
    // Every clean-up worked here: the drive was put away as far as it could be, and the hooks ran.
    expect(advice).not.toContain('could not be unmounted and closed');
    expect(e.notDone).not.toContain('post-backup-hooks');
    if (at(step) <= at('mount')) expect(e.notDone).not.toContain('unmount');
    // Never advice that the situation makes false.
    if (led === 'failed') expect(mail.text).not.toMatch(/LED is green|once the LED/);
    if (cause !== 'failed') {
      expect(advice).not.toMatch(/Do not unplug it yet|key file|Fix the hook|rsync could not copy|full drive|fsck|lockWait|maxShrinkPercent/);
    }
    if (cause === 'removed') {
      expect(advice).not.toMatch(/Do not unplug/);
      if (!afterComplete(step)) expect(advice).toContain('leave it in until the LED turns green');
      if (BEFORE_COPY.includes(step)) expect(advice).toContain('before anything was copied');
      if (step === 'sync' || step === 'check-shrink') expect(advice).toContain('The copy so far is kept on the drive');
      if (afterComplete(step) && !afterUnmount(step)) {
        expect(advice).toContain(`Nothing was lost: snapshot ${SNAPSHOT} is complete on the drive`);
        expect(advice).toContain('the next backup of it checks its file system first');
        expect(e.notDone).toEqual(['unmount', 'power-off']);
        expect(result.warnings.join('\n')).toContain(`the drive was removed during ${step}, after snapshot ${SNAPSHOT} was complete`);
      }
      if (afterUnmount(step)) {
        expect(advice).toBe('');
        expect(e.notes.join('\n')).toContain('after it was unmounted: nothing was lost');
        expect(summary(result)).toContain('nothing was lost');
      }
    }
    if (cause === 'cancelled' && !afterComplete(step)) {
      if (BEFORE_COPY.includes(step)) expect(advice).toContain('It was cancelled before anything was copied.');
      else expect(advice).toContain('Nothing is wrong with the drive.');
      if (at(step) > at('mount')) expect(advice).toContain('The drive was unmounted and closed: it can be unplugged.');
    }
    if (cause === 'failed') expect(mail.text).toContain(`Error at ${step}: ${step} broke`);
  });

  it.each([
    ['unlock', /key file unlocks the drive/],
    ['mount', /fsck/],
    ['pre-backup-hooks', /Fix the hook/],
    ['sync', /rsync could not copy/],
    ['check-shrink', /--allow-shrink/],
    ['verify', /smartctl/],
    ['post-backup-hooks', new RegExp(`Snapshot ${SNAPSHOT} is complete\\. A postBackup hook failed`)],
  ] as const)('a failure of %s on its own keeps the advice for that step', async (step, advice) => {
    const { e } = await ended(step, 'failed');
    expect(e.advice).toMatch(advice);
  });

  it.each(['sync', 'complete'] as const)('a failure of %s (a full drive, most often) points at prune --dry-run and forget for that drive, in the mail too', async (step) => {
    const { e, mail } = await ended(step, 'failed');
    expect(e.advice).toContain('plugback prune offsite-a --dry-run shows which snapshots retention removes at the next backup');
    expect(e.advice).toContain('plugback forget offsite-a SNAPSHOT deletes one now (never the newest)');
    expect(mail.text).toContain('plugback forget offsite-a SNAPSHOT');
  });

  it('says what is safe: the newest complete snapshot when this run did not complete one', async () => {
    const { mail } = await ended('sync', 'removed');
    expect(mail.text).toContain(`Safe:         this run's snapshot was not completed; the newest complete one is ${PREVIOUS}`);
    expect(mail.text).toContain(`The newest complete snapshot, ${PREVIOUS}, is untouched.`);
    const early = await ended('mount', 'removed');
    expect(early.mail.text).toContain("Safe:         this run's snapshot was not completed; the drive's snapshots were not looked at");
  });

  it('after an unmount that failed, says "do not unplug" only while the clean-up could not close the drive', async () => {
    const cleaned = await endedJob({ stop: { step: 'unmount', cause: 'failed' } });
    expect(cleaned.ending.advice).toContain('plugback detached and closed it afterwards, so it can be unplugged now');
    expect(cleaned.ending.notDone).toEqual(['power-off']);
    const stuck = await endedJob({ stop: { step: 'unmount', cause: 'failed' }, undoFails: ['unlock'] });
    expect(stuck.ending.advice).toContain('Do not unplug it yet');
    expect(stuck.ending.notDone).toEqual(['close-luks', 'power-off']);
  });

  it('lists postBackup hooks as not done only when their clean-up failed too', async () => {
    expect((await endedJob({ stop: { step: 'sync', cause: 'removed' } })).ending.notDone).toEqual(['unmount', 'power-off']);
    const hooks = await endedJob({ stop: { step: 'sync', cause: 'removed' }, undoFails: ['pre-backup-hooks'] });
    expect(hooks.ending.notDone).toEqual(['post-backup-hooks', 'unmount', 'power-off']);
    expect((await endedJob({ stop: { step: 'check-source', cause: 'failed' } })).ending.notDone).toEqual(['power-off']);
  });
});

describe('the ending of a backup that ran to the end', () => {
  it('success: green, "succeeded", nothing to do', async () => {
    const result = await endedJob();
    expect(result.ending).toMatchObject({ verdict: 'success', cause: 'none', led: 'done', advice: '', snapshot: SNAPSHOT, notDone: [], notes: [] });
    expect(jobMail({ host: 'nas', result }).subject).toBe('plugback: backup of offsite-a on nas succeeded');
    expect(ledAfter({ type: 'job-finished', result })).toBe('done');
  });

  it('warning: green, "finished with warnings", read the warnings', async () => {
    const result = await endedJob({ warnings: ['e2fsck repaired the file system'] });
    expect(result.ending).toMatchObject({ verdict: 'warning', cause: 'none', led: 'done' });
    expect(result.ending.advice).toBe('Read the warnings below; the snapshot itself is complete.');
    expect(jobMail({ host: 'nas', result }).subject).toBe('plugback: backup of offsite-a on nas finished with warnings');
  });
});
