// Scenario 13 in the guest (issue 15): a btrfs LUKS drive, made and adopted here, backed up twice by the daemon in
// its real sandbox with retention keeping one snapshot. What only a full OS shows: the sandbox can run `btrfs
// subvolume snapshot` and `btrfs property set`, and systemd runs plugback-delete-subvolume@.service (its
// ExecCondition and ExecStart) when the daemon, lacking CAP_SYS_ADMIN, asks it to delete the pruned snapshot.
// Afterwards the drive is opened read-only by hand. The host asserts (checks/btrfs-drive.mjs).
import { readdirSync } from 'node:fs';
import { journalCursor, journalSince, params, sh, startDaemon } from './lib.mjs';
import { byUuid, followJob, jobEnd, plugTracked, scenario, state, unplugTracked, writeConfig } from './drives.mjs';

export const BTRFS_DRIVE = 'offsite-btrfs';
const ID = 'f';
const KEY = `/etc/plugback/keys/${BTRFS_DRIVE}.key`;
const MOUNT = `/run/plugback/${BTRFS_DRIVE}`;
const MAPPING = `plugback-${BTRFS_DRIVE}`;
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
 * mkfs.btrfs in the LUKS container made on the host, then `plugback drive adopt`, with the daemon stopped. Opened
 * under the mapping name and at the mount point plugback uses, as scenario 8 opens drive A: adopt wants it there.
 */
async function makeDrive(r) {
  sh('systemctl stop plugback.service');
  await plugTracked(ID, params.imageF, params.uuidF);
  try {
    sh(`cryptsetup open --key-file ${KEY} ${byUuid(params.uuidF)} ${MAPPING}`);
    r.mkfs = sh(`mkfs.btrfs -f -L ${BTRFS_DRIVE} /dev/mapper/${MAPPING}`, { allowFail: true });
    if (r.mkfs.code !== 0) throw new Error(`mkfs.btrfs failed: ${r.mkfs.err}`);
    sh(`mkdir -p ${MOUNT} && mount /dev/mapper/${MAPPING} ${MOUNT}`);
    r.adopt = sh(`plugback drive adopt ${BTRFS_DRIVE}`, { allowFail: true });
    if (r.adopt.code !== 0) throw new Error(`plugback drive adopt failed: ${r.adopt.err}`);
  } finally {
    sh(`umount ${MOUNT}`, { allowFail: true });
    sh(`cryptsetup close ${MAPPING}`, { allowFail: true });
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

/** The daemon stopped, the drive opened and mounted read-only by hand where plugback mounts it. */
async function openReadOnly() {
  sh('systemctl stop plugback.service');
  await plugTracked(ID, params.imageF, params.uuidF);
  const out = {};
  try {
    sh(`cryptsetup open --readonly --key-file ${KEY} ${byUuid(params.uuidF)} ${MAPPING}`);
    sh(`mkdir -p ${MOUNT} && mount -o ro /dev/mapper/${MAPPING} ${MOUNT}`);
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
  } finally {
    sh(`umount ${MOUNT}`, { allowFail: true });
    sh(`cryptsetup close ${MAPPING}`, { allowFail: true });
    await unplugTracked(ID, params.uuidF);
  }
  return out;
}
