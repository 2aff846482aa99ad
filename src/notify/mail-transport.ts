// Handing one message to the mail system: SMTP (nodemailer) or the local sendmail program, with a time limit,
// and the password read from its file or environment variable at the moment of sending, never logged.
import { open, type FileHandle } from 'node:fs/promises';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { MailSettings } from '../config/model.js';
import type { MailMessage } from './mail-message.js';
import { secretFileProblem } from '../system/file-perms.js';

class UnsafeSecret extends Error {}

/** Sends `message` to mail.to; rejects with a message that names the transport and the reason. */
export async function sendMail(settings: MailSettings, host: string, message: MailMessage): Promise<void> {
  const mail = {
    from: settings.from ?? `plugback@${host}`,
    to: settings.to,
    subject: message.subject,
    text: message.text,
    attachments: message.attachments.map((a) => ({ filename: a.filename, content: a.content, contentType: 'text/plain; charset=utf-8' })),
  };
  try {
    if (settings.sendmail) await viaSendmail(settings.sendmail.path, mail, settings.timeout);
    else await viaSmtp(settings, mail);
  } catch (error) {
    throw new Error(`sending mail to ${settings.to.join(', ')} via ${describeTransport(settings)} failed: ${(error as Error).message}`, { cause: error });
  }
}

type Mail = SendMailOptions & { from: string; to: string[] };

async function viaSmtp(settings: MailSettings, mail: Mail): Promise<void> {
  const transport = nodemailer.createTransport(await smtpOptions(settings));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${settings.timeout / 1000}s`)), settings.timeout);
  });
  try {
    await Promise.race([transport.sendMail(mail), timeout]);
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}

/**
 * The message built by nodemailer, handed to `sendmail -i -f FROM TO...` on stdin. We run the program ourselves
 * so that one that hangs (a mail system that is down) is killed at the time limit instead of left behind.
 */
async function viaSendmail(program: string, mail: Mail, timeoutMs: number): Promise<void> {
  const built = await nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }).sendMail(mail);
  // The envelope holds bare addresses, also when mail.from is written as "NAS <nas@example.org>".
  const { from, to } = built.envelope as { from: string; to: string[] };
  // execa loaded when needed: some hundred modules a daemon at rest would otherwise keep in memory.
  const { execa } = await import('execa');
  const r = await execa(program, ['-i', '-f', from, ...to], { input: built.message as Buffer, timeout: timeoutMs, forceKillAfterDelay: 2000, reject: false });
  if (r.timedOut) throw new Error(`no answer within ${timeoutMs / 1000}s (${program} was stopped)`);
  if (r.failed) throw new Error(r.stderr.trim() || r.shortMessage);
}

/** "smtp mail.example.org:587 (starttls)" or "sendmail /usr/sbin/sendmail": for messages and logs. */
export function describeTransport(settings: MailSettings): string {
  if (settings.sendmail) return `sendmail ${settings.sendmail.path}`;
  const smtp = settings.smtp;
  return smtp ? `smtp ${smtp.host}:${smtpPort(smtp)} (${smtp.security})` : 'no transport';
}

type SmtpSettings = NonNullable<MailSettings['smtp']>;

function smtpPort(smtp: SmtpSettings): number {
  return smtp.port ?? (smtp.security === 'tls' ? 465 : 587);
}

async function smtpOptions(settings: MailSettings) {
  const smtp = settings.smtp;
  if (!smtp) throw new Error('mail has neither smtp nor sendmail');
  const timeouts = { connectionTimeout: settings.timeout, greetingTimeout: settings.timeout, socketTimeout: settings.timeout };
  return {
    host: smtp.host,
    port: smtpPort(smtp),
    secure: smtp.security === 'tls',
    // starttls: refuse to go on in plain text when the server cannot upgrade (a downgrade would expose the password).
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    ...timeouts,
    ...(smtp.user ? { auth: { user: smtp.user, pass: await smtpPassword(smtp) } } : {}),
  };
}

/** The password from passwordFile (its first line) or passwordEnv. */
async function smtpPassword(smtp: SmtpSettings): Promise<string> {
  if (smtp.passwordFile) {
    let handle: FileHandle | undefined;
    try {
      handle = await open(smtp.passwordFile, 'r');
      // Checked on the open file: a password others can read is no secret, one they can change can be theirs.
      const unsafe = secretFileProblem(smtp.passwordFile, await handle.stat(), 'the SMTP password file (mail.smtp.passwordFile)');
      if (unsafe) throw new UnsafeSecret(unsafe);
      return (await handle.readFile('utf8')).split('\n')[0] ?? '';
    } catch (error) {
      if (error instanceof UnsafeSecret) throw error;
      throw new Error(`cannot read the SMTP password from ${smtp.passwordFile} (mail.smtp.passwordFile): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; create it with the password on one line and chmod 600`);
    } finally {
      await handle?.close();
    }
  }
  const name = smtp.passwordEnv ?? '';
  const value = process.env[name];
  if (value === undefined) throw new Error(`the environment variable ${name} (mail.smtp.passwordEnv) is not set in plugback's environment`);
  return value;
}
