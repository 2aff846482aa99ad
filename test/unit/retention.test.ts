import { describe, expect, it } from 'vitest';
import { planRetention, type Dated } from '../../src/repo/retention.js';

const at = (iso: string): Dated => ({ name: iso, time: new Date(iso) });
const none = { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 };

describe('retention', () => {
  it('always keeps the newest snapshot, whatever the policy says', () => {
    const plan = planRetention([at('2026-01-01T00:00:00Z'), at('2026-02-01T00:00:00Z')], { ...none, keepLast: 0 });
    expect([...plan.keep.keys()]).toEqual(['2026-02-01T00:00:00Z']);
    expect(plan.prune).toEqual(['2026-01-01T00:00:00Z']);
  });

  it('counts daily buckets over days that have snapshots, so a drive plugged in monthly keeps its history', () => {
    // One snapshot a month for a year: with keepDaily 7 and nothing else, seven of them survive, not one.
    const monthly = Array.from({ length: 12 }, (_, m) => at(`2025-${String(m + 1).padStart(2, '0')}-15T10:00:00Z`));
    const plan = planRetention(monthly, { ...none, keepDaily: 7 });
    expect([...plan.keep.keys()].sort()).toEqual(monthly.slice(5).map((s) => s.name));
    expect(plan.prune).toEqual(monthly.slice(0, 5).map((s) => s.name));
  });

  it('keeps the newest snapshot of each period and prunes the rest oldest first', () => {
    const snapshots = [
      at('2026-03-01T08:00:00Z'),
      at('2026-03-01T20:00:00Z'), // newest of 1 March
      at('2026-03-02T09:00:00Z'),
      at('2026-03-02T21:00:00Z'), // newest of 2 March
      at('2026-03-03T07:00:00Z'), // newest of 3 March, newest overall
    ];
    const plan = planRetention(snapshots, { ...none, keepDaily: 2 });
    expect(plan.keep.get('2026-03-03T07:00:00Z')).toEqual(['last 1', 'daily 2026-03-03']);
    expect(plan.keep.get('2026-03-02T21:00:00Z')).toEqual(['daily 2026-03-02']);
    expect(plan.prune).toEqual(['2026-03-01T08:00:00Z', '2026-03-01T20:00:00Z', '2026-03-02T09:00:00Z']);
  });

  it('uses ISO weeks, so a week spanning new year is one bucket', () => {
    // 2026-12-31 (Thursday) and 2027-01-02 (Saturday) are both in ISO week 2026-W53.
    const plan = planRetention([at('2026-12-31T12:00:00Z'), at('2027-01-02T12:00:00Z'), at('2027-01-05T12:00:00Z')], {
      ...none,
      keepLast: 1,
      keepWeekly: 2,
    });
    expect(plan.keep.get('2027-01-02T12:00:00Z')).toEqual(['weekly 2026-W53']);
    expect(plan.keep.get('2027-01-05T12:00:00Z')).toEqual(['last 1', 'weekly 2027-W01']);
    expect(plan.prune).toEqual(['2026-12-31T12:00:00Z']);
  });

  it('applies every rule over an irregular two-year schedule', () => {
    const names = [
      '2024-11-03T10:00:00Z',
      '2025-01-10T10:00:00Z',
      '2025-01-11T10:00:00Z',
      '2025-06-20T10:00:00Z',
      '2025-12-30T10:00:00Z',
      '2026-02-14T10:00:00Z',
      '2026-02-15T10:00:00Z',
      '2026-02-15T18:00:00Z',
      '2026-04-01T10:00:00Z',
      '2026-04-02T10:00:00Z',
    ];
    const plan = planRetention(names.map(at), { keepLast: 2, keepDaily: 3, keepWeekly: 2, keepMonthly: 3, keepYearly: 3 });
    expect(Object.fromEntries(plan.keep)).toEqual({
      '2026-04-02T10:00:00Z': ['last 1', 'daily 2026-04-02', 'weekly 2026-W14', 'monthly 2026-04', 'yearly 2026'],
      '2026-04-01T10:00:00Z': ['last 2', 'daily 2026-04-01'],
      '2026-02-15T18:00:00Z': ['daily 2026-02-15', 'weekly 2026-W07', 'monthly 2026-02'],
      '2025-12-30T10:00:00Z': ['monthly 2025-12', 'yearly 2025'],
      '2024-11-03T10:00:00Z': ['yearly 2024'],
    });
    expect(plan.prune).toEqual([
      '2025-01-10T10:00:00Z',
      '2025-01-11T10:00:00Z',
      '2025-06-20T10:00:00Z',
      '2026-02-14T10:00:00Z',
      '2026-02-15T10:00:00Z',
    ]);
  });
});
