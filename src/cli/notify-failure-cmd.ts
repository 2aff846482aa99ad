// `plugback notify-failure UNIT`: for systemd's OnFailure=, mails a failed unit's status and the end of its journal,
// so a crash of the daemon itself still reaches someone.
import type { Command } from 'commander';
import { configFileOf, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';

const JOURNAL_LINES = 50;
/** systemd gives an OnFailure= unit 90s by default; leave room to start and exit. */
const SEND_WAIT_MS = 60_000;

export function registerNotifyFailure(program: Command): void {
  program
    .command('notify-failure')
    .description("mail that a systemd unit failed, with its status and the last 50 lines of its journal (for OnFailure=)")
    .argument('<unit>', 'the unit that failed, e.g. plugback.service')
    .addHelpText(
      'after',
      `
For systemd: the generated template unit plugback-failure@.service runs
  plugback notify-failure %i
and the units it watches say OnFailure=plugback-failure@%n.service (plugback generate writes both).
By hand, e.g. to check that mail works:
  plugback notify-failure plugback.service`,
    )
    .action(async (unit: string, _flags: unknown, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      if (!config.mail) throw new UserError(`no mail: section in ${config.file}, so nobody can be told that ${unit} failed; add one (see config/plugback.example.yaml)`, EXIT.usage);
      const { unitReport } = await import('../system/unit-report.js');
      const { unitFailureMail } = await import('../notify/mail-message.js');
      const { JobLog } = await import('../job/job-log.js');
      const { Notifier } = await import('../notify/notifier.js');
      const report = await unitReport(unit, JOURNAL_LINES);
      const notifier = new Notifier(config, new JobLog((line) => process.stderr.write(line), 'warn', { component: 'notify' }).logger);
      await notifier.queue(unitFailureMail(config.host, unit, report.status, report.journal));
      const { left } = await notifier.flush(SEND_WAIT_MS);
      if (left > 0) {
        throw new UserError(`the mail about ${unit} could not be sent yet; it waits in ${config.stateDir}/outbox and goes with the next plugback process`, EXIT.failed);
      }
      process.stdout.write(`mailed ${config.mail.to.join(', ')} that ${unit} failed\n`);
    });
}
