// Scenario 10 in the guest: a directory target backed up by its own timer (drives.<name>.schedule), as `plugback
// install` writes and enables it. The schedule is a minute a little ahead, with no random delay, so the real timer
// fires during the test; nothing starts the service by hand. It also records what this systemd prints for a
// timer's times (`systemctl show`, plain, --timestamp=unix, TZ=UTC), the raw D-Bus values beside them, which is
// where test/fixtures/systemctl-show-timer.txt comes from. The host asserts.
import { journalCursor, journalSince, sh, waitFor, startDaemon } from './lib.mjs';
import { scenario, writeConfig } from './drives.mjs';

export const SCHEDULED_DRIVE = 'offsite-dir';
export const SCHEDULED_TARGET = '/srv/offsite-dir';
const TIMES = 'NextElapseUSecRealtime,NextElapseUSecMonotonic,LastTriggerUSec';

/** `*-*-* HH:MM:00 UTC`, the first whole minute at least `leadMs` after `now` (install takes well under that). */
export function calendarAhead(now, leadMs) {
  const at = new Date(Math.ceil((now.getTime() + leadMs) / 60_000) * 60_000);
  const pad = (n) => String(n).padStart(2, '0');
  return { calendar: `*-*-* ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:00 UTC`, at };
}

/** What systemctl and the bus say about a timer's times, in every form plugback could meet. */
function timerTimes(timer) {
  const show = (prefix, flags) => sh(`${prefix} systemctl show ${flags} -p ${TIMES} -- '${timer}'`, { allowFail: true }).out;
  const path = sh(`busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager GetUnit s '${timer}'`, { allowFail: true })
    .out.replace(/^o "(.*)"$/, '$1');
  const bus = Object.fromEntries(TIMES.split(',').map((p) => [p,
    sh(`busctl get-property org.freedesktop.systemd1 '${path}' org.freedesktop.systemd1.Timer ${p}`, { allowFail: true }).out]));
  return {
    // The very command plugback's nextElapse runs (src/system/timer-state.ts).
    plugback: sh(`TZ=UTC LC_ALL=C systemctl show --timestamp=unix -p LoadState -p ActiveState -p NextElapseUSecRealtime -- '${timer}'`, { allowFail: true }).out,
    plain: show('', ''),
    unix: show('', '--timestamp=unix'),
    utc: show('TZ=UTC LC_ALL=C', ''),
    utcUnix: show('TZ=UTC LC_ALL=C', '--timestamp=unix'),
    bus,
  };
}

const drivesJson = () => {
  const out = sh('plugback drives --json', { allowFail: true });
  if (out.code !== 0) return { error: out.err };
  const all = JSON.parse(out.out);
  return { now: all.now, row: all.drives.find((d) => d.drive === SCHEDULED_DRIVE) };
};

export async function scheduledScenario() {
  await scenario('s10-scheduled', async (r) => {
    const timer = sh(`systemd-escape --template=plugback-drive@.timer ${SCHEDULED_DRIVE}`);
    const service = sh(`systemd-escape --template=plugback-drive@.service ${SCHEDULED_DRIVE}`);
    r.units = { timer, service };
    r.systemd = sh('systemctl --version | head -n 1');
    r.guestTime = { date: sh('date'), localtime: sh('readlink /etc/localtime', { allowFail: true }).out, tz: process.env.TZ ?? null };
    sh(`rm -rf ${SCHEDULED_TARGET} && mkdir -p ${SCHEDULED_TARGET}`);
    const drive = (schedule) => [`  ${SCHEDULED_DRIVE}:`, `    path: ${SCHEDULED_TARGET}`, ...schedule].join('\n');
    // install.trigger daemon, as a machine with USB drives and an always-attached disk has it (scenario 7 may have
    // left units): the daemon runs beside the timer, and plugback.service is started again after install.
    writeConfig('', { extraDrives: drive([]) });
    const adoptStart = Date.now();
    r.adopt = sh(`plugback drive adopt ${SCHEDULED_DRIVE}`, { allowFail: true });
    // The minute must still be ahead when install has enabled the timer (a minute already past would wait a day).
    // Under TCG on a loaded host one plugback command took 100 s, so the lead grows with what adopt took.
    const lead = Math.max(90_000, 3 * (Date.now() - adoptStart) + 30_000);
    const { calendar, at } = calendarAhead(new Date(), lead);
    Object.assign(r, { calendar, expectedAt: at.toISOString(), leadSeconds: lead / 1000 });
    writeConfig('', { extraDrives: drive([`    schedule: "${calendar}"`, '    scheduleRandomDelay: 0s']) });
    r.configCheck = sh('plugback config check', { allowFail: true });
    r.install = sh('plugback install', { allowFail: true });
    r.installedAt = new Date().toISOString();
    if (Date.now() >= at.getTime()) throw new Error(`install ended at ${r.installedAt}, after the scheduled ${r.expectedAt}: the lead of ${lead / 1000} s was too short`);
    startDaemon({ allowFail: true });
    r.daemon = sh('systemctl is-active plugback.service', { allowFail: true }).out;
    r.timerEnabled = sh(`systemctl is-enabled '${timer}'`, { allowFail: true }).out;
    r.timerActive = sh(`systemctl is-active '${timer}'`, { allowFail: true }).out;
    r.timerCat = sh(`systemctl cat '${timer}'`, { allowFail: true }).out;
    r.listTimers = sh('systemctl list-timers --all --no-pager', { allowFail: true }).out;
    r.timesBefore = timerTimes(timer);
    r.drivesBefore = drivesJson();
    r.probe = randomDelayProbe();

    const cursor = journalCursor();
    const show = () => Object.fromEntries(sh(`systemctl show -p ActiveState,Result,ExecMainStatus,InvocationID '${service}'`, { allowFail: true })
      .out.split('\n').filter(Boolean).map((l) => l.split(/=(.*)/).slice(0, 2)));
    // The timer fires at `at`; allow the rest of that time and a margin, then the backup itself.
    await waitFor(`${service} to be started by ${timer}`, () => show().InvocationID, at.getTime() - Date.now() + 180_000, 1000);
    r.unit = await waitFor(`${service} to finish`, () => { const u = show(); return /^(inactive|failed)$/.test(u.ActiveState) && u; }, 600_000, 1000);
    r.timesAfter = timerTimes(timer);
    r.unitJournal = journalSince(cursor, service).map((e) => e.msg);
    r.drivesAfter = drivesJson();
    r.snapshot = snapshotOnTarget();

    // Taking the schedule away removes the timer and its link, and stops it.
    writeConfig('', { extraDrives: drive([]) });
    r.unscheduled = sh('plugback install', { allowFail: true });
    r.timerAfterUnschedule = sh(`systemctl is-active '${timer}'`, { allowFail: true }).out;
    r.timerFilesAfterUnschedule = sh(`ls /etc/systemd/system/'${timer}' /etc/systemd/system/timers.target.wants/'${timer}'`, { allowFail: true }).code;
  });
}

/** A transient timer with Persistent= and a real RandomizedDelaySec=, to see how systemctl shows its next run. */
function randomDelayProbe() {
  sh("systemd-run --unit=probe-random-delay --on-calendar='*-*-* 03:00:00 UTC' --timer-property=Persistent=true --timer-property=RandomizedDelaySec=1h /bin/true");
  const times = timerTimes('probe-random-delay.timer');
  sh('systemctl stop probe-random-delay.timer', { allowFail: true });
  return times;
}

/** The target's snapshots, and the newest compared with the source (diff -r, links not followed). */
function snapshotOnTarget() {
  const base = `${SCHEDULED_TARGET}/plugback/guest`;
  const out = {};
  out.entries = sh(`find ${base}/snapshots -mindepth 1 -maxdepth 1 -printf '%f %y\\n' | sort`, { allowFail: true }).out.split('\n').filter(Boolean);
  out.latest = sh(`readlink ${base}/latest`, { allowFail: true }).out;
  const copyRoot = sh(`dirname "$(find ${base}/latest/ -name .systemtest-root | head -n1)"`, { allowFail: true }).out;
  const diff = sh(`diff -r --no-dereference /srv/photos ${copyRoot}`, { allowFail: true });
  out.diff = { code: diff.code, text: (diff.out + diff.err).slice(0, 4000) };
  out.sourceFiles = Number(sh('find /srv/photos -type f | wc -l'));
  out.copyFiles = Number(sh(`find ${copyRoot} -type f | wc -l`, { allowFail: true }).out);
  return out;
}
