// `plugback mail test` (does mail reach anyone?) and `plugback mail flush` (send what waits in the outbox now),
// so checking the mail setup does not mean faking a failure with notify-failure.
import { JOURNAL_PRIORITY, stderrNote } from '../daemon/journal-log.js';
import type { Command } from 'commander';
import type { Config } from '../config/model.js';
import type { Notifier } from '../notify/notifier.js';
import { configFileOf, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';

/** How long either command waits for the mail server before leaving the rest in the outbox. */
const SEND_WAIT_MS = 30_000;

export function registerMail(program: Command): void {
  const mail = program
    .command('mail')
    .description('check that mail reaches someone (`mail test`), or send what waits in the outbox now (`mail flush`)');
  mail
    .command('test')
    .description('send a short test mail to mail.to, through the configured SMTP server or sendmail')
    .addHelpText(
      'after',
      `
Example:
  sudo plugback mail test`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const { config, notifier } = await mailer(command);
      const { testMail } = await import('../notify/test-mail.js');
      await notifier.queue(testMail(config.host, new Date()));
      await sendOrSay(config, notifier, 'the test mail');
      process.stdout.write(`sent a test mail to ${config.mail?.to.join(', ')}\n`);
    });
  mail
    .command('flush')
    .description('try every mail waiting in stateDir/outbox now, without waiting for its next retry')
    .addHelpText(
      'after',
      `
Mail that could not be sent waits in stateDir/outbox and is retried by the daemon, or by the next
plugback command that sends mail. With install.trigger: units there is no daemon: plugback-mail.timer
(written by plugback install when mail is configured) runs this every 15 minutes.`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const { config, notifier } = await mailer(command);
      const before = await notifier.waitingCount();
      if (before === 0) {
        process.stdout.write('no mail waiting\n');
        return;
      }
      await sendOrSay(config, notifier, `${before} waiting ${before === 1 ? 'mail' : 'mails'}`);
      process.stdout.write(`sent ${before} ${before === 1 ? 'mail' : 'mails'} that waited in ${config.stateDir}/outbox\n`);
    });
}

/** The config (with a mail: section) and a notifier whose warnings (why a mail could not go) reach stderr. */
async function mailer(command: Command): Promise<{ config: Config; notifier: Notifier }> {
  const config = await loadConfigOrExit(configFileOf(command));
  if (!config.mail) throw new UserError(`no mail: section in ${config.file}; add one (see config/plugback.example.yaml and docs/notifications.md)`, EXIT.usage);
  const { JobLog } = await import('../job/job-log.js');
  const { Notifier } = await import('../notify/notifier.js');
  return { config, notifier: new Notifier(config, new JobLog(messagesOnStderr, 'warn', { component: 'notify' }).logger) };
}

/** The notifier's JSON lines as plain sentences: a person runs these commands, not a log reader (or the journal, from plugback-mail.service, with the priority). */
function messagesOnStderr(line: string): void {
  const { msg, level } = JSON.parse(line) as { msg?: unknown; level?: unknown };
  stderrNote(level === 50 || level === 60 ? JOURNAL_PRIORITY.err : JOURNAL_PRIORITY.warning, `plugback: ${String(msg ?? line.trim())}`);
}

async function sendOrSay(config: Config, notifier: Notifier, what: string): Promise<void> {
  const { left } = await notifier.flush(SEND_WAIT_MS);
  if (left > 0) {
    throw new UserError(`${what} could not all be sent (see above); ${left} ${left === 1 ? 'mail waits' : 'mails wait'} in ${config.stateDir}/outbox`, EXIT.failed);
  }
}
