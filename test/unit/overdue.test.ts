import { describe, expect, it } from 'vitest';
import type { ReminderSettings } from '../../src/config/model.js';
import type { Ledger } from '../../src/notify/ledger.js';
import { checkOverdue } from '../../src/notify/overdue.js';

const DAY = 86_400_000;
const settings: ReminderSettings = { enabled: true, overdueAfterDays: 14, remindEvery: 7 * DAY, schedule: '0 9 * * *' };
const at = (iso: string) => new Date(iso);
const tracked = (...names: string[]) => names.map((name) => ({ name }));

describe('checkOverdue', () => {
  it('finds a drive overdue only once its last success is older than overdueAfterDays', () => {
    const ledger: Ledger = { a: { trackedSince: '2026-01-01T00:00:00Z', lastSuccess: '2026-01-01T00:00:00Z' } };
    expect(checkOverdue(at('2026-01-15T00:00:00Z'), ledger, tracked('a'), settings).overdue).toEqual([]);
    const later = checkOverdue(at('2026-02-17T09:00:00Z'), ledger, tracked('a'), settings);
    expect(later.overdue).toEqual([{ drive: 'a', lastSuccess: '2026-01-01T00:00:00Z', days: 47 }]);
    expect(later.remind).toEqual(later.overdue);
  });

  it('reminds again only after remindEvery, and afresh after a new success and a new stale spell', () => {
    const ledger: Ledger = { a: { trackedSince: '2026-01-01T00:00:00Z', lastSuccess: '2026-01-01T00:00:00Z', lastReminder: '2026-01-20T09:00:00Z' } };
    expect(checkOverdue(at('2026-01-26T09:00:00Z'), ledger, tracked('a'), settings).remind).toEqual([]);
    expect(checkOverdue(at('2026-01-27T09:00:00Z'), ledger, tracked('a'), settings).remind.map((d) => d.drive)).toEqual(['a']);
    // Backed up on the 25th; stale again 14 days later: the old reminder belongs to the spell before.
    const again: Ledger = { a: { ...ledger.a!, lastSuccess: '2026-01-25T00:00:00Z' } };
    expect(checkOverdue(at('2026-02-09T01:00:00Z'), again, tracked('a'), settings).remind.map((d) => d.drive)).toEqual(['a']);
  });

  it('counts a drive never backed up from when plugback first tracked it, and a drive without a record as not overdue yet', () => {
    const ledger: Ledger = { old: { trackedSince: '2026-01-01T00:00:00Z' } };
    const check = checkOverdue(at('2026-02-01T00:00:00Z'), ledger, tracked('old', 'new'), settings);
    expect(check.overdue).toEqual([{ drive: 'old', lastSuccess: undefined, days: 31 }]);
  });

  it('lists the stalest drive first and ignores drives no longer in the config', () => {
    const ledger: Ledger = {
      b: { trackedSince: '2025-01-01T00:00:00Z', lastSuccess: '2026-01-10T00:00:00Z' },
      a: { trackedSince: '2025-01-01T00:00:00Z', lastSuccess: '2026-01-01T00:00:00Z' },
      gone: { trackedSince: '2025-01-01T00:00:00Z', lastSuccess: '2025-01-01T00:00:00Z' },
    };
    expect(checkOverdue(at('2026-03-01T00:00:00Z'), ledger, tracked('b', 'a'), settings).overdue.map((d) => d.drive)).toEqual(['a', 'b']);
  });

  it("uses a drive's own overdueAfterDays over the reminders setting", () => {
    const since = { trackedSince: '2026-01-01T00:00:00Z', lastSuccess: '2026-01-01T00:00:00Z' };
    const ledger: Ledger = { monthly: since, weekly: since, usual: since };
    const drives = [{ name: 'monthly', overdueAfterDays: 40 }, { name: 'weekly', overdueAfterDays: 7 }, { name: 'usual' }];
    expect(checkOverdue(at('2026-01-09T00:00:00Z'), ledger, drives, settings).overdue.map((d) => d.drive)).toEqual(['weekly']);
    expect(checkOverdue(at('2026-01-20T00:00:00Z'), ledger, drives, settings).overdue.map((d) => d.drive)).toEqual(['usual', 'weekly']);
    expect(checkOverdue(at('2026-02-11T00:00:00Z'), ledger, drives, settings).overdue.map((d) => d.drive)).toEqual(['monthly', 'usual', 'weekly']);
  });

  it('expects a drive on a daily (or more frequent) schedule within 2 days, and keeps the usual limit for weekly ones', () => {
    const since = { trackedSince: '2026-01-01T00:00:00Z', lastSuccess: '2026-01-01T03:00:00Z' };
    const ledger: Ledger = { nightly: since, hourly: since, weekly: since, ownLimit: since, plugged: since };
    const drives = [
      { name: 'nightly', schedule: { calendar: '*-*-* 03:00' } },
      { name: 'hourly', schedule: { calendar: 'hourly' } },
      { name: 'weekly', schedule: { calendar: 'Mon *-*-* 03:00' } },
      // The drive's own overdueAfterDays wins over the schedule's default.
      { name: 'ownLimit', overdueAfterDays: 5, schedule: { calendar: 'daily' } },
      { name: 'plugged' },
    ];
    const overdueAt = (iso: string) => checkOverdue(at(iso), ledger, drives, settings).overdue.map((d) => d.drive);
    // Two days to the minute is not yet overdue; a night missed twice is.
    expect(overdueAt('2026-01-03T03:00:00Z')).toEqual([]);
    expect(overdueAt('2026-01-03T03:01:00Z')).toEqual(['hourly', 'nightly']);
    expect(overdueAt('2026-01-07T00:00:00Z')).toEqual(['hourly', 'nightly', 'ownLimit']);
    expect(overdueAt('2026-01-16T00:00:00Z')).toEqual(['hourly', 'nightly', 'ownLimit', 'plugged', 'weekly']);
  });
});
