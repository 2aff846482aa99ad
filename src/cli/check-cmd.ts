// `plugback check DRIVE [--all | --sample N] [--no-scrub] [--json]`: proves the drive gives back what was backed up.
// Options and help here; the work is check-run.ts, loaded when the command runs.
import type { Command } from 'commander';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';

export const DEFAULT_SAMPLE = 200;

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('read files back from a drive and compare them with the checksums recorded when they were backed up')
    .argument('<drive>', 'the name of a drive in the config')
    .option('--all', 'read every file of every snapshot (a file shared with an older snapshot is read once)')
    .option('--sample <n>', `read N files picked at random across all snapshots (default without --all: ${DEFAULT_SAMPLE})`)
    .option('--drill', 'restore the sampled files through plugback restore into a temporary folder, and compare those copies')
    .option('--no-scrub', 'on a btrfs drive, skip `btrfs scrub` (which reads every block of the drive)')
    .option('--json', 'print JSON instead of sentences (docs/json.md)')
    .addHelpText(
      'after',
      `
Each backup records the SHA-256 of every file of its snapshot in the snapshot's checksums.gz;
check reads files back from the drive and compares, so it needs neither the source nor the
network, and finds a file the drive damaged in any snapshot, however old. --drill goes further:
each sampled file is restored by plugback's own restore code into a temporary folder (removed
afterwards) and that copy is compared, which is what a restore on the bad day will do. On a btrfs LUKS drive
it also runs \`btrfs scrub\`, which checks every block against btrfs's own checksums.
The drive must be mounted (a LUKS drive: plugged in and opened). check takes the repository lock
without waiting, so no backup prunes a snapshot while it reads; it writes nothing on the drive.

Examples:
  plugback check offsite-a                 # ${DEFAULT_SAMPLE} files at random: a quick look
  plugback check offsite-a --sample 5000
  plugback check offsite-a --all           # everything: as long as reading the drive takes
  plugback check offsite-a --drill --sample 20   # 20 files through the real restore`,
    )
    .action(async (driveName: string, flags: { all?: boolean; sample?: string; drill?: boolean; scrub: boolean; json?: boolean }, command: Command) => {
      if (flags.all && flags.sample !== undefined) throw new UserError('give --all or --sample N, not both', EXIT.usage);
      if (flags.all && flags.drill) throw new UserError('--drill restores a sample (--sample N), not --all', EXIT.usage);
      const sample = flags.sample === undefined ? DEFAULT_SAMPLE : Number(flags.sample);
      if (!Number.isInteger(sample) || sample < 1) throw new UserError(`--sample wants a whole number of files, at least 1 (got "${flags.sample}")`, EXIT.usage);
      const config = await loadConfigOrExit(configFileOf(command));
      const drive = findDrive(config, driveName);
      const { runCheck } = await import('./check-run.js');
      process.exitCode = await runCheck(config, drive, { all: flags.all ?? false, sample, drill: flags.drill ?? false, scrub: flags.scrub, json: flags.json ?? false });
    });
}
