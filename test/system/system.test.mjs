// The full-OS suite: plugback in a real Debian guest under qemu (TCG), with systemd, udev, udisks2,
// systemd-cryptsetup, USB hot-plug over QMP and a BlinkStick made with uhid. One guest boots per run; the guest
// driver (guest/guest-driver.mjs) plays the scenarios in order and the host plugs and unplugs the USB disk images
// it asks for. The facts come back in the payload disk's results.json; the assertions are made here.
// See test/system/README.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, readSync, existsSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestImage } from './rig/image.mjs';
import { buildPayload, readResults } from './rig/payload.mjs';
import { Guest } from './rig/qemu.mjs';
import { run } from './rig/proc.mjs';
import { GROUPS, selectGroups } from './scenarios.mjs';
import { plugChecks } from './checks/plug.mjs';
import { twoDrivesLedChecks } from './checks/two-drives-led.mjs';
import { restoreUnitsChecks } from './checks/restore-units.mjs';
import { scheduledChecks } from './checks/scheduled.mjs';
import { hostileDriveChecks } from './checks/hostile-drive.mjs';
import { pullCrashChecks } from './checks/pull-crash.mjs';
import { sandboxChecks } from './checks/sandbox.mjs';
import { btrfsDriveChecks } from './checks/btrfs-drive.mjs';
import { prepareDriveChecks } from './checks/prepare-drive.mjs';
import { checkDrillChecks } from './checks/check-drill.mjs';

const log = (...a) => console.log(...a);
// The scenario groups this run plays (PLUGBACK_SYSTEM_ONLY, scenarios.mjs); only their tests are defined below.
const SELECTED = selectGroups(process.env.PLUGBACK_SYSTEM_ONLY);

let guest;
let runDir;
let results;
let resultsDir;
const hostTimes = { scenarios: {}, events: [] };

const sec = (ms) => (ms === undefined || Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);

/** Plays the guest's session: boot, then plugs and unplugs on request until it says `done`. */
async function session(disks) {
  const bootStart = Date.now();
  let current = 'boot';
  let plugAt;
  for (;;) {
    const m = await guest.nextMarker(20 * 60_000, `the guest (during ${current})`);
    const [word, ...rest] = m.text.split(' ');
    hostTimes.events.push({ at: m.at, text: m.text });
    if (word === 'fatal') throw new Error(`the guest driver failed: ${m.text}\n${guest.consoleTail()}`);
    if (word === 'done') return;
    if (word === 'ready') { hostTimes.boot = m.at - bootStart; log(`system test: guest ready ${sec(hostTimes.boot)} after qemu start`); }
    if (word === 'driver' && !hostTimes.driverStarted) hostTimes.driverStarted = m.at - bootStart;
    if (word === 'begin') {
      current = rest[0];
      hostTimes.scenarios[current] = { begin: m.at };
    }
    if (word === 'end') {
      const s = hostTimes.scenarios[rest[0]];
      s.end = m.at;
      log(`system test: ${rest[0]} took ${sec(s.end - s.begin)}`);
    }
    if (word === 'plug') {
      const [id, image] = rest;
      await guest.plug(id, disks[image], `PBTEST${id.toUpperCase()}0001`);
      plugAt = Date.now();
      (hostTimes.scenarios[current].plugs ??= []).push({ id, at: plugAt });
    }
    if (word === 'unplug') await guest.unplug(rest[0]);
    // Scenario 15: one byte of a drive image XORed (the guest asks only while that drive is unplugged).
    if (word === 'flip') flipByte(disks[rest[0]], Number(rest[1]));
    if (word === 'time') {
      const s = hostTimes.scenarios[current];
      (s.marks ??= []).push({ what: rest[0], sinceDeviceAdd: m.at - plugAt, at: m.at });
    }
  }
}

function flipByte(file, offset) {
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    if (readSync(fd, byte, 0, 1, offset) !== 1) throw new Error(`${file} has no byte at ${offset}`);
    byte[0] ^= 0xff;
    writeSync(fd, byte, 0, 1, offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  log(`system test: scenario groups ${SELECTED.join(', ')}${SELECTED.length < GROUPS.length ? ' (PLUGBACK_SYSTEM_ONLY)' : ''}`);
  const image = await guestImage(log);
  hostTimes.image = { built: image.built, seconds: image.seconds || (Date.now() - t0) / 1000 };
  runDir = mkdtempSync(join(process.env.PLUGBACK_SYSTEM_TMP ?? tmpdir(), 'plugback-system-'));

  // The drives, made on the host as image files. LUKS2 with a CHEAP KDF (PBKDF2, 1000 iterations) on purpose: argon2
  // under TCG would take a long time on every unlock. Drives A and B: their keys. Drive C: formatted with one key while the
  // config names another (the wrong-key scenario). Drive U: a plain ext4 disk nobody configured. Drive H: its key; the
  // guest plants hostile links on it (scenario 9). Drive F: its key; the guest makes btrfs on it (scenario 13), and
  // mkfs.btrfs wants at least 114 MiB.
  const keyF = randomBytes(64);
  const uuidF = randomUUID();
  const keyH = randomBytes(64);
  const uuidH = randomUUID();
  const keyA = randomBytes(64);
  const keyB = randomBytes(64);
  const keyC = randomBytes(64);
  const keyCWrong = randomBytes(64);
  const uuidA = randomUUID();
  const uuidB = randomUUID();
  const uuidC = randomUUID();
  const disks = { 'disk-a.img': join(runDir, 'disk-a.img'), 'disk-b.img': join(runDir, 'disk-b.img'), 'disk-c.img': join(runDir, 'disk-c.img'), 'disk-u.img': join(runDir, 'disk-u.img'), 'disk-h.img': join(runDir, 'disk-h.img'), 'disk-f.img': join(runDir, 'disk-f.img'), 'disk-p.img': join(runDir, 'disk-p.img'), 'disk-q.img': join(runDir, 'disk-q.img') };
  const luks = async (file, size, uuid, key) => {
    await run('truncate', ['-s', size, file]);
    const keyFile = join(runDir, `${uuid}.key`);
    writeFileSync(keyFile, key, { mode: 0o600 });
    await run('cryptsetup', ['luksFormat', '--batch-mode', '--type', 'luks2', '--uuid', uuid, '--pbkdf', 'pbkdf2',
      '--pbkdf-force-iterations', '1000', '--key-file', keyFile, file]);
  };
  await luks(disks['disk-a.img'], '768M', uuidA, keyA);
  await luks(disks['disk-b.img'], '256M', uuidB, keyB);
  await luks(disks['disk-c.img'], '64M', uuidC, keyC);
  await luks(disks['disk-h.img'], '256M', uuidH, keyH);
  await luks(disks['disk-f.img'], '256M', uuidF, keyF);
  await run('truncate', ['-s', '64M', disks['disk-u.img']]);
  // Drives P and Q: blank disks that scenario 14 prepares, ext4 and btrfs (mkfs.btrfs wants 114 MiB after the
  // partition table and the 16 MiB LUKS2 header); sparse, so the size costs nothing.
  await run('truncate', ['-s', '256M', disks['disk-p.img']]);
  await run('truncate', ['-s', '256M', disks['disk-q.img']]);
  await run('mkfs.ext4', ['-q', '-F', '-L', 'pbtest-unknown', disks['disk-u.img']]);

  const params = { scenarios: SELECTED, uuidA, uuidB, uuidC, imageA: 'disk-a.img', imageB: 'disk-b.img', imageC: 'disk-c.img', imageU: 'disk-u.img', uuidH, imageH: 'disk-h.img', uuidF, imageF: 'disk-f.img', imageP: 'disk-p.img', serialP: 'PBTESTP0001', imageQ: 'disk-q.img', serialQ: 'PBTESTQ0001', labelU: 'pbtest-unknown', ledSerial: 'BS000001-3.1' };
  const payload = await buildPayload({ runDir, params, keys: { 'offsite-a.key': keyA, 'offsite-b.key': keyB, 'offsite-c.key': keyCWrong, 'offsite-h.key': keyH, 'offsite-btrfs.key': keyF } });
  guest = new Guest({ image, payload, runDir, log });
  await guest.start();
  try {
    await session(disks);
    const exit = await guest.waitExit(180_000);
    if (!exit) log('system test: the guest did not power off within 3 min; killing qemu');
  } finally {
    await guest.stop({ keep: true }).catch(() => undefined); // qemu gone; the run folder goes in afterAll
    if (existsSync(payload)) {
      resultsDir = await readResults(payload, join(runDir, 'out')).catch(() => undefined);
      if (resultsDir && existsSync(join(resultsDir, 'results.json'))) results = JSON.parse(readFileSync(join(resultsDir, 'results.json'), 'utf8'));
    }
  }
});

afterAll(async () => {
  const keep = process.env.PLUGBACK_SYSTEM_KEEP === '1';
  if (resultsDir && keep) log(`system test: kept ${runDir} (console.log, out/results/{results.json,journal.txt,colours.log})`);
  // Timings: printed, never asserted.
  const lines = [`guest image: ${hostTimes.image?.built ? `built in ${hostTimes.image.seconds.toFixed(0)} s` : 'from the cache'}`,
    `boot: qemu start -> driver running ${sec(hostTimes.driverStarted)}, -> set up and daemon ready ${sec(hostTimes.boot)}`];
  for (const [name, s] of Object.entries(hostTimes.scenarios)) {
    const marks = (s.marks ?? []).map((x) => `${x.what} at device_add+${sec(x.sinceDeviceAdd)}`).join(', ');
    lines.push(`${name}: ${sec(s.end - s.begin)}${marks ? ` (${marks})` : ''}`);
  }
  const s1 = results?.scenarios?.['s1-backup']?.timing;
  if (s1) lines.push(`s1 guest clock: plug -> rsync start ${sec(s1.plugToRsyncStart)}, rsync end -> "safe to remove" ${sec(s1.rsyncEndToSafe)}, plug -> safe ${sec(s1.plugToSafe)}`);
  if (s1?.plugToFloor !== undefined) {
    lines.push(`s1 next to systemd's floor (a trivial unit the drive's device wants): plug -> floor unit ${sec(s1.plugToFloor)}, floor unit -> rsync start ${sec(s1.floorToRsyncStart)}; the daemon's lines until rsync, from the floor:`);
    lines.push(...(s1.beforeCopy ?? []).map((l) => `  ${l}`));
  }
  const mem = results?.daemonMemory;
  if (mem) lines.push(`daemon memory (${mem.when}, PID ${mem.pid}): VmRSS ${mem.vmRss}, peak VmHWM ${mem.vmHwm}`);
  log(`system test timings:\n  ${lines.join('\n  ')}`);
  if (guest) await guest.stop({ keep });
});

function scenario(name) {
  const r = results?.scenarios?.[name];
  if (!r) throw new Error(`no results for ${name}: ${results?.fatal ?? 'the guest did not get there'}`);
  if (r.error) throw new Error(`${name} failed in the guest: ${r.error}\njournal: ${JSON.stringify(r.journal ?? [], null, 1)}`);
  return r;
}

/** Each group's tests, defined only when the group is played. */
const CHECKS = { ...plugChecks(scenario), ...twoDrivesLedChecks(scenario), ...restoreUnitsChecks(scenario),
  ...scheduledChecks(scenario, log), ...pullCrashChecks(scenario, log), ...sandboxChecks(scenario, log), ...btrfsDriveChecks(scenario, log), ...prepareDriveChecks(scenario, log), ...checkDrillChecks(scenario, log),
  ...hostileDriveChecks(scenario, log) };
const unchecked = GROUPS.filter((g) => !CHECKS[g]);
if (unchecked.length > 0) throw new Error(`scenario groups with no tests: ${unchecked.join(', ')}`);

describe('plugback in a real Debian guest (qemu, systemd, udisks2, uhid BlinkStick)', () => {
  it('setup: node-hid finds the uhid BlinkStick, install writes crypttab, plugback.service runs', () => {
    expect(results, 'no results from the guest').toBeTruthy();
    expect(results.fatal).toBeUndefined();
    const s = results.setup;
    expect(s.hidrawUevent).toMatch(/HID_ID=0003:000020A0:000041E5/);
    expect(s.ledList.code).toBe(0);
    expect(s.ledList.out).toContain('BS000001-3.1');
    expect(s.install.code).toBe(0);
    expect(s.crypttab).toMatch(new RegExp(`plugback-offsite-a UUID=${results.params.uuidA} /etc/plugback/keys/offsite-a.key luks,noauto`));
    expect(s.daemon.daemon).toBe('active');
  });

  it('the guest played setup and exactly the selected scenario groups', () => {
    expect(results?.fatal).toBeUndefined();
    const played = [...new Set(Object.keys(results?.scenarios ?? {}).map((name) => /^s(\d+)/.exec(name)[1]))];
    expect(played).toEqual(SELECTED);
  });

  for (const group of SELECTED) CHECKS[group]();
});
