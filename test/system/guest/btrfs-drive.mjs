// Scenario 13 in the guest (issue 15): a btrfs LUKS drive, made and adopted here, backed up twice by the daemon in
// its real sandbox with retention keeping one snapshot. What only a full OS shows: the sandbox can run `btrfs
// subvolume snapshot` and `btrfs property set`, and systemd runs plugback-delete-subvolume@.service (its
// ExecCondition and ExecStart) when the daemon, lacking CAP_SYS_ADMIN, asks it to delete the pruned snapshot.
// It is made and opened with `plugback open` and `close`. The host asserts (checks/btrfs-drive.mjs).
import { readdirSync } from 'node:fs';
import { journalCursor, journalSince, params, sh, startDaemon } from './lib.mjs';
import { followJob, jobEnd, plugTracked, scenario, state, unplugTracked, writeConfig } from './drives.mjs';

export const BTRFS_DRIVE = 'offsite-btrfs';
const ID = 'f';
const MOUNT = `/run/plugback/${BTRFS_DRIVE}`;
const MAPPING = `plugback-${BTRFS_DRIVE}`;
// The unit that unlocks the drive from its crypttab line; the host checks the name systemd-escape gives.
const CRYPT_UNIT_NAME = `systemd-escape --template=systemd-cryptsetup@.service ${MAPPING}`;
const HELPER_UNITS = 'plugback-delete-subvolume@*';
// Only the newest snapshot is kept, so the second backup prunes the first. Global, put back when the scenario ends.
const KEEP_ONE = ['  retention:', '    keepLast: 1', '    keepDaily: 0', '    keepWeekly: 0', '    keepMonthly: 0', '    keepYearly: 0'].join('\n');
const CHANGED = '/srv/photos/2024/summer/img1.txt';

export async function btrfsDriveScenario() {
  await scenario('s13-btrfs', async (r) => {
    try {
      writeConfig(KEEP_ONE);
      await makeDrive(r);
      r.plugs = [];
      r.plugs.push(await backUp());
      // Changed between the plugs, so the second snapshot holds something the first did not.
      sh(`echo "changed for the btrfs drive $(date +%s%N)" >> ${CHANGED}`);
      r.plugs.push(await backUp());
      r.verify = await openReadOnly();
    } finally {
      writeConfig();
      startDaemon({ allowFail: true });
    }
  });
}

/**
 * mkfs.btrfs in the LUKS container made on the host, then `plugback drive adopt`, with the daemon stopped. Unlocked
 * through systemd's own unit (the crypttab line from the set-up) and mounted by `plugback open --rw` at the mount
 * point plugback uses: adopt wants it there, and a mount made by hand there is taken down by the mount unit's
 * BindsTo= on the cryptsetup unit, which is not active then.
 */
async function makeDrive(r) {
  sh('systemctl stop plugback.service');
  await plugTracked(ID, params.imageF, params.uuidF);
  try {
    r.cryptUnit = sh(CRYPT_UNIT_NAME);
    r.unlock = sh(`systemctl start "$(${CRYPT_UNIT_NAME})"`, { allowFail: true });
    if (r.unlock.code !== 0) throw new Error(`systemctl start ${r.cryptUnit} failed: ${r.unlock.err}`);
    r.mkfs = sh(`mkfs.btrfs -f -L ${BTRFS_DRIVE} /dev/mapper/${MAPPING}`, { allowFail: true });
    if (r.mkfs.code !== 0) throw new Error(`mkfs.btrfs failed: ${r.mkfs.err}`);
    r.openRw = sh(`plugback open ${BTRFS_DRIVE} --rw`, { allowFail: true });
    if (r.openRw.code !== 0) throw new Error(`plugback open ${BTRFS_DRIVE} --rw failed: ${r.openRw.err}`);
    r.adopt = sh(`plugback drive adopt ${BTRFS_DRIVE}`, { allowFail: true });
    if (r.adopt.code !== 0) throw new Error(`plugback drive adopt failed: ${r.adopt.err}`);
    r.closeAfterAdopt = sh(`plugback close ${BTRFS_DRIVE}`, { allowFail: true });
    r.afterAdopt = state(BTRFS_DRIVE);
  } finally {
    if (!r.closeAfterAdopt) sh(`plugback close ${BTRFS_DRIVE}`, { allowFail: true });
    sh(`systemctl stop "$(${CRYPT_UNIT_NAME})"`, { allowFail: true });
    await unplugTracked(ID, params.uuidF);
  }
  startDaemon(); // it reads the config with KEEP_ONE
}

/** One plug for the daemon, to the end of its job; what the daemon and the helper unit logged. */
async function backUp() {
  const cursor = journalCursor();
  await plugTracked(ID, params.imageF, params.uuidF);
  const t = await followJob(cursor, jobEnd(BTRFS_DRIVE), 600_000);
  const p = { doneMsg: t.done.msg, after: state(BTRFS_DRIVE) };
  p.journal = journalSince(cursor).map((e) => e.msg);
  p.snapshot = p.journal.map((m) => /^snapshot (\S+) is complete$/.exec(m)?.[1]).find(Boolean);
  // systemd's own lines about the helper (started, finished or failed) and what btrfs printed in it.
  p.helperJournal = journalSince(cursor, HELPER_UNITS).map((e) => e.msg);
  p.helperUnits = sh(`systemctl list-units --all --no-legend --plain '${HELPER_UNITS}'`, { allowFail: true }).out;
  await unplugTracked(ID, params.uuidF);
  return p;
}

/** The daemon stopped, the drive opened read-only by `plugback open` alone, where plugback mounts it. */
async function openReadOnly() {
  sh('systemctl stop plugback.service');
  await plugTracked(ID, params.imageF, params.uuidF);
  const out = {};
  try {
    out.open = sh(`plugback open ${BTRFS_DRIVE}`, { allowFail: true });
    if (out.open.code !== 0) throw new Error(`plugback open ${BTRFS_DRIVE} failed: ${out.open.err}`);
    out.mountOptions = sh(`findmnt -n -o OPTIONS ${MOUNT}`, { allowFail: true }).out;
    out.fsType = sh(`findmnt -n -o FSTYPE ${MOUNT}`, { allowFail: true }).out;
    const base = `${MOUNT}/plugback/guest`;
    out.snapshots = readdirSync(`${base}/snapshots`).sort();
    out.latest = sh(`readlink ${base}/latest`, { allowFail: true }).out;
    const newest = out.snapshots.at(-1);
    const dir = `${base}/snapshots/${newest}`;
    // A subvolume's root directory is inode 256 (BTRFS_FIRST_FREE_OBJECTID); a plain folder's is not.
    out.inode = sh(`stat -c %i '${dir}'`, { allowFail: true }).out;
    out.ro = sh(`btrfs property get -ts '${dir}' ro`, { allowFail: true }).out;
    // Parent UUID set: it began as a snapshot of the previous one, not as a fresh subvolume.
    out.show = sh(`btrfs subvolume show '${dir}'`, { allowFail: true }).out;
    out.subvolumes = sh(`btrfs subvolume list ${MOUNT}`, { allowFail: true }).out;
    const diff = sh(`diff -r --no-dereference /srv/photos '${dir}/photos/srv/photos'`, { allowFail: true });
    out.diff = { code: diff.code, text: (diff.out + diff.err).slice(0, 4000) };
    out.snapshotsCmd = sh(`plugback snapshots ${BTRFS_DRIVE}`, { allowFail: true });
    out.close = sh(`plugback close ${BTRFS_DRIVE}`, { allowFail: true });
    out.afterClose = state(BTRFS_DRIVE);
  } finally {
    if (!out.close) sh(`plugback close ${BTRFS_DRIVE}`, { allowFail: true });
    await unplugTracked(ID, params.uuidF);
  }
  return out;
}
