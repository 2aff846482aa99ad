// `plugback daemon` end to end on a private D-Bus: plug, unlock, mount, back up, unmount, close, power off;
// and the ways it can go wrong. udisks2 and systemd1 are played by a separate peer process speaking their real
// protocols; the drives are ext4 images mounted for real.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../src/notify/ledger.js';
import { mountUnit } from '../../src/units/escape.js';
import { MailServer } from '../helpers/mail-server.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';
import { DaemonFixture } from '../helpers/daemon-fixture.js';

const execFileP = promisify(execFile);
const CRYPT_UNIT = (cryptName: string) => `systemd-cryptsetup@${cryptName.replace(/-/g, '\\x2d')}.service`;

let fixture: DaemonFixture | undefined;

afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

async function setUp(options: { udisks?: boolean } = {}): Promise<DaemonFixture> {
  fixture = await DaemonFixture.create(options);
  return fixture;
}

/** Drive offsite-a plugged in with 6 MiB to copy at 1 MiB/s: returns once rsync has started, seconds before it ends. */
async function plugInSlowCopy(): Promise<DaemonFixture> {
  const f = await setUp();
  await fs.writeFile(path.join(f.source, 'big.bin'), Buffer.alloc(6 * 1024 * 1024, 1));
  await f.addDrive('offsite-a');
  await f.writeConfig({ backup: { lockFile: path.join(f.root, 'plugback.lock'), bandwidthLimit: '1MiB', verifySample: 0 } });
  await f.startDaemon();
  await f.plug('offsite-a');
  await f.waitForLog(/^step sync$/, 'offsite-a');
  return f;
}

/** The snapshots on the drive (complete and .incomplete), read from the image after the daemon let go of it. */
async function snapshotsOn(f: DaemonFixture, drive: string): Promise<string[]> {
  return f.inspect(drive, async (repo) => (await fs.readdir(repo.snapshots).catch(() => [] as string[])).filter((n) => n !== 'latest').sort());
}

describe('plugback daemon', () => {
  it('backs up a configured drive when it is plugged in, then unmounts, closes and powers it off: safe to remove', async () => {
    const f = await setUp();
    const a = await f.addDrive('offsite-a');
    await f.startDaemon();

    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');

    const calls = (await f.peer.calls()).map((c) => `${c.member} ${c.args[0] ?? ''}`.trim());
    const unit = CRYPT_UNIT(a.cryptName);
    expect(calls).toContain(`StartUnit ${unit}`);
    expect(calls).toContain(`StopUnit ${unit}`);
    expect(calls.filter((c) => c.startsWith('PowerOff'))).toHaveLength(1);
    // Unlocked before, closed after, powered off last.
    expect(calls.indexOf(`StartUnit ${unit}`)).toBeLessThan(calls.indexOf(`StopUnit ${unit}`));
    expect(calls.indexOf(`StopUnit ${unit}`)).toBeLessThan(calls.findIndex((c) => c.startsWith('PowerOff')));
    expect(await f.isMounted('offsite-a')).toBe(false);
    expect(await f.peer.activeState(unit)).toBe('inactive');

    const order = f.messages().filter((m) => /^(unlocking|mounted|unmounted|closed the LUKS|powered off|drive "offsite-a" is done)/.test(m));
    expect(order.map((m) => m.split(' ')[0])).toEqual(['unlocking', 'mounted', 'unmounted', 'closed', 'powered', 'drive']);

    // What is on the drive is the source.
    const diff = await f.inspect('offsite-a', async (repo) => {
      const latest = path.join(repo.latest, 'data', f.source);
      return diffTrees(await snapshotTree(f.source), await snapshotTree(latest));
    });
    expect(diff).toEqual([]);
    // The ledger has the run, with what was on the drive read before it was unmounted.
    const record = (await readLedger(f.stateDir))['offsite-a'];
    expect(record?.lastSuccess).toBeDefined();
    expect(record?.snapshotCount).toBe(1);
    expect(record?.freeBytes).toBeGreaterThan(0);
    expect(await f.stopDaemon()).toBe(0);
  });

  it('does not back up again a drive plugged back within daemon.minInterval of its last good backup, even after a restart', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    await f.writeConfig({ daemon: { minInterval: '1h' } });
    await f.startDaemon();
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    expect(await f.stopDaemon()).toBe(0);

    await f.startDaemon();
    await f.plug('offsite-a');
    await f.waitForLog(/was backed up \d+m?s ago, within daemon.minInterval \(1h\): not backing it up again; it is safe to remove/, 'offsite-a');
    // One unlock (the first plug); the second plug started no unit at all.
    const unlocks = (await f.peer.calls()).filter((c) => c.member === 'StartUnit' && String(c.args[0]).startsWith('systemd-cryptsetup@'));
    expect(unlocks).toHaveLength(1);
    expect(await snapshotsOn(f, 'offsite-a')).toHaveLength(1);
  });

  it('counts a drive plugged in before the daemon started as plugged in', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    await f.plug('offsite-a');
    await f.startDaemon();
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    expect(await snapshotsOn(f, 'offsite-a')).toHaveLength(1);
  });

  it('reads udisks2 again when it restarts, so a drive plugged in meanwhile is backed up', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    await f.startDaemon();
    // As on a package upgrade: udisks2 goes, the drive is plugged in, udisks2 comes back and says nothing of it.
    await f.restartUdisks(['offsite-a']);
    await f.waitForLog(/^udisks2 restarted: read its disks again$/);
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    expect(await snapshotsOn(f, 'offsite-a')).toHaveLength(1);
  });

    it('ignores a drive that is not in the config: one info line, no unlock, no mount', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    await f.peer.addDisk('stranger', '6a1f0c3e-2b7d-4e59-9c1a-0d2e3f4a5b6c', true, '/nonexistent', true);
    await f.peer.addDisk('stick', '1234-ABCD', false, '', true);
    await f.startDaemon();

    await f.peer.plug('stranger');
    await f.peer.plug('stick');
    await f.waitForLog(/ignoring .*6a1f0c3e-2b7d-4e59-9c1a-0d2e3f4a5b6c.*not a drive in the config/);
    await f.waitForLog(/ignoring .*1234-ABCD.*not a drive in the config/);
    // The daemon is still idle and answers for the configured drive afterwards.
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    const calls = await f.peer.calls();
    // Only the configured drive was unlocked and mounted (by systemd: its cryptsetup unit, then its mount unit).
    const drive = f.drives.get('offsite-a');
    expect(calls.filter((c) => c.member === 'StartUnit').map((c) => c.args[0])).toEqual([CRYPT_UNIT('plugback-offsite-a'), mountUnit(drive!.mountPoint)]);
    expect(f.messages().filter((m) => m.includes('6a1f0c3e'))).toHaveLength(1);
  });

  it('backs up two drives plugged in together one after the other, announcing the second as queued', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    await f.addDrive('offsite-b');
    await f.startDaemon();

    await f.plug('offsite-a');
    await f.plug('offsite-b');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-b');

    expect(f.messages().some((m) => /drive "offsite-b" is queued: it is backed up after "offsite-a"/.test(m))).toBe(true);
    const lines = f.daemon!.lines;
    const doneA = lines.findIndex((l) => l.drive === 'offsite-a' && /is done/.test(l.msg));
    const startB = lines.findIndex((l) => l.drive === 'offsite-b' && /backup of drive "offsite-b" started/.test(l.msg));
    expect(startB).toBeGreaterThan(doneA);
    expect(await snapshotsOn(f, 'offsite-a')).toHaveLength(1);
    expect(await snapshotsOn(f, 'offsite-b')).toHaveLength(1);
  });

  it('fails cleanly when the drive is pulled out mid-copy, keeps the partial copy, and resumes it on the next plug', async () => {
    const f = await plugInSlowCopy();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await f.unplug('offsite-a');

    const failed = await f.waitForLog(/^backup of "offsite-a" failed at sync: drive removed during sync/, 'offsite-a');
    expect(failed.level).toBe(50);
    expect(await f.isMounted('offsite-a')).toBe(false);
    expect(await f.peer.activeState(CRYPT_UNIT('plugback-offsite-a'))).toBe('inactive');
    const left = await snapshotsOn(f, 'offsite-a');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/\.incomplete$/);

    // Still serving: the next plug continues the copy and completes it.
    await f.writeConfig({ backup: { lockFile: path.join(f.root, 'plugback.lock'), verifySample: 0 } });
    await f.waitForLog(/config reloaded/);
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    const after = await snapshotsOn(f, 'offsite-a');
    expect(after).toHaveLength(1);
    expect(after[0]).not.toMatch(/\.incomplete$/);
    expect(f.messages().some((m) => /continu|resum/i.test(m))).toBe(true);
  });

  it.each([
    ['udisks2 tells at once', 0],
    ['udisks2 tells 4 s after systemd (the kernel) does', 4000],
  ] as const)('a pull after the snapshot is complete is a finished backup, not a failure, whichever signal comes first (%s)', async (_how, udisksDelayMs) => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    // The postBackup hook holds the job after complete, so the pull lands between complete and unmount.
    await f.writeConfig({ backup: { lockFile: path.join(f.root, 'plugback.lock'), verifySample: 0 }, hooks: { postBackup: 'sleep 2' } });
    await f.startDaemon();
    await f.plug('offsite-a');
    await f.waitForLog(/^snapshot \S+ is complete$/, 'offsite-a');
    await f.waitForLog(/^step post-backup-hooks$/, 'offsite-a');
    await f.unplugLate('offsite-a', udisksDelayMs);

    const end = await f.waitForLog(/^backup of "offsite-a" (finished|failed|was cancelled)/, 'offsite-a');
    expect(end.msg).toMatch(/^backup of "offsite-a" finished; the drive was removed before it was put away: snapshot \S+ in /);
    expect(end.level).toBe(40);
    expect(f.messages().some((m) => /is done: safe to remove|FAILED|failed at/.test(m))).toBe(false);
    // The ledger is written just after the job's last line.
    let record = (await readLedger(f.stateDir))['offsite-a'];
    for (let i = 0; i < 100 && !record?.lastRun; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      record = (await readLedger(f.stateDir))['offsite-a'];
    }
    expect(record?.lastRun).toMatchObject({ outcome: 'warning', cause: 'removed', title: 'finished; the drive was removed before it was put away' });
    expect(record?.lastSuccess).toBe(record?.lastRun?.finishedAt);
    expect(record?.lastFailure).toBeUndefined();
    expect(await f.isMounted('offsite-a')).toBe(false);
    const left = await snapshotsOn(f, 'offsite-a');
    expect(left).toHaveLength(1);
    expect(left[0]).not.toMatch(/\.incomplete$/);
  });

  it('lets e2fsck -p repair the drive before mounting it, and says so: the backup ends with a warning', async () => {
    const f = await setUp();
    const a = await f.addDrive('offsite-a');
    // Mark the file system as having errors, as an unclean unplug can: e2fsck -p then checks it fully and clears that.
    await execFileP('debugfs', ['-w', '-R', 'ssv state 2', a.image]);
    await f.startDaemon();
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    expect(f.messages().some((m) => /^e2fsck repaired the file system of drive "offsite-a"/.test(m))).toBe(true);
    expect(f.messages().some((m) => /backup of "offsite-a" finished with warnings/.test(m))).toBe(true);
  });

  it('names the process that keeps the drive busy when it cannot be unmounted, and detaches it lazily', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    // A post-backup hook leaves a process sitting in the drive, as a forgotten shell would.
    const pidFile = path.join(f.root, 'squatter.pid');
    await f.writeConfig({
      // The hook waits until the squatter is inside (it writes its PID only after the cd).
      hooks: {
        postBackup: `setsid sh -c 'cd "$PLUGBACK_TARGET" && echo $$ > ${pidFile} && exec sleep 60' >/dev/null 2>&1 </dev/null & while [ ! -s ${pidFile} ]; do sleep 0.05; done`,
      },
    });
    await f.startDaemon();
    await f.plug('offsite-a');
    try {
      const failed = await f.waitForLog(/^backup of "offsite-a" failed at unmount/, 'offsite-a', 45_000);
      const pid = (await fs.readFile(pidFile, 'utf8')).trim();
      expect(failed.msg).toContain(`it is held by PID ${pid} (`);
      expect(f.messages().some((m) => /detached it lazily instead/.test(m))).toBe(true);
      expect(await f.isMounted('offsite-a')).toBe(false);
    } finally {
      const pid = await fs.readFile(pidFile, 'utf8').catch(() => '');
      if (pid.trim()) process.kill(Number(pid.trim()), 'SIGKILL');
    }
  });

  it('mails a failure with the job log quoted and attached, though the drive is unmounted by then', async () => {
    const server = await MailServer.onFreePort();
    await server.start();
    try {
      const f = await setUp();
      await f.addDrive('offsite-a');
      await f.writeConfig({ mail: { to: 'me@example.org', smtp: { host: '127.0.0.1', port: server.port, security: 'none' } } });
      await f.peer.setUnlockResult('plugback-offsite-a', 'failed');
      await f.startDaemon();
      await f.plug('offsite-a');
      const [received] = await server.waitFor(1, 30_000);
      const mail = received!.mail;
      expect(mail.subject).toMatch(/offsite-a/);
      expect(mail.subject).toMatch(/unlock/);
      expect(mail.text).toContain('could not open drive "offsite-a" with the key file');
      const attachment = mail.attachments[0];
      expect(attachment?.content.toString()).toContain('unlocking drive \\"offsite-a\\"');
    } finally {
      await server.stop();
    }
  });

  it('says what to fix when the unlock fails, and leaves the drive closed and unmounted', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    await f.peer.setUnlockResult('plugback-offsite-a', 'failed');
    await f.startDaemon();

    await f.plug('offsite-a');
    const failed = await f.waitForLog(/^backup of "offsite-a" failed at unlock/, 'offsite-a');
    expect(failed.msg).toMatch(/could not open drive "offsite-a" with the key file .*offsite-a\.key/);
    expect(failed.msg).toMatch(/cryptsetup open --test-passphrase/);
    expect(await f.isMounted('offsite-a')).toBe(false);
    // Logged once the ledger, metrics and mail have been seen to.
    await f.waitForLog(/left unmounted and closed after the failure/, 'offsite-a');
    const record = (await readLedger(f.stateDir))['offsite-a'];
    expect(record?.lastFailure?.step).toBe('unlock');
    expect(record?.lastSuccess).toBeUndefined();
    expect((await f.peer.calls()).some((c) => c.member === 'PowerOff')).toBe(false);
  });

  it('names the crypttab line to add when systemd has no cryptsetup unit for the drive', async () => {
    const f = await setUp();
    const a = await f.addDrive('offsite-a', { crypttab: false });
    await f.startDaemon();

    await f.plug('offsite-a');
    const failed = await f.waitForLog(/^backup of "offsite-a" failed at unlock/, 'offsite-a');
    expect(failed.msg).toContain(`${a.cryptName} UUID=${a.uuid} ${a.keyFile} luks,noauto,nofail,headless=true,x-systemd.device-timeout=30s`);
    expect(failed.msg).toContain('/etc/crypttab');
  });

  it('says which key file is missing', async () => {
    const f = await setUp();
    const a = await f.addDrive('offsite-a');
    await fs.rm(a.keyFile);
    await f.startDaemon();
    await f.plug('offsite-a');
    const failed = await f.waitForLog(/^backup of "offsite-a" failed at unlock/, 'offsite-a');
    expect(failed.msg).toContain(`the key file ${a.keyFile} of drive "offsite-a" is missing or unreadable`);
    expect((await f.peer.calls()).some((c) => c.member === 'StartUnit')).toBe(false);
  });

  it('refuses a key file others can read, before asking systemd to unlock (D22)', async () => {
    const f = await setUp();
    const a = await f.addDrive('offsite-a');
    await fs.chmod(a.keyFile, 0o644);
    await f.startDaemon();
    await f.plug('offsite-a');
    const failed = await f.waitForLog(/^backup of "offsite-a" failed at unlock/, 'offsite-a');
    expect(failed.msg).toContain(`the key file of drive "offsite-a" ${a.keyFile} can be read or changed by users other than its owner (mode 0644); run: chmod 600 ${a.keyFile}`);
    expect((await f.peer.calls()).some((c) => c.member === 'StartUnit')).toBe(false);
  });

  it('reloads a valid config on change and refuses an invalid one, keeping the old one in force', async () => {
    const f = await setUp();
    await f.addDrive('offsite-a');
    await f.startDaemon();

    // Invalid: the old config (with offsite-a) stays in force.
    await fs.writeFile(f.configFile, 'drives:\n  offsite-a:\n    uuid: not-a-uuid\nstates: {}\n');
    const refused = await f.waitForLog(/the config was not reloaded/);
    expect(refused.msg).toMatch(/plugback\.yaml:\d+:\d+/);
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');

    // Valid, through SIGHUP: a drive added to the config and already plugged in is backed up.
    await f.unplug('offsite-a');
    await f.addDrive('offsite-b');
    await f.plug('offsite-b');
    f.daemon!.child.kill('SIGHUP');
    await f.waitForLog(/config reloaded \(SIGHUP\)/);
    await f.waitForLog(/is done: safe to remove/, 'offsite-b');
  });

  it('cleans up after an earlier run at start (an open mapping), then backs up, continuing the interrupted snapshot', async () => {
    const f = await setUp();
    const a = await f.addDrive('offsite-a');
    const unit = CRYPT_UNIT(a.cryptName);
    // What a killed daemon leaves behind: the mapping open, an interrupted snapshot on the drive. (A leftover
    // mount of the mapping needs a real /dev/mapper device, so that part is in recovery.test.ts.)
    await f.plug('offsite-a');
    await f.peer.startUnit(unit);
    expect(await f.peer.activeState(unit)).toBe('active');
    await execFileP('mount', ['-o', 'loop', a.image, a.mountPoint]);
    const leftover = '2026-11-01T000000Z.incomplete';
    await fs.mkdir(path.join(a.mountPoint, 'plugback', 'testhost', 'snapshots', leftover), { recursive: true });
    await execFileP('umount', [a.mountPoint]);

    await f.startDaemon();
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    const messages = f.messages();
    const closed = messages.findIndex((m) => /closed the LUKS mapping plugback-offsite-a, left open by an earlier run/.test(m));
    const unlocking = messages.findIndex((m) => /unlocking drive "offsite-a"/.test(m));
    expect(closed).toBeGreaterThanOrEqual(0);
    expect(unlocking).toBeGreaterThan(closed);
    expect(await f.isMounted('offsite-a')).toBe(false);
    const after = await snapshotsOn(f, 'offsite-a');
    expect(after).toHaveLength(1);
    expect(after[0]).not.toMatch(/\.incomplete$/);
  });

  it('on SIGTERM mid-copy cancels the job, unmounts and closes the drive, and exits 0', async () => {
    const f = await plugInSlowCopy();

    expect(await f.stopDaemon('SIGTERM')).toBe(0);
    expect(f.messages().some((m) => /cancelled during sync/.test(m))).toBe(true);
    expect(await f.isMounted('offsite-a')).toBe(false);
    expect(await f.peer.activeState(CRYPT_UNIT('plugback-offsite-a'))).toBe('inactive');
    const left = await snapshotsOn(f, 'offsite-a');
    expect(left.some((n) => n.endsWith('.incomplete'))).toBe(true);
  });

  it('watches the systemd device unit when udisks2 is not on the bus', async () => {
    const f = await setUp({ udisks: false });
    await f.addDrive('offsite-a');
    await f.startDaemon();
    expect(f.messages().some((m) => /udisks2 is not available/.test(m))).toBe(true);
    await f.plug('offsite-a');
    await f.waitForLog(/unlocking drive "offsite-a"/, 'offsite-a');
    // Without udisks2 the drive is still mounted by its mount unit (What=/dev/mapper/<cryptName>) and backed
    // up; only powering it off needs udisks2.
    await f.waitForLog(/cannot be powered off from here \(no udisks2 drive object\)/, 'offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    expect(await snapshotsOn(f, 'offsite-a')).toHaveLength(1);
    expect(await f.peer.activeState(CRYPT_UNIT('plugback-offsite-a'))).toBe('inactive');
  });
});
