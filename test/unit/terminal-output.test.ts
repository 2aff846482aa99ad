// The pieces of what `plugback run` and `restore` show a person: the progress figure and its time left, the
// closing summary, local times, rsync's change counts, and the status line's bytes (wrap never touched).
import { afterEach, describe, expect, it } from 'vitest';
import { formatLocalTime } from '../../src/config/units.js';
import { ProgressFigure, timeLeft } from '../../src/job/progress-figure.js';
import { runSummary } from '../../src/cli/run-summary.js';
import { StatusLine } from '../../src/cli/status-line.js';
import { describeEnding } from '../../src/job/ending.js';
import type { JobResult } from '../../src/job/events.js';
import { parseRsyncChanges } from '../../src/system/rsync.js';

describe('the time left', () => {
  it('says "estimating" while too little is done, never "?" or "0ms"', () => {
    expect(timeLeft(500, 40)).toBe('estimating');
    expect(timeLeft(60_000, 0.5)).toBe('estimating');
    expect(timeLeft(60_000, 25)).toBe('3m left');
    expect(timeLeft(60_000, 99.99)).toBe('under 1s left');
    expect(timeLeft(60_000, 100)).toBe('finishing');
  });

  it('counts the whole job: the bytes of every state so far, and the pace since the copy began', () => {
    let now = 0;
    const figure = new ProgressFigure(() => now);
    const p = { state: 'db', stateIndex: 1, stateCount: 2, bytes: 1024 ** 2, percent: 10, rate: 1024 };
    expect(figure.line(p)).toBe('10% | db (1/2) | 1.00 MiB copied | 1.00 KiB/s | estimating');
    now = 30_000;
    expect(figure.line({ ...p, state: 'photos', stateIndex: 2, bytes: 2 * 1024 ** 2, percent: 50 })).toBe(
      '50% | photos (2/2) | 3.00 MiB copied | 1.00 KiB/s | 30s left',
    );
  });
});

describe('local time', () => {
  const zone = process.env.TZ;
  afterEach(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });

  it("shows a moment in the machine's zone, with the offset", () => {
    process.env.TZ = 'Europe/Berlin';
    expect(formatLocalTime('2026-11-22T06:02:03.000Z')).toBe('2026-11-22 07:02:03 +01:00');
    process.env.TZ = 'America/New_York';
    expect(formatLocalTime('2026-07-01T12:00:00.000Z')).toBe('2026-07-01 08:00:00 -04:00');
  });
});

const result = (over: Partial<JobResult>): JobResult => ({
  jobId: 'j',
  drive: 'offsite-a',
  outcome: 'success',
  startedAt: '2026-11-22T05:00:00.000Z',
  finishedAt: '2026-11-22T05:01:05.000Z',
  durationMs: 65_000,
  transferredBytes: 50 * 1024 ** 2,
  warnings: [],
  undoErrors: [],
  ending: describeEnding({ drive: 'offsite-a', steps: [], finished: [], undone: [], previousKnown: true, warnings: [], snapshot: '2026-11-22T050000Z' }),
  snapshot: '2026-11-22T050000Z',
  ...over,
});

describe('the closing summary of a run', () => {
  it('says what changed, what was copied in how long, and the space left', () => {
    const lines = runSummary(result({ files: { new: 12, changed: 3, deleted: 1 } }), { freeBytes: 3 * 1024 ** 3 });
    expect(lines).toEqual([
      'backup of offsite-a succeeded',
      '  files:   12 new, 3 changed, 1 deleted',
      '  copied:  50.0 MiB into snapshot 2026-11-22T050000Z in 1m 5s',
      '  free:    3.00 GiB left on the drive',
    ]);
  });

  it('tells a failure on the verdict line, once, followed by what to do', () => {
    const ending = describeEnding({ drive: 'offsite-a', steps: ['check-source'], finished: [], undone: [], stop: { step: 'check-source', cause: 'failed' }, previousKnown: true, warnings: [] });
    const r = result({ outcome: 'failed', snapshot: undefined, transferredBytes: 0, failedStep: 'check-source', error: 'state "photos": /srv/photos does not exist', ending });
    const lines = runSummary(r, {});
    expect(lines[0]).toBe('backup of offsite-a FAILED at check-source: state "photos": /srv/photos does not exist');
    expect(lines.filter((l) => l.includes('does not exist'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^ {2}next: {4}A source folder is missing/);
  });
});

describe("rsync's change counts", () => {
  it('reads the regular files created and transferred from --stats', () => {
    const stats = ['Number of files: 5 (reg: 4, dir: 1)', 'Number of created files: 2 (reg: 1, dir: 1)', 'Number of deleted files: 0', 'Number of regular files transferred: 2'];
    expect(parseRsyncChanges(stats)).toEqual({ createdFiles: 1, copiedFiles: 2 });
    expect(parseRsyncChanges(['Number of created files: 0', 'Number of regular files transferred: 0'])).toEqual({ createdFiles: 0, copiedFiles: 0 });
  });
});

describe('the status line', () => {
  it('never switches wrap off, cuts itself to the width, and shows the cursor again when cleared', () => {
    let written = '';
    const out = { columns: 20, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
    const line = new StatusLine(out);
    line.show('x'.repeat(50));
    line.log('a log line longer than the twenty columns of this terminal');
    line.clear();
    expect(written).not.toContain('\x1b[?7l');
    expect(written).toContain(`\r\x1b[K${'x'.repeat(19)}`);
    expect(written).not.toContain('x'.repeat(20));
    expect(written).toContain('a log line longer than the twenty columns of this terminal\n');
    expect(written.endsWith('\x1b[?25h')).toBe(true);
  });
});
