// The guest set up as an administrator would: plugback copied to /opt with its config and keys, the source tree in
// /srv/photos, the BlinkStick emulator and the SMTP sink as units, drives A, B and H formatted and adopted, then
// `plugback install --write-crypttab` and plugback.service started. Its facts go into results.setup.
import { chmodSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { COLOUR_LOG, CONFIG, MAIL_LOG, PAYLOAD, marker, params, results, saveResults, sh, waitFor, waitJournal } from './lib.mjs';
import { DRIVES, byUuid, plug, state, unplug, writeConfig } from './drives.mjs';
import { hostileDrive } from './hostile-drive.mjs';

export async function setUp() {
  // --- the system as an administrator sets it up ---
  sh(`install -m 0755 ${PAYLOAD}/node /usr/local/bin/node`);
  sh(`rm -rf /opt/plugback && cp -a ${PAYLOAD}/plugback /opt/plugback`);
  writeFileSync('/usr/local/bin/plugback', '#!/bin/sh\nexec /usr/local/bin/node /opt/plugback/dist/main.js "$@"\n');
  chmodSync('/usr/local/bin/plugback', 0o755);
  sh('mkdir -p /etc/plugback/keys && chmod 700 /etc/plugback/keys');
  for (const k of ['offsite-a.key', 'offsite-b.key', 'offsite-c.key', 'offsite-h.key', 'offsite-btrfs.key']) {
    copyFileSync(`${PAYLOAD}/keys/${k}`, `/etc/plugback/keys/${k}`);
    chmodSync(`/etc/plugback/keys/${k}`, 0o600);
  }
  writeConfig();
  results.setup.configCheck = sh(`plugback config check ${CONFIG}`, { allowFail: true });

  // The source: small files, a tree, a symlink, a hard-linked pair, a few MiB of random data.
  sh(`mkdir -p /srv/photos/2024/summer /srv/photos/2025 && echo root > /srv/photos/.systemtest-root
      for i in $(seq 1 40); do echo "photo $i $(date +%s%N)" > /srv/photos/2024/summer/img$i.txt; done
      head -c 4M /dev/urandom > /srv/photos/2025/big.bin
      ln -s ../2025/big.bin /srv/photos/2024/link-to-big && ln /srv/photos/2025/big.bin /srv/photos/2025/big-hardlink.bin
      echo secret > /srv/photos/2025/private.txt && chmod 600 /srv/photos/2025/private.txt && chown 1234:1234 /srv/photos/2025/private.txt`);

  // The BlinkStick: uhid, then the emulator as a unit of its own.
  sh('modprobe uhid');
  sh(`install -m 0644 ${PAYLOAD}/blinkstick-uhid.mjs /usr/local/lib/blinkstick-uhid.mjs`);
  sh(`systemd-run --unit=blinkstick-uhid /usr/local/bin/node /usr/local/lib/blinkstick-uhid.mjs --serial ${params.ledSerial} --log ${COLOUR_LOG}`);
  results.setup.hidraw = await waitFor('a hidraw node from the emulator', () => {
    const nodes = readdirSync('/dev').filter((f) => f.startsWith('hidraw'));
    return nodes.length ? nodes : undefined;
  }, 120_000);
  results.setup.hidrawUevent = sh(`cat /sys/class/hidraw/${results.setup.hidraw[0]}/device/uevent`, { allowFail: true }).out;
  results.setup.ledList = sh('plugback led list', { allowFail: true });

  // The mail server the failure mails go to (the config's mail.smtp is 127.0.0.1:2525).
  sh(`install -m 0644 ${PAYLOAD}/smtp-sink.mjs /usr/local/lib/smtp-sink.mjs`);
  sh(`systemd-run --unit=smtp-sink /usr/local/bin/node /usr/local/lib/smtp-sink.mjs --modules /opt/plugback/node_modules --port 2525 --log ${MAIL_LOG}`);
  // A ceiling of 2 min, not 30 s: under TCG on a busy shared host the driver itself took 150 s to start, not 30.
  await waitFor('the SMTP server to listen', () => sh('ss -Htln sport = :2525', { allowFail: true }).out.includes('2525'), 120_000);

  // Drives A, B and H: LUKS made on the host (cheap PBKDF2), their ext4 made and adopted here before the daemon runs.
  marker('begin prepare');
  for (const [id, d] of Object.entries({ ...DRIVES, h: hostileDrive(params) })) {
    await plug(id, d.image, d.uuid);
    sh(`cryptsetup open --key-file /etc/plugback/keys/${d.name}.key ${byUuid(d.uuid)} prep-${id}`);
    sh(`mkfs.ext4 -q -L ${d.name} /dev/mapper/prep-${id}`);
    sh(`mkdir -p /run/plugback/${d.name} && mount /dev/mapper/prep-${id} /run/plugback/${d.name}`);
    (results.setup.adopt ??= {})[id] = sh(`plugback drive adopt ${d.name}`, { allowFail: true });
    sh(`umount /run/plugback/${d.name} && cryptsetup close prep-${id}`);
    await unplug(id, d.uuid);
  }
  marker('end prepare');

  // The real generators: units, crypttab lines, udev rules, policies; then the daemon as plugback.service.
  results.setup.install = sh('plugback install --write-crypttab', { allowFail: true });
  addFloorUnit();
  results.setup.crypttab = readFileSync('/etc/crypttab', 'utf8');
  results.setup.start = sh('systemctl start plugback.service', { allowFail: true });
  results.setup.daemon = state('offsite-a');
  results.setup.unit = sh('systemctl cat plugback.service', { allowFail: true }).out;
  saveResults();
  if (results.setup.daemon.daemon !== 'active') throw new Error(`plugback.service is ${results.setup.daemon.daemon}: ${sh('journalctl -u plugback.service --no-pager -n 50', { allowFail: true }).out}`);
  await waitJournal('', /watching|ready|waiting for drives|started/i, 60_000, 'the daemon to be ready').catch(() => undefined);
  marker('ready');
}

/** Where the floor unit notes when systemd started it (ms since the epoch, guest clock), a line per start. */
export const FLOOR_LOG = '/run/plugback-floor.log';

/**
 * systemd's own floor for "plug to work": a trivial unit that drive A's device unit wants, as plugback's units
 * trigger does. Scenario 1 prints the time from its start to rsync's next to the time from the plug to it.
 */
function addFloorUnit() {
  const device = sh(`systemd-escape --path --suffix=device /dev/disk/by-uuid/${params.uuidA}`);
  writeFileSync('/etc/systemd/system/plugback-floor.service', `[Unit]\nDescription=started when drive A is plugged in (the suite's floor)\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'date +%%s%%3N >> ${FLOOR_LOG}'\n`);
  sh(`mkdir -p '/etc/systemd/system/${device}.wants' && ln -sf ../plugback-floor.service '/etc/systemd/system/${device}.wants/plugback-floor.service' && systemctl daemon-reload`);
}
