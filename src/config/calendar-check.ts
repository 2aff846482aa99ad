// `plugback config check` asks the real `systemd-analyze calendar` about every schedule: the load-time check
// only keeps out what could break the unit, systemd's own parser knows the grammar. Loaded only by config check,
// so loading a config never spawns.
import type { Config } from './model.js';
import type { ConfigPath } from './positions.js';

export interface CalendarFinding {
  path: ConfigPath;
  message: string;
}

/** What systemd-analyze says of one expression: undefined when it takes it, 'unavailable' when it is not installed. */
export async function systemdCalendarProblem(expression: string): Promise<string | undefined | 'unavailable'> {
  // execa loaded when needed: some hundred modules a daemon at rest would otherwise keep in memory.
  const { execa } = await import('execa');
  const result = await execa('systemd-analyze', ['calendar', '--', expression], { reject: false, timeout: 10_000 });
  if (result.failed && (result as { code?: string }).code === 'ENOENT') return 'unavailable';
  if (result.exitCode !== 0) {
    const said = result.stderr.trim().split('\n')[0] || `exit ${result.exitCode ?? result.signal ?? '?'}`;
    return `systemd-analyze calendar refuses it (${said}): see systemd.time(7) for the syntax, e.g. daily or "Mon *-*-* 03:00"`;
  }
  // Valid syntax for a time that never comes (a past date, 30 February): the timer would never fire.
  if (/^\s*Next elapse: never$/m.test(result.stdout)) {
    return 'never comes: systemd-analyze calendar finds no next time (a date in the past, or one that does not exist): give a repeating schedule such as daily';
  }
  return undefined;
}

/** A finding per drive whose schedule systemd refuses; none when systemd-analyze is not installed. */
export async function calendarFindings(config: Config): Promise<CalendarFinding[]> {
  const findings: CalendarFinding[] = [];
  for (const drive of config.drives) {
    if (!drive.schedule) continue;
    const problem = await systemdCalendarProblem(drive.schedule.calendar);
    if (problem === 'unavailable') return [];
    if (problem) findings.push({ path: ['drives', drive.name, 'schedule'], message: `drives.${drive.name}.schedule: ${JSON.stringify(drive.schedule.calendar)} ${problem}` });
  }
  return findings;
}
