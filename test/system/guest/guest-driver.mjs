// Runs inside the guest (plain Node, the host's own binary), started at boot by plugback-systemtest.service from the
// payload disk. It sets the system up as an administrator would (setup.mjs) and then plays the scenarios in order,
// each group in its own module; a run may select only some groups (params.scenarios, test/system/scenarios.mjs).
// It drives the test: it asks the host for USB plugs and unplugs with `VMTEST: plug <id> <image>` and `VMTEST:
// unplug <id>` lines on the serial console (the host does them over QMP and answers nothing; the guest waits for the
// device to appear or go). It writes what it saw into /payload/results/results.json, which the host reads after
// power-off; the host makes the assertions.
import { COLOUR_LOG, PAYLOAD, RESULTS, marker, note, results, saveResults, sh } from './lib.mjs';
import { setUp } from './setup.mjs';
import { plugScenarios } from './plug-scenarios.mjs';
import { twoDrivesAndLedScenarios } from './two-drives-led.mjs';
import { restoreAndUnitsScenarios } from './restore-units.mjs';
import { scheduledScenario } from './scheduled-backup.mjs';
import { hostileDriveScenarios } from './hostile-drive.mjs';
import { pullAndCrashScenarios } from './pull-crash.mjs';
import { sandboxScenario } from './sandbox.mjs';
import { btrfsDriveScenario } from './btrfs-drive.mjs';
import { prepareDriveScenario } from './prepare-drive.mjs';
import { checkDrillScenario } from './check-drill.mjs';

async function main() {
  marker('driver started');
  await setUp();
  await plugScenarios(); // 1, 2, 4, 3
  await twoDrivesAndLedScenarios(); // 5, 6
  await restoreAndUnitsScenarios(); // 8, 7
  await scheduledScenario(); // 10: its own drive and config; before 9, which plants hostile links
  await pullAndCrashScenarios(); // 11: a pull after complete, three times; the daemon killed mid-copy
  await sandboxScenario(); // 12: /home backed up, hooks with systemctl, systemd mounting, from the sandbox
  await btrfsDriveScenario(); // 13: its own btrfs drive; snapshots as subvolumes, pruned through systemd
  await prepareDriveScenario(); // 14: two blank disks made drives by plugback drive prepare, then backed up
  await checkDrillScenario(); // 15: the daemon's drill on drive A; a byte flipped on the host, found by check --all
  // Scenario 9: last, so that a daemon that wrote through a planted link disturbs no other.
  await hostileDriveScenarios();
}

main()
  .catch((error) => {
    results.fatal = String(error?.stack ?? error);
    note(`fatal: ${results.fatal}`);
    try { marker(`fatal ${String(error?.message ?? error).split('\n')[0]}`); } catch { /* console gone */ }
  })
  .finally(() => {
    try {
      saveResults();
      sh(`journalctl -b --no-pager -o short-precise > ${RESULTS}/journal.txt`, { allowFail: true });
      sh(`cp ${COLOUR_LOG} ${RESULTS}/colours.log`, { allowFail: true });
      sh('sync', { allowFail: true });
    } finally {
      marker('done');
      sh(`umount ${PAYLOAD}`, { allowFail: true });
      sh('systemctl --no-block poweroff', { allowFail: true });
    }
  });
