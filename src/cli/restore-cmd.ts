// `plugback restore DRIVE`: puts a snapshot's folders (or one path) back, keeping the current data aside.
import { Option, type Command } from 'commander';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Config, Drive } from '../config/model.js';
import type { RestorePlan } from '../restore/plan.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import type { RestoreJsonOutput } from './restore-json.js';
import { jobConsole } from './terminal.js';

interface RestoreFlags {
  snapshot: string;
  state: string[];
  path?: string;
  to?: string;
  dryRun?: boolean;
  yes?: boolean;
  keep: boolean;
  hooks?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description("put a snapshot's files back where they came from (or under --to), keeping the current data aside")
    .argument('<drive>', 'the drive holding the snapshot (a directory target, or a LUKS drive mounted at its mountPoint)')
    .option('--snapshot <id>', 'the snapshot to restore: a name from `plugback snapshots`, or latest', 'latest')
    .option('--state <name>', 'restore only this state (repeatable); default: every state in the snapshot', collect, [])
    .option('--path <path>', 'restore only this file or directory (an absolute path as it was backed up)')
    .option('--to <dir>', 'restore under this directory instead of the original places (DIR/<original path>)')
    .option('--dry-run', 'list what would be created, changed and deleted, and change nothing')
    .option('--no-keep', 'overwrite in place instead of setting the current data aside first')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--hooks', 'run the postRestore hooks for a restore under --to too (in place they always run)')
    .addOption(new Option('--json', 'print JSON lines on stdout: the plan, the changes (--dry-run) or the steps, the result last (docs/json.md)').conflicts('quiet'))
    .option('-q, --quiet', 'for cron: print only warnings and errors (on stderr); needs --yes')
    .addHelpText(
      'after',
      `
In place, only the folders the config has for a state now are restored; folders the snapshot
holds but the config no longer names are listed and left out (get them with --path P --to DIR).
"latest" is the snapshot this machine made last, never one dated in the future. --path must be
written plainly (no "..", "." or "//"), and a link inside the snapshot is restored as a link,
never followed. A --to folder, and every folder above it, must belong to root and not be
writable by other users (a sticky /tmp is fine); missing folders are created one by one.

Before anything is overwritten, each destination that exists is renamed to
<path>.plugback-before-restore-<time> on the same file system (unless --no-keep). If that or
the copy fails, everything is renamed back. A mount point cannot be renamed: restore it with
--no-keep or --to DIR. Then, for a restore in place, the states' postRestore hooks run, then the
global one; under --to they run only with --hooks (they restart services that read the files in place).
Before it asks (or starts, with --yes) it says what it changes and how much it writes (rsync's
dry run), and refuses when a destination's file system has less room free than that.

Examples:
  plugback restore offsite-a --dry-run
  plugback restore offsite-a --state linkding --yes
  plugback restore offsite-a --snapshot 2026-11-01T091500Z --path /srv/photos/2019 --to /root/old-photos
  plugback versions offsite-a /etc/fstab`,
    )
    .action(async (driveName: string, flags: RestoreFlags, command: Command) => {
      process.exitCode = await restore(command, driveName, flags);
    });
}

async function restore(command: Command, driveName: string, flags: RestoreFlags): Promise<number> {
  const config = await loadConfigOrExit(configFileOf(command));
  const drive = findDrive(config, driveName);
  // A trailing / is harmless; "..", "." or "//" could climb out of the snapshot, so they are refused.
  const target = flags.path && flags.path.length > 1 ? flags.path.replace(/\/+$/, '') : flags.path;
  const { backedUpPathProblem } = await import('../restore/source.js');
  const problem = target === undefined ? undefined : backedUpPathProblem(target, '--path');
  if (problem) throw new UserError(problem, EXIT.usage);
  const { openVerifiedRepository } = await import('../repo/verify-drive.js');
  const { recallSnapshot } = await import('../repo/host-memory.js');
  const { planRestore, closePlan } = await import('../restore/plan.js');
  let plan: RestorePlan;
  try {
    const { repo } = await openVerifiedRepository(config, drive);
    try {
      plan = await planRestore(config, repo, {
        snapshot: flags.snapshot,
        states: flags.state,
        path: target,
        to: flags.to ? path.resolve(flags.to) : undefined,
        keep: flags.keep,
        madeLast: (await recallSnapshot(config.stateDir, drive.name)).memory?.snapshot,
      });
    } finally {
      await repo.close();
    }
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.failed);
  }
  try {
    return await carryOut(config, drive, plan, flags);
  } finally {
    await closePlan(plan);
  }
}

async function carryOut(config: Config, drive: Drive, plan: RestorePlan, flags: RestoreFlags): Promise<number> {
  // With --json, stdout holds only the JSON lines; what people read goes to stderr.
  const json = flags.json ? (await import('./restore-json.js')).restoreJsonOutput() : undefined;
  // --quiet: nothing but warnings and errors, so it cannot ask (it would have to show the plan).
  if (flags.quiet && !flags.yes && !flags.dryRun) throw new UserError('--quiet cannot ask before restoring: add --yes', EXIT.usage);
  const say = (text: string) => (flags.quiet ? true : (json ? process.stderr : process.stdout).write(text));
  say(describePlan(plan, drive.name));
  json?.plan(plan);
  if (plan.items.length === 0) {
    const message = `nothing to restore from snapshot ${plan.snapshot.name}: see above for the folders left out and how to get them`;
    json?.result(plan, 'failed', undefined, message);
    throw new UserError(message, EXIT.failed);
  }
  if (flags.dryRun) return dryRun(config, plan, json, say);
  canAsk(flags.yes ?? false);
  const { previewAndCheckRoom } = await import('./restore-preview.js');
  await previewAndCheckRoom(config, plan, !(flags.yes ?? false), say).catch((error: Error) => {
    json?.result(plan, 'failed', undefined, error.message);
    throw error;
  });
  if (!(await confirmed(flags.yes ?? false, json !== undefined))) return EXIT.usage;

  const { runRestore } = await import('../restore/restore-job.js');
  const { JobLog } = await import('../job/job-log.js');
  const terminal = json ?? (flags.quiet ? (await import('./job-output.js')).quietOutput() : await jobConsole());
  const log = new JobLog(terminal.sink, 'info', { drive: drive.name }).logger;
  const result = await runRestore({ config, drive, plan, log, hooks: plan.to === undefined || flags.hooks === true, onEvent: terminal.onEvent });
  if ('finish' in terminal) terminal.finish();
  for (const k of result.keptAside) say(`kept ${k.path} as it was before: ${k.keptAs}\n`);
  const outcome = !result.ok ? 'failed' : result.warnings.length > 0 ? 'warning' : 'success';
  json?.result(plan, outcome, result);
  if (!result.ok) {
    process.stderr.write(`plugback: restore failed at ${result.failedStep}: ${result.error}\n`);
    for (const u of result.undoErrors) process.stderr.write(`plugback: clean-up failed: ${u}\n`);
    return EXIT.failed;
  }
  say(`restored ${plan.items.length} ${plan.items.length === 1 ? 'item' : 'items'} from snapshot ${plan.snapshot.name}\n`);
  if (!json && !flags.quiet) {
    const { restoreSummary } = await import('./restore-summary.js');
    for (const line of await restoreSummary(plan, result)) say(`${line}\n`);
  }
  return outcome === 'warning' ? EXIT.warnings : EXIT.ok;
}

function describePlan(plan: RestorePlan, drive: string): string {
  const lines = [`restore from snapshot ${plan.snapshot.name}:`];
  if (plan.snapshot.future) lines.push(`  note: snapshot ${plan.snapshot.name} is dated in the future (the clock was ahead when it was made)`);
  else if (plan.future.length > 0) {
    lines.push(`  note: ${plan.future.join(', ')} ${plan.future.length === 1 ? 'is' : 'are'} dated in the future (a clock that was ahead), so never taken as latest`);
  }
  for (const item of plan.items) {
    lines.push(`  ${item.original} (state ${item.state})${item.to === item.original ? '' : ` -> ${item.to}`}`);
  }
  for (const s of plan.skipped.filter((x) => x.reason === 'not-in-config')) {
    lines.push(
      `  not restored: ${s.folder} (state ${s.state} in the snapshot, but not a folder of that state in the config); to get it: ` +
        `plugback restore ${drive} --snapshot ${plan.snapshot.name} --path ${s.folder} --to DIR`,
    );
  }
  for (const s of plan.skipped.filter((x) => x.reason === 'not-in-snapshot')) lines.push(`  not in this snapshot: ${s.folder} (state ${s.state})`);
  lines.push(plan.keep ? '  existing data is set aside first (<path>.plugback-before-restore-<time>)' : '  existing data is overwritten in place (--no-keep)');
  return `${lines.join('\n')}\n`;
}

async function dryRun(config: Config, plan: RestorePlan, json: RestoreJsonOutput | undefined, say: (text: string) => unknown): Promise<number> {
  const { previewItem } = await import('../restore/dry-run.js');
  for (const item of plan.items) {
    const changes = await previewItem(config, item).catch((error: Error) => {
      json?.result(plan, 'failed', undefined, error.message);
      return Promise.reject(new UserError(error.message, EXIT.failed));
    });
    json?.preview(item.to, changes);
    say(`${item.to}: ${changes.created.length} to create, ${changes.changed.length} to change, ${changes.deleted.length} to delete\n`);
    for (const [label, names] of [['create', changes.created], ['change', changes.changed], ['delete', changes.deleted]] as const) {
      for (const name of names.slice(0, 50)) say(`  ${label} ${name}\n`);
      if (names.length > 50) say(`  ... and ${names.length - 50} more to ${label}\n`);
    }
  }
  json?.result(plan, 'dry-run');
  say('dry run: nothing was changed\n');
  return EXIT.ok;
}

/** Refuses before any work when it would have to ask and cannot. */
function canAsk(yes: boolean): void {
  if (!yes && !process.stdin.isTTY) {
    throw new UserError('restore changes files and stdin is not a terminal, so it cannot ask: add --yes (or --dry-run to see the plan)', EXIT.usage);
  }
}

/** A restore overwrites data: on a terminal it asks; elsewhere it needs --yes. */
async function confirmed(yes: boolean, json: boolean): Promise<boolean> {
  if (yes) return true;
  canAsk(yes);
  const output = json ? process.stderr : process.stdout;
  const rl = createInterface({ input: process.stdin, output });
  const answer = await rl.question('Restore now? [y/N] ');
  rl.close();
  if (/^y(es)?$/i.test(answer.trim())) return true;
  output.write('nothing was changed\n');
  return false;
}
