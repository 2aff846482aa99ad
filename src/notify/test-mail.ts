// The mail `plugback mail test` sends: short, and saying what it proves.
import { formatLocalTime } from '../config/units.js';
import type { MailMessage } from './mail-message.js';

export function testMail(host: string, now: Date): MailMessage {
  const text = [
    `This is a test mail from plugback on ${host}, sent by \`plugback mail test\` at ${formatLocalTime(now)} (${now.toISOString()}).`,
    '',
    'It reached you, so the mail settings work: failures, overdue drives and (with mail.onSuccess) finished',
    'backups will be mailed the same way. Nothing needs to be done.',
  ];
  return { subject: `plugback: test mail from ${host}`, text: `${text.join('\n')}\n`, attachments: [] };
}
