// The one door to "telling people": the daemon and `plugback run` call this after jobs, and the daemon runs its
// reminder schedule. Nothing here throws at the caller or holds a job up for long: every step has a time limit,
// and a failure to tell is logged as a warning (a mail that cannot go yet waits in the outbox).
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config/model.js';
import type { JobResult } from '../job/events.js';
import { publicReason } from '../system/program-output.js';
import { ping } from './healthchecks.js';
import { readLedger, recordOf, updateLedger, type Ledger } from './ledger.js';
import { forecastAfter, noteNewBytes } from './space-forecast.js';
import { jobMail, reminderMail, type JobLogText, type MailMessage } from './mail-message.js';
import { renderMetrics, writeMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import type { SnapshotKind } from '../repo/subvolumes.js';
import { checkOverdue, type OverdueCheck } from './overdue.js';
import type { ReminderSchedule } from './reminder-schedule.js';

export { readLedger, type DriveRecord, type Ledger } from './ledger.js';

/** What the caller knows about a finished job besides its result; all optional (a job may fail before the drive is up). */
export interface JobDetails {
  /** The job's log as captured on its way to the console (LogCapture.text()): preferred, as the drive may be unmounted by now. */
  logText?: string | undefined;
  /** The log file on the drive (JobResult.logFile), read when logText is not given. */
  logFile?: string | undefined;
  freeBytes?: number | undefined;
  snapshotCount?: number | undefined;
  snapshotKind?: SnapshotKind | undefined;
  /** The mail to send instead of the usual job mail (a job the last daemon did not finish: src/daemon/crash-report.ts). */
  mail?: MailMessage | undefined;
}

export type OverdueListener = (drives: string[]) => void;

/** The longest jobStarted or jobFinished keeps its caller waiting. */
const CALL_LIMIT_MS = 60_000;

export interface NotifierOptions {
  /** The clock, for tests. */
  now?: () => Date;
}

export class Notifier {
  private readonly outbox: Outbox | undefined;
  private readonly now: () => Date;
  private overdue: string[] = [];
  private readonly listeners = new Set<OverdueListener>();
  private schedule: ReminderSchedule | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private firstDelivery = true;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    options: NotifierOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    const mail = config.mail;
    // nodemailer is loaded only when a mail goes: most runs send none, and it costs about 80 ms to load.
    this.outbox =
      mail && new Outbox(path.join(config.stateDir, 'outbox'), async (m) => (await import('./mail-transport.js')).sendMail(mail, config.host, m), log, this.now);
  }

  /**
   * A job for `drive` started: its healthcheck gets the start ping, and the ledger notes the drive as seen, unless the
   * caller does not know that the drive is there (`plugback run`: then the finished job tells, once it found the drive).
   */
  async jobStarted(drive: string, driveIsThere = true): Promise<void> {
    const now = this.now().toISOString();
    await this.bounded('jobStarted', [
      driveIsThere
        ? this.safely('record the drive in the ledger', () => updateLedger(this.config.stateDir, (l) => void (recordOf(l, drive, this.now()).lastSeen = now)))
        : Promise.resolve(),
      ping(this.config.healthchecks[drive], 'start', this.log),
    ]);
  }

  /**
   * A job ended: ledger, metrics, mail (queued, sent in the background) and healthcheck ping. Never throws;
   * resolves with whether the mail is in the outbox (true when there is none to send).
   */
  async jobFinished(drive: string, result: JobResult, details: JobDetails = {}): Promise<boolean> {
    const good = result.outcome === 'success' || result.outcome === 'warning';
    let queued = false;
    await this.bounded('jobFinished', [
      this.safely('update the ledger and metrics', async () => {
        const ledger = await updateLedger(this.config.stateDir, (l) => recordJob(l, drive, result, details, this.now()));
        await this.refreshOverdue(ledger);
      }),
      this.safely('queue the mail', () => this.queueJobMail(result, details)).then((ok) => (queued = ok)),
      ping(this.config.healthchecks[drive], good ? 'success' : 'fail', this.log, good ? undefined : `${result.failedStep ?? ''}: ${publicReason(result.error ?? result.outcome)}`),
    ]);
    void this.deliver();
    return queued;
  }

  /** Queues `message` and sends it in the background; resolves with whether it is in the outbox (true without mail:). */
  async send(message: MailMessage): Promise<boolean> {
    if (!this.outbox) return true;
    const outbox = this.outbox;
    const queued = await this.safely('queue the mail', () => outbox.add(message));
    void this.deliver();
    return queued;
  }

  /**
   * For the daemon: the reminder check on its schedule (reminders go out at the configured time, not at each restart),
   * the overdue state computed now from the ledger, and waiting mail tried now and retried until it goes.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    // node-cron is loaded here, by the daemon: `plugback run` has a notifier too, and importing node-cron cost its
    // start-up about 16 ms. A stop() before it is loaded leaves nothing running; a quick restart makes one schedule.
    if (this.config.reminders.enabled) {
      void import('./reminder-schedule.js').then(({ ReminderSchedule }) => {
        if (!this.running || this.schedule) return;
        this.schedule = new ReminderSchedule(this.config.reminders.schedule, async () => void (await this.checkReminders()));
        this.schedule.start();
      });
    }
    // The LED should show an overdue drive from the start, not only after the first scheduled check.
    void this.safely('read the ledger', async () => this.refreshOverdue(await readLedger(this.config.stateDir)));
    void this.deliver();
  }

  /** Stops the schedule and the retry timer, so the process can exit; waiting mail stays in the outbox. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    await this.schedule?.stop();
    this.schedule = undefined;
  }

  /** The reminder check: overdue drives found, reminders mailed (at most one per drive per remindEvery), metrics rewritten. */
  async checkReminders(): Promise<OverdueCheck> {
    const now = this.now();
    const names = this.config.drives.map((d) => d.name);
    let check: OverdueCheck = { overdue: [], remind: [] };
    await this.safely('check for overdue drives', async () => {
      // Drives never seen start their clock now, and a restart does not reset it: it is in the ledger.
      let ledger = await updateLedger(this.config.stateDir, (l) => names.forEach((n) => recordOf(l, n, now)));
      check = checkOverdue(now, ledger, this.config.drives, this.config.reminders);
      if (this.outbox && check.remind.length > 0) {
        for (const drive of check.remind) await this.outbox.add(reminderMail(this.config.host, drive));
        const reminded = new Set(check.remind.map((d) => d.drive));
        ledger = await updateLedger(this.config.stateDir, (l) => reminded.forEach((n) => void (recordOf(l, n, now).lastReminder = now.toISOString())));
      }
      await this.refreshOverdue(ledger);
    });
    void this.deliver();
    return check;
  }

  /** The drives overdue at the last check, stalest first: the daemon shows led.colours.overdue while this is not empty. */
  overdueDrives(): string[] {
    return [...this.overdue];
  }

  /** Calls `listener` with the new list whenever the overdue drives change; returns the unsubscribe function. */
  onOverdueChange(listener: OverdueListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues `message` (for notify-failure and tests); it is sent by the next delivery or flush. */
  async queue(message: MailMessage): Promise<void> {
    if (!this.outbox) throw new Error(`no mail: section in ${this.config.file}; add one (see config/plugback.example.yaml)`);
    await this.outbox.add(message);
  }

  /** How many mails wait in the outbox. */
  async waitingCount(): Promise<number> {
    return this.outbox ? (await this.outbox.waiting()).length : 0;
  }

  /**
   * Gives waiting mail up to `timeoutMs` to go, retrying with the outbox's pauses: for one-shot commands before they exit.
   * Returns how many mails still wait in the outbox (for the next plugback process).
   */
  async flush(timeoutMs: number): Promise<{ left: number }> {
    if (!this.outbox) return { left: 0 };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pass = await beforeDeadline(this.outbox.deliver(this.takeFirstDelivery()), deadline);
      if (!pass) break;
      if (pass.left === 0) return { left: 0 };
      const wait = Math.max(0, (pass.nextAttemptAt?.getTime() ?? deadline) - this.now().getTime());
      if (Date.now() + wait >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return { left: (await this.outbox.waiting()).length };
  }

  /** One delivery pass in the background; in the daemon, a timer for the next retry. */
  private async deliver(): Promise<void> {
    if (!this.outbox) return;
    const outbox = this.outbox;
    await this.safely('send mail', async () => {
      const pass = await outbox.deliver(this.takeFirstDelivery());
      clearTimeout(this.retryTimer);
      if (this.running && pass.nextAttemptAt) {
        const wait = Math.max(1000, pass.nextAttemptAt.getTime() - this.now().getTime());
        this.retryTimer = setTimeout(() => void this.deliver(), wait);
      }
    });
  }

  /** A new process tries every waiting mail once at once, whatever pause an earlier process had set. */
  private takeFirstDelivery(): boolean {
    const first = this.firstDelivery;
    this.firstDelivery = false;
    return first;
  }

  private async queueJobMail(result: JobResult, details: JobDetails): Promise<void> {
    if (!this.outbox || (result.outcome === 'success' && !this.config.mail?.onSuccess)) return;
    if (details.mail) return void (await this.outbox.add(details.mail));
    const log = await jobLogText(result, details);
    const fullIn = await forecastAfter(this.config.stateDir, result.drive, result, details.freeBytes);
    await this.outbox.add(jobMail({ host: this.config.host, result, log, snapshotCount: details.snapshotCount, freeBytes: details.freeBytes, fullIn }));
  }

  private async refreshOverdue(ledger: Ledger): Promise<void> {
    const names = this.config.drives.map((d) => d.name);
    const overdue = checkOverdue(this.now(), ledger, this.config.drives, this.config.reminders).overdue.map((d) => d.drive);
    if (this.config.metrics.textfile) {
      const file = this.config.metrics.textfile;
      await this.safely(`write the metrics to ${file}`, () => writeMetrics(file, renderMetrics(ledger, names, overdue)));
    }
    if (overdue.join('\n') === this.overdue.join('\n')) return;
    this.overdue = overdue;
    for (const listener of this.listeners) listener(this.overdueDrives());
  }

  /** Waits for `work`, but at most CALL_LIMIT_MS: a hung disk or server must not hold the caller's job. */
  private async bounded(what: string, work: Promise<unknown>[]): Promise<void> {
    const done = await beforeDeadline(Promise.all(work), Date.now() + CALL_LIMIT_MS);
    if (done === undefined) this.log.warn(`${what} gave up waiting after ${CALL_LIMIT_MS / 1000}s; what is left goes on in the background`);
  }

  /** Runs `work`; a failure becomes a warning that says what could not be done. Resolves with whether it worked. */
  private async safely(what: string, work: () => Promise<unknown>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, `could not ${what}: ${(error as Error).message}`);
      return false;
    }
  }
}

/** The ledger's view of a finished job. */
function recordJob(ledger: Ledger, drive: string, r: JobResult, details: JobDetails, now: Date): void {
  const record = recordOf(ledger, drive, now);
  // A log on the drive means check-target found the right drive there.
  if (r.logFile !== undefined && (record.lastSeen ?? '') < r.startedAt) record.lastSeen = r.startedAt;
  record.lastRun = {
    outcome: r.outcome,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    transferredBytes: r.transferredBytes,
    snapshot: r.snapshot,
    cause: r.ending.cause,
    step: r.ending.step,
    title: r.ending.title,
  };
  if (r.outcome === 'success' || r.outcome === 'warning') record.lastSuccess = r.finishedAt;
  else record.lastFailure = { at: r.finishedAt, step: r.failedStep, reason: r.error ?? r.outcome };
  if (details.snapshotCount !== undefined) record.snapshotCount = details.snapshotCount;
  if (details.freeBytes !== undefined) record.freeBytes = details.freeBytes;
  if (details.snapshotKind !== undefined) record.snapshotKind = details.snapshotKind;
  noteNewBytes(record, r);
}

/** The job's log: the captured text, else the file on the drive while it is there, else none. */
async function jobLogText(result: JobResult, details: JobDetails): Promise<JobLogText | undefined> {
  const file = details.logFile ?? result.logFile;
  if (details.logText !== undefined && details.logText !== '') return { text: details.logText, path: file };
  if (!file) return undefined;
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : { text, path: file };
}

/** `work`'s result, or undefined once `deadline` (epoch ms) has passed. */
async function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
