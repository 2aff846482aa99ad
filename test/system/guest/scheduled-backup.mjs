// Scenario 9, in the guest: a directory target backed up by its own timer (drives.<name>.schedule), as
// `plugback install` writes and enables it. The schedule is set a couple of minutes ahead, with no random delay,
// so the real timer fires during the test; nothing starts the service by hand. The host makes the assertions.
// Untested when written: the full-OS suite could not be run where this was made.

export const SCHEDULED_DRIVE = 'nas-disk';
export const SCHEDULED_TARGET = '/srv/backup-disk';

/** `*-*-* HH:MM:00` in UTC, `minutes` whole minutes after `now` (the guest runs in UTC, and the schedule says so). */
export function calendarAhead(now, minutes) {
  const at = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + minutes * 60_000);
  const pad = (n) => String(n).padStart(2, '0');
  return { calendar: `*-*-* ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:00 UTC`, at };
}

/**
 * Plays the scenario into `r`. `sh`, `waitFor` and `journalSince` are the driver's; `writeConfig(drives)` writes the
 * driver's config with `drives` (YAML lines) added under drives:.
 */
export async function scheduledBackup(r, { sh, waitFor, journalSince, journalCursor, writeConfig }) {
  sh(`rm -rf ${SCHEDULED_TARGET} && mkdir -p ${SCHEDULED_TARGET}`);
  // Two minutes ahead: install, daemon-reload and enable take well under one, even under TCG.
  const { calendar, at } = calendarAhead(new Date(), 2);
  r.calendar = calendar;
  r.expectedAt = at.toISOString();
  writeConfig([`  ${SCHEDULED_DRIVE}:`, `    path: ${SCHEDULED_TARGET}`, `    schedule: "${calendar}"`, '    scheduleRandomDelay: 0s'].join('\n'));
  r.configCheck = sh('plugback config check', { allowFail: true });
  r.adopt = sh(`plugback drive adopt ${SCHEDULED_DRIVE}`, { allowFail: true });
  r.install = sh('plugback install', { allowFail: true });
  const timer = sh(`systemd-escape --template=plugback-drive@.timer ${SCHEDULED_DRIVE}`);
  const service = sh(`systemd-escape --template=plugback-drive@.service ${SCHEDULED_DRIVE}`);
  r.units = { timer, service };
  r.timerEnabled = sh(`systemctl is-enabled '${timer}'`, { allowFail: true }).out;
  r.timerActive = sh(`systemctl is-active '${timer}'`, { allowFail: true }).out;
  r.timerCat = sh(`systemctl cat '${timer}'`, { allowFail: true }).out;
  const drives = sh('plugback drives --json', { allowFail: true });
  r.drivesJson = drives.code === 0 ? JSON.parse(drives.out).drives.find((d) => d.drive === SCHEDULED_DRIVE) : { error: drives.err };

  const cursor = journalCursor();
  const show = () =>
    Object.fromEntries(
      sh(`systemctl show -p ActiveState,Result,ExecMainStatus,InvocationID '${service}'`, { allowFail: true })
        .out.split('\n')
        .filter(Boolean)
        .map((l) => l.split(/=(.*)/).slice(0, 2)),
    );
  // The timer fires at `at`; allow the rest of that time, then the backup itself.
  await waitFor(`${service} to be started by ${timer}`, () => show().InvocationID, at.getTime() - Date.now() + 180_000, 1000);
  r.startedAt = new Date().toISOString();
  r.unit = await waitFor(`${service} to finish`, () => {
    const u = show();
    return /^(inactive|failed)$/.test(u.ActiveState) && u;
  }, 600_000, 1000);
  r.timerAfter = sh(`systemctl show -p LastTriggerUSec,NextElapseUSecRealtime --timestamp=unix '${timer}'`, { allowFail: true }).out;
  r.unitJournal = journalSince(cursor, service).map((e) => e.msg);
  const base = `${SCHEDULED_TARGET}/plugback/guest`;
  r.latest = sh(`readlink ${base}/latest`, { allowFail: true }).out;
  const copyRoot = sh(`dirname "$(find ${base}/latest/ -name .systemtest-root | head -n1)"`, { allowFail: true }).out;
  const diff = sh(`diff -r --no-dereference /srv/photos ${copyRoot}`, { allowFail: true });
  r.diff = { code: diff.code, text: (diff.out + diff.err).slice(0, 4000) };

  // Taking the schedule away removes the timer and its link, and stops it.
  writeConfig(`  ${SCHEDULED_DRIVE}:\n    path: ${SCHEDULED_TARGET}`);
  r.unscheduled = sh('plugback install', { allowFail: true });
  r.timerAfterUnschedule = sh(`systemctl is-active '${timer}'`, { allowFail: true }).out;
  r.timerFileAfterUnschedule = sh(`ls /etc/systemd/system/'${timer}' /etc/systemd/system/timers.target.wants/'${timer}'`, { allowFail: true }).code;
}
