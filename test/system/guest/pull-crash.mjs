// Scenario 11 in the guest (issue 20): a drive pulled after its snapshot is complete, three times over, must be
// told the same way each time (a finished backup, not a failure); and the daemon killed with SIGKILL in the middle
// of rsync must come back, report the crash by mail, and finish the backup. The host asserts (checks/pull-crash.mjs).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { colourQuiet, colours, journalCursor, journalSince, mails, marker, params, sh, sleep, waitFor, waitJournal, waitMail } from './lib.mjs';
import { followJob, jobEnd, plugTracked, reconfigure, scenario, state, unplugTracked, verifyDrive } from './drives.mjs';

// In the state folder: the hook runs in plugback's sandbox, where /run and /tmp are not the host's to write.
const HOOK_MARK = '/var/lib/plugback/systemtest-post-hook';
// The postBackup hook holds the job after `complete` for a few seconds: a pull then lands between complete and
// unmount. A post hook runs to its end even after a pull (it may be starting a service again).
const HOLDING_HOOK = `hooks:\n  postBackup: "touch ${HOOK_MARK}; sleep 6"`;
const JOB_END = /^backup of "offsite-a" (finished|failed|was cancelled)/;
const rsyncRunning = () => spawnSync('pgrep', ['-x', 'rsync']).status === 0;

export async function pullAndCrashScenarios() {
  await scenario('s11a-pull-after-complete', async (r) => {
    r.reload = await reconfigure(r, '', { extraTop: HOLDING_HOOK });
    r.rounds = [];
    for (let round = 0; round < 3; round++) {
      sh(`rm -f ${HOOK_MARK}; head -c 2M /dev/urandom > /srv/photos/after-complete-${round}.bin`);
      const c0 = await colourQuiet();
      const m0 = mails().length;
      const cursor = journalCursor();
      await plugTracked('a', params.imageA, params.uuidA);
      await waitFor('the postBackup hook to start', () => existsSync(HOOK_MARK), 600_000, 200);
      const complete = journalSince(cursor).find((e) => /^snapshot \S+ is complete$/.test(e.msg))?.msg;
      await unplugTracked('a', params.uuidA);
      const end = (await waitJournal(cursor, JOB_END, 120_000)).msg;
      await sleep(5000); // the LED's last colour, the mail and the clean-up of the mapping
      r.rounds.push({
        complete,
        end,
        after: state('offsite-a'),
        colours: colours().slice(c0),
        mails: mails().slice(m0).map((m) => m.subject),
        journal: journalSince(cursor).map((e) => e.msg),
      });
      marker(`checked round ${round}`);
    }
    // The next plug finds the drive as the pull left it (its file system not cleanly unmounted), backs it up
    // and puts it away.
    r.reloadBack = await reconfigure(r);
    const cursor = journalCursor();
    await plugTracked('a', params.imageA, params.uuidA);
    r.nextPlug = (await followJob(cursor, jobEnd('offsite-a'), 600_000)).done.msg;
    r.nextPlugJournal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    r.verify = await verifyDrive('a');
  });

  await scenario('s11b-kill-daemon-mid-copy', async (r) => {
    // 20 MiB new at 1 MiB/s: the kill surely lands while rsync copies.
    sh('mkdir -p /srv/photos/2027 && for i in 1 2 3 4; do head -c 5M /dev/urandom > /srv/photos/2027/kill$i.bin; done');
    r.reload = await reconfigure(r, '  bandwidthLimit: 1MiB');
    r.pidBefore = state('offsite-a').daemonPid;
    r.restartsBefore = sh('systemctl show -p NRestarts --value plugback.service');
    const m0 = mails().length;
    const c0 = await colourQuiet();
    const cursor = journalCursor();
    await plugTracked('a', params.imageA, params.uuidA);
    await waitFor('rsync to start', () => rsyncRunning(), 600_000, 200);
    await sleep(3000);
    r.rsyncRunningAtKill = rsyncRunning();
    r.killedAt = Date.now();
    sh(`kill -KILL ${r.pidBefore}`);
    marker('time daemon-killed');
    r.mail = await waitMail(m0, /stopped unexpectedly/, 300_000);
    r.mailAfterKillMs = Date.now() - r.killedAt;
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.doneMsg = t.done.msg;
    await sleep(2000);
    r.after = state('offsite-a');
    r.restartsAfter = sh('systemctl show -p NRestarts --value plugback.service');
    r.serviceResult = sh('systemctl show -p Result --value plugback.service');
    r.colours = colours().slice(c0);
    r.mailsAfter = mails().slice(m0).map((m) => m.subject);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    r.reloadBack = await reconfigure(r);
    r.verify = await verifyDrive('a');
  });
}
