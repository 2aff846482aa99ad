// drives.<name>.schedule: a systemd calendar expression (systemd.time(7)), checked without spawning anything.
// The check is conservative on purpose: `plugback config check` then asks the real `systemd-analyze calendar`,
// so this only has to keep out what could break the unit file, never to understand the whole grammar.

/** Longer than any sensible schedule ("Mon..Fri *-*-* 02:30:00 Europe/Berlin" is 36). */
export const CALENDAR_MAX_LENGTH = 200;

/**
 * Weekday names, shorthands and time zones (letters, "_", "/", "+"), dates and times (digits, "*", "-", ":", ".",
 * ",", "~", "/"), words apart by single spaces. Not "%" (a unit specifier), "\" (continues a unit line),
 * "#" or ";" (comments), "@" (epoch times, which never repeat) or any control character.
 */
const ALLOWED = /^[A-Za-z0-9*:,./~_+ -]+$/;

/** Why `text` cannot be a schedule, or undefined when it may be one (systemd-analyze has the last word). */
export function calendarProblem(text: string): string | undefined {
  if (text === '') return 'is empty: use a systemd calendar expression such as daily or "Mon *-*-* 03:00"';
  if (text.length > CALENDAR_MAX_LENGTH) return `is longer than ${CALENDAR_MAX_LENGTH} characters: use a shorter calendar expression`;
  if (/[\x00-\x1f\x7f]/.test(text)) return 'contains a control character (such as a line break), which the timer unit cannot hold: write it on one line';
  if (!ALLOWED.test(text)) {
    const bad = [...text].find((c) => !ALLOWED.test(c)) ?? '';
    return `contains ${JSON.stringify(bad)}, which a systemd calendar expression does not need: use letters, digits, spaces and * : , . / ~ _ + - only (see systemd.time(7))`;
  }
  if (text !== text.trim() || text.includes('  ')) return 'has leading, trailing or repeated spaces, which systemd refuses: separate the parts by one space';
  return undefined;
}

const AT_LEAST_DAILY_SHORTHANDS = new Set(['minutely', 'hourly', 'daily']);

/**
 * True when the schedule surely runs at least once a day: minutely, hourly or daily, or a time with no weekday
 * and every day as its date ("02:30", "*-*-* 03:00", "*:0/15"), with or without a time zone. Anything else
 * (weekdays, a day of the month, weekly...) is false, also where it happens to be daily ("Mon..Sun 03:00").
 */
export function runsAtLeastDaily(schedule: string): boolean {
  const [first, ...rest] = schedule.split(' ');
  if (first === undefined) return false;
  if (AT_LEAST_DAILY_SHORTHANDS.has(first.toLowerCase())) return rest.length <= 1;
  // A first word starting with a letter is a weekday (or a shorthand such as weekly); later ones are time zones.
  if (/^[A-Za-z]/.test(first)) return false;
  const zones = rest.filter((w) => /^[A-Za-z]/.test(w));
  // At most one time zone, and last: anything else is a form this check does not know.
  if (zones.length > 1 || (zones.length === 1 && rest.at(-1) !== zones[0])) return false;
  const words = [first, ...rest].filter((w) => !/^[A-Za-z]/.test(w));
  const dates = words.filter((w) => !w.includes(':'));
  const times = words.filter((w) => w.includes(':'));
  if (times.length !== 1 || dates.length > 1) return false;
  return dates.length === 0 || dates[0] === '*-*-*';
}
