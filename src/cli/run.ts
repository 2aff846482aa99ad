// `plugback run DRIVE`: one backup onto a drive that is already there (mounted, or a directory target).
import { Option, type Command } from 'commander';
import type { Config, Drive } from '../config/model.js';
import type { JobListener, JobResult } from '../job/events.js';
import type { LineSink } from '../job/job-log.js';
import type { Notifier } from '../notify/notifier.js';
import { configFileOf, findDrive, loadConfigOrExit } from './common.js';
import { AlreadyRunningError, type HeldLock } from '../system/flock.js';
import { takeCliLock } from './cli-lock.js';
import { EXIT } from './exit-codes.js';
import type { DriveFacts } from '../notify/drive-facts.js';
import { OwedHooks } from './owed-hooks.js';
import { runSummary } from './run-summary.js';
import { jobConsole, type JobConsole } from './terminal.js';
import { isJournalStream } from '../system/journal-stream.js';
import { JOURNAL_PRIORITY, journalSink, stderrNote } from '../daemon/journal-log.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Where plugback's own sentences go, and how the status line is taken down. */
interface Say {
  notice(text: string): void;
  finish(): void;
}

interface RunFlags {
  allowShrink?: boolean;
  logLevel?: Level;
  json?: boolean;
  quiet?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('back up onto DRIVE now; it must be mounted already (a LUKS drive) or be a directory target')
    .argument('<drive>', 'the name of a drive in the config')
    .option('--allow-shrink', 'accept, for this run, a source that shrank past backup.maxShrinkPercent or looks unmounted')
    .addOption(new Option('--log-level <level>', 'how much to log (the job, the LED and the mail lines alike)').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(new Option('--json', 'print JSON lines on stdout (log lines, steps, progress), the result last (docs/json.md)').conflicts('quiet'))
    .option('-q, --quiet', 'for cron: print only warnings and errors (on stderr); nothing when the backup succeeds')
    .addHelpText(
      'after',
      `
Off a terminal, stdout gets one JSON line per log line, the last one holding the result
(plugback run DRIVE | tail -n 1 | jq -r .result.outcome); the mail and LED lines go to stderr.
With --json, stdout holds only the documented JSON lines (docs/json.md), on a terminal too, the
last one {"type":"result","result":{...}}; everything else goes to stderr. With --quiet, nothing
is printed unless something went wrong (warnings and errors, on stderr): the exit code says how it went.
The lock (backup.lockFile) is taken first, before any hook: a run of another drive waits for it
up to backup.lockWait, a second run of the same drive exits 75 at once.
A drive with archive: in the config also gets an archive of the new snapshot (before the lock is
released); a failed archive is a warning (exit 3), the snapshot is complete all the same.
After the run, the drive's history is updated (see plugback drives), the metrics textfile is
written, healthchecks are pinged, and a failure (or, with mail.onSuccess, a success) is mailed.
Mail that cannot be sent within 20 seconds waits in stateDir/outbox for the next plugback process.
Ctrl-C (or SIGTERM) stops the copy cleanly: post-backup hooks run, the lock is released, and the
partial copy stays on the drive so the next run continues where this one stopped. A second
Ctrl-C quits at once (exit 130) without the clean-up, naming each postBackup hook it skipped.

Examples:
  plugback run offsite-a
  plugback run nas-disk --config ./plugback.yaml --allow-shrink`,
    )
    .action(async (driveName: string, flags: RunFlags, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const drive = findDrive(config, driveName);
      const { runBackupJob } = await import('../job/backup-job.js');
      const controller = new AbortController();
      // Plugback's own sentences on a signal: on stderr until the console exists, then above its status line.
      const say: Say = { notice: (text) => process.stderr.write(`${text}\n`), finish: () => undefined };
      const owed = new OwedHooks();
      const stop = cancelOnSignals(controller, say, owed);
      const lock = takeRunLock(config, drive, controller.signal);
      // Before the LED, the notifier and the job: a second run of this drive leaves no trace.
      const refused = await lock.then(() => undefined, (error: unknown) => (error instanceof AlreadyRunningError ? error : undefined));
      if (refused) {
        process.stderr.write(`plugback: ${refused.message}; this run does nothing (see plugback drives for how that one went)\n`);
        process.exitCode = EXIT.busy;
        stop();
        return;
      }
      const terminal = await runConsole(flags);
      say.notice = terminal.notice;
      say.finish = terminal.finish;
      const level = flags.logLevel ?? 'info';
      // Under systemd (plugback-drive@.service) the journal gets sentences with their priority, not JSON.
      const jobSink = !flags.json && !flags.quiet && isJournalStream(1) ? journalSink(process.stdout, true) : terminal.sink;
      // Off a terminal, stdout holds the job's JSON lines ending in its result (`| tail -n 1 | jq`); what comes
      // after the job (mail, pings, the LED going dark) must not follow it there.
      const after = flags.quiet || (process.stdout.isTTY && !flags.json) ? terminal.sink : !flags.json && isJournalStream(2) ? journalSink(process.stderr, true) : stderrLines();
      const led = await startRunLed(config, after, level);
      const { LogCapture } = await import('../notify/log-capture.js');
      // The job's lines, kept for the failure mail (the LED's and the notifier's own lines are not in it).
      const capture = new LogCapture(jobSink);
      const notifier = await startRunNotifier(config, after, level);
      try {
        await notifier.jobStarted(drive.name, false);
        const result = await runBackupJob({
          config,
          drive,
          options: { allowShrink: flags.allowShrink ?? false },
          signal: controller.signal,
          console: capture.sink,
          lock,
          logLevel: level,
          onEvent: (event) => {
            owed.onEvent(event);
            terminal.onEvent(event);
            led?.onEvent(event);
          },
        });
        process.exitCode = exitCodeOf(result);
        const facts = await tellAboutRun(config, drive, result, capture.text(), notifier);
        if (process.stdout.isTTY && !flags.json && !flags.quiet) for (const line of runSummary(result, facts)) terminal.notice(line);
      } finally {
        terminal.finish();
        stop();
        // Released by the job already, unless it was cancelled before its lock step.
        await lock.then((held) => held.release(), () => undefined);
        // The last colour (green or red) stays lit after plugback exits.
        await led?.session.close();
      }
    });
}

/** The job's console: JSON lines (--json), warnings and errors only (--quiet), or the terminal's view. */
async function runConsole(flags: RunFlags): Promise<JobConsole> {
  if (!flags.json && !flags.quiet) return jobConsole();
  const { jsonLinesOutput, quietOutput } = await import('./job-output.js');
  // Plugback's own sentences (a cancel, a skipped hook) go to stderr: stdout is the script's.
  return { ...(flags.json ? jsonLinesOutput() : quietOutput()), notice: (text) => process.stderr.write(`${text}\n`), finish: () => undefined };
}

/** Asks for the repository lock as this drive's backup; says on stderr when it has to wait. */
function takeRunLock(config: Config, drive: Drive, signal: AbortSignal): Promise<HeldLock> {
  const lock = takeCliLock(config, { what: 'backup', drive: drive.name }, signal);
  // The job reports a failure to take it; the refusal of a second run is handled before the job starts.
  lock.catch(() => undefined);
  return lock;
}

/** The LED for this run, when enabled and a stick can be driven; its log lines go with the job's. */
async function startRunLed(config: Config, sink: LineSink, level: Level) {
  if (!config.led.enabled) return undefined;
  const { JobLog } = await import('../job/job-log.js');
  const { startLed } = await import('../led/led-session.js');
  const { ledReporter } = await import('../led/led-reporter.js');
  const session = await startLed(config.led, new JobLog(sink, level, { component: 'led' }).logger);
  return session && { session, onEvent: ledReporter(session.controller) };
}

/** How long `plugback run` waits for its mail to go before exiting; what is not sent waits in the outbox. */
const MAIL_FLUSH_MS = 20_000;

/** The notifier for this run; its log lines go to the console, not into the job's log. */
async function startRunNotifier(config: Config, sink: LineSink, level: Level) {
  const { JobLog } = await import('../job/job-log.js');
  const { Notifier } = await import('../notify/notifier.js');
  return new Notifier(config, new JobLog(sink, level, { component: 'notify' }).logger);
}

/** JSON lines on stderr; a reader that went away is ignored, as for stdout. */
function stderrLines(): LineSink {
  let broken = false;
  process.stderr.on('error', () => (broken = true));
  return (line) => {
    if (!broken) process.stderr.write(line);
  };
}

/** Ledger, metrics, mail and pings for the finished run; mail gets a bounded chance to go before plugback exits. */
async function tellAboutRun(config: Config, drive: Drive, result: JobResult, logText: string, notifier: Notifier): Promise<DriveFacts> {
  const { driveFacts } = await import('../notify/drive-facts.js');
  const facts = await driveFacts(config, drive, result.logFile !== undefined);
  await notifier.jobFinished(drive.name, result, { logText, logFile: result.logFile, ...facts });
  const { left } = await notifier.flush(MAIL_FLUSH_MS);
  if (left > 0) {
    stderrNote(
      JOURNAL_PRIORITY.warning,
      `plugback: ${left} mail(s) could not be sent yet; they wait in ${config.stateDir}/outbox and go with the next plugback run or the daemon`,
    );
  }
  return facts;
}

/** The process's exit code for a job's outcome. */
export function exitCodeOf(result: JobResult): number {
  switch (result.outcome) {
    case 'success':
      return EXIT.ok;
    case 'warning':
      return EXIT.warnings;
    default:
      return EXIT.failed;
  }
}

/**
 * First SIGINT/SIGTERM cancels the job cleanly; a second SIGINT gives up on the clean-up and exits at once, naming
 * the postBackup hooks it leaves unrun (a service a preBackup stopped stays stopped).
 */
function cancelOnSignals(controller: AbortController, say: Say, owed: OwedHooks): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (signal === 'SIGINT') {
        // The status line goes first, so the last lines on the screen are these.
        say.finish();
        say.notice('plugback: stopping without clean-up');
        for (const line of owed.skipped()) say.notice(`plugback: ${line}`);
        // The console's 'exit' handler gives the terminal its cursor back.
        process.exit(130);
      }
      return;
    }
    say.notice(`plugback: ${signal}: cancelling; stopping rsync and cleaning up (Ctrl-C again to quit at once)`);
    controller.abort(new Error(`cancelled by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
