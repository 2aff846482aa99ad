// `plugback restore DRIVE`: puts a snapshot's folders (or one path) back, keeping the current data aside.
import type { Command } from 'commander';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { driveRoot, type Config } from '../config/model.js';
import type { RestorePlan } from '../restore/plan.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import { jobConsole } from './terminal.js';

interface RestoreFlags {
  snapshot: string;
  state: string[];
  path?: string;
  to?: string;
  dryRun?: boolean;
  yes?: boolean;
  keep: boolean;
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
    .addHelpText(
      'after',
      `
Before anything is overwritten, each destination that exists is renamed to
<path>.plugback-before-restore-<time> on the same file system (unless --no-keep). If the copy
fails, it is renamed back. Then the states' postRestore hooks run, then the global one.
Exit codes: 0 restored, 1 failed, 2 usage error (or not confirmed), 3 restored with warnings.

Examples:
  plugback restore offsite-a --dry-run
  plugback restore offsite-a --state linkding --yes
  plugback restore offsite-a --snapshot 2026-11-01T091500Z --path /srv/photos/2019 --to /tmp/old-photos
  plugback versions offsite-a /etc/fstab`,
    )
    .action(async (driveName: string, flags: RestoreFlags, command: Command) => {
      process.exitCode = await restore(command, driveName, flags);
    });
}

async function restore(command: Command, driveName: string, flags: RestoreFlags): Promise<number> {
  const config = await loadConfigOrExit(configFileOf(command));
  const drive = findDrive(config, driveName);
  if (flags.path && !flags.path.startsWith('/')) throw new UserError(`--path needs an absolute path as it was backed up, got ${flags.path}`, EXIT.usage);
  const { openVerifiedRepository } = await import('../repo/verify-drive.js');
  const { planRestore } = await import('../restore/plan.js');
  let plan: RestorePlan;
  try {
    const { repo } = await openVerifiedRepository(config, drive);
    try {
      plan = await planRestore(config, repo, {
        snapshot: flags.snapshot,
        states: flags.state,
        path: flags.path,
        to: flags.to ? path.resolve(flags.to) : undefined,
        keep: flags.keep,
      });
    } finally {
      await repo.close();
    }
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.failed);
  }
  process.stdout.write(describePlan(plan));
  if (flags.dryRun) return dryRun(config, plan);
  if (!(await confirmed(flags.yes ?? false))) return EXIT.usage;

  const { runRestore } = await import('../restore/restore-job.js');
  const { JobLog } = await import('../job/job-log.js');
  const terminal = await jobConsole();
  const log = new JobLog(terminal.sink, 'info', { drive: drive.name }).logger;
  const result = await runRestore({ config, drive, plan, log });
  for (const k of result.keptAside) process.stdout.write(`kept ${k.path} as it was before: ${k.keptAs}\n`);
  if (!result.ok) {
    process.stderr.write(`plugback: restore failed at ${result.failedStep}: ${result.error}\n`);
    for (const u of result.undoErrors) process.stderr.write(`plugback: clean-up failed: ${u}\n`);
    return EXIT.failed;
  }
  process.stdout.write(`restored ${plan.items.length} ${plan.items.length === 1 ? 'item' : 'items'} from snapshot ${plan.snapshot.name}\n`);
  return result.warnings.length > 0 ? EXIT.warnings : EXIT.ok;
}

function describePlan(plan: RestorePlan): string {
  const lines = [`restore from snapshot ${plan.snapshot.name}:`];
  for (const item of plan.items) {
    lines.push(`  ${item.original} (state ${item.state})${item.to === item.original ? '' : ` -> ${item.to}`}`);
  }
  lines.push(plan.keep ? '  existing data is set aside first (<path>.plugback-before-restore-<time>)' : '  existing data is overwritten in place (--no-keep)');
  return `${lines.join('\n')}\n`;
}

async function dryRun(config: Config, plan: RestorePlan): Promise<number> {
  const { previewItem } = await import('../restore/dry-run.js');
  for (const item of plan.items) {
    const changes = await previewItem(config, item);
    process.stdout.write(`${item.to}: ${changes.created.length} to create, ${changes.changed.length} to change, ${changes.deleted.length} to delete\n`);
    for (const [label, names] of [['create', changes.created], ['change', changes.changed], ['delete', changes.deleted]] as const) {
      for (const name of names.slice(0, 50)) process.stdout.write(`  ${label} ${name}\n`);
      if (names.length > 50) process.stdout.write(`  ... and ${names.length - 50} more to ${label}\n`);
    }
  }
  process.stdout.write('dry run: nothing was changed\n');
  return EXIT.ok;
}

/** A restore overwrites data: on a terminal it asks; elsewhere it needs --yes. */
async function confirmed(yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new UserError('restore changes files and stdin is not a terminal, so it cannot ask: add --yes (or --dry-run to see the plan)', EXIT.usage);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question('Restore now? [y/N] ');
  rl.close();
  if (/^y(es)?$/i.test(answer.trim())) return true;
  process.stdout.write('nothing was changed\n');
  return false;
}
