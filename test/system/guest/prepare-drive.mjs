// Scenario 14 in the guest (issue 16): `plugback drive prepare` turns two blank USB disks into LUKS drives, one
// ext4 and one btrfs, with --write-config (the daemon stopped, so no reload takes them up half made); then
// `plugback install --write-crypttab`, and the daemon backs each up when it is plugged in. What only a full OS
// shows: sfdisk's new partition appearing through udev, cryptsetup open and mkfs on a real mapping, the disk's
// serial as udev reports it, and the drive opening through systemd-cryptsetup. The host asserts
// (checks/prepare-drive.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG, journalCursor, params, sh, startDaemon, waitFor } from './lib.mjs';
import { byUuid, followJob, jobEnd, plugTracked, scenario, state, unplugTracked, writeConfig } from './drives.mjs';

const PASSPHRASE = '/root/prepare-passphrase';
const PASSPHRASE_TEXT = 'a passphrase for another machine';
export const PREPARED = [
  { id: 'p', name: 'offsite-p', fs: 'ext4', image: params.imageP, serial: params.serialP },
  { id: 'q', name: 'offsite-q', fs: 'btrfs', image: params.imageQ, serial: params.serialQ },
];

export async function prepareDriveScenario() {
  await scenario('s14-prepare', async (r) => {
    try {
      sh('systemctl stop plugback.service');
      writeFileSync(PASSPHRASE, `${PASSPHRASE_TEXT}\n`, { mode: 0o600 });
      r.drives = {};
      for (const d of PREPARED) r.drives[d.id] = await prepare(d);
      r.config = readFileSync(CONFIG, 'utf8');
      r.install = sh('plugback install --write-crypttab', { allowFail: true });
      r.crypttab = sh('cat /etc/crypttab', { allowFail: true }).out;
      startDaemon();
      for (const d of PREPARED) r.drives[d.id].backup = await backUp(d, r.drives[d.id].uuid);
      sh('systemctl stop plugback.service');
      for (const d of PREPARED) r.drives[d.id].verify = await openByHand(d, r.drives[d.id].uuid);
    } finally {
      writeConfig();
      startDaemon({ allowFail: true });
    }
  });
}

/** The whole disk with this serial, once udev has it (lsblk's SERIAL is udev's ID_SERIAL_SHORT). */
async function diskWithSerial(serial) {
  return waitFor(`a disk with serial ${serial}`, () => {
    const tree = JSON.parse(sh('lsblk --json --nodeps --output PATH,SERIAL,TYPE'));
    return tree.blockdevices.find((b) => b.serial === serial && b.type === 'disk')?.path;
  }, 90_000, 300);
}

/** Plugs the blank disk, prepares it (KDF kept small: argon2 under TCG is slow), and what is left behind. */
async function prepare(d) {
  await plugTracked(d.id, d.image);
  const out = { disk: await diskWithSerial(d.serial) };
  out.lsblk = sh(`lsblk --json --output PATH,SERIAL,MODEL,SIZE ${out.disk}`, { allowFail: true }).out;
  out.prepare = sh(
    `plugback drive prepare ${d.name} ${out.disk} --fs ${d.fs} --passphrase-file ${PASSPHRASE} --kdf-memory 8 --kdf-time 100 --write-config`,
    { allowFail: true },
  );
  out.uuid = /LUKS UUID ([0-9a-f-]{36})/.exec(out.prepare.err)?.[1];
  out.mappings = state(d.name).mappings;
  out.prepareMounts = sh('findmnt -rn -o TARGET | grep plugback-prepare || true');
  out.keyMode = sh(`stat -c %a /etc/plugback/keys/${d.name}.key`, { allowFail: true }).out;
  out.headerMode = sh(`stat -c %a /etc/plugback/keys/${d.name}.luks-header`, { allowFail: true }).out;
  if (out.uuid) {
    out.passphrase = sh(`printf '%s\\n' '${PASSPHRASE_TEXT}' | cryptsetup open --test-passphrase ${byUuid(out.uuid)}`, { allowFail: true });
  }
  await unplugTracked(d.id, out.uuid);
  return out;
}

/** One plug for the daemon, to the end of its job. */
async function backUp(d, uuid) {
  const cursor = journalCursor();
  await plugTracked(d.id, d.image, uuid);
  const t = await followJob(cursor, jobEnd(d.name), 600_000);
  const out = { doneMsg: t.done.msg, after: state(d.name) };
  await unplugTracked(d.id, uuid);
  return out;
}

/** The drive opened read-only by hand with its key file: its file system, label, identity and snapshot. */
async function openByHand(d, uuid) {
  await plugTracked(d.id, d.image, uuid);
  const mapping = `verify-${d.id}`;
  const root = `/mnt/verify-${d.id}`;
  const out = {};
  try {
    sh(`cryptsetup open --readonly --key-file /etc/plugback/keys/${d.name}.key ${byUuid(uuid)} ${mapping}`);
    sh(`mkdir -p ${root} && mount -o ro /dev/mapper/${mapping} ${root}`);
    out.fsType = sh(`findmnt -n -o FSTYPE ${root}`, { allowFail: true }).out;
    out.label = sh(`blkid -o value -s LABEL /dev/mapper/${mapping}`, { allowFail: true }).out;
    out.identity = JSON.parse(readFileSync(`${root}/plugback/drive.json`, 'utf8'));
    const base = `${root}/plugback/guest`;
    out.latest = sh(`readlink ${base}/latest`, { allowFail: true }).out;
    const diff = sh(`diff -r --no-dereference /srv/photos '${base}/${out.latest}/photos/srv/photos'`, { allowFail: true });
    out.diff = { code: diff.code, text: (diff.out + diff.err).slice(0, 4000) };
  } finally {
    sh(`umount ${root}`, { allowFail: true });
    sh(`cryptsetup close ${mapping}`, { allowFail: true });
    await unplugTracked(d.id, uuid);
  }
  return out;
}
