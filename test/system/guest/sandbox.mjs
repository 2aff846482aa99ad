// Scenario 12 in the guest (issue 18): the daemon in its sandbox (ProtectSystem=strict, ProtectHome=read-only, no
// CAP_SYS_ADMIN) still does what a backup needs. A folder under /home is backed up; pre- and post-backup hooks
// stop and start a service with systemctl; systemd, not plugback, mounts the drive (its .mount unit is active
// while the job runs, and the mount is visible in the host's namespace). What systemd-analyze security says of
// both units goes to the host, which prints it. The host asserts (checks/sandbox.mjs).
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { journalCursor, journalSince, params, sh, waitFor } from './lib.mjs';
import { followJob, jobEnd, plugTracked, reconfigure, scenario, state, unplugTracked } from './drives.mjs';

const TARGET_SERVICE = 'plugback-hook-target.service';
const HOME_FOLDER = '/home/anna/notes';
const HOOKS = [
  'hooks:',
  `  preBackup: "systemctl stop ${TARGET_SERVICE} && echo hook stopped it: $(systemctl is-active ${TARGET_SERVICE})"`,
  `  postBackup: "systemctl start ${TARGET_SERVICE} && echo hook started it: $(systemctl is-active ${TARGET_SERVICE})"`,
].join('\n');
const HOME_STATE = ['  home:', `    folders: [${HOME_FOLDER}]`].join('\n');

export async function sandboxScenario() {
  await scenario('s12-sandbox', async (r) => {
    r.security = {};
    for (const unit of ['plugback.service', 'plugback-drive@.service']) r.security[unit] = sh(`systemd-analyze security --no-pager '${unit}'`, { allowFail: true });
    r.unitSandbox = sh("systemctl show -p ProtectSystem,ProtectHome,PrivateTmp,ProtectProc,ProcSubset,CapabilityBoundingSet,UMask plugback.service", { allowFail: true }).out;

    // A service for the hooks to stop and start, and a user's folder (mode 0700, not root's) to back up.
    writeFileSync(`/etc/systemd/system/${TARGET_SERVICE}`, '[Unit]\nDescription=stopped by a plugback hook during the backup\n[Service]\nExecStart=/bin/sleep infinity\n');
    sh(`systemctl daemon-reload && systemctl start ${TARGET_SERVICE}`);
    sh(`mkdir -p ${HOME_FOLDER} && for i in 1 2 3; do echo "note $i" > ${HOME_FOLDER}/note$i.txt; done
        chown -R 1000:1000 /home/anna && chmod 700 /home/anna ${HOME_FOLDER}`);
    r.homeFiles = Number(sh(`find ${HOME_FOLDER} -type f | wc -l`));
    r.reload = await reconfigure(r, '', { extraStates: HOME_STATE, extraTop: HOOKS });

    const cursor = journalCursor();
    const mountUnit = sh('systemd-escape --path --suffix=mount /run/plugback/offsite-a');
    r.mountUnit = mountUnit;
    await plugTracked('a', params.imageA, params.uuidA);
    // While rsync copies: the drive is mounted by its mount unit, in the host's namespace; the hooked service is down.
    await waitFor('rsync to start', () => spawnSync('pgrep', ['-x', 'rsync']).status === 0, 600_000, 200);
    r.during = {
      mountUnit: sh(`systemctl is-active '${mountUnit}'`, { allowFail: true }).out,
      findmnt: sh('findmnt -n -o SOURCE,TARGET,OPTIONS /run/plugback/offsite-a', { allowFail: true }).out,
      target: sh(`systemctl is-active ${TARGET_SERVICE}`, { allowFail: true }).out,
    };
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.doneMsg = t.done.msg;
    r.after = state('offsite-a');
    r.afterMountUnit = sh(`systemctl is-active '${mountUnit}'`, { allowFail: true }).out;
    r.target = sh(`systemctl is-active ${TARGET_SERVICE}`, { allowFail: true }).out;
    r.targetJournal = journalSince(cursor, TARGET_SERVICE).map((e) => e.msg);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);

    // The snapshot holds the user's folder, owners and modes as they are.
    r.reloadBack = await reconfigure(r);
    sh('systemctl stop plugback.service');
    r.copy = await readCopy();
    sh('systemctl reset-failed plugback.service; systemctl start plugback.service');
    sh(`systemctl stop ${TARGET_SERVICE}`, { allowFail: true });
  });
}

/** Drive A opened read-only by hand: the newest snapshot's copy of the home folder. */
async function readCopy() {
  await plugTracked('a', params.imageA, params.uuidA);
  const out = {};
  try {
    sh(`cryptsetup open --readonly --key-file /etc/plugback/keys/offsite-a.key /dev/disk/by-uuid/${params.uuidA} verify-sandbox`);
    sh('mkdir -p /mnt/verify && mount -o ro /dev/mapper/verify-sandbox /mnt/verify');
    const copy = sh(`find /mnt/verify/plugback/guest/latest/ -path '*${HOME_FOLDER}' -type d | head -n1`);
    out.path = copy;
    out.files = copy ? Number(sh(`find '${copy}' -type f | wc -l`)) : 0;
    out.stat = copy ? sh(`stat -c '%u:%g %a' '${copy}'`) : '';
    out.diff = copy ? sh(`diff -r ${HOME_FOLDER} '${copy}'`, { allowFail: true }).code : -1;
  } finally {
    sh('umount /mnt/verify', { allowFail: true });
    sh('cryptsetup close verify-sandbox', { allowFail: true });
    await unplugTracked('a', params.uuidA);
  }
  return out;
}
