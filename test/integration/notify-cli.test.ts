// The notification side of the command line, run as a user runs it (node dist/main.js): `plugback run` mailing a
// failure to a real SMTP server, `plugback drives`, and `plugback notify-failure` with fake systemctl/journalctl.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger, updateLedger } from '../../src/notify/ledger.js';
import { MailServer } from '../helpers/mail-server.js';

const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to its end (no shell), with extra environment. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Sandbox {
  dir: string;
  source: string;
  drive: string;
  stateDir: string;
  config: string;
}

async function sandbox(extra: Record<string, unknown> = {}): Promise<Sandbox> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-notify-cli-'));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  const sb = { dir, source: path.join(dir, 'source'), drive: path.join(dir, 'drive'), stateDir: path.join(dir, 'state'), config: path.join(dir, 'plugback.yaml') };
  await fs.mkdir(sb.source);
  await fs.mkdir(sb.drive);
  await fs.writeFile(path.join(sb.source, 'hello.txt'), 'hello\n');
  const doc = {
    host: 'testhost',
    stateDir: sb.stateDir,
    drives: { target: { path: sb.drive }, 'offsite-b': { path: path.join(dir, 'elsewhere') } },
    states: { data: { folders: [sb.source] } },
    backup: { lockFile: path.join(dir, 'plugback.lock'), lockWait: '2s' },
    ...extra,
  };
  await fs.writeFile(sb.config, stringify(doc));
  return sb;
}

async function mailServer(): Promise<MailServer> {
  const server = await MailServer.onFreePort();
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

const smtp = (server: MailServer) => ({ to: 'me@example.org', smtp: { host: '127.0.0.1', port: server.port, security: 'none' } });

describe('plugback run tells people', () => {
  it('mails a failed run with its log attached, and `plugback drives` shows the failure', async () => {
    const server = await mailServer();
    const sb = await sandbox({ mail: smtp(server) });
    expect((await cli(['drive', 'adopt', 'target', '--config', sb.config])).code).toBe(0);
    expect((await cli(['run', 'target', '--config', sb.config])).code).toBe(0);
    await fs.rm(sb.source, { recursive: true });
    const failed = await cli(['run', 'target', '--config', sb.config]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).not.toContain('could not be sent');

    const [received] = await server.waitFor(1);
    expect(received!.mail.subject).toBe('plugback: backup of target on testhost FAILED at check-source');
    expect(received!.mail.text).toContain('does not exist');
    const log = received!.mail.attachments[0]!.content.toString('utf8');
    expect(log).toContain('backup of drive \\"target\\" started');
    // The job's own lines only: not the notifier's.
    expect(log).not.toContain('"component":"notify"');
    expect(server.received).toHaveLength(1);

    const drives = await cli(['drives', '--json', '--config', sb.config]);
    expect(drives.code).toBe(0);
    const target = (JSON.parse(drives.stdout) as { drives: { drive: string; record: { lastFailure?: { step: string }; snapshotCount?: number; lastSeen?: string } }[] }).drives.find(
      (d) => d.drive === 'target',
    );
    expect(target?.record.lastFailure?.step).toBe('check-source');
    expect(target?.record.snapshotCount).toBe(1);
    expect(target?.record.lastSeen).toBeDefined();
  });

  it('keeps the mail in the outbox and says so when the mail server is down, with the job\'s exit code unchanged', async () => {
    const down = await MailServer.onFreePort();
    const sb = await sandbox({ mail: smtp(down) });
    await fs.rm(sb.drive, { recursive: true });
    const result = await cli(['run', 'target', '--config', sb.config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`1 mail(s) could not be sent yet; they wait in ${sb.stateDir}/outbox`);
    expect((await fs.readdir(path.join(sb.stateDir, 'outbox'))).filter((n) => n.endsWith('.json'))).toHaveLength(1);
    // The drive was never there: the ledger has the failure, but does not claim the drive was seen.
    const target = (await readLedger(sb.stateDir)).target;
    expect(target?.lastFailure?.step).toBe('check-target');
    expect(target?.lastSeen).toBeUndefined();
  });
});

describe('plugback drives', () => {
  it('lists drives stalest first with the age of their last good backup, marking overdue ones', async () => {
    // The drives are never touched: only their names matter here.
    const sb = await sandbox({
      drives: {
        target: { path: '/srv/t' },
        'offsite-b': { path: '/srv/b' },
        fresh: { path: '/srv/fresh' },
        stale: { path: '/srv/stale' },
        // Away longer on purpose: its own limit, not reminders.overdueAfterDays (14).
        away: { path: '/srv/away', overdueAfterDays: 60 },
      },
    });
    const day = 86_400_000;
    const ago = (days: number) => new Date(Date.now() - days * day).toISOString();
    await updateLedger(sb.stateDir, (l) => {
      l.fresh = { trackedSince: ago(100), lastSuccess: ago(2), snapshotCount: 12, freeBytes: 3 * 1024 ** 3, lastSeen: ago(2) };
      l.stale = { trackedSince: ago(100), lastSuccess: ago(47), lastFailure: { at: ago(40), step: 'sync', reason: 'rsync exited with 23' } };
      l.target = { trackedSince: ago(1) };
      l.away = { trackedSince: ago(100), lastSuccess: ago(50) };
    });
    const result = await cli(['drives', '--config', sb.config]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DRIVE +LAST GOOD BACKUP +LAST RUN +SNAPSHOTS +FREE +KIND +HEALTH +LAST SEEN +NOTE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['offsite-b', 'target', 'away', 'stale', 'fresh']);
    expect(lines.find((l) => l.startsWith('away'))).not.toContain('OVERDUE');
    expect(lines.find((l) => l.startsWith('stale'))).toMatch(/^stale +47 days ago .*OVERDUE; failed 40 days ago at sync: rsync exited with 23$/);
    expect(lines.find((l) => l.startsWith('fresh'))).toMatch(/^fresh +2 days ago .* 12 +3\.00 GiB +- +- +2 days ago$/);
    expect(lines.find((l) => l.startsWith('target'))).toMatch(/^target +never/);
  });

  it('stops showing a failure once a later backup of the drive succeeded', async () => {
    const sb = await sandbox();
    const minutes = (n: number) => new Date(Date.now() - n * 60_000).toISOString();
    await updateLedger(sb.stateDir, (l) => {
      l.target = { trackedSince: minutes(600), lastSuccess: minutes(5), lastFailure: { at: minutes(30), step: 'sync', reason: 'drive removed during sync' } };
      l['offsite-b'] = { trackedSince: minutes(600), lastSuccess: minutes(60), lastFailure: { at: minutes(1), step: 'unlock', reason: 'wrong key' } };
    });
    const lines = (await cli(['drives', '--config', sb.config])).stdout.split('\n');
    expect(lines.find((l) => l.startsWith('target'))).not.toContain('failed');
    expect(lines.find((l) => l.startsWith('offsite-b'))).toContain('failed 1 minute ago at unlock: wrong key');
  });
});

describe('plugback notify-failure', () => {
  it("mails the unit's status and the end of its journal", async () => {
    const server = await mailServer();
    const sb = await sandbox({ mail: smtp(server) });
    const bin = path.join(sb.dir, 'bin');
    await fs.mkdir(bin);
    await fs.writeFile(
      path.join(bin, 'systemctl'),
      `#!/bin/sh\necho "$@" > "${bin}/systemctl.args"\necho "× plugback.service - plugback backup daemon"\necho "     Active: failed (Result: exit-code)"\nexit 3\n`,
      { mode: 0o755 },
    );
    await fs.writeFile(path.join(bin, 'journalctl'), `#!/bin/sh\necho "$@" > "${bin}/journalctl.args"\necho "plugback[42]: TypeError: boom"\n`, { mode: 0o755 });

    const result = await cli(['notify-failure', 'plugback.service', '--config', sb.config], { PATH: `${bin}:${process.env.PATH ?? ''}` });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('mailed me@example.org that plugback.service failed\n');
    const [received] = await server.waitFor(1);
    expect(received!.mail.subject).toBe('plugback: plugback.service failed on testhost');
    expect(received!.mail.text).toContain('Active: failed (Result: exit-code)');
    expect(received!.mail.text).toContain('plugback[42]: TypeError: boom');
    expect(received!.mail.text).toContain('systemctl restart plugback.service');
    expect(await fs.readFile(path.join(bin, 'journalctl.args'), 'utf8')).toContain('--unit=plugback.service');
    expect(await fs.readFile(path.join(bin, 'systemctl.args'), 'utf8')).toContain('status');
  });

  it('says what to add when the config has no mail section', async () => {
    const sb = await sandbox();
    const result = await cli(['notify-failure', 'plugback.service', '--config', sb.config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no mail: section in ${sb.config}, so nobody can be told that plugback.service failed`);
  });
});
