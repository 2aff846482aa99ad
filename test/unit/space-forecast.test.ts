// The space forecast (src/notify/space-forecast.ts): only completed incremental backups count, the median of the
// recent ones decides, and the success mail says it.
import { describe, expect, it } from 'vitest';
import type { JobResult } from '../../src/job/events.js';
import type { DriveRecord } from '../../src/notify/ledger.js';
import { jobMail } from '../../src/notify/mail-message.js';
import { forecastSpace, forecastWords, noteNewBytes } from '../../src/notify/space-forecast.js';
import { endedJob } from '../helpers/ended-job.js';

const GiB = 1024 ** 3;
const run = (transferredBytes: number, extra: Partial<JobResult> = {}) =>
  ({ outcome: 'success', snapshot: '2026-12-03T101500Z', transferredBytes, files: { new: 1, changed: 0, deleted: 0 }, ...extra }) as JobResult;

describe('the space forecast', () => {
  it('counts completed incremental backups only, the last eight', () => {
    const record: DriveRecord = { trackedSince: '2026-01-01T00:00:00Z' };
    noteNewBytes(record, run(500 * GiB, { files: { new: 9, changed: 0 } })); // a first, full copy
    noteNewBytes(record, run(3 * GiB, { outcome: 'failed' }));
    expect(record.recentNewBytes).toBeUndefined();
    for (let i = 1; i <= 10; i++) noteNewBytes(record, run(i * GiB));
    expect(record.recentNewBytes).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map((n) => n * GiB));
  });

  it('divides the free space by the median, and says nothing before two backups', () => {
    expect(forecastSpace({ trackedSince: '', recentNewBytes: [GiB], freeBytes: 10 * GiB })).toBeUndefined();
    const f = forecastSpace({ trackedSince: '', recentNewBytes: [1 * GiB, 9 * GiB, 2 * GiB], freeBytes: 10 * GiB });
    expect(f).toEqual({ perBackup: 2 * GiB, backupsLeft: 5 });
    expect(forecastWords(f)).toBe('full in about 5 backups');
    expect(forecastWords({ perBackup: GiB, backupsLeft: 0 })).toBe('full at the next backup');
  });

  it('is in the mail after a backup, beside the free space', async () => {
    const result = await endedJob({});
    const mail = jobMail({ host: 'nas', result, freeBytes: 10 * GiB, fullIn: 'full in about 5 backups' });
    expect(mail.text).toContain('Free space:   10.0 GiB (full in about 5 backups)');
  });
});
