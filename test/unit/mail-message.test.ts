import { describe, expect, it } from 'vitest';
import { describeEnding } from '../../src/job/ending.js';
import type { JobResult } from '../../src/job/events.js';
import { formatLocalTime } from '../../src/config/units.js';
import { jobMail, readableLogLines, reminderMail } from '../../src/notify/mail-message.js';
import { endedJob, KEPT, SNAPSHOT } from '../helpers/ended-job.js';

const base: JobResult = {
  jobId: 'j1',
  drive: 'offsite-a',
  outcome: 'success',
  startedAt: '2026-11-22T05:00:00.000Z',
  finishedAt: '2026-11-22T06:02:03.000Z',
  durationMs: 3_723_000,
  transferredBytes: 5 * 1024 ** 3,
  warnings: [],
  undoErrors: [],
  ending: describeEnding({ drive: 'offsite-a', steps: [], finished: [], undone: [], previousKnown: true, warnings: [] }),
};

describe('job mails', () => {
  it('say a cancelled run was cancelled, that the copy so far is kept, and not that rsync could not copy', async () => {
    const result = await endedJob({ stop: { step: 'sync', cause: 'cancelled' } });
    const mail = jobMail({ host: 'nas', result: { ...result, finishedAt: base.finishedAt, durationMs: base.durationMs, transferredBytes: base.transferredBytes } });
    expect(mail.subject).toBe('plugback: backup of offsite-a on nas was cancelled during sync');
    expect(mail.text).toContain(`Kept:         ${KEPT} (the next run continues it)`);
    expect(mail.text).toContain(`Finished:     ${formatLocalTime('2026-11-22T06:02:03.000Z')} (took 1h 2m)`);
    expect(mail.text).toContain('Copied:       5.00 GiB');
    expect(mail.text).toContain('The drive was unmounted and closed: it can be unplugged.');
    expect(mail.text).not.toMatch(/rsync could not copy|full drive/);
  });

  it('list warnings and failed clean-ups, which need a person', () => {
    const warnings = ['prune failed: EIO'];
    const mail = jobMail({
      host: 'nas',
      result: {
        ...base,
        outcome: 'warning',
        snapshot: 'S',
        warnings,
        undoErrors: [{ step: 'lock', error: 'EBADF' }],
        ending: describeEnding({ drive: 'offsite-a', steps: [], finished: [], undone: [], snapshot: 'S', previousKnown: true, warnings }),
      },
      snapshotCount: 7,
      freeBytes: 1024,
    });
    expect(mail.subject).toBe('plugback: backup of offsite-a on nas finished with warnings');
    expect(mail.text).toContain('  - prune failed: EIO');
    expect(mail.text).toContain('  - lock: EBADF');
    expect(mail.text).toContain('Snapshots:    7 on the drive');
    expect(mail.text).toContain('Free space:   1.00 KiB');
  });

  it('after a pull during prune: the backup finished, the snapshot is safe, what was not done, and no "FAILED"', async () => {
    const mail = jobMail({ host: 'nas', result: await endedJob({ stop: { step: 'prune', cause: 'removed' } }) });
    expect(mail.subject).toBe('plugback: backup of offsite-a on nas finished; the drive was removed before it was put away');
    expect(mail.text).toContain(`Safe:         snapshot ${SNAPSHOT} (this run's) is complete`);
    expect(mail.text).toContain('Not done:     unmount, power-off');
    expect(mail.text).toContain('the next backup of it checks its file system first');
    expect(mail.text).not.toMatch(/FAILED|Do not unplug/);
  });
});

describe('reminder mails', () => {
  it('say how long ago and where, and what to do', () => {
    const mail = reminderMail('nas', { drive: 'offsite-b', lastSuccess: '2026-10-06T09:00:00Z', days: 47 });
    expect(mail.subject).toBe('plugback: offsite-b last backed up 47 days ago on nas');
    expect(mail.text.split('\n')[0]).toBe('offsite-b last backed up 47 days ago on nas: bring it home and plug it in.');
  });
});

describe('readableLogLines', () => {
  it('turns pino lines into "time LEVEL message" and keeps other lines as they are', () => {
    const text = `${JSON.stringify({ level: 50, time: '2026-11-22T05:00:00.000Z', msg: 'failed at sync' })}\nplain line\n\n`;
    expect(readableLogLines(text)).toEqual([`${formatLocalTime('2026-11-22T05:00:00.000Z')} ERROR failed at sync`, 'plain line']);
  });

  it("marks a hook's own output as the hook's, and not plugback's sentences about the hook", () => {
    const line = (o: object) => JSON.stringify({ level: 30, time: '2026-11-22T05:00:00.000Z', hookTag: 'photos/preBackup', ...o });
    const text = `${line({ msg: 'running the preBackup hook of state "photos"' })}\n${line({ stream: 'stdout', msg: 'stopping photoprism' })}\n`;
    expect(readableLogLines(text).map((l) => l.replace(/^.* INFO /, ''))).toEqual(['running the preBackup hook of state "photos"', 'photos/preBackup │ stopping photoprism']);
  });
});
