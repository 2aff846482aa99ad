// Scenario 9, a hostile drive (drive-safety audit D1, D2, D4): drive H is opened by hand and links are planted in
// its repository that point off the drive, at victims on the guest's own disk; then it is plugged in for the daemon.
// Whatever the daemon does, the victims must stay as they were. Runs last: scenario 7 may have left
// install.trigger units, so it first puts the daemon back. The host asserts.
import { readFileSync, statSync, symlinkSync } from 'node:fs';
import { colourQuiet, colours, journalCursor, journalSince, mails, params, results, sh, sleep, waitMail, startDaemon } from './lib.mjs';
import { byUuid, followJob, jobEnd, plugTracked, scenario, state, unplugTracked, writeConfig } from './drives.mjs';

/** The phrase the no-follow fix uses when it refuses a link on a drive. */
export const NO_FOLLOW = 'never follows links on a drive';
const HOST = 'guest';
const KEY = '/etc/plugback/keys/offsite-h.key';
const VICTIM_A = '/srv/victim-a';
const VICTIM_B = '/srv/victim-b';
const VICTIM_LOG = '/srv/victim-log.txt';
const PLANTED_INCOMPLETE = '2026-01-01T000000Z.incomplete';
const COMPLETE_NAME = /^\d{4}-\d{2}-\d{2}T\d{6}Z$/;

export const hostileDrive = (params) => ({ name: 'offsite-h', image: params.imageH, uuid: params.uuidH });

/** A snapshot's name as plugback makes it (src/repo/layout.ts): the UTC second, like 2026-11-22T101500Z. */
const snapshotName = (time) => time.toISOString().replace(/:/g, '').replace(/\.\d{3}Z$/, 'Z');

export async function hostileDriveScenarios() {
  const d = hostileDrive(params);
  /**
   * A folder's entries (`<path> <type>`, links not followed) and its small files' content: all a victim is. Bounded:
   * a daemon that followed the link leaves a whole snapshot in there, which results.json need not hold.
   */
  const snapshotOf = (dir) => {
    const all = sh(`find ${dir} -mindepth 1 -printf '%P %y\\n' | sort`, { allowFail: true }).out.split('\n').filter(Boolean);
    const small = all.filter((e) => e.endsWith(' f')).map((e) => e.slice(0, -2))
      .filter((f) => statSync(`${dir}/${f}`).size <= 4096).slice(0, 10);
    const files = Object.fromEntries(small.map((f) => [f, readFileSync(`${dir}/${f}`, 'utf8')]));
    return { type: sh(`stat -c %F ${dir}`, { allowFail: true }).out, count: all.length, entries: all.slice(0, 40), files };
  };
  const lstatType = (p) => sh(`stat -c %F '${p}'`, { allowFail: true }).out || 'absent';

  /** H opened and mounted by hand with the daemon stopped (it would take H the moment it appears); then closed. */
  async function openByHand(body, { readonly = false } = {}) {
    sh('systemctl stop plugback.service');
    await plugTracked('h', d.image, d.uuid);
    try {
      sh(`cryptsetup open ${readonly ? '--readonly ' : ''}--key-file ${KEY} ${byUuid(d.uuid)} byhand-h`);
      sh(`mkdir -p /mnt/byhand-h && mount ${readonly ? '-o ro ' : ''}/dev/mapper/byhand-h /mnt/byhand-h`);
      return await body(`/mnt/byhand-h/plugback/${HOST}`);
    } finally {
      sh('umount /mnt/byhand-h', { allowFail: true });
      sh('cryptsetup close byhand-h', { allowFail: true });
      await unplugTracked('h', d.uuid);
      startDaemon();
    }
  }

  /** Plugs H for the daemon and waits for the job to end, however it goes; what is seen goes into `r`. */
  async function plugForBackup(r) {
    const c0 = await colourQuiet();
    const m0 = mails().length;
    const cursor = journalCursor();
    r.plugAt = await plugTracked('h', d.image, d.uuid);
    const job = await followJob(cursor, jobEnd(d.name), 600_000);
    r.doneMsg = job.done.msg;
    const journal = journalSince(cursor);
    r.jobEnd = journal.find((e) => new RegExp(`^backup of "${d.name}" (failed|finished|was cancelled)`).test(e.msg))?.msg;
    r.noFollowLine = journal.find((e) => e.msg.includes(NO_FOLLOW))?.msg;
    r.warnings = journal.filter((e) => e.level === 'warn' || e.level === 40).map((e) => e.msg);
    // A failure mails; a success does not, so only a short look then.
    const failed = /failed/.test(r.jobEnd ?? r.doneMsg);
    r.mail = await waitMail(m0, /offsite-h/, failed ? 90_000 : 5_000).catch(() => undefined);
    await sleep(3000);
    r.after = state(d.name);
    await colourQuiet();
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('h', d.uuid);
  }

  await scenario('s9a-hostile-link', async (r) => {
    // Scenario 7 replaced the daemon with install.trigger units: back to the daemon, as an administrator would.
    writeConfig();
    r.reinstall = sh('plugback install', { allowFail: true });
    // Left over, H's device unit would start plugback-drive@offsite\x2dh.service beside the daemon.
    const deviceUnit = sh(`systemd-escape --path --suffix=device ${byUuid(d.uuid)}`);
    r.driveUnitWants = sh(`ls '/etc/systemd/system/${deviceUnit}.wants/' 2>/dev/null || true`);
    startDaemon();
    r.daemonAfterReinstall = state(d.name).daemon;

    sh(`rm -rf ${VICTIM_A} && mkdir -p ${VICTIM_A} && echo 'victim a: plugback must never touch this' > ${VICTIM_A}/important.conf`);
    r.victimBefore = snapshotOf(VICTIM_A);
    r.planted = await openByHand((base) => {
      sh(`mkdir -p ${base} && rm -rf ${base}/snapshots && ln -s ${VICTIM_A} ${base}/snapshots`);
      return { snapshots: lstatType(`${base}/snapshots`), target: sh(`readlink ${base}/snapshots`) };
    });
    await plugForBackup(r);
    r.victim = snapshotOf(VICTIM_A);
  });

  await scenario('s9b-hostile-incomplete', async (r) => {
    sh(`rm -rf ${VICTIM_B} && mkdir -p ${VICTIM_B} && echo 'victim b: keep me' > ${VICTIM_B}/keep.txt`);
    sh(`echo 'victim log: plugback must never append here' > ${VICTIM_LOG}`);
    r.victimBBefore = snapshotOf(VICTIM_B);
    r.victimLogBefore = readFileSync(VICTIM_LOG, 'utf8');
    r.planted = await openByHand((base) => {
      sh(`rm -rf ${base}/snapshots && mkdir ${base}/snapshots && ln -s ${VICTIM_B} ${base}/snapshots/${PLANTED_INCOMPLETE}`);
      sh(`mkdir -p ${base}/logs`);
      // The run log is logs/<snapshot>.log, the snapshot named by its start second: cover the next two minutes.
      const now = Date.now();
      for (let i = 0; i < 120; i++) symlinkSync(VICTIM_LOG, `${base}/logs/${snapshotName(new Date(now + i * 1000))}.log`);
      return {
        incomplete: lstatType(`${base}/snapshots/${PLANTED_INCOMPLETE}`),
        logLinks: Number(sh(`find ${base}/logs -type l -lname ${VICTIM_LOG} | wc -l`)),
      };
    });
    await plugForBackup(r);
    // The daemon's memory after two jobs, idle (printed by the host, never asserted).
    await sleep(5000);
    const pid = state(d.name).daemonPid;
    const status = sh(`cat /proc/${pid}/status`, { allowFail: true }).out;
    results.daemonMemory = { pid, when: 'idle, after scenario 9 (the daemon restarted for it)',
      vmRss: /VmRSS:\s*(.+)/.exec(status)?.[1]?.trim(), vmHwm: /VmHWM:\s*(.+)/.exec(status)?.[1]?.trim() };
    r.victimB = snapshotOf(VICTIM_B);
    r.victimLog = readFileSync(VICTIM_LOG, 'utf8');
    r.verify = await openByHand((base) => verifyOnDrive(base), { readonly: true });
  });

  /** The new snapshot, read without following links: a real folder on H, equal to the source. */
  function verifyOnDrive(base) {
    const out = {};
    out.entries = sh(`find ${base}/snapshots -mindepth 1 -maxdepth 1 -printf '%f %y\\n' | sort`).split('\n').filter(Boolean);
    out.incompleteAfter = lstatType(`${base}/snapshots/${PLANTED_INCOMPLETE}`);
    out.latest = sh(`readlink ${base}/latest`, { allowFail: true }).out;
    out.newSnapshots = out.entries.map((e) => e.split(' ')).filter(([n, y]) => y === 'd' && COMPLETE_NAME.test(n)).map(([n]) => n);
    out.logs = sh(`find ${base}/logs -mindepth 1 -printf '%y\\n' | sort | uniq -c`, { allowFail: true }).out;
    const snap = out.newSnapshots.at(-1);
    if (!snap) return out;
    const copyRoot = `${base}/snapshots/${snap}/photos/srv/photos`;
    // realpath: every component of the copy is a real folder on H, none a link off it.
    out.copyRealPath = sh(`realpath -e ${copyRoot}`, { allowFail: true }).out;
    out.copyOnDrive = out.copyRealPath === copyRoot;
    const diff = sh(`diff -r --no-dereference /srv/photos ${copyRoot}`, { allowFail: true });
    out.diffExit = diff.code;
    out.diff = (diff.out + diff.err).slice(0, 4000);
    out.sourceFiles = Number(sh('find /srv/photos -type f | wc -l'));
    out.copyFiles = Number(sh(`find ${copyRoot} -type f | wc -l`));
    return out;
  }
}
