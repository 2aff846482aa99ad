// The mails plugback sends, built from plain data (no I/O): subject, text and attachments. Kept serialisable,
// because a message waits in the outbox until it is sent.
import { formatBytes, formatDuration, formatLocalTime } from '../config/units.js';
import { markedHookLine } from '../system/hooks.js';
import type { JobEnding } from '../job/ending.js';
import type { JobResult } from '../job/events.js';
import type { OverdueDrive } from './overdue.js';

export interface MailAttachment {
  filename: string;
  content: string;
}

export interface MailMessage {
  subject: string;
  text: string;
  attachments: MailAttachment[];
}

/** The run's log, as far as it could be had. */
export interface JobLogText {
  text: string;
  /** Where the log lies on the drive, for the reader who wants it later. */
  path?: string | undefined;
}

export interface JobMailInput {
  host: string;
  result: JobResult;
  log?: JobLogText | undefined;
  snapshotCount?: number | undefined;
  freeBytes?: number | undefined;
  /** The space forecast in words, "full in about 9 backups" (notify/space-forecast.ts). */
  fullIn?: string | undefined;
}

export const LOG_TAIL_LINES = 50;

/** The mail after a job: a failure report (failed, cancelled, warnings) or a short success summary. */
export function jobMail(input: JobMailInput): MailMessage {
  const { host, result: r } = input;
  const lines: string[] = [];
  lines.push(`${headline(r, host)}.`, '');
  if (r.ending.advice) lines.push('What to do next:', `  ${r.ending.advice}`, '');
  if (r.error) lines.push(`Error at ${r.failedStep ?? 'an unknown step'}: ${r.error}`, '');
  if (r.warnings.length > 0) lines.push('Warnings:', ...r.warnings.map((w) => `  - ${w}`), '');
  if (r.ending.notes.length > 0) lines.push('Notes:', ...r.ending.notes.map((n) => `  - ${n}`), '');
  if (r.undoErrors.length > 0) {
    lines.push('Clean-up that did not work (the machine may need a look):', ...r.undoErrors.map((u) => `  - ${u.step}: ${u.error}`), '');
  }
  lines.push(...facts(input), '');
  if (input.log) {
    const tail = readableLogLines(input.log.text).slice(-LOG_TAIL_LINES);
    lines.push(`The last ${tail.length} lines of the log:`, ...tail.map((l) => `  ${l}`), '');
    lines.push(`The whole log is attached${input.log.path ? `; on the drive it is ${input.log.path}` : ''}.`);
  } else {
    lines.push('There is no log: the job ended before its log was started.');
  }
  return {
    subject: `plugback: ${headline(r, host)}`,
    text: `${lines.join('\n')}\n`,
    attachments: input.log ? [{ filename: logAttachmentName(r), content: input.log.text }] : [],
  };
}

/** A reminder for one overdue drive. */
export function reminderMail(host: string, drive: OverdueDrive): MailMessage {
  const when = drive.lastSuccess ? `last backed up ${drive.days} days ago` : `not backed up on ${host} yet, for ${drive.days} days`;
  const sentence = drive.lastSuccess ? `${drive.drive} ${when} on ${host}` : `${drive.drive} was ${when}`;
  const text = [
    `${sentence}: bring it home and plug it in.`,
    '',
    drive.lastSuccess ? `Its last good backup finished at ${drive.lastSuccess}.` : 'plugback has no good backup of this drive on record.',
    `The history of every drive: plugback drives`,
    '',
    'This reminder comes again after reminders.remindEvery while the drive stays overdue.',
  ];
  return { subject: `plugback: ${sentence}`, text: `${text.join('\n')}\n`, attachments: [] };
}

/** A systemd unit of plugback failed (sent by `plugback notify-failure UNIT` from OnFailure=). */
export function unitFailureMail(host: string, unit: string, status: string, journal: string): MailMessage {
  const text = [
    `The systemd unit ${unit} failed on ${host}.`,
    '',
    'What to do next:',
    `  Read the journal below (all of it: journalctl -u ${unit} -b). Backups and reminders may not run until it is`,
    `  fixed; restart it with: systemctl restart ${unit}`,
    '',
    'Status:',
    ...status.trimEnd().split('\n').map((l) => `  ${l}`),
    '',
    'The end of its journal:',
    ...journal.trimEnd().split('\n').map((l) => `  ${l}`),
  ];
  return { subject: `plugback: ${unit} failed on ${host}`, text: `${text.join('\n')}\n`, attachments: [] };
}

function headline(r: JobResult, host: string): string {
  return `backup of ${r.drive} on ${host} ${r.ending.title}`;
}

/** What is safe after the run, in one line. */
function safeLine(e: JobEnding): string {
  if (e.snapshot) return `snapshot ${e.snapshot} (this run's) is complete`;
  if (!e.newestKnown) return "this run's snapshot was not completed; the drive's snapshots were not looked at";
  return e.newestSnapshot ? `this run's snapshot was not completed; the newest complete one is ${e.newestSnapshot}` : "this run's snapshot was not completed, and the drive has no complete one yet";
}

function facts(input: JobMailInput): string[] {
  const r = input.result;
  const out = [
    `Drive:        ${r.drive}`,
    `Host:         ${input.host}`,
    `Started:      ${formatLocalTime(r.startedAt)}`,
    `Finished:     ${formatLocalTime(r.finishedAt)} (took ${formatDuration(r.durationMs)})`,
    `Copied:       ${formatBytes(r.transferredBytes)}`,
    `Snapshot:     ${r.snapshot ?? 'none completed'}`,
    `Safe:         ${safeLine(r.ending)}`,
  ];
  if (r.ending.notDone.length > 0) out.push(`Not done:     ${r.ending.notDone.join(', ')}`);
  if (r.leftForResume && !r.snapshot) out.push(`Kept:         ${r.leftForResume} (the next run continues it)`);
  if (input.snapshotCount !== undefined) out.push(`Snapshots:    ${input.snapshotCount} on the drive`);
  if (input.freeBytes !== undefined) out.push(`Free space:   ${formatBytes(input.freeBytes)}${input.fullIn ? ` (${input.fullIn})` : ''}`);
  out.push(`Job:          ${r.jobId}`);
  return out;
}

function logAttachmentName(r: JobResult): string {
  return `plugback-${r.drive}-${r.startedAt.replace(/[:.]/g, '-')}.log`;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** The log's pino JSON lines as "TIME LEVEL message" (other lines as they are), for reading in a mail. */
export function readableLogLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { time?: unknown; level?: unknown; msg?: unknown; hookTag?: unknown; stream?: unknown };
        if (typeof entry.msg !== 'string') return line;
        const level = typeof entry.level === 'number' ? (LEVELS[entry.level] ?? String(entry.level)) : '';
        const time = typeof entry.time === 'string' && !Number.isNaN(Date.parse(entry.time)) ? formatLocalTime(entry.time) : '';
        return [time, level, markedHookLine(entry, entry.msg)].filter(Boolean).join(' ');
      } catch {
        return line;
      }
    });
}
