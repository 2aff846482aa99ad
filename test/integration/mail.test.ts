// Mail through a real SMTP server (smtp-server, parsed with mailparser) and through a fake sendmail program:
// what a person finds in the mail after a backup failed, and that a mail survives a server that is down.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatLocalTime } from '../../src/config/units.js';
import { Notifier } from '../../src/notify/notifier.js';
import { BackupFixture, DRIVE, HOST } from '../helpers/backup-fixture.js';
import { MailServer } from '../helpers/mail-server.js';
import { memoryLogger } from '../helpers/notify.js';
import { asFailure } from '../helpers/ended-job.js';

const PASSWORD = 's3cret-smtp-pass';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fixtureWithMail(server: MailServer, mail: Record<string, unknown> = {}): Promise<BackupFixture> {
  const f = await BackupFixture.create();
  cleanups.push(() => f.cleanup());
  const passwordFile = path.join(f.root, 'smtp-password');
  await fs.writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  await f.configure({
    notify: {
      mail: {
        to: ['admin@example.org'],
        smtp: { host: '127.0.0.1', port: server.port, security: 'none', user: 'nas', passwordFile },
        timeout: '5s',
        ...mail,
      },
    },
  });
  return f;
}

async function startedServer(): Promise<MailServer> {
  const server = await MailServer.onFreePort({ user: 'nas', password: PASSWORD });
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

async function outboxFiles(f: BackupFixture): Promise<string[]> {
  return (await fs.readdir(path.join(f.stateDir, 'outbox')).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
}

describe('failure mail over SMTP', () => {
  it('names the drive, host and failed step, says what to do, and carries the error, timings, bytes, the log tail and the whole log', async () => {
    const server = await startedServer();
    const f = await fixtureWithMail(server);
    await fs.writeFile(path.join(f.source, 'a.txt'), 'a\n');
    expect((await f.run()).outcome).toBe('success');
    // The source disappears (an unmounted disk): the next run fails at check-source, with a log on the drive.
    await fs.rm(f.source, { recursive: true });
    const result = await f.run();
    expect(result.outcome).toBe('failed');
    expect(result.logFile).toBeDefined();

    const { log, lines } = memoryLogger();
    const notifier = new Notifier(f.config, log);
    await notifier.jobFinished(DRIVE, result, { logFile: result.logFile });
    expect(await notifier.flush(20_000)).toEqual({ left: 0 });

    const [received] = await server.waitFor(1);
    const mail = received!.mail;
    expect(mail.subject).toBe(`plugback: backup of ${DRIVE} on ${HOST} FAILED at check-source`);
    expect(received!.to).toEqual(['admin@example.org']);
    expect(received!.from).toBe(`plugback@${HOST}`);
    expect(received!.user).toBe('nas');
    const text = mail.text ?? '';
    expect(text).toContain('What to do next:');
    expect(text).toContain('A source folder is missing');
    expect(text).toContain(`Error at check-source: ${result.error}`);
    expect(text).toContain(`Started:      ${formatLocalTime(result.startedAt)}`);
    expect(text).toContain(`Finished:     ${formatLocalTime(result.finishedAt)} (took `);
    expect(text).toContain('Copied:       0 B');
    expect(text).toMatch(/The last \d+ lines of the log:/);
    expect(text).toContain(`failed at check-source`);
    expect(text).toContain(`on the drive it is ${result.logFile}`);

    expect(mail.attachments).toHaveLength(1);
    const attached = mail.attachments[0]!;
    expect(attached.filename).toMatch(new RegExp(`^plugback-${DRIVE}-.*\\.log$`));
    expect(attached.content.toString('utf8')).toBe(await fs.readFile(result.logFile!, 'utf8'));
    // The password went to the server and nowhere else.
    expect(server.logins).toEqual([{ user: 'nas', password: PASSWORD }]);
    expect(lines.join('')).not.toContain(PASSWORD);
    expect(await outboxFiles(f)).toEqual([]);
  });

  it('quotes only the last 50 lines of a long log in the body, and attaches all of it', async () => {
    const server = await startedServer();
    const f = await fixtureWithMail(server);
    const result = await f.run({ allowShrink: false });
    const logText = Array.from({ length: 120 }, (_, i) => JSON.stringify({ level: 30, time: '2026-01-01T00:00:00.000Z', msg: `line ${i + 1}` })).join('\n');
    const failed = await asFailure(result, 'sync', 'rsync exited with 11');
    const notifier = new Notifier(f.config, memoryLogger().log);
    await notifier.jobFinished(DRIVE, failed, { logText });
    await notifier.flush(20_000);
    const text = (await server.waitFor(1))[0]!.mail.text ?? '';
    expect(text).toContain('The last 50 lines of the log:');
    expect(text).toContain(`${formatLocalTime('2026-01-01T00:00:00.000Z')} INFO line 120`);
    expect(text).toContain('INFO line 71\n');
    expect(text).not.toContain('INFO line 70\n');
    expect((await server.waitFor(1))[0]!.mail.attachments[0]!.content.toString('utf8')).toBe(logText);
  });

  it('mails a job that failed before the drive was there (no log on the drive) without an attachment', async () => {
    const server = await startedServer();
    const f = await fixtureWithMail(server);
    await fs.rm(f.drivePath, { recursive: true });
    const result = await f.run();
    expect(result.failedStep).toBe('check-target');
    expect(result.logFile).toBeUndefined();
    const notifier = new Notifier(f.config, memoryLogger().log);
    await notifier.jobFinished(DRIVE, result);
    await notifier.flush(20_000);
    const mail = (await server.waitFor(1))[0]!.mail;
    expect(mail.subject).toBe(`plugback: backup of ${DRIVE} on ${HOST} FAILED at check-target`);
    expect(mail.text).toContain('There is no log: the job ended before its log was started.');
    expect(mail.text).toContain('Check that the right drive is plugged in and mounted.');
    expect(mail.attachments).toHaveLength(0);
  });

  it('sends a success summary only when mail.onSuccess is set', async () => {
    const server = await startedServer();
    const quiet = await fixtureWithMail(server);
    const notifier = new Notifier(quiet.config, memoryLogger().log);
    await notifier.jobFinished(DRIVE, await quiet.run());
    expect(await notifier.flush(5_000)).toEqual({ left: 0 });

    const chatty = await fixtureWithMail(server, { onSuccess: true });
    const result = await chatty.run();
    expect(result.outcome).toBe('success');
    const told = new Notifier(chatty.config, memoryLogger().log);
    await told.jobFinished(DRIVE, result);
    await told.flush(20_000);
    const [received] = await server.waitFor(1);
    expect(received!.mail.subject).toBe(`plugback: backup of ${DRIVE} on ${HOST} succeeded`);
    expect(received!.mail.text).toContain(`Snapshot:     ${result.snapshot}`);
    expect(server.received).toHaveLength(1);
  });

  it('takes the password from passwordEnv', async () => {
    const server = await startedServer();
    const f = await fixtureWithMail(server, {
      smtp: { host: '127.0.0.1', port: server.port, security: 'none', user: 'nas', passwordEnv: 'PLUGBACK_TEST_SMTP_PASSWORD' },
    });
    process.env.PLUGBACK_TEST_SMTP_PASSWORD = PASSWORD;
    cleanups.push(async () => delete process.env.PLUGBACK_TEST_SMTP_PASSWORD);
    const notifier = new Notifier(f.config, memoryLogger().log);
    await notifier.jobFinished(DRIVE, await asFailure(await f.run(), 'lock', 'lock held by PID 4242'));
    expect(await notifier.flush(20_000)).toEqual({ left: 0 });
    expect((await server.waitFor(1))[0]!.mail.text).toContain('lock held by PID 4242');
  });
});

describe('security: starttls', () => {
  it('never sends the password or the mail to a server that cannot encrypt the connection', async () => {
    const server = await startedServer();
    const f = await fixtureWithMail(server);
    const passwordFile = path.join(f.root, 'smtp-password');
    await f.configure({
      notify: { mail: { to: 'admin@example.org', timeout: '5s', smtp: { host: '127.0.0.1', port: server.port, security: 'starttls', user: 'nas', passwordFile } } },
    });
    const { log, lines } = memoryLogger();
    const notifier = new Notifier(f.config, log);
    await notifier.jobFinished(DRIVE, await asFailure(await f.run(), 'sync', 'boom'));
    expect(await notifier.flush(1_000)).toEqual({ left: 1 });
    expect(server.logins).toEqual([]);
    expect(server.received).toEqual([]);
    expect(lines.join('')).toMatch(/via smtp 127\.0\.0\.1:\d+ \(starttls\) failed: .*STARTTLS/);
  });
});

describe('a mail server that is down', () => {
  it('keeps the mail in the outbox, and the mail arrives once when the server is back, also from the next process', async () => {
    const server = await MailServer.onFreePort({ user: 'nas', password: PASSWORD });
    cleanups.push(() => server.stop());
    const f = await fixtureWithMail(server);
    const result = await asFailure(await f.run(), 'sync', 'rsync: write failed: No space left on device (28)');

    const { log, lines } = memoryLogger();
    const first = new Notifier(f.config, log);
    // The job is told at once, whatever the mail server does.
    await first.jobFinished(DRIVE, result);
    expect(await first.flush(1_000)).toEqual({ left: 1 });
    expect(await outboxFiles(f)).toHaveLength(1);
    expect(lines.join('')).toMatch(/ECONNREFUSED.*stays in .*outbox/);

    // The next plugback process (the daemon, or the next run) finds the mail and sends it.
    await server.start();
    const next = new Notifier(f.config, memoryLogger().log);
    expect(await next.flush(20_000)).toEqual({ left: 0 });
    expect(await next.flush(1_000)).toEqual({ left: 0 });
    expect(await first.flush(1_000)).toEqual({ left: 0 });
    const received = await server.waitFor(1);
    expect(received).toHaveLength(1);
    expect(received[0]!.mail.text).toContain('No space left on device');
    expect(await outboxFiles(f)).toEqual([]);
  });
});

/** A backup fixture whose mail goes to a fake sendmail: a shell script, given its own folder for what it records. */
async function withSendmail(script: (bin: string) => string, mail: { to: string[]; from?: string; timeout?: string }): Promise<{ f: BackupFixture; bin: string }> {
  const f = await BackupFixture.create();
  cleanups.push(() => f.cleanup());
  const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-sendmail-'));
  cleanups.push(() => fs.rm(bin, { recursive: true, force: true }));
  const sendmail = path.join(bin, 'sendmail');
  await fs.writeFile(sendmail, `#!/bin/sh\n${script(bin)}\n`, { mode: 0o755 });
  await f.configure({ notify: { mail: { ...mail, sendmail: { path: sendmail } } } });
  return { f, bin };
}

describe('sendmail transport', () => {
  it('hands the mail to the sendmail program with the recipients as arguments and the message on stdin', async () => {
    const { f, bin } = await withSendmail((b) => `printf '%s\\n' "$@" > "${b}/args"\ncat > "${b}/message"`, {
      to: ['ops@example.org', 'me@example.org'],
      from: 'nas@example.org',
    });

    const notifier = new Notifier(f.config, memoryLogger().log);
    await notifier.jobFinished(DRIVE, await asFailure(await f.run(), 'verify', '2 of 20 files differ'));
    expect(await notifier.flush(20_000)).toEqual({ left: 0 });

    const args = (await fs.readFile(path.join(bin, 'args'), 'utf8')).trim().split('\n');
    expect(args).toEqual(['-i', '-f', 'nas@example.org', 'ops@example.org', 'me@example.org']);
    const message = await fs.readFile(path.join(bin, 'message'), 'utf8');
    expect(message).toContain(`Subject: plugback: backup of ${DRIVE} on ${HOST} FAILED at verify`);
    expect(message).toContain('2 of 20 files differ');
    expect(message).toContain('Content-Disposition: attachment');
  });

  it('stops a sendmail that hangs at mail.timeout, and keeps the mail in the outbox for the next try', async () => {
    // A mail system that never answers: it records its PID and waits forever.
    const { f, bin } = await withSendmail((b) => `echo $$ > "${b}/pid"\nexec sleep 600`, { to: ['ops@example.org'], timeout: '1s' });
    // Should plugback leave it running after all, the test does not.
    cleanups.push(async () => {
      const pid = Number(await fs.readFile(path.join(bin, 'pid'), 'utf8').catch(() => '0'));
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already, as it should be.
      }
    });

    const { log, lines } = memoryLogger();
    const notifier = new Notifier(f.config, log);
    await notifier.jobFinished(DRIVE, await asFailure(await f.run(), 'verify', '2 of 20 files differ'));
    expect(await notifier.flush(20_000)).toEqual({ left: 1 });
    expect(lines.join('\n')).toMatch(/no answer within 1s \(\S+sendmail was stopped\)/);
    const pid = Number(await fs.readFile(path.join(bin, 'pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
