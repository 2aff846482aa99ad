// Which snapshots to keep. Pure, so it is easy to reason about and to test over any schedule.
//
// Buckets count over the snapshots that exist, not over the calendar (like restic's --keep-daily): "keepDaily: 7"
// keeps the newest snapshot of each of the 7 most recent days that have one. A drive that is plugged in once a
// month therefore keeps months of history instead of losing it to an age limit (rsnapshot #33, Timeshift #272).
// Periods are UTC days, ISO weeks, months and years, matching the UTC snapshot names.
import type { RetentionPolicy } from '../config/model.js';

export interface Dated {
  name: string;
  time: Date;
}

export interface RetentionPlan {
  /** Name → the rules that keep it. */
  keep: Map<string, string[]>;
  /** Names to delete, oldest first. */
  prune: string[];
}

type Rule = { label: string; count: number; period: (t: Date) => string };

function isoWeek(t: Date): string {
  // ISO 8601: the week with the year's first Thursday is week 1.
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function rules(policy: RetentionPolicy): Rule[] {
  return [
    { label: 'daily', count: policy.keepDaily, period: (t) => t.toISOString().slice(0, 10) },
    { label: 'weekly', count: policy.keepWeekly, period: isoWeek },
    { label: 'monthly', count: policy.keepMonthly, period: (t) => t.toISOString().slice(0, 7) },
    { label: 'yearly', count: policy.keepYearly, period: (t) => t.toISOString().slice(0, 4) },
  ];
}

/** Decides what to keep and what to prune; the newest snapshot is always kept. */
export function planRetention(snapshots: readonly Dated[], policy: RetentionPolicy): RetentionPlan {
  const newestFirst = [...snapshots].sort((a, b) => b.time.getTime() - a.time.getTime() || b.name.localeCompare(a.name));
  const keep = new Map<string, string[]>();
  const mark = (name: string, why: string) => keep.set(name, [...(keep.get(name) ?? []), why]);

  newestFirst.slice(0, Math.max(1, policy.keepLast)).forEach((s, i) => mark(s.name, `last ${i + 1}`));
  for (const rule of rules(policy)) {
    let lastPeriod: string | undefined;
    let kept = 0;
    for (const s of newestFirst) {
      if (kept >= rule.count) break;
      const period = rule.period(s.time);
      if (period === lastPeriod) continue;
      lastPeriod = period;
      kept++;
      mark(s.name, `${rule.label} ${period}`);
    }
  }
  const prune = newestFirst.filter((s) => !keep.has(s.name)).map((s) => s.name).reverse();
  return { keep, prune };
}
