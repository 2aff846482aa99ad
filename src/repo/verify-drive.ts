// Is the drive really there, and really the drive the config means? Shared by backups and restores.
import { stat } from 'node:fs/promises';
import { commandHint } from '../config/defaults.js';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { mountAt } from '../system/mounts.js';
import { readIdentity, type DriveIdentity } from './identity.js';
import { knownDriveId, rememberDrive } from './known-drives.js';
import { Repository } from './repository.js';

/** Opens the repository of a drive that is in place and carries the right identity (closed again when it does not). */
export async function openVerifiedRepository(config: Config, drive: Drive): Promise<{ repo: Repository; identity: DriveIdentity }> {
  await checkInPlace(drive);
  const repo = await Repository.open(driveRoot(drive), config.host);
  try {
    return { repo, identity: await verifyDrive(config, drive, repo) };
  } catch (error) {
    await repo.close();
    throw error;
  }
}

/** Checks the opened drive carries the right identity, and that this machine knows that identity; returns it. */
async function verifyDrive(config: Config, drive: Drive, repo: Repository): Promise<DriveIdentity> {
  const paths = repo.paths;
  const identity = repo.base ? await readIdentity(repo.base) : undefined;
  if (!identity) {
    throw new Error(
      `${paths.root} carries no plugback identity (${paths.identity}), so it is not known to be drive "${drive.name}". ` +
        `If it is a new drive for plugback, run: ${commandHint(config.file, `drive adopt ${drive.name}`)}`,
    );
  }
  if (identity.name !== drive.name) {
    throw new Error(
      `${paths.root} is drive "${identity.name}" (id ${identity.id}), not "${drive.name}": check which drive is plugged in, or the config`,
    );
  }
  const known = await knownDriveId(config.stateDir, drive.name);
  if (known && known !== identity.id) {
    throw new Error(
      `${paths.root} says it is drive "${drive.name}" but has id ${identity.id}, while this machine adopted "${drive.name}" with id ${known}. ` +
        `Two drives carry the same name; if this one replaces the old one, run: ${commandHint(config.file, `drive adopt ${drive.name} --force`)}`,
    );
  }
  if (!known) await rememberDrive(config.stateDir, drive.name, identity.id);
  return identity;
}

async function checkInPlace(drive: Drive): Promise<void> {
  const root = driveRoot(drive);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new Error(`${root} does not exist or is not a directory: drive "${drive.name}" is not there`);
  }
  if (drive.kind === 'luks' && !(await mountAt(root))) {
    throw new Error(
      `drive "${drive.name}" is not open: ${root} is not a mount point. Run "plugback open ${drive.name}" (it unlocks and mounts ` +
        `the drive read-only; --rw to write to it), then try again. plugback never writes into a folder that should hold a ` +
        `mounted drive (it would fill the disk underneath)`);
  }
}
