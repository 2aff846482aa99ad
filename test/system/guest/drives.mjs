// Drives in the guest driver: plugs and unplugs asked of the host, a drive's state (mapping, mounts, units), the
// config the driver writes, a drive opened read-only to compare its snapshot with the source, and the scenario
// runner, which plays a scenario only when the run selected it (params.scenarios, test/system/scenarios.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { CONFIG, marker, note, params, results, saveResults, sh, sleep, waitFor, journalCursor, journalSince, waitJournal, startDaemon } from './lib.mjs';

// --- devices ---
export const byUuid = (uuid) => `/dev/disk/by-uuid/${uuid}`;
export async function plug(id, image, uuid) {
  marker(`plug ${id} ${image}`);
  const at = Date.now();
  if (uuid) await waitFor(`${byUuid(uuid)} to appear`, () => existsSync(byUuid(uuid)), 90_000, 200);
  return at;
}
export async function unplug(id, uuid) {
  marker(`unplug ${id}`);
  if (uuid) await waitFor(`${byUuid(uuid)} to go`, () => !existsSync(byUuid(uuid)), 60_000, 300);
}
export function state(drive) {
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

/**
 * The driver's config: `extraBackup` lines under backup:, `extraDriveA` (YAML lines, indented 4) in drive offsite-a,
 * `extraDrives` (YAML lines) under drives:, `extraStates` under states:, `extraTop` at the end.
 */
export function writeConfig(extraBackup = '', { trigger = 'daemon', extraDriveA = '', extraDrives = '', extraStates = '', extraTop = '' } = {}) {
  writeFileSync(CONFIG, `# written by the system test's guest driver
host: guest
drives:
  offsite-a:
    uuid: ${params.uuidA}
    keyFile: /etc/plugback/keys/offsite-a.key
${extraDriveA ? `${extraDriveA}\n` : ''}  offsite-b:
    uuid: ${params.uuidB}
    keyFile: /etc/plugback/keys/offsite-b.key
  offsite-c:
    uuid: ${params.uuidC}
    keyFile: /etc/plugback/keys/offsite-c.key
  offsite-h:
    uuid: ${params.uuidH}
    keyFile: /etc/plugback/keys/offsite-h.key
  offsite-btrfs:
    uuid: ${params.uuidF}
    keyFile: /etc/plugback/keys/offsite-btrfs.key
${extraDrives}
states:
  photos:
    folders: [/srv/photos]
${extraStates}
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
${extraTop}
`);
}

export const DRIVES = {
  a: { name: 'offsite-a', image: params.imageA, uuid: params.uuidA },
  b: { name: 'offsite-b', image: params.imageB, uuid: params.uuidB },
};

/**
 * Opens a drive read-only and compares its newest snapshot with the source. By default the daemon is stopped and the
 * drive plugged in for it; `plugged: true` opens a drive that is already there (and leaves it plugged).
 */
export async function verifyDrive(id, { plugged = false } = {}) {
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
      startDaemon();
    }
  }
  return out;
}

/** The scenario group of a scenario's name: "s9a-hostile-link" is in group "9". */
export const groupOf = (name) => /^s(\d+)/.exec(name)[1];

/** Plays `body` as scenario `name` if its group was selected for this run; what it saw goes into results.json. */
export async function scenario(name, body) {
  if (!params.scenarios.includes(groupOf(name))) return;
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
  saveResults();
  marker(`end ${name}`);
}
export const plugged = new Map();
export async function plugTracked(id, image, uuid) { plugged.set(id, uuid); return plug(id, image, uuid); }
export async function unplugTracked(id, uuid) { await unplug(id, uuid); plugged.delete(id); }

/**
 * A new config (backup settings `extraBackup`) put in force with `systemctl reload plugback` (ExecReload= sends the
 * daemon SIGHUP); the reload's outcome is recorded for the host to check, and the daemon's answer returned.
 */
export async function reconfigure(r, extraBackup = '', options = {}) {
  const cursor = journalCursor();
  writeConfig(extraBackup, options);
  r.systemctlReload = sh('systemctl reload plugback.service', { allowFail: true });
  return (await waitJournal(cursor, /config reloaded|not reloaded/, 60_000)).msg;
}

/** The journal line that ends a drive's job, however it went. */
export const jobEnd = (drive) => new RegExp(`drive "${drive}" (is done: safe to remove|was left unmounted|.*failed)`);

/** Watches rsync come and go and the journal for `doneRe`, noting the times (guest clock). */
export async function followJob(cursor, doneRe, timeoutMs) {
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
