// The mail after a daemon that stopped in the middle of a job (a crash, a kill, a power cut), sent by the
// daemon that started next. Plain data in, a MailMessage out; one function, so it can be moved onto a shared
// description of ended jobs later.
import type { MailMessage } from './mail-message.js';

/** What the restarted daemon knows of the job the last one did not finish. */
export interface InterruptedJob {
  /** Absent when the record was damaged (a power cut in the middle of its write). */
  drive?: string | undefined;
  step?: string | undefined;
  startedAt?: string | undefined;
  jobId?: string | undefined;
  pid?: number | undefined;
  /** What start-up did about the drive ("unmounted it from /mnt/a", "closed its LUKS mapping ..."). */
  recovery: string[];
  /** What happens to the drive now, one sentence. */
  next: string;
  /** Why the record could not be read, when it could not. */
  damaged?: string | undefined;
}

/** Steps that come after the snapshot is complete: a stop there leaves this run's snapshot whole. */
const AFTER_COMPLETE = new Set(['verify', 'prune', 'release-lock', 'post-backup-hooks', 'unmount', 'close-luks', 'power-off']);

export function crashMail(host: string, job: InterruptedJob): MailMessage {
  const what = job.drive ? `the backup of ${job.drive}` : 'a backup';
  const at = job.step ? ` at ${job.step}` : '';
  const did = job.recovery.length ? `it restarted and ${joinAnd(job.recovery)}` : 'it restarted; nothing of the drive was left mounted or open';
  const lines = [`plugback stopped unexpectedly during ${what}${at} on ${host}; ${did}.`, '', job.next, ''];
  if (job.step && AFTER_COMPLETE.has(job.step)) {
    lines.push(`The snapshot of this run was already complete when plugback stopped (${job.step} comes after it); the steps from ${job.step} on did not run.`, '');
  } else if (job.drive) {
    lines.push('No snapshot was completed by this run. A copy it had begun is kept on the drive and the next backup continues it.', '');
  }
  lines.push(
    'What to do next:',
    '  Nothing for this backup. To learn why plugback stopped, read its journal around that time:',
    '  journalctl -u plugback -b (a crash shows as a stack trace or "Main process exited"; a kill as a signal).',
    '  If it keeps stopping, systemd gives up after 4 restarts within 5 minutes and mails that plugback.service failed.',
    '',
  );
  if (job.damaged) lines.push(`The record of the job could not be read (${job.damaged}), so which drive and step are not known.`, '');
  lines.push(
    ...[
      job.drive && `Drive:        ${job.drive}`,
      `Host:         ${host}`,
      job.startedAt && `Started:      ${job.startedAt}`,
      job.step && `Step:         ${job.step}`,
      job.pid && `Process:      PID ${job.pid} (the daemon that stopped)`,
      job.jobId && `Job:          ${job.jobId}`,
    ].filter((l): l is string => typeof l === 'string' && l !== ''),
  );
  return { subject: `plugback: ${job.drive ? `backup of ${job.drive}` : 'a backup was'} interrupted: plugback stopped unexpectedly`, text: `${lines.join('\n')}\n`, attachments: [] };
}

/** "a, b and c". */
function joinAnd(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}
