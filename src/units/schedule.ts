// The timers of scheduled drives (drives.<name>.schedule): one instance file per drive, and its link in
// timers.target.wants, which is what `systemctl enable` would make, so a --root install is enabled too.
import type { Drive, DriveSchedule } from '../config/model.js';
import { calendarProblem } from '../config/calendar.js';
import { timeSpan } from './crypttab.js';
import { EscapeError, systemdEscape } from './escape.js';
import type { GeneratedFile, Render } from './generated-file.js';

const UNIT_DIR = '/etc/systemd/system';

/** plugback-drive@<escaped name>.timer, the unit `plugback drives` asks about and install enables. */
export function driveTimerUnit(driveName: string): string {
  return systemdEscape(driveName, { template: 'plugback-drive@.timer' });
}

/** The unit name of a timer install starts (a scheduled drive's, or plugback-mail.timer) at `file`, or undefined for any other file. */
export function scheduledTimerAt(file: string): string | undefined {
  const match = /^\/etc\/systemd\/system\/(?:timers\.target\.wants\/)?(plugback-drive@[^/]+\.timer|plugback-mail\.timer)$/.exec(file);
  return match?.[1];
}

/**
 * The value of OnCalendar=: refused when it could end the line or continue it (the config refuses these already;
 * this keeps generate safe for any caller), "%" doubled because timer settings expand specifiers.
 */
export function onCalendarValue(schedule: DriveSchedule, driveName: string): string {
  const problem = calendarProblem(schedule.calendar);
  if (problem) throw new EscapeError(`the schedule of drive "${driveName}" (${JSON.stringify(schedule.calendar)}) ${problem}`);
  return schedule.calendar.replace(/%/g, '%%');
}

export function timerFiles(drives: readonly Drive[], render: Render): GeneratedFile[] {
  return drives.flatMap((drive): GeneratedFile[] => {
    if (!drive.schedule) return [];
    const timer = driveTimerUnit(drive.name);
    return [
      {
        path: `${UNIT_DIR}/${timer}`,
        purpose: `drive ${drive.name}: a backup on its schedule (${drive.schedule.calendar})`,
        content: render('units/plugback-drive-scheduled.timer', {
          DRIVE: drive.name,
          ON_CALENDAR: onCalendarValue(drive.schedule, drive.name),
          RANDOM_DELAY: timeSpan(drive.schedule.randomDelay),
          DRIVE_UNIT: systemdEscape(drive.name, { template: 'plugback-drive@.service' }),
        }),
      },
      { path: `${UNIT_DIR}/timers.target.wants/${timer}`, purpose: `drive ${drive.name}: its timer starts at boot (systemctl enable)`, symlinkTo: `${UNIT_DIR}/${timer}` },
    ];
  });
}
