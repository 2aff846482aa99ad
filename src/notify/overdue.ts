// Which drives are overdue, and which of them get a reminder now: a pure function of the time, the ledger
// and the settings, so tests can pass any "now" and a restart changes nothing (the ledger remembers reminders).
import { runsAtLeastDaily } from '../config/calendar.js';
import type { ReminderSettings } from '../config/model.js';
import type { Ledger } from './ledger.js';

const DAY_MS = 86_400_000;
/** A drive on a timer that runs at least daily has missed two runs by then: worth a reminder, not a fortnight later. */
export const SCHEDULED_DAILY_OVERDUE_DAYS = 2;

export interface OverdueDrive {
  drive: string;
  /** The last good backup; undefined for a drive never backed up on this machine. */
  lastSuccess?: string | undefined;
  /** Whole days since the last good backup (or since plugback first knew the drive). */
  days: number;
}

/** A drive as the check needs it: its name, its own limit if it has one, and its schedule if it has one. */
export interface TrackedDrive {
  name: string;
  overdueAfterDays?: number | undefined;
  schedule?: { calendar: string } | undefined;
}

/**
 * Days without a good backup before `drive` is overdue: its own overdueAfterDays; else 2 when its schedule
 * surely runs at least daily (runsAtLeastDaily); else reminders.overdueAfterDays, also for weekly schedules.
 */
export function overdueAfterDays(drive: TrackedDrive, settings: ReminderSettings): number {
  if (drive.overdueAfterDays !== undefined) return drive.overdueAfterDays;
  if (drive.schedule && runsAtLeastDaily(drive.schedule.calendar)) return SCHEDULED_DAILY_OVERDUE_DAYS;
  return settings.overdueAfterDays;
}

export interface OverdueCheck {
  /** Every overdue drive, stalest first: what the LED and the metrics show. */
  overdue: OverdueDrive[];
  /** The overdue drives that get a reminder now: never reminded, or reminded at least remindEvery ago. */
  remind: OverdueDrive[];
}

/**
 * The overdue state of each configured drive at `now`. A drive with no record yet counts from `now`, so a
 * freshly configured drive is not overdue at once; the caller keeps that start in the ledger (trackedSince).
 */
export function checkOverdue(now: Date, ledger: Ledger, drives: readonly TrackedDrive[], settings: ReminderSettings): OverdueCheck {
  const overdue: OverdueDrive[] = [];
  const remind: OverdueDrive[] = [];
  for (const tracked of drives) {
    const drive = tracked.name;
    const limit = overdueAfterDays(tracked, settings) * DAY_MS;
    const record = ledger[drive];
    const reference = Date.parse(record?.lastSuccess ?? record?.trackedSince ?? now.toISOString());
    const age = now.getTime() - reference;
    if (age <= limit) continue;
    const entry: OverdueDrive = { drive, lastSuccess: record?.lastSuccess, days: Math.floor(age / DAY_MS) };
    overdue.push(entry);
    const reminded = record?.lastReminder ? Date.parse(record.lastReminder) : undefined;
    // A reminder from before the last success belongs to an earlier stale spell: this one has had none yet.
    const thisSpell = reminded !== undefined && reminded > reference;
    if (!thisSpell || now.getTime() - (reminded ?? 0) >= settings.remindEvery) remind.push(entry);
  }
  const stalestFirst = (a: OverdueDrive, b: OverdueDrive) => b.days - a.days || a.drive.localeCompare(b.drive);
  return { overdue: overdue.sort(stalestFirst), remind: remind.sort(stalestFirst) };
}
