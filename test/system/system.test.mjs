// The full-OS suite: plugback in a real Debian guest under qemu (TCG), with systemd, udev, udisks2,
// systemd-cryptsetup, USB hot-plug over QMP and a BlinkStick made with uhid. One guest boots per run; the guest
// driver (guest/guest-driver.mjs) plays the scenarios in order and the host plugs and unplugs the USB disk images
// it asks for. The facts come back in the payload disk's results.json; the assertions are made here.
// See test/system/README.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestImage } from './rig/image.mjs';
import { buildPayload, readResults } from './rig/payload.mjs';
import { Guest } from './rig/qemu.mjs';
import { run } from './rig/proc.mjs';
import { hostileDriveChecks } from './hostile-drive-checks.mjs';

const log = (...a) => console.log(...a);
const GREEN = '0,128,0'; // led.colours.done (CSS green) at led.brightness 100
const RED = '255,0,0'; // led.colours.failed
const WORKING = '51,194,128'; // led.colours.working (#33c280), steady (led.pulse false)

let guest;
let runDir;
let results;
let resultsDir;
const hostTimes = { scenarios: {}, events: [] };

function lastColour(list) {
  return list.filter((c) => c.id === 1).at(-1)?.value;
}
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
    if (word === 'time') {
      const s = hostTimes.scenarios[current];
      (s.marks ??= []).push({ what: rest[0], sinceDeviceAdd: m.at - plugAt, at: m.at });
    }
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  const image = await guestImage(log);
  hostTimes.image = { built: image.built, seconds: image.seconds || (Date.now() - t0) / 1000 };
  runDir = mkdtempSync(join(process.env.PLUGBACK_SYSTEM_TMP ?? tmpdir(), 'plugback-system-'));

  // The drives, made on the host as image files. LUKS2 with a CHEAP KDF (PBKDF2, 1000 iterations) on purpose: argon2
  // under TCG would take a long time on every unlock. Drives A and B: their keys. Drive C: formatted with one key while the
  // config names another (the wrong-key scenario). Drive U: a plain ext4 disk nobody configured. Drive H: its key; the
  // guest plants hostile links on it (scenario 9).
  const keyH = randomBytes(64);
  const uuidH = randomUUID();
  const keyA = randomBytes(64);
  const keyB = randomBytes(64);
  const keyC = randomBytes(64);
  const keyCWrong = randomBytes(64);
  const uuidA = randomUUID();
  const uuidB = randomUUID();
  const uuidC = randomUUID();
  const disks = { 'disk-a.img': join(runDir, 'disk-a.img'), 'disk-b.img': join(runDir, 'disk-b.img'), 'disk-c.img': join(runDir, 'disk-c.img'), 'disk-u.img': join(runDir, 'disk-u.img'), 'disk-h.img': join(runDir, 'disk-h.img') };
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
  await run('truncate', ['-s', '64M', disks['disk-u.img']]);
  await run('mkfs.ext4', ['-q', '-F', '-L', 'pbtest-unknown', disks['disk-u.img']]);

  const params = { uuidA, uuidB, uuidC, imageA: 'disk-a.img', imageB: 'disk-b.img', imageC: 'disk-c.img', imageU: 'disk-u.img', uuidH, imageH: 'disk-h.img', labelU: 'pbtest-unknown', ledSerial: 'BS000001-3.1' };
  const payload = await buildPayload({ runDir, params, keys: { 'offsite-a.key': keyA, 'offsite-b.key': keyB, 'offsite-c.key': keyCWrong, 'offsite-h.key': keyH } });
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

  it('1: a configured LUKS drive is unlocked, mounted, backed up, closed and powered off; the LED ends green', () => {
    const r = scenario('s1-backup');
    expect(r.doneMsg).toBe('drive "offsite-a" is done: safe to remove');
    expect(r.after.mapping).toBe(false);
    expect(r.after.mappings).toEqual([]);
    expect(r.after.mounted).toBe('');
    expect(r.after.plugbackMounts).toBe('');
    expect(r.after.daemon).toBe('active');
    const values = r.colours.map((c) => c.value);
    expect(values).toContain(WORKING);
    expect(lastColour(r.colours)).toBe(GREEN);
    // Opened again in the guest (the host has no dm-crypt): the snapshot is the source.
    expect(r.verify.snapshots).toHaveLength(1);
    expect(r.verify.diff).toBe('');
    expect(r.verify.diffExit).toBe(0);
    expect(r.verify.copyFiles).toBe(r.verify.sourceFiles);
  });

  it('2: an unknown USB drive is ignored: one log line, nothing mounted, the LED unchanged', () => {
    const r = scenario('s2-unknown');
    expect(r.ignored).toMatch(/not a drive in the config/);
    expect(r.mountsOfDisk).toBe('');
    expect(r.after.mappings).toEqual([]);
    expect(r.colours).toEqual([]);
  });

  it('4: a wrong key file fails clearly at unlock, the LED turns red, a mail goes, the drive stays closed', () => {
    const r = scenario('s4-wrong-key');
    expect(r.failure).toMatch(/could not open drive "offsite-c" with the key file \/etc\/plugback\/keys\/offsite-c.key/);
    expect(r.after.mapping).toBe(false);
    expect(r.after.mounted).toBe('');
    expect(r.after.daemon).toBe('active');
    expect(lastColour(r.colours)).toBe(RED);
    // The failure mail reached the guest's SMTP server, saying what failed and what to do.
    expect(r.mail.subject).toBe('plugback: backup of offsite-c on guest FAILED at unlock');
    expect(r.mail.to).toEqual(['admin@guest.test']);
    expect(r.mail.text).toContain('What to do next:');
  });

  it('3: a drive pulled mid-sync: the daemon lives on, LED red, a mail goes, mapping and mount gone; plugged again it completes', () => {
    const r = scenario('s3-pull-mid-sync');
    // systemctl reload works through ExecReload= (SIGHUP).
    expect(r.systemctlReload?.code, r.systemctlReload?.err).toBe(0);
    expect(r.reload1).toMatch(/config reloaded/);
    expect(r.rsyncRunningAtPull).toBe(true);
    expect(r.removed).toMatch(/drive removed during sync/);
    expect(r.after.daemon).toBe('active');
    expect(r.after.daemonPid).toBe(r.pidBefore);
    expect(r.jobEnd).toMatch(/failed at sync: drive removed during sync/);
    expect(r.after.mounted).toBe('');
    expect(r.after.plugbackMounts).toBe('');
    expect(lastColour(r.colours)).toBe(RED);
    expect(r.mail.subject).toBe('plugback: backup of offsite-a on guest FAILED at sync');
    expect(r.mail.text).toContain('drive removed during sync');
    // systemd could not close the mapping while the pulled-out drive was still mounted; the daemon did, afterwards.
    expect(r.after.mapping, r.cryptJournal).toBe(false);
    expect(r.replugDoneMsg).toBe('drive "offsite-a" is done: safe to remove');
    expect(r.afterReplug.mapping).toBe(false);
    expect(r.afterReplug.mounted).toBe('');
    expect(lastColour(r.replugColours)).toBe(GREEN);
    expect(r.verify.diff).toBe('');
    expect(r.verify.diffExit).toBe(0);
    expect(r.verify.snapshots.filter((s) => s.endsWith('.incomplete'))).toEqual([]);
    // The snapshot of scenario 1 is still there, whole.
    const s1 = scenario('s1-backup').verify;
    expect(r.verify.oldest).toEqual(s1.newest);
  });

  it('5: two drives plugged in together are backed up one after the other', () => {
    const r = scenario('s5-two-drives');
    expect(r.done.a.msg).toBe('drive "offsite-a" is done: safe to remove');
    expect(r.done.b.msg).toBe('drive "offsite-b" is done: safe to remove');
    expect(r.queued).toMatch(/^drive "offsite-[ab]" is queued: it is backed up after "offsite-[ab]"$/);
    // Both were mounted at some moment, never both at once.
    expect(r.mountsSeen).toEqual(['/run/plugback/offsite-a', '/run/plugback/offsite-b']);
    expect(r.mostMountedAtOnce).toBe(1);
    const [first, second] = [r.done.a, r.done.b].sort((x, y) => x.t - y.t);
    expect(second.t).toBeGreaterThan(first.t);
    for (const after of [r.after.a, r.after.b]) {
      expect(after.mapping).toBe(false);
      expect(after.mounted).toBe('');
    }
    expect(lastColour(r.colours)).toBe(GREEN);
    for (const v of [r.verifyA, r.verifyB]) {
      expect(v.diff).toBe('');
      expect(v.diffExit).toBe(0);
    }
    expect(r.verifyB.snapshots).toHaveLength(1);
  });

  it('6: a BlinkStick unplugged and plugged back in during a job shows the current state again', () => {
    const r = scenario('s6-led-replugged');
    expect(lastColour(r.coloursBeforeUnplug)).toBe(WORKING);
    expect(r.lost).toMatch(/BlinkStick stopped answering/);
    expect(r.lost).not.toContain('(undefined)');
    expect(r.found).toMatch(/using .*BS000001-3\.1/);
    // The first colour on the stick that came back is the job's, drawn while rsync was still copying.
    expect(r.rsyncRunningAtRedraw).toBe(true);
    expect(r.redrawn.value).toBe(WORKING);
    expect(r.doneMsg).toBe('drive "offsite-a" is done: safe to remove');
    expect(lastColour(r.coloursAfterReplug)).toBe(GREEN);
  });

  it('8: plugback restore puts files back from the drive, elsewhere and in place, keeping the damaged copy aside', () => {
    const r = scenario('s8-restore');
    expect(r.snapshots.code, r.snapshots.err).toBe(0);
    expect(r.restoreTo.code, r.restoreTo.err).toBe(0);
    expect(r.diffTo).toEqual({ code: 0, text: '' });
    // Owner, mode and the hard link come back as they were.
    expect(r.privateOwner).toEqual(['1234:1234 600', '1234:1234 600']);
    expect(r.hardLinked[0]).toBe(r.hardLinked[1]);
    expect(r.restoreInPlace.code, r.restoreInPlace.err).toBe(0);
    expect(r.diffInPlace).toEqual({ code: 0, text: '' });
    expect(r.keptAside).toHaveLength(1);
    expect(r.keptImg1).toBe('damaged');
  });

  it('7: with install.trigger units and no daemon, systemd starts plugback-drive@ when the drive appears', () => {
    const r = scenario('s7-units-trigger');
    expect(r.install.code, r.install.err).toBe(0);
    // The daemon's unit is gone; the drive's device unit wants the drive's backup unit.
    expect(r.daemonUnitAfterInstall).not.toBe(0);
    expect(r.wants).toBe(r.units.driveUnit);
    expect(r.unit.Result).toBe('success');
    expect(r.unit.ExecMainStatus).toBe('0');
    expect(r.after.mapping).toBe(false);
    expect(r.after.mounted).toBe('');
    expect(r.colours.map((c) => c.value)).toContain(WORKING);
    expect(lastColour(r.colours)).toBe(GREEN);
    expect(r.mails).toEqual([]);
    expect(r.verify.diff).toBe('');
    expect(r.verify.diffExit).toBe(0);
    expect(r.verify.latest).not.toBe(scenario('s8-restore').latestBefore);
  });

  hostileDriveChecks({ scenario, lastColour, RED, log });
});
