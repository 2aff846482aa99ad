// Scenarios 1, 2, 4 and 3 in the guest: a drive backed up, an unknown disk ignored, a wrong key, a drive pulled in
// the middle of rsync and plugged again. The daemon (plugback.service) does the work; the host asserts.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { colourQuiet, colours, journalCursor, journalSince, mails, marker, params, sh, sleep, waitFor, waitJournal, waitMail } from './lib.mjs';
import { FLOOR_LOG } from './setup.mjs';
import { byUuid, followJob, jobEnd, plugTracked, reconfigure, scenario, state, unplugTracked, verifyDrive } from './drives.mjs';

export async function plugScenarios() {
  await scenario('s1-backup', async (r) => {
    const c0 = await colourQuiet();
    const cursor = journalCursor();
    r.plugAt = await plugTracked('a', params.imageA, params.uuidA);
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.timing = { plugToRsyncStart: t.rsyncStart && t.rsyncStart - r.plugAt, rsyncEndToSafe: t.rsyncEnd && t.done.t - t.rsyncEnd, plugToSafe: t.done.t - r.plugAt };
    // systemd's floor: when it started the trivial unit drive A's device wants; and the daemon's lines until rsync.
    const floorAt = Number(sh(`tail -n 1 ${FLOOR_LOG}`, { allowFail: true }).out) || undefined;
    if (floorAt) {
      Object.assign(r.timing, { plugToFloor: floorAt - r.plugAt, floorToRsyncStart: t.rsyncStart && t.rsyncStart - floorAt });
      r.timing.beforeCopy = journalSince(cursor).filter((e) => !t.rsyncStart || e.t <= t.rsyncStart).map((e) => `+${((e.t - floorAt) / 1000).toFixed(2)} s ${e.msg}`);
    }
    r.doneMsg = t.done.msg;
    await sleep(2000);
    r.after = state('offsite-a');
    r.deviceStillThere = existsSync(byUuid(params.uuidA));
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    r.verify = await verifyDrive('a');
  });

  await scenario('s2-unknown', async (r) => {
    await sleep(3000);
    const c0 = await colourQuiet(5000);
    const cursor = journalCursor();
    r.plugAt = await plugTracked('u', params.imageU);
    await waitFor('the unknown disk', () => existsSync(`/dev/disk/by-label/${params.labelU}`), 90_000, 200);
    r.ignored = (await waitJournal(cursor, /not a drive in the config/, 90_000)).msg;
    await sleep(8000);
    r.colours = colours().slice(c0);
    r.mountsOfDisk = sh(`findmnt -rn -o SOURCE,TARGET | grep "$(readlink -f /dev/disk/by-label/${params.labelU})" || true`);
    r.after = state('offsite-a');
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('u');
    await waitFor('the unknown disk to go', () => !existsSync(`/dev/disk/by-label/${params.labelU}`), 60_000);
  });

  await scenario('s4-wrong-key', async (r) => {
    const c0 = await colourQuiet();
    const m0 = mails().length;
    const cursor = journalCursor();
    r.plugAt = await plugTracked('c', params.imageC, params.uuidC);
    r.failure = (await waitJournal(cursor, /drive "offsite-c".*failed|failed at unlock/, 240_000)).msg;
    r.mail = await waitMail(m0, /offsite-c/);
    await waitJournal(cursor, /offsite-c.*safe to remove|left unmounted and closed/, 60_000).catch(() => undefined);
    await sleep(3000);
    r.after = state('offsite-c');
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    r.cryptJournal = sh(`journalctl -b --no-pager -o cat -u "$(systemd-escape --template=systemd-cryptsetup@.service plugback-offsite-c)" | tail -n 20`, { allowFail: true }).out;
    await unplugTracked('c', params.uuidC);
  });

  await scenario('s3-pull-mid-sync', async (r) => {
    // More to copy, and rsync slowed to 1 MiB/s by a config reload, so the pull surely lands in the middle.
    sh('mkdir -p /srv/photos/2026 && for i in 1 2 3 4 5 6 7 8; do head -c 5M /dev/urandom > /srv/photos/2026/new$i.bin; done');
    r.reload1 = await reconfigure(r, '  bandwidthLimit: 1MiB');
    r.pidBefore = state('offsite-a').daemonPid;
    const c0 = await colourQuiet();
    const m0 = mails().length;
    let cursor = journalCursor();
    r.plugAt = await plugTracked('a', params.imageA, params.uuidA);
    r.rsyncStart = await waitFor('rsync to start', () => spawnSync('pgrep', ['-x', 'rsync']).status === 0 && Date.now(), 600_000, 200);
    marker('time rsync-start');
    await sleep(4000);
    r.rsyncRunningAtPull = spawnSync('pgrep', ['-x', 'rsync']).status === 0;
    r.pullAt = Date.now();
    await unplugTracked('a', params.uuidA);
    r.removed = (await waitJournal(cursor, /removed during|drive "offsite-a".*failed/, 120_000)).msg;
    r.jobEnd = (await waitJournal(cursor, /backup of "offsite-a" failed/, 120_000)).msg;
    r.mail = await waitMail(m0, /offsite-a/);
    await sleep(5000);
    r.after = state('offsite-a');
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    r.cryptJournal = sh(`journalctl -b --no-pager -o cat -u "$(systemd-escape --template=systemd-cryptsetup@.service plugback-offsite-a)" | tail -n 8`, { allowFail: true }).out;
    // On the pull systemd stops systemd-cryptsetup@ at once (BindsTo=) while rsync still holds the mount, so its
    // detach fails; the daemon closes the mapping left behind with cryptsetup (test/system/README.md).

    // Plug it in again, at full speed: the backup completes (continuing the interrupted copy).
    r.reload2 = await reconfigure(r);
    const c1 = await colourQuiet();
    cursor = journalCursor();
    r.replugAt = await plugTracked('a', params.imageA, params.uuidA);
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.replugDoneMsg = t.done.msg;
    await sleep(2000);
    r.afterReplug = state('offsite-a');
    r.replugColours = colours().slice(c1);
    r.replugJournal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    r.verify = await verifyDrive('a');
  });
}
