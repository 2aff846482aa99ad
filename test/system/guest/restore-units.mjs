// Scenarios 8 and 7 in the guest: `plugback restore` from a drive opened by hand, then install.trigger units, where
// systemd itself runs plugback-drive@ when the drive appears (no daemon).
import { existsSync } from 'node:fs';
import { colourQuiet, colours, journalCursor, journalSince, mails, params, sh, waitFor, startDaemon } from './lib.mjs';
import { byUuid, plugTracked, scenario, state, unplugTracked, verifyDrive, writeConfig } from './drives.mjs';

export async function restoreAndUnitsScenarios() {
  await scenario('s8-restore', async (r) => {
    // As docs/getting-files-back.md says: the daemon stopped, the drive opened with its key and mounted read-only.
    sh('systemctl stop plugback.service');
    await plugTracked('a', params.imageA, params.uuidA);
    try {
      sh(`cryptsetup open --key-file /etc/plugback/keys/offsite-a.key ${byUuid(params.uuidA)} plugback-offsite-a`);
      sh('mkdir -p /run/plugback/offsite-a && mount -o ro /dev/mapper/plugback-offsite-a /run/plugback/offsite-a');
      r.snapshots = sh('plugback snapshots offsite-a', { allowFail: true });
      r.latestBefore = sh('readlink /run/plugback/offsite-a/plugback/guest/latest', { allowFail: true }).out;
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
    } finally {
      sh('umount /run/plugback/offsite-a', { allowFail: true });
      sh('cryptsetup close plugback-offsite-a', { allowFail: true });
      await unplugTracked('a', params.uuidA);
      startDaemon();
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
