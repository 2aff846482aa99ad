// Scenarios 8 and 7 in the guest: `plugback restore` from a drive opened with `plugback open` while the daemon runs,
// then install.trigger units, where systemd itself runs plugback-drive@ when the drive appears (no daemon).
import { existsSync } from 'node:fs';
import { colourQuiet, colours, journalCursor, journalSince, mails, params, sh, shBackground, waitFor } from './lib.mjs';
import { plugTracked, scenario, state, unplugTracked, verifyDrive, writeConfig } from './drives.mjs';

const MOUNT_A = '/run/plugback/offsite-a';

export async function restoreAndUnitsScenarios() {
  await scenario('s8-restore', async (r) => {
    // As docs/getting-files-back.md says: `plugback open` with the daemon running. It waits for the drive, the
    // daemon opens it (through systemd's units, read-only) instead of backing it up, and `plugback close` puts it away.
    const cursor = journalCursor();
    const opening = shBackground('plugback open offsite-a');
    let pluggedIn = false;
    try {
      // Plugged only once the daemon waits for it: a plug-in before that is backed up.
      await waitFor('plugback open to ask for drive A', () => opening.seen.exited || opening.seen.err.includes('plug drive "offsite-a" in now'), 300_000);
      r.openAsked = opening.seen.err.trim();
      if (opening.seen.exited) throw new Error(`plugback open offsite-a ended before asking for the drive: ${(await opening.done).err}`);
      pluggedIn = true;
      await plugTracked('a', params.imageA, params.uuidA);
      r.open = await opening.done;
      if (r.open.code !== 0) throw new Error(`plugback open offsite-a failed: ${r.open.err}`);
      r.openState = state('offsite-a');
      r.mountOptions = sh(`findmnt -n -o OPTIONS ${MOUNT_A}`, { allowFail: true }).out;
      r.touch = sh(`touch ${MOUNT_A}/x`, { allowFail: true });
      r.startRefused = sh('plugback start offsite-a', { allowFail: true });
      r.snapshots = sh('plugback snapshots offsite-a', { allowFail: true });
      r.latestBefore = sh(`readlink ${MOUNT_A}/plugback/guest/latest`, { allowFail: true }).out;
      // Somewhere else: --to.
      r.restoreTo = sh('plugback restore offsite-a --path /srv/photos/2025 --to /tmp/restored --yes', { allowFail: true });
      const diffTo = sh('diff -r --no-dereference /srv/photos/2025 /tmp/restored/srv/photos/2025', { allowFail: true });
      r.diffTo = { code: diffTo.code, text: (diffTo.out + diffTo.err).slice(0, 4000) };
      r.privateOwner = sh('stat -c "%u:%g %a" /srv/photos/2025/private.txt /tmp/restored/srv/photos/2025/private.txt', { allowFail: true }).out.split('\n');
      r.hardLinked = sh('stat -c %i /tmp/restored/srv/photos/2025/big.bin /tmp/restored/srv/photos/2025/big-hardlink.bin', { allowFail: true }).out.split('\n');
      // In place, after damage: a file changed, one deleted; the damaged folder is kept aside.
      sh('rm -rf /tmp/orig-2024 && cp -a /srv/photos/2024 /tmp/orig-2024');
      sh('echo damaged > /srv/photos/2024/summer/img1.txt && rm /srv/photos/2024/summer/img2.txt');
      r.restoreInPlace = sh('plugback restore offsite-a --path /srv/photos/2024 --yes', { allowFail: true });
      const diffInPlace = sh('diff -r --no-dereference /tmp/orig-2024 /srv/photos/2024', { allowFail: true });
      r.diffInPlace = { code: diffInPlace.code, text: (diffInPlace.out + diffInPlace.err).slice(0, 4000) };
      r.keptAside = sh('ls -d /srv/photos/2024.plugback-before-restore-*', { allowFail: true }).out.split('\n').filter(Boolean);
      r.keptImg1 = r.keptAside[0] ? sh(`cat '${r.keptAside[0]}/summer/img1.txt'`, { allowFail: true }).out : '';
      // The kept copy is out of the source now, so later backups see the source as it was.
      for (const k of r.keptAside) sh(`rm -rf '${k}'`);
      r.close = sh('plugback close offsite-a', { allowFail: true });
      r.afterClose = state('offsite-a');
      // Between open and close the daemon ran, and the drive was plugged in the whole time: no backup of it.
      r.journal = journalSince(cursor).map((e) => e.msg);
      r.backupsStarted = r.journal.filter((m) => m.includes('backup of drive "offsite-a" started'));
    } finally {
      opening.stop();
      if (!r.close) sh('plugback close offsite-a', { allowFail: true });
      if (pluggedIn) await unplugTracked('a', params.uuidA);
    }
  });

  await scenario('s7-units-trigger', async (r) => {
    // The seed's model: no daemon. `plugback install` with install.trigger units replaces plugback.service with
    // plugback-drive@offsite\x2da.service, wanted by the drive's device unit.
    const driveUnit = sh("systemd-escape --template=plugback-drive@.service 'offsite-a'");
    const deviceUnit = sh(`systemd-escape --path --suffix=device /dev/disk/by-uuid/${params.uuidA}`);
    r.units = { driveUnit, deviceUnit };
    sh('systemctl stop plugback.service');
    writeConfig('', { trigger: 'units' });
    r.install = sh('plugback install', { allowFail: true });
    r.daemonUnitAfterInstall = sh('systemctl cat plugback.service', { allowFail: true }).code;
    r.wants = sh(`ls '/etc/systemd/system/${deviceUnit}.wants/'`, { allowFail: true }).out;
    const c0 = await colourQuiet();
    const m0 = mails().length;
    const cursor = journalCursor();
    r.plugAt = await plugTracked('a', params.imageA, params.uuidA);
    const show = () => Object.fromEntries(sh(`systemctl show -p ActiveState,Result,ExecMainStatus,InvocationID '${driveUnit}'`, { allowFail: true })
      .out.split('\n').filter(Boolean).map((l) => l.split(/=(.*)/).slice(0, 2)));
    await waitFor(`${driveUnit} to start`, () => show().InvocationID, 120_000, 300);
    r.unit = await waitFor(`${driveUnit} to finish`, () => { const u = show(); return /^(inactive|failed)$/.test(u.ActiveState) && u; }, 600_000, 1000);
    // Its ExecStopPost= stops the crypt unit with --no-block: wait for the mapping to go.
    await waitFor('the mapping to close', () => !existsSync('/dev/mapper/plugback-offsite-a'), 60_000).catch(() => undefined);
    await colourQuiet();
    r.after = state('offsite-a');
    r.colours = colours().slice(c0);
    r.unitJournal = journalSince(cursor, driveUnit).map((e) => e.msg);
    r.mails = mails().slice(m0).map((m) => m.subject);
    r.verify = await verifyDrive('a', { plugged: true });
    await unplugTracked('a', params.uuidA);
  });
}
