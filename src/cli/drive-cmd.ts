// `plugback drive adopt NAME` and `plugback drive claim NAME`: their options and help; the work is done by
// drive-adopt.ts and drive-claim.ts, loaded when the command runs.
import type { Command } from 'commander';
import { driveRoot } from '../config/model.js';
import { configFileOf, findDrive, loadConfigOrExit } from './common.js';

export function registerDrive(program: Command): void {
  const drive = program.command('drive').description('prepare backup drives');
  drive
    .command('adopt')
    .description('write plugback/drive.json onto the target of drive NAME (empty, or holding data already)')
    .argument('<name>', 'the drive, as named in the config')
    .option('--force', 'replace an identity that names another drive (the drive becomes NAME with a new id)')
    .addHelpText(
      'after',
      `
A LUKS drive must be unlocked and mounted at its mountPoint; a directory target must exist.
Example:
  plugback drive adopt offsite-a`,
    )
    .action(async (name: string, flags: { force?: boolean }, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const { adoptDrive } = await import('./drive-adopt.js');
      const identity = await adoptDrive(config, findDrive(config, name), flags.force ?? false);
      process.stdout.write(`${driveRoot(findDrive(config, name))} is drive "${identity.name}" (id ${identity.id})\n`);
    });
  drive
    .command('claim')
    .description("make this installation the owner of this host's folder on drive NAME (after a reinstall)")
    .argument('<name>', 'the drive, as named in the config')
    .addHelpText(
      'after',
      `
Each plugback installation has its own id (stateDir/installation-id), recorded in
<drive>/plugback/<host>/installation.json the first time it backs up there, and it prunes only
its own snapshots. A run refuses a host folder that belongs to another installation: two
machines with the same host name share the drive. If instead this machine was reinstalled (or
its stateDir lost) and it made those snapshots, claim the folder once. Do not claim the folder
of another machine: give this one its own \`host:\` in the config.
Example:
  plugback drive claim offsite-a`,
    )
    .action(async (name: string, _flags: unknown, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const { claimHostFolder } = await import('./drive-claim.js');
      process.stdout.write(`${await claimHostFolder(config, findDrive(config, name))}\n`);
    });
}
