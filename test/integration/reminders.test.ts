// Overdue reminders with a clock the test sets, through a real SMTP server, across a restart of the notifier;
// and the cron schedule really firing.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTasks } from 'node-cron';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';
import { describeEnding } from '../../src/job/ending.js';
import type { JobResult } from '../../src/job/events.js';
import { readLedger } from '../../src/notify/ledger.js';
import { Notifier } from '../../src/notify/notifier.js';
import { ReminderSchedule } from '../../src/notify/reminder-schedule.js';
import { MailServer } from '../helpers/mail-server.js';
import { memoryLogger, TestClock } from '../helpers/notify.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(schedule = '0 9 * * *'): Promise<{ config: Config; server: MailServer }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-remind-'));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  const server = await MailServer.onFreePort();
  await server.start();
  cleanups.push(() => server.stop());
  const yaml = [
    'host: nas',
    `stateDir: ${dir}/state`,
    'drives:',
    `  offsite-a: { path: ${dir}/a }`,
    `  offsite-b: { path: ${dir}/b }`,
    'states:',
    `  data: { folders: [${dir}/src] }`,
    'mail:',
    '  to: me@example.org',
    `  smtp: { host: 127.0.0.1, port: ${server.port}, security: none }`,
    'reminders:',
    '  overdueAfterDays: 14',
    '  remindEvery: 7d',
    `  schedule: "${schedule}"`,
  ].join('\n');
  const file = path.join(dir, 'plugback.yaml');
  await fs.writeFile(file, yaml);
  return { config: parseConfig(yaml, file), server };
}

function success(drive: string, finishedAt: string): JobResult {
  return {
    jobId: 'job',
    drive,
    outcome: 'success',
    startedAt: finishedAt,
    finishedAt,
    durationMs: 60_000,
    snapshot: '2026-01-01T000000Z',
    transferredBytes: 1000,
    warnings: [],
    undoErrors: [],
    ending: describeEnding({ drive, steps: [], finished: [], undone: [], snapshot: '2026-01-01T000000Z', previousKnown: true, warnings: [] }),
  };
}

describe('overdue reminders', () => {
  it('mails one reminder per overdue drive, again only after remindEvery, also across a restart', async () => {
    const { config, server } = await setup();
    const clock = new TestClock(new Date('2026-01-01T09:00:00Z'));
    const first = new Notifier(config, memoryLogger().log, { now: clock.now });
    await first.jobFinished('offsite-a', success('offsite-a', '2026-01-01T09:00:00Z'));
    await first.jobFinished('offsite-b', success('offsite-b', '2026-01-01T09:00:00Z'));

    clock.set('2026-01-10T09:00:00Z');
    expect((await first.checkReminders()).remind).toEqual([]);
    // offsite-a comes home on the 10th; offsite-b stays away.
    await first.jobFinished('offsite-a', success('offsite-a', '2026-01-10T09:00:00Z'));

    clock.set('2026-02-17T09:00:00Z');
    const changes: string[][] = [];
    first.onOverdueChange((drives) => changes.push(drives));
    expect((await first.checkReminders()).remind.map((d) => d.drive)).toEqual(['offsite-b', 'offsite-a']);
    await first.flush(20_000);
    const subjects = (await server.waitFor(2)).map((r) => r.mail.subject);
    expect(subjects).toEqual(['plugback: offsite-b last backed up 47 days ago on nas', 'plugback: offsite-a last backed up 38 days ago on nas']);
    expect(server.received[0]!.mail.text).toContain('offsite-b last backed up 47 days ago on nas: bring it home and plug it in.');
    expect(first.overdueDrives()).toEqual(['offsite-b', 'offsite-a']);
    expect(changes).toEqual([['offsite-b', 'offsite-a']]);

    // The daemon restarts the next day: the ledger remembers the reminders, so none is sent again.
    await first.stop();
    clock.set('2026-02-18T09:00:00Z');
    const second = new Notifier(config, memoryLogger().log, { now: clock.now });
    expect((await second.checkReminders()).remind).toEqual([]);
    expect(second.overdueDrives()).toEqual(['offsite-b', 'offsite-a']);

    // A week after the reminders, still away: one more each.
    clock.set('2026-02-24T09:00:00Z');
    expect((await second.checkReminders()).remind.map((d) => d.drive)).toEqual(['offsite-b', 'offsite-a']);
    await second.flush(20_000);
    await server.waitFor(4);

    // offsite-b is plugged in: it is no longer overdue, and the listener hears it at once.
    const heard: string[][] = [];
    second.onOverdueChange((drives) => heard.push(drives));
    await second.jobFinished('offsite-b', success('offsite-b', '2026-02-24T10:00:00Z'));
    expect(second.overdueDrives()).toEqual(['offsite-a']);
    expect(heard).toEqual([['offsite-a']]);
    expect(server.received).toHaveLength(4);
    expect((await readLedger(config.stateDir))['offsite-a']?.lastReminder).toBe('2026-02-24T09:00:00.000Z');
  });

  it('starts the clock of a drive never backed up when plugback first sees it in the config', async () => {
    const { config, server } = await setup();
    const clock = new TestClock(new Date('2026-03-01T09:00:00Z'));
    const notifier = new Notifier(config, memoryLogger().log, { now: clock.now });
    expect((await notifier.checkReminders()).overdue).toEqual([]);
    clock.advanceDays(15);
    expect((await new Notifier(config, memoryLogger().log, { now: clock.now }).checkReminders()).remind.map((d) => d.drive)).toEqual([
      'offsite-a',
      'offsite-b',
    ]);
    await notifier.flush(20_000);
    // Both notifiers deliver from the same outbox, so the two mails may arrive in either order.
    const subjects = (await server.waitFor(2)).map((r) => r.mail.subject).sort();
    expect(subjects).toEqual(['plugback: offsite-a was not backed up on nas yet, for 15 days', 'plugback: offsite-b was not backed up on nas yet, for 15 days']);
  });
});

describe('the reminder schedule', () => {
  it('runs the check when the cron expression fires, and stop() removes its timer', async () => {
    let fired!: () => void;
    const firedOnce = new Promise<void>((resolve) => (fired = resolve));
    const schedule = new ReminderSchedule('* * * * * *', async () => fired());
    schedule.start();
    cleanups.push(() => schedule.stop());
    await firedOnce;
    await schedule.stop();
    expect([...getTasks().values()].filter((t) => t.name === 'plugback-reminders')).toEqual([]);
  });

  it('in a started notifier, tells the overdue listener at start and mails the reminders when the schedule fires', async () => {
    const { config, server } = await setup('* * * * * *');
    const clock = new TestClock(new Date('2026-01-01T09:00:00Z'));
    const notifier = new Notifier(config, memoryLogger().log, { now: clock.now });
    cleanups.push(() => notifier.stop());
    await notifier.jobFinished('offsite-a', success('offsite-a', '2026-01-01T09:00:00Z'));
    await notifier.jobFinished('offsite-b', success('offsite-b', '2026-01-01T09:00:00Z'));
    clock.set('2026-01-31T09:00:00Z');
    const overdue = new Promise<string[]>((resolve) => notifier.onOverdueChange(resolve));
    notifier.start();
    expect(await overdue).toEqual(['offsite-a', 'offsite-b']);
    const received = await server.waitFor(2);
    expect(received.map((r) => r.mail.subject).sort()).toEqual([
      'plugback: offsite-a last backed up 30 days ago on nas',
      'plugback: offsite-b last backed up 30 days ago on nas',
    ]);
  });
});

describe('stopping the notifier', () => {
  it('lets the process exit, with the schedule running and a mail waiting for a retry', async () => {
    const { config, server } = await setup('* * * * * *');
    // The mail server is down: the queued mail gets a retry timer.
    await server.stop();
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    const script = `
      import { parseConfig } from ${JSON.stringify(path.join(dist, 'config/load.js'))};
      import { Notifier } from ${JSON.stringify(path.join(dist, 'notify/notifier.js'))};
      import { pino } from 'pino';
      import { readFileSync } from 'node:fs';
      const config = parseConfig(readFileSync(process.argv[1], 'utf8'), process.argv[1]);
      const notifier = new Notifier(config, pino({ level: 'silent' }));
      notifier.start();
      await notifier.queue({ subject: 'waiting', text: 'x', attachments: [] });
      await notifier.checkReminders();
      await notifier.stop();
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, config.file], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toBe('stopped\n');
    expect(code).toBe(0);
  });
});

