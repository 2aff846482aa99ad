// At start-up: did the last daemon die in the middle of a job? Its record (in-flight.ts) says so. Then the
// drive's last run goes into the ledger as failed (cause "crash", the step it was at), the crash mail is
// queued, and only then is the record removed, so the report is made once and not lost on the way.
import type { Logger } from 'pino';
import type { Config } from '../config/model.js';
import type { JobResult } from '../job/events.js';
import { crashEnding } from '../job/ending.js';
import { crashMail, type InterruptedJob } from '../notify/crash-mail.js';
import type { Notifier } from '../notify/notifier.js';
import { readInFlight, removeInFlight, writerIsGone, type InFlightRecord } from './in-flight.js';
import { recentlyBackedUp } from './intake.js';
import type { RecoveryReport } from './recovery.js';

export interface CrashReportInput {
  config: Config;
  notifier: Notifier | undefined;
  log: Logger;
  /** What start-up's clean-up did, per drive. */
  recovered: RecoveryReport;
  /** Whether a LUKS drive is plugged in now. */
  present(name: string): boolean;
}

/** Reports a job left unfinished by an earlier daemon, if there is one. Never throws: start-up goes on regardless. */
export async function reportInterruptedJob(input: CrashReportInput): Promise<void> {
  const { config, log } = input;
  try {
    const found = await readInFlight(config.stateDir);
    if (found.kind === 'none') return;
    if (found.kind === 'record' && !(await writerIsGone(found.record))) {
      log.warn({ drive: found.record.drive, pid: found.record.pid }, `the job record in ${config.stateDir} belongs to plugback daemon PID ${found.record.pid}, which is still running; left alone`);
      return;
    }
    const job = found.kind === 'record' ? await describe(input, found.record) : { recovery: [], next: 'The next backup of that drive continues any interrupted copy.', damaged: found.why };
    const mail = crashMail(config.host, job);
    log.error({ drive: job.drive, step: job.step, pid: job.pid }, mail.text.split('\n')[0]!);
    const queued = found.kind === 'record' && config.drives.some((d) => d.name === found.record.drive)
      ? await input.notifier?.jobFinished(found.record.drive, crashResult(found.record), { mail })
      : await input.notifier?.send(mail);
    // Kept when the mail could not be queued: the next start tries again (until a new job's record replaces it).
    if (queued ?? true) await removeInFlight(config.stateDir);
  } catch (error) {
    log.error(`could not report the job an earlier plugback daemon left unfinished: ${(error as Error).message}`);
  }
}

/** The words of the report: what start-up did, and what happens to the drive now. */
async function describe(input: CrashReportInput, record: InFlightRecord): Promise<InterruptedJob> {
  const drive = input.config.drives.find((d) => d.name === record.drive);
  const base = { drive: record.drive, step: record.step, startedAt: record.startedAt, jobId: record.jobId, pid: record.pid, recovery: input.recovered.get(record.drive) ?? [] };
  if (!drive) return { ...base, next: `Drive ${record.drive} is no longer in ${input.config.file}, so it is not backed up again.` };
  if (drive.kind === 'directory') return { ...base, next: `Its next backup (its timer, plugback run ${drive.name} or plugback start ${drive.name}) continues the interrupted copy.` };
  if (!input.present(drive.name)) return { ...base, next: `The drive is not plugged in now; it is backed up when it is plugged in next, continuing the interrupted copy.` };
  const recent = await recentlyBackedUp(input.config, drive);
  if (recent) return { ...base, next: `The drive is still plugged in, but it was ${recent}, so it is not backed up again now; it is safe to remove.` };
  return { ...base, next: 'The drive is still plugged in: plugback backs it up again now, continuing the interrupted copy.' };
}

/** The interrupted job as a failed result, for the ledger, metrics and healthcheck ping. */
function crashResult(record: InFlightRecord): JobResult {
  const now = new Date();
  const startedAt = Date.parse(record.startedAt);
  return {
    jobId: record.jobId,
    drive: record.drive,
    outcome: 'failed',
    startedAt: record.startedAt,
    finishedAt: now.toISOString(),
    durationMs: Math.max(0, now.getTime() - startedAt),
    failedStep: record.step,
    error: `plugback stopped unexpectedly during ${record.step ?? 'the job'} (it crashed or was killed) and was restarted`,
    transferredBytes: 0,
    warnings: [],
    undoErrors: [],
    ending: crashEnding(record.drive, record.step),
  };
}
