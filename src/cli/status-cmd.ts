// `plugback status`, `plugback start DRIVE` and `plugback cancel`: the running daemon, over its D-Bus API.
import type { Command } from 'commander';
import type { DaemonClient, DaemonStatus, FinishedInfo, JobInfo } from '../api/client.js';
import { formatBytes, formatDuration } from '../config/units.js';
import type { JobEvent } from '../job/events.js';
import { configFileOf, UserError } from './common.js';
import { formatAge } from './drives-cmd.js';
import { EXIT } from './exit-codes.js';
import { JSON_FORMAT } from './job-output.js';
import { renderColumns } from './table.js';
import { jobConsole } from './terminal.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('what the running daemon is doing: its state, the current job, and every drive')
    .option('--json', 'print the status as JSON; with --follow, JSON lines ending in the result (docs/json.md)')
    .option('-f, --follow', 'follow the current (or next) job with a progress bar, and exit with its result')
    .addHelpText(
      'after',
      `
Asks the daemon over D-Bus (io.github.plugback.Daemon1 on the system bus); anyone may ask.
When no daemon runs, it says so and shows what this machine's history (stateDir/ledger.json, root
only) knows, like plugback drives: exit 1 when the daemon should run (install.trigger: daemon), 0 with
install.trigger: units, where systemd runs plugback-drive@DRIVE.service and there is no daemon.

Examples:
  plugback status
  plugback status --json | jq '.drives[] | select(.overdue)'
  plugback start offsite-a && plugback status --follow`,
    )
    .action(async (flags: { json?: boolean; follow?: boolean }, command: Command) => {
      const client = flags.follow ? await connect() : await connect(true);
      if (!client) return withoutDaemon(command, flags.json ?? false);
      try {
        if (flags.follow) {
          process.exitCode = await follow(client, flags.json ?? false);
          return;
        }
        const status = await client.status();
        process.stdout.write(flags.json ? `${JSON.stringify(statusJson(status), null, 2)}\n` : renderStatus(status, new Date()));
      } finally {
        client.close();
      }
    });

  program
    .command('start')
    .description('ask the daemon to back up DRIVE now (a plugged-in LUKS drive, or a directory target)')
    .argument('<drive>', 'the name of a drive in the config')
    .addHelpText('after', `\nNeeds root or the polkit action io.github.plugback.start.\nA backup started this way ignores daemon.minInterval.\n\nExample:\n  plugback start offsite-a && plugback status --follow`)
    .action(async (drive: string) => {
      const client = await connect();
      try {
        const result = await client.start(drive).catch(asUserError);
        process.stdout.write(result === 'queued' ? `backup of "${drive}" queued behind the running job\n` : `backup of "${drive}" started\n`);
      } finally {
        client.close();
      }
    });

  program
    .command('cancel')
    .description('cancel the backup the daemon is running; the partial copy stays for the next run')
    .addHelpText('after', `\nNeeds root or the polkit action io.github.plugback.cancel.`)
    .action(async () => {
      const client = await connect();
      try {
        const drive = await client.cancel().catch(asUserError);
        process.stdout.write(`cancelling the backup of "${drive}": it stops after its clean-up (unmount, close)\n`);
      } finally {
        client.close();
      }
    });
}

/** The daemon's API; when no daemon runs, an error (exit 1), or undefined if `noneIsFine`. */
async function connect(noneIsFine: true): Promise<DaemonClient | undefined>;
async function connect(noneIsFine?: boolean): Promise<DaemonClient>;
async function connect(noneIsFine = false): Promise<DaemonClient | undefined> {
  const { DaemonClient, NoDaemonError } = await import('../api/client.js');
  try {
    return await DaemonClient.connect();
  } catch (error) {
    if (error instanceof NoDaemonError && noneIsFine) return undefined;
    if (error instanceof NoDaemonError) throw new UserError(error.message, EXIT.failed);
    throw new UserError(`cannot reach the plugback daemon: ${(error as Error).message}`, EXIT.failed);
  }
}

/**
 * No daemon to ask: say so (as JSON with --json), with the history this machine keeps and advice that fits
 * the trigger. Errors other than "not running" stay errors.
 */
async function withoutDaemon(command: Command, json: boolean): Promise<void> {
  const { loadConfig } = await import('../config/load.js');
  const config = await loadConfig(configFileOf(command)).catch(() => undefined);
  if (!config) {
    // No config to read the history from: the plain answer, as before.
    const { NO_DAEMON: plain } = await import('../api/client.js');
    if (json) process.stdout.write(`${JSON.stringify({ format: JSON_FORMAT, daemon: 'not running', advice: plain }, null, 2)}\n`);
    else process.stderr.write(`plugback: ${plain}\n`);
    process.exitCode = EXIT.failed;
    return;
  }
  const { historyRows, renderDrives } = await import('./drives-cmd.js');
  const now = new Date();
  const units = config.install.trigger === 'units';
  const advice = units
    ? 'install.trigger is units: systemd runs plugback-drive@DRIVE.service when a drive is plugged in (journalctl -u "plugback-drive@*")'
    : 'start it with "systemctl start plugback" (journalctl -u plugback says why it stopped), or run "plugback daemon"';
  const rows = await historyRows(config, now).catch((e: NodeJS.ErrnoException) => (e.code === 'EACCES' ? undefined : Promise.reject(e)));
  const history = rows === undefined ? `the history in ${config.stateDir} is readable by root only` : undefined;
  if (json) {
    process.stdout.write(`${JSON.stringify({ format: JSON_FORMAT, daemon: 'not running', trigger: config.install.trigger, advice, ...(history ? { history } : { drives: rows }) }, null, 2)}\n`);
  } else {
    process.stdout.write(`plugback daemon: not running; ${advice}\n\n${rows ? renderDrives(rows, now) : `${history}\n`}`);
  }
  process.exitCode = units ? EXIT.ok : EXIT.failed;
}

/** The status as scripts read it (docs/json.md): the names plugback's other JSON uses. */
function statusJson(status: DaemonStatus) {
  return {
    format: JSON_FORMAT,
    daemon: 'running',
    state: status.state,
    job: status.job ? jobJson(status.job) : null,
    drives: status.drives.map(({ name, ...d }) => ({ drive: name, ...d })),
  };
}

function jobJson({ rate, copyingState, ...job }: JobInfo) {
  return { ...job, ...(copyingState !== undefined ? { state: copyingState } : {}), ...(rate !== undefined ? { bytesPerSecond: rate } : {}) };
}

function asUserError(error: unknown): never {
  throw new UserError((error as Error).message, EXIT.failed);
}

/** The status as people read it. */
export function renderStatus(status: DaemonStatus, now: Date): string {
  const job = status.job;
  const doing = job ? `backing up "${job.drive}"${job.step ? `: ${job.step}` : ''}${job.percent !== undefined ? ` ${Math.floor(job.percent)}%` : ''}` : status.state;
  const rows = status.drives.map((d) => [
    d.name,
    d.kind,
    d.queued ? 'queued' : d.present ? (d.kind === 'luks' ? 'plugged in' : 'there') : 'away',
    d.lastSuccess ? formatAge(now.getTime() - Date.parse(d.lastSuccess)) : 'never',
    d.snapshotCount === undefined ? '-' : String(d.snapshotCount),
    d.overdue ? 'OVERDUE' : d.lastFailure && (!d.lastSuccess || d.lastFailure > d.lastSuccess) ? `last run failed at ${d.lastFailureStep ?? '?'}` : '',
  ]);
  return `plugback daemon: ${doing}\n\n${renderColumns(['DRIVE', 'KIND', 'NOW', 'LAST GOOD BACKUP', 'SNAPSHOTS', 'NOTE'], rows)}`;
}

/** Follows the running job (or waits for the next one) to its end; returns the exit code for its outcome. */
async function follow(client: DaemonClient, json: boolean): Promise<number> {
  const terminal = json ? undefined : await jobConsole();
  const show = (text: string) => process.stdout.write(text);
  const line = (type: string, fields: object) => show(`${JSON.stringify({ format: JSON_FORMAT, type, time: new Date().toISOString(), ...fields })}\n`);
  return new Promise<number>((resolve) => {
    let stopFollowing: () => void = () => {};
    const finish = (code: number) => {
      stopFollowing();
      goneWatch();
      resolve(code);
    };
    const goneWatch = client.onDaemonGone(() => {
      process.stderr.write('plugback: the daemon stopped\n');
      finish(EXIT.failed);
    });
    void client
      .follow({
        progress: (job) => (json ? line('progress', jobJson(job)) : terminal?.onEvent(asProgressEvent(job))),
        state: () => undefined,
        finished: (result) => {
          terminal?.finish();
          if (json) line('result', { result });
          else show(`${describe(result)}\n`);
          finish(result.outcome === 'success' ? EXIT.ok : result.outcome === 'warning' ? EXIT.warnings : EXIT.failed);
        },
      })
      .then(async (off) => {
        stopFollowing = off;
        const status = await client.status();
        if (!status.job && !json) show('plugback daemon: idle; waiting for the next backup (Ctrl-C to stop)\n');
        else if (status.job && !json) show(`following the backup of "${status.job.drive}"\n`);
      });
  });
}

function asProgressEvent(job: JobInfo): JobEvent {
  return {
    type: 'progress',
    progress: {
      state: job.copyingState ?? job.step ?? '',
      stateIndex: 1,
      stateCount: 1,
      bytes: job.bytes ?? 0,
      percent: job.percent ?? 0,
      rate: job.rate ?? 0,
      etaSeconds: job.etaSeconds,
    },
  };
}

function describe(r: FinishedInfo): string {
  const took = formatDuration(r.durationMs);
  switch (r.outcome) {
    case 'success':
      return `backup of "${r.drive}" finished: snapshot ${r.snapshot ?? '?'} in ${took}, ${formatBytes(r.transferredBytes)} copied`;
    case 'warning':
      return `backup of "${r.drive}" finished with warnings: snapshot ${r.snapshot ?? '?'} in ${took}`;
    case 'cancelled':
      return `backup of "${r.drive}" was cancelled during ${r.failedStep ?? '?'}`;
    default:
      return `backup of "${r.drive}" failed at ${r.failedStep ?? '?'}: ${r.error ?? 'unknown error'}`;
  }
}
