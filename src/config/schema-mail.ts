// The mail: section of the config: who gets mail, and how it is sent (SMTP or the local sendmail).
import { z } from './zod.js';
import { absolutePath, timerDuration } from './primitives.js';

const emailAddress = z
  .string()
  .regex(/^[^\s@<>]+@[^\s@<>]+$/, { message: 'expected a mail address like backup-admin@example.org' });

/** Hosts a password may be sent to without TLS: the connection never leaves the machine. */
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1', '[::1]'];

const smtpSchema = z
  .strictObject({
    host: z.string().min(1).meta({ description: 'The SMTP server, e.g. smtp.example.org or localhost.' }),
    port: z.int().min(1).max(65_535).optional().meta({ description: 'Its port. Default: 465 with security tls, else 587.' }),
    security: z
      .enum(['starttls', 'tls', 'none'])
      .default('starttls')
      .meta({ description: 'starttls (upgrade a plain connection, refused if the server cannot), tls (TLS from the start, port 465) or none (only for a server on this machine).' }),
    user: z.string().min(1).optional().meta({ description: 'User name to log in with. Unset: send without logging in.' }),
    passwordFile: absolutePath('passwordFile')
      .optional()
      .meta({ description: 'File holding the password (one line), readable only by root. Never put the password in this config.' }),
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected the name of an environment variable, like PLUGBACK_SMTP_PASSWORD' })
      .optional()
      .meta({ description: 'Name of an environment variable holding the password (e.g. set by systemd from a credential).' }),
  })
  .refine((s) => s.user === undefined || s.passwordFile !== undefined || s.passwordEnv !== undefined, {
    message: 'smtp.user needs its password from passwordFile or passwordEnv',
  })
  .superRefine((s, ctx) => {
    // Without TLS the login goes over the wire in clear text: only a relay on this machine is safe that way.
    if (s.security !== 'none' || s.user === undefined || LOCAL_HOSTS.includes(s.host.toLowerCase())) return;
    ctx.addIssue({
      code: 'custom',
      path: ['security'],
      message: `security none would send the password for ${s.user} in clear text to ${s.host}: use starttls or tls, or none only with localhost, 127.0.0.1 or ::1`,
    });
  })
  .meta({ description: 'Send through an SMTP server.' });

export const mailSchema = z
  .strictObject({
    to: z
      .union([emailAddress, z.array(emailAddress).min(1)])
      .transform((to) => (Array.isArray(to) ? to : [to]))
      .meta({ description: 'Who gets the mail: one address or a list.' }),
    from: emailAddress.optional().meta({ description: 'The sender address. Default: plugback@<host>.' }),
    onSuccess: z.boolean().default(false).meta({ description: 'Also send a short summary after each successful backup.' }),
    smtp: smtpSchema.optional(),
    sendmail: z
      .strictObject({
        path: absolutePath('sendmail.path')
          .default('/usr/sbin/sendmail')
          .meta({ description: 'The sendmail program of the local mail system (postfix, exim, msmtp, nullmailer).' }),
      })
      .meta({ description: 'Hand mail to the local sendmail program.' })
      .optional(),
    timeout: timerDuration(
      'How long one attempt to send may take. A mail that cannot be sent waits in stateDir/outbox/ and is retried (after 30s, 1m, 2m, ... at most hourly) until it goes.',
    ).prefault('30s'),
  })
  .refine((m) => (m.smtp === undefined) !== (m.sendmail === undefined), {
    message: 'mail needs exactly one way to send: smtp (a server) or sendmail (the local mail system)',
  })
  .meta({ description: 'Mail on failure (and on success when asked), overdue reminders and failures of plugback itself.' });
