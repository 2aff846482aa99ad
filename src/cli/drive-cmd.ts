// `plugback drive adopt NAME`: marks a target as drive NAME, so runs can tell it from any other disk.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { readIdentity, writeIdentity, type DriveIdentity } from '../repo/identity.js';
import { knownDriveId, rememberDrive } from '../repo/known-drives.js';
import { DriveDir } from '../repo/drive-dir.js';
import { mountAt } from '../system/mounts.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';

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

/** Adopts the drive's target; returns the identity now on it. */
export async function adoptDrive(config: Config, drive: Drive, force: boolean): Promise<DriveIdentity> {
  const root = driveRoot(drive);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError(
      `${root} does not exist; create it first (mkdir -p ${root}). plugback does not create a missing target, which usually means a disk that is not mounted.`,
      1,
    );
  }
  if (drive.kind === 'luks' && !(await mountAt(root))) {
    throw new UserError(`${root} is not a mount point: unlock drive "${drive.name}" and mount /dev/mapper/${drive.cryptName} there first`, 1);
  }
  const rootDir = await DriveDir.openRoot(root);
  try {
    const base = await rootDir.ensureDir('plugback').catch((error: Error) => {
      throw new UserError(error.message, 1);
    });
    try {
      return await adoptInto(config, drive, base, force);
    } finally {
      await base.close();
    }
  } finally {
    await rootDir.close();
  }
}

async function adoptInto(config: Config, drive: Drive, base: DriveDir, force: boolean): Promise<DriveIdentity> {
  const root = driveRoot(drive);
  const existing = await readIdentity(base).catch((error: Error) => {
    if (force) return undefined; // a damaged identity is what --force is for
    throw new UserError(error.message, 1);
  });
  if (existing?.name === drive.name && !force) {
    const known = await knownDriveId(config.stateDir, drive.name);
    if (known && known !== existing.id) {
      throw new UserError(
        `${root} is drive "${drive.name}" with id ${existing.id}, but this machine adopted "${drive.name}" with id ${known}; ` +
          `to make this drive the one it knows, run again with --force (it gets a new id)`,
        1,
      );
    }
    await rememberDrive(config.stateDir, drive.name, existing.id);
    return existing;
  }
  if (existing && !force) {
    throw new UserError(`${root} is already drive "${existing.name}" (id ${existing.id}); to make it "${drive.name}", run again with --force`, 1);
  }
  const identity = await writeIdentity(base, drive.name);
  await rememberDrive(config.stateDir, drive.name, identity.id);
  return identity;
}
