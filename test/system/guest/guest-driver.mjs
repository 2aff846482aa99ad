// Runs inside the guest (plain Node, the host's own binary), started at boot by plugback-systemtest.service from the
// payload disk. It sets the system up as an administrator would (plugback copied to /opt, `plugback install
// --write-crypttab`, the BlinkStick emulator, drive A formatted and adopted) and then plays the scenarios in order.
// It drives the test: it asks the host for USB plugs and unplugs with `VMTEST: plug <id> <image>` and `VMTEST: unplug
// <id>` lines on the serial console (the host does them over QMP and answers nothing; the guest waits for the device
// to appear or go). It writes what it saw into /payload/results/results.json, which the host reads after power-off;
// the host makes the assertions.
import { execSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync, copyFileSync, chmodSync } from 'node:fs';
import { hostileDrive, hostileDriveScenarios } from './hostile-drive.mjs';

const PAYLOAD = '/payload';
const RESULTS = `${PAYLOAD}/results`;
const params = JSON.parse(readFileSync(`${PAYLOAD}/params.json`, 'utf8'));
const COLOUR_LOG = '/run/blinkstick-colours.log';
const MAIL_LOG = '/run/smtp-sink.jsonl';
const CONFIG = '/etc/plugback/config.yaml';
const results = { params, setup: {}, scenarios: {} };
mkdirSync(RESULTS, { recursive: true });

function marker(text) {
  appendFileSync('/dev/ttyS0', `VMTEST: ${text}\n`);
}
function note(text) {
  appendFileSync(`${RESULTS}/driver.log`, `${new Date().toISOString()} ${text}\n`);
}
function sh(cmd, { allowFail = false } = {}) {
  const r = spawnSync('/bin/bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 });
  note(`$ ${cmd} -> ${r.status}${r.stderr ? ` stderr: ${r.stderr.trim().slice(0, 2000)}` : ''}`);
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} exited ${r.status}: ${r.stderr || r.stdout}`);
  return allowFail ? { code: r.status, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() } : (r.stdout ?? '').trim();
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, fn, timeoutMs, everyMs = 300) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

// --- the journal of plugback.service, as messages with their time ---
const DAEMON_UNIT = 'plugback.service';
function journalCursor() {
  // The whole journal's cursor: it marks a moment, whichever unit is read after it.
  const out = sh('journalctl -n 1 --show-cursor -q --no-pager -o cat', { allowFail: true }).out;
  return /-- cursor: (.+)/.exec(out)?.[1]?.trim() ?? '';
}
function journalSince(cursor, unit = DAEMON_UNIT) {
  const arg = cursor ? `--after-cursor='${cursor}'` : '-b';
  const out = sh(`journalctl -u '${unit}' ${arg} -o json --no-pager`, { allowFail: true }).out;
  const entries = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    let e;
    try { e = JSON.parse(line); } catch { continue; }
    let message = e.MESSAGE;
    if (Array.isArray(message)) message = Buffer.from(message).toString('utf8');
    let msg = String(message ?? '');
    let level;
    if (msg.startsWith('{')) {
      try { const j = JSON.parse(msg); msg = String(j.msg ?? msg); level = j.level; } catch { /* a plain line */ }
    }
    entries.push({ t: Math.round(Number(e.__REALTIME_TIMESTAMP) / 1000), msg, level, priority: e.PRIORITY });
  }
  return entries;
}
async function waitJournal(cursor, re, timeoutMs, what, unit = DAEMON_UNIT) {
  let found;
  await waitFor(what ?? `the log line ${re}`, () => {
    found = journalSince(cursor, unit).find((e) => re.test(e.msg));
    return found;
  }, timeoutMs, 1000);
  return found;
}

// --- the emulated BlinkStick's colour log ---
function colours() {
  if (!existsSync(COLOUR_LOG)) return [];
  return readFileSync(COLOUR_LOG, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [t, id, ...rest] = l.split(' ');
    return { t: Number(t), id: Number(id), value: rest.join(' ') };
  });
}
/** Waits until no colour has been written for `quietMs` (the LED settled), at most `timeoutMs`. */
async function colourQuiet(quietMs = 3000, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = colours().at(-1);
    if (!last || Date.now() - last.t >= quietMs || Date.now() > deadline) return colours().length;
    await sleep(500);
  }
}

// --- the mail the guest's SMTP server received ---
function mails() {
  if (!existsSync(MAIL_LOG)) return [];
  return readFileSync(MAIL_LOG, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
/** Waits for a mail after the first `since` whose subject matches `re`. */
async function waitMail(since, re, timeoutMs = 90_000) {
  return waitFor(`a mail with the subject ${re}`, () => mails().slice(since).find((m) => re.test(m.subject)), timeoutMs, 500);
}

// --- devices ---
const byUuid = (uuid) => `/dev/disk/by-uuid/${uuid}`;
async function plug(id, image, uuid) {
  marker(`plug ${id} ${image}`);
  const at = Date.now();
  if (uuid) await waitFor(`${byUuid(uuid)} to appear`, () => existsSync(byUuid(uuid)), 90_000, 200);
  return at;
}
async function unplug(id, uuid) {
  marker(`unplug ${id}`);
  if (uuid) await waitFor(`${byUuid(uuid)} to go`, () => !existsSync(byUuid(uuid)), 60_000, 300);
}
function state(drive) {
  const crypt = `plugback-${drive}`;
  return {
    mapping: existsSync(`/dev/mapper/${crypt}`),
    mounted: sh(`findmnt -n -o SOURCE,TARGET /run/plugback/${drive}`, { allowFail: true }).out,
    plugbackMounts: sh("findmnt -rn -o TARGET | grep '^/run/plugback' || true"),
    cryptUnit: sh(`systemctl is-active "$(systemd-escape --template=systemd-cryptsetup@.service ${crypt})"`, { allowFail: true }).out,
    daemon: sh('systemctl is-active plugback.service', { allowFail: true }).out,
    daemonPid: sh('systemctl show -p MainPID --value plugback.service', { allowFail: true }).out,
    mappings: sh('ls /dev/mapper', { allowFail: true }).out.split(/\s+/).filter((x) => x && x !== 'control'),
  };
}

function writeConfig(extraBackup = '', { trigger = 'daemon' } = {}) {
  writeFileSync(CONFIG, `# written by the system test's guest driver
host: guest
drives:
  offsite-a:
    uuid: ${params.uuidA}
    keyFile: /etc/plugback/keys/offsite-a.key
  offsite-b:
    uuid: ${params.uuidB}
    keyFile: /etc/plugback/keys/offsite-b.key
  offsite-c:
    uuid: ${params.uuidC}
    keyFile: /etc/plugback/keys/offsite-c.key
  offsite-h:
    uuid: ${params.uuidH}
    keyFile: /etc/plugback/keys/offsite-h.key
states:
  photos:
    folders: [/srv/photos]
backup:
  verifySample: 5
${extraBackup}
daemon:
  minInterval: 0s
mail:
  to: [admin@guest.test]
  from: plugback@guest.test
  smtp:
    host: 127.0.0.1
    port: 2525
    security: none
reminders:
  enabled: false
led:
  brightness: 100
  pulse: false
install:
  trigger: ${trigger}
`);
}

const DRIVES = {
  a: { name: 'offsite-a', image: params.imageA, uuid: params.uuidA },
  b: { name: 'offsite-b', image: params.imageB, uuid: params.uuidB },
};

/**
 * Opens a drive read-only and compares its newest snapshot with the source. By default the daemon is stopped and the
 * drive plugged in for it; `plugged: true` opens a drive that is already there (and leaves it plugged).
 */
async function verifyDrive(id, { plugged = false } = {}) {
  const d = DRIVES[id];
  if (!plugged) {
    sh('systemctl stop plugback.service');
    await plug(id, d.image, d.uuid);
  }
  const out = { };
  try {
    sh(`cryptsetup open --readonly --key-file /etc/plugback/keys/${d.name}.key ${byUuid(d.uuid)} verify-${id}`);
    sh(`mkdir -p /mnt/verify && mount -o ro /dev/mapper/verify-${id} /mnt/verify`);
    const base = '/mnt/verify/plugback/guest';
    out.snapshots = readdirSync(`${base}/snapshots`).sort();
    out.latest = sh(`readlink ${base}/latest`);
    const copyRoot = sh(`dirname "$(find ${base}/latest/ -name .systemtest-root | head -n1)"`);
    out.copyRoot = copyRoot;
    const diff = sh(`diff -r --no-dereference /srv/photos ${copyRoot}`, { allowFail: true });
    out.diffExit = diff.code;
    out.diff = (diff.out + diff.err).slice(0, 4000);
    out.sourceFiles = Number(sh('find /srv/photos -type f | wc -l'));
    out.copyFiles = Number(sh(`find ${copyRoot} -type f | wc -l`));
    // The oldest snapshot left, counted, so a later scenario can show an earlier snapshot survived intact.
    const filesIn = (name) => Number(sh(`find ${base}/snapshots/${name} -type f | wc -l`));
    out.oldest = { name: out.snapshots[0], files: filesIn(out.snapshots[0]) };
    out.newest = { name: out.latest.split('/').at(-1), files: filesIn(out.latest.split('/').at(-1)) };
  } finally {
    sh('umount /mnt/verify', { allowFail: true });
    sh(`cryptsetup close verify-${id}`, { allowFail: true });
    if (!plugged) {
      await unplug(id, d.uuid);
      sh('systemctl start plugback.service');
    }
  }
  return out;
}

async function scenario(name, body) {
  marker(`begin ${name}`);
  const started = Date.now();
  const r = { };
  results.scenarios[name] = r;
  try {
    await body(r);
  } catch (error) {
    r.error = String(error?.stack ?? error);
    note(`scenario ${name} failed: ${r.error}`);
    for (const [id, uuid] of plugged) await unplug(id, uuid).catch(() => undefined);
  }
  r.seconds = (Date.now() - started) / 1000;
  writeFileSync(`${RESULTS}/results.json`, JSON.stringify(results, null, 2));
  marker(`end ${name}`);
}
const plugged = new Map();
async function plugTracked(id, image, uuid) { plugged.set(id, uuid); return plug(id, image, uuid); }
async function unplugTracked(id, uuid) { await unplug(id, uuid); plugged.delete(id); }

/**
 * A new config (backup settings `extraBackup`) put in force with `systemctl reload plugback` (ExecReload= sends the
 * daemon SIGHUP); the reload's outcome is recorded for the host to check, and the daemon's answer returned.
 */
async function reconfigure(r, extraBackup = '') {
  const cursor = journalCursor();
  writeConfig(extraBackup);
  r.systemctlReload = sh('systemctl reload plugback.service', { allowFail: true });
  return (await waitJournal(cursor, /config reloaded|not reloaded/, 60_000)).msg;
}

/** The journal line that ends a drive's job, however it went. */
const jobEnd = (drive) => new RegExp(`drive "${drive}" (is done: safe to remove|was left unmounted|.*failed)`);

/** Watches rsync come and go and the journal for `doneRe`, noting the times (guest clock). */
async function followJob(cursor, doneRe, timeoutMs) {
  const t = { rsyncStart: undefined, rsyncEnd: undefined };
  const deadline = Date.now() + timeoutMs;
  let lastJournal = 0;
  for (;;) {
    const running = spawnSync('pgrep', ['-x', 'rsync']).status === 0;
    if (running && !t.rsyncStart) { t.rsyncStart = Date.now(); marker('time rsync-start'); }
    if (!running && t.rsyncStart && !t.rsyncEnd) { t.rsyncEnd = Date.now(); marker('time rsync-end'); }
    if (Date.now() - lastJournal > 1000) {
      lastJournal = Date.now();
      const hit = journalSince(cursor).find((e) => doneRe.test(e.msg));
      if (hit) { t.done = hit; marker('time done'); return t; }
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${doneRe}; rsync seen: ${JSON.stringify(t)}`);
    await sleep(200);
  }
}

async function main() {
  marker('driver started');
  // --- the system as an administrator sets it up ---
  sh(`install -m 0755 ${PAYLOAD}/node /usr/local/bin/node`);
  sh(`rm -rf /opt/plugback && cp -a ${PAYLOAD}/plugback /opt/plugback`);
  writeFileSync('/usr/local/bin/plugback', '#!/bin/sh\nexec /usr/local/bin/node /opt/plugback/dist/main.js "$@"\n');
  chmodSync('/usr/local/bin/plugback', 0o755);
  sh('mkdir -p /etc/plugback/keys && chmod 700 /etc/plugback/keys');
  for (const k of ['offsite-a.key', 'offsite-b.key', 'offsite-c.key', 'offsite-h.key']) {
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
  results.setup.crypttab = readFileSync('/etc/crypttab', 'utf8');
  results.setup.start = sh('systemctl start plugback.service', { allowFail: true });
  results.setup.daemon = state('offsite-a');
  results.setup.unit = sh('systemctl cat plugback.service', { allowFail: true }).out;
  writeFileSync(`${RESULTS}/results.json`, JSON.stringify(results, null, 2));
  if (results.setup.daemon.daemon !== 'active') throw new Error(`plugback.service is ${results.setup.daemon.daemon}: ${sh('journalctl -u plugback.service --no-pager -n 50', { allowFail: true }).out}`);
  await waitJournal('', /watching|ready|waiting for drives|started/i, 60_000, 'the daemon to be ready').catch(() => undefined);
  marker('ready');

  await scenario('s1-backup', async (r) => {
    const c0 = await colourQuiet();
    const cursor = journalCursor();
    r.plugAt = await plugTracked('a', params.imageA, params.uuidA);
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.timing = { plugToRsyncStart: t.rsyncStart && t.rsyncStart - r.plugAt, rsyncEndToSafe: t.rsyncEnd && t.done.t - t.rsyncEnd, plugToSafe: t.done.t - r.plugAt };
    r.doneMsg = t.done.msg;
    await sleep(2000);
    r.after = state('offsite-a');
    r.deviceStillThere = existsSync(byUuid(params.uuidA));
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    r.verify = await verifyDrive('a');
  });

  await scenario('s2-unknown', async (r) => {
    await sleep(3000);
    const c0 = await colourQuiet(5000);
    const cursor = journalCursor();
    r.plugAt = await plugTracked('u', params.imageU);
    await waitFor('the unknown disk', () => existsSync(`/dev/disk/by-label/${params.labelU}`), 90_000, 200);
    r.ignored = (await waitJournal(cursor, /not a drive in the config/, 90_000)).msg;
    await sleep(8000);
    r.colours = colours().slice(c0);
    r.mountsOfDisk = sh(`findmnt -rn -o SOURCE,TARGET | grep "$(readlink -f /dev/disk/by-label/${params.labelU})" || true`);
    r.after = state('offsite-a');
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('u');
    await waitFor('the unknown disk to go', () => !existsSync(`/dev/disk/by-label/${params.labelU}`), 60_000);
  });

  await scenario('s4-wrong-key', async (r) => {
    const c0 = await colourQuiet();
    const m0 = mails().length;
    const cursor = journalCursor();
    r.plugAt = await plugTracked('c', params.imageC, params.uuidC);
    r.failure = (await waitJournal(cursor, /drive "offsite-c".*failed|failed at unlock/, 240_000)).msg;
    r.mail = await waitMail(m0, /offsite-c/);
    await waitJournal(cursor, /offsite-c.*safe to remove|left unmounted and closed/, 60_000).catch(() => undefined);
    await sleep(3000);
    r.after = state('offsite-c');
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    r.cryptJournal = sh(`journalctl -b --no-pager -o cat -u "$(systemd-escape --template=systemd-cryptsetup@.service plugback-offsite-c)" | tail -n 20`, { allowFail: true }).out;
    await unplugTracked('c', params.uuidC);
  });

  await scenario('s3-pull-mid-sync', async (r) => {
    // More to copy, and rsync slowed to 1 MiB/s by a config reload, so the pull surely lands in the middle.
    sh('mkdir -p /srv/photos/2026 && for i in 1 2 3 4 5 6 7 8; do head -c 5M /dev/urandom > /srv/photos/2026/new$i.bin; done');
    r.reload1 = await reconfigure(r, '  bandwidthLimit: 1MiB');
    r.pidBefore = state('offsite-a').daemonPid;
    const c0 = await colourQuiet();
    const m0 = mails().length;
    let cursor = journalCursor();
    r.plugAt = await plugTracked('a', params.imageA, params.uuidA);
    r.rsyncStart = await waitFor('rsync to start', () => spawnSync('pgrep', ['-x', 'rsync']).status === 0 && Date.now(), 600_000, 200);
    marker('time rsync-start');
    await sleep(4000);
    r.rsyncRunningAtPull = spawnSync('pgrep', ['-x', 'rsync']).status === 0;
    r.pullAt = Date.now();
    await unplugTracked('a', params.uuidA);
    r.removed = (await waitJournal(cursor, /removed during|drive "offsite-a".*failed/, 120_000)).msg;
    r.jobEnd = (await waitJournal(cursor, /backup of "offsite-a" failed/, 120_000)).msg;
    r.mail = await waitMail(m0, /offsite-a/);
    await sleep(5000);
    r.after = state('offsite-a');
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    r.cryptJournal = sh(`journalctl -b --no-pager -o cat -u "$(systemd-escape --template=systemd-cryptsetup@.service plugback-offsite-a)" | tail -n 8`, { allowFail: true }).out;
    // On the pull systemd stops systemd-cryptsetup@ at once (BindsTo=) while rsync still holds the mount, so its
    // detach fails; the daemon closes the mapping left behind with cryptsetup (test/system/README.md).

    // Plug it in again, at full speed: the backup completes (continuing the interrupted copy).
    r.reload2 = await reconfigure(r);
    const c1 = await colourQuiet();
    cursor = journalCursor();
    r.replugAt = await plugTracked('a', params.imageA, params.uuidA);
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.replugDoneMsg = t.done.msg;
    await sleep(2000);
    r.afterReplug = state('offsite-a');
    r.replugColours = colours().slice(c1);
    r.replugJournal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    r.verify = await verifyDrive('a');
  });
  await scenario('s5-two-drives', async (r) => {
    // Both plugged at once: the daemon queues the second and backs them up one after the other.
    const c0 = await colourQuiet();
    const cursor = journalCursor();
    marker(`plug a ${params.imageA}`);
    marker(`plug b ${params.imageB}`);
    plugged.set('a', params.uuidA);
    plugged.set('b', params.uuidB);
    r.plugAt = Date.now();
    // Sample the drives' mounts until both are done: at no moment may two be mounted.
    const seen = new Set();
    r.mostMountedAtOnce = 0;
    const done = {};
    const deadline = Date.now() + 900_000;
    while (!(done.a && done.b)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for both drives: ${JSON.stringify(done)}`);
      const mounted = sh("findmnt -rn -o TARGET | grep '^/run/plugback/' || true").split('\n').filter(Boolean);
      mounted.forEach((m) => seen.add(m));
      r.mostMountedAtOnce = Math.max(r.mostMountedAtOnce, mounted.length);
      const journal = journalSince(cursor);
      for (const [id, d] of Object.entries(DRIVES)) {
        done[id] ??= journal.find((e) => jobEnd(d.name).test(e.msg));
      }
      await sleep(250);
    }
    r.mountsSeen = [...seen].sort();
    r.done = { a: done.a, b: done.b };
    r.queued = journalSince(cursor).find((e) => /is queued: it is backed up after/.test(e.msg))?.msg;
    await sleep(2000);
    r.after = { a: state('offsite-a'), b: state('offsite-b') };
    r.colours = colours().slice(c0);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    await unplugTracked('b', params.uuidB);
    r.verifyA = await verifyDrive('a');
    r.verifyB = await verifyDrive('b');
  });

  await scenario('s6-led-replugged', async (r) => {
    // A job slowed to 1 MiB/s over 16 MiB of new data, so the stick can go and come back while it runs.
    sh('mkdir -p /srv/photos/2027 && for i in $(seq 1 16); do head -c 1M /dev/urandom > /srv/photos/2027/new$i.bin; done');
    await reconfigure(r, '  bandwidthLimit: 1MiB');
    const c0 = await colourQuiet();
    const cursor = journalCursor();
    r.plugAt = await plugTracked('a', params.imageA, params.uuidA);
    await waitFor('rsync to start', () => spawnSync('pgrep', ['-x', 'rsync']).status === 0, 600_000, 200);
    await sleep(2000);
    r.coloursBeforeUnplug = colours().slice(c0);
    // Unplug the stick: the emulator destroys its uhid device, as a pulled USB stick vanishes.
    sh('systemctl stop blinkstick-uhid.service');
    r.stickGoneAt = Date.now();
    r.lost = (await waitJournal(cursor, /BlinkStick stopped answering/, 30_000).catch((e) => ({ msg: `(none: ${e.message})` }))).msg;
    await sleep(2000);
    const c1 = colours().length;
    sh(`systemd-run --unit=blinkstick-uhid-again /usr/local/bin/node /usr/local/lib/blinkstick-uhid.mjs --serial ${params.ledSerial} --log ${COLOUR_LOG}`);
    r.stickBackAt = Date.now();
    // The first colour the daemon draws on the stick that came back, and whether the job was still running then.
    r.redrawn = await waitFor('a colour on the replugged stick', () => colours()[c1], 60_000, 200);
    r.rsyncRunningAtRedraw = spawnSync('pgrep', ['-x', 'rsync']).status === 0;
    r.found = (await waitJournal(cursor, /using .*BS000001/, 30_000).catch((e) => ({ msg: `(none: ${e.message})` }))).msg;
    const t = await followJob(cursor, jobEnd('offsite-a'), 600_000);
    r.doneMsg = t.done.msg;
    await colourQuiet();
    r.coloursAfterReplug = colours().slice(c1);
    r.journal = journalSince(cursor).map((e) => e.msg);
    await unplugTracked('a', params.uuidA);
    await reconfigure(r);
  });

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
      sh('systemctl start plugback.service');
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

  // Scenario 9 (guest/hostile-drive.mjs): last, so that a daemon that wrote through a planted link disturbs no other.
  await hostileDriveScenarios({ params, results, scenario, sh, sleep, byUuid, plugTracked, unplugTracked, journalCursor,
    journalSince, followJob, jobEnd, colours, colourQuiet, mails, waitMail, state, writeConfig });
}

main()
  .catch((error) => {
    results.fatal = String(error?.stack ?? error);
    note(`fatal: ${results.fatal}`);
    try { marker(`fatal ${String(error?.message ?? error).split('\n')[0]}`); } catch { /* console gone */ }
  })
  .finally(() => {
    try {
      writeFileSync(`${RESULTS}/results.json`, JSON.stringify(results, null, 2));
      sh(`journalctl -b --no-pager -o short-precise > ${RESULTS}/journal.txt`, { allowFail: true });
      sh(`cp ${COLOUR_LOG} ${RESULTS}/colours.log`, { allowFail: true });
      sh('sync', { allowFail: true });
    } finally {
      marker('done');
      sh(`umount ${PAYLOAD}`, { allowFail: true });
      sh('systemctl --no-block poweroff', { allowFail: true });
    }
  });
