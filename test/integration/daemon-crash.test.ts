// A daemon that dies in the middle of a job (SIGKILL here, as the OOM killer or a crash would end it) is reported
// by the daemon that starts next: one mail naming the drive and the step, the run in the ledger, and nothing
// more on later restarts. Real daemons on the private bus of daemon.test.ts, a real SMTP server.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../src/notify/ledger.js';
import { DaemonFixture } from '../helpers/daemon-fixture.js';
import { MailServer } from '../helpers/mail-server.js';

const execFileP = promisify(execFile);
const RECORD = 'job-in-flight.json';

let fixture: DaemonFixture | undefined;
let server: MailServer | undefined;
const stray: number[] = [];

afterEach(async () => {
  for (const pid of stray.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await fixture?.cleanup();
  await server?.stop();
  fixture = undefined;
  server = undefined;
});

async function setUp(): Promise<{ f: DaemonFixture; mail: MailServer }> {
  server = await MailServer.onFreePort();
  await server.start();
  fixture = await DaemonFixture.create();
  return { f: fixture, mail: server };
}

const mailConfig = (mail: MailServer) => ({ to: 'me@example.org', smtp: { host: '127.0.0.1', port: mail.port, security: 'none' as const } });

/** PIDs whose command line contains `marker` (the hook a killed daemon left running). */
async function processesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

/** The record once it names `step` (it is written just after the step's log line); the last one read after 20 s. */
async function recordAt(file: string, step: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const record = JSON.parse(await fs.readFile(file, 'utf8').catch(() => '{}')) as Record<string, unknown>;
    if (record.step === step || Date.now() > deadline) return record;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a daemon killed mid-job', () => {
  it('is reported once by the next daemon: one mail naming the drive and step, the run in the ledger, nothing on later restarts', async () => {
    const { f, mail } = await setUp();
    await f.addDrive('offsite-a');
    // The job waits in its preBackup hook until the test lets it go: a job as slow as the test needs.
    const go = path.join(f.root, 'go-on');
    await f.writeConfig({ mail: mailConfig(mail), hooks: { preBackup: `while [ ! -e '${go}' ]; do sleep 0.1; done` } });
    const first = await f.startDaemon();
    await f.plug('offsite-a');
    await f.waitForLog(/^step pre-backup-hooks$/, 'offsite-a');

    // The record of the job in flight: this daemon's, at this step, root's alone.
    const file = path.join(f.stateDir, RECORD);
    expect(await recordAt(file, 'pre-backup-hooks')).toMatchObject({ drive: 'offsite-a', step: 'pre-backup-hooks', pid: first.child.pid });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);

    expect(await f.stopDaemon('SIGKILL')).toBe(null);
    // What systemd's KillMode= would end: the hook the dead daemon left. The fixture's cleartext device is a loop
    // device, not /dev/mapper/<cryptName>, so recovery rightly leaves its mount alone: unmount it here (recovery's
    // own unmount of a real mapping is in recovery.test.ts).
    for (const pid of await processesWith(go)) process.kill(pid, 'SIGKILL');
    await execFileP('umount', [f.drive('offsite-a').mountPoint]);

    const second = await f.startDaemon();
    // Reported before "ready": the ledger has the crashed run, and the mail is on its way.
    const ledger = (await readLedger(f.stateDir))['offsite-a'];
    expect(ledger?.lastRun).toMatchObject({ outcome: 'failed', cause: 'crashed', step: 'pre-backup-hooks' });
    expect(ledger?.lastFailure?.step).toBe('pre-backup-hooks');
    expect(ledger?.lastFailure?.reason).toMatch(/plugback stopped unexpectedly during pre-backup-hooks/);
    const [received] = await mail.waitFor(1);
    expect(received!.mail.subject).toBe('plugback: backup of offsite-a interrupted: plugback stopped unexpectedly');
    const text = received!.mail.text ?? '';
    expect(text).toContain(`plugback stopped unexpectedly during the backup of offsite-a at pre-backup-hooks on testhost; it restarted and closed its LUKS mapping plugback-offsite-a.`);
    expect(text).toContain('The drive is still plugged in: plugback backs it up again now');
    expect(text).toContain(`PID ${first.child.pid}`);

    // As the mail said: the drive is backed up again now, under a record of the new daemon's own.
    await f.waitForLog(/^step pre-backup-hooks$/, 'offsite-a');
    expect(await recordAt(file, 'pre-backup-hooks')).toMatchObject({ drive: 'offsite-a', pid: second.child.pid });
    await fs.writeFile(go, '');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await f.stopDaemon()).toBe(0);

    // A third daemon has nothing to report: no mail sent, none waiting in the outbox. (The drive was powered off
    // at the end of the last job, so it is plugged in again.)
    await f.startDaemon();
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    expect(await f.stopDaemon()).toBe(0);
    expect(await fs.readdir(path.join(f.stateDir, 'outbox')).then((names) => names.filter((n) => !n.startsWith('.')))).toEqual([]);
    expect(mail.received).toHaveLength(1);
    expect(f.messages().some((m) => /stopped unexpectedly/.test(m))).toBe(false);
  });

  it('reports a record damaged by a power cut as "a backup was interrupted", and starts all the same', async () => {
    const { f, mail } = await setUp();
    await f.addDrive('offsite-a');
    await f.writeConfig({ mail: mailConfig(mail) });
    await fs.mkdir(f.stateDir, { recursive: true });
    await fs.writeFile(path.join(f.stateDir, RECORD), '{"drive": "offsite-a", "jobId": "8c1f', { mode: 0o600 });
    await f.startDaemon();
    const [received] = await mail.waitFor(1);
    expect(received!.mail.subject).toBe('plugback: a backup was interrupted: plugback stopped unexpectedly');
    expect(received!.mail.text).toMatch(/The record of the job could not be read \(not JSON/);
    await expect(fs.stat(path.join(f.stateDir, RECORD))).rejects.toMatchObject({ code: 'ENOENT' });
    // No drive to blame: no ledger record was invented.
    expect((await readLedger(f.stateDir))['offsite-a']?.lastRun).toBeUndefined();
    // And the daemon serves.
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
  });

  it('leaves alone a record whose daemon is still running', async () => {
    const { f, mail } = await setUp();
    await f.addDrive('offsite-a');
    await f.writeConfig({ mail: mailConfig(mail) });
    // A live process that looks like a plugback daemon to /proc/PID/cmdline: "plugback -e ... daemon".
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', 'daemon'], { argv0: 'plugback', stdio: 'ignore' });
    stray.push(other.pid!);
    const record = { drive: 'offsite-a', jobId: '0b7e6c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b', startedAt: '2026-12-01T10:00:00.000Z', pid: other.pid, step: 'sync' };
    await fs.mkdir(f.stateDir, { recursive: true });
    await fs.writeFile(path.join(f.stateDir, RECORD), JSON.stringify(record), { mode: 0o600 });
    await f.startDaemon();
    await f.waitForLog(new RegExp(`belongs to plugback daemon PID ${other.pid}, which is still running; left alone`));
    expect(JSON.parse(await fs.readFile(path.join(f.stateDir, RECORD), 'utf8'))).toEqual(record);
    expect(await f.stopDaemon()).toBe(0);
    expect(mail.received).toHaveLength(0);
    expect((await readLedger(f.stateDir))['offsite-a']?.lastRun).toBeUndefined();
  });
});
