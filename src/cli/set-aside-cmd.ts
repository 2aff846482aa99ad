// `plugback set-aside list|remove`: the copies restores in place set aside (<path>.plugback-before-restore-<time>)
// pile up; list them, and remove those older than a given age (or all), under the repository lock.
import { Option, type Command } from 'commander';
import { configFileOf, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import { takeCliLock } from './cli-lock.js';

interface Flags {
  olderThan?: string;
  all?: boolean;
  dryRun?: boolean;
}

export function registerSetAside(program: Command): void {
  const setAside = program
    .command('set-aside')
    .description('list or remove the copies a restore set aside (<path>.plugback-before-restore-<time>) in the config\'s folders');
  setAside
    .command('list', { isDefault: true })
    .description('list the set-aside copies beside and inside every folder of the config, oldest first')
    .addOption(new Option('--older-than <duration>', 'only those set aside longer ago than this (30d, 2w, 12h)'))
    .action(async (flags: Flags, command: Command) => {
      const found = await collect(command, flags);
      if (found.length === 0) {
        process.stdout.write(`no set-aside copies${flags.olderThan ? ` older than ${flags.olderThan}` : ''} in the config's folders\n`);
        return;
      }
      const now = Date.now();
      const { formatDuration } = await import('../config/units.js');
      for (const f of found) process.stdout.write(`${f.path}  (${f.kind === 'dir' ? 'folder' : f.kind}, set aside ${formatDuration(now - f.time.getTime())} ago)\n`);
      process.stdout.write(`${found.length} set-aside ${found.length === 1 ? 'copy' : 'copies'}; remove with: plugback set-aside remove --older-than DURATION (or --all)\n`);
    });
  setAside
    .command('remove')
    .description('remove set-aside copies: those older than --older-than, or --all')
    .addOption(new Option('--older-than <duration>', 'remove those set aside longer ago than this (30d, 2w, 12h)').conflicts('all'))
    .option('--all', 'remove every set-aside copy')
    .option('--dry-run', 'say what would be removed, remove nothing')
    .addHelpText(
      'after',
      `
Only entries named exactly <name>.plugback-before-restore-<YYYY-MM-DDTHHMMSSZ>[-N] are touched, beside and
inside the folders of the config's states; links are never followed (a set-aside link is removed itself),
and other file systems mounted inside a folder are left alone. The repository lock is held meanwhile, so a
running restore's own set-aside copy (its way back) is never removed under it.

Examples:
  plugback set-aside list
  plugback set-aside remove --older-than 30d --dry-run
  plugback set-aside remove --all`,
    )
    .action(async (flags: Flags, command: Command) => {
      if (!flags.olderThan && !flags.all) throw new UserError('set-aside remove: say which: --older-than DURATION (such as 30d) or --all', EXIT.usage);
      await remove(command, flags);
    });
}

async function configFolders(command: Command) {
  const config = await loadConfigOrExit(configFileOf(command));
  return { config, folders: config.states.flatMap((s) => s.folders) };
}

/** The minimum age in ms for --older-than, or 0. */
async function minAge(flags: Flags): Promise<number> {
  if (!flags.olderThan) return 0;
  const { parseDuration } = await import('../config/units.js');
  const ms = parseDuration(flags.olderThan);
  if (ms === undefined) throw new UserError(`--older-than ${flags.olderThan}: expected a duration such as 30d, 2w or 12h`, EXIT.usage);
  return ms;
}

async function collect(command: Command, flags: Flags) {
  const age = await minAge(flags);
  const { folders: list } = await configFolders(command);
  const { forEachSetAside } = await import('../restore/set-aside.js');
  const found: import('../restore/set-aside.js').SetAside[] = [];
  const now = Date.now();
  await forEachSetAside(list, async (f) => {
    if (now - f.time.getTime() >= age) found.push(f);
  });
  return found.sort((a, b) => a.time.getTime() - b.time.getTime() || a.path.localeCompare(b.path));
}

async function remove(command: Command, flags: Flags): Promise<void> {
  const age = flags.all ? 0 : await minAge(flags);
  const { config, folders: list } = await configFolders(command);
  const { forEachSetAside } = await import('../restore/set-aside.js');
  const lock = flags.dryRun ? undefined : await takeCliLock(config, { what: 'restore' }, new AbortController().signal);
  const now = Date.now();
  let removed = 0;
  const failed: string[] = [];
  try {
    await forEachSetAside(list, async (f, parent) => {
      if (now - f.time.getTime() < age) return;
      if (flags.dryRun) {
        process.stdout.write(`would remove ${f.path}\n`);
        removed++;
        return;
      }
      try {
        await parent.removeTree(f.name);
        process.stdout.write(`removed ${f.path}\n`);
        removed++;
      } catch (error) {
        failed.push(`${f.path}: ${(error as Error).message}`);
      }
    });
  } finally {
    await lock?.release();
  }
  process.stdout.write(`${flags.dryRun ? 'would remove' : 'removed'} ${removed} set-aside ${removed === 1 ? 'copy' : 'copies'}\n`);
  if (failed.length > 0) throw new UserError(`could not remove:\n${failed.join('\n')}`, EXIT.failed);
}
