// Is the drive really there, and really the drive the config means? Shared by backups and restores.
import { stat } from 'node:fs/promises';
import { commandHint } from '../config/defaults.js';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { mountAt } from '../system/mounts.js';
import { readIdentity, type DriveIdentity } from './identity.js';
import { knownDriveId, rememberDrive } from './known-drives.js';
import type { RepoPaths } from './layout.js';

/** Checks the target is in place (a mount point for a LUKS drive) and carries the right identity; returns it. */
export async function verifyDrive(config: Config, drive: Drive, paths: RepoPaths): Promise<DriveIdentity> {
  await checkInPlace(drive);
  const identity = await readIdentity(paths);
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
      `${root} is not a mount point, so drive "${drive.name}" is not mounted there; plugback never writes into ` +
        `a folder that should hold a mounted drive (it would fill the disk underneath). Mount /dev/mapper/${drive.cryptName} at ${root} first.`,
    );
  }
}
