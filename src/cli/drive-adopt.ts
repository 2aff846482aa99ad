// `plugback drive adopt NAME`: marks a target as drive NAME, so runs can tell it from any other disk.
import { stat } from 'node:fs/promises';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { readIdentity, writeIdentity, type DriveIdentity } from '../repo/identity.js';
import { knownDriveId, rememberDrive } from '../repo/known-drives.js';
import { DriveDir } from '../repo/drive-dir.js';
import { mountAt } from '../system/mounts.js';
import { UserError } from './common.js';

/** Adopts the drive's target; returns the identity now on it. Only the config's stateDir is used (prepare has no entry yet). */
export async function adoptDrive(config: Pick<Config, 'stateDir'>, drive: Drive, force: boolean): Promise<DriveIdentity> {
  const root = driveRoot(drive);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError(
      `${root} does not exist; create it first (mkdir -p ${root}). plugback does not create a missing target, which usually means a disk that is not mounted.`,
      1,
    );
  }
  if (drive.kind === 'luks' && !(await mountAt(root))) {
    throw new UserError(`${root} is not a mount point: open drive "${drive.name}" first ("plugback open ${drive.name} --rw")`, 1);
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

async function adoptInto(config: Pick<Config, 'stateDir'>, drive: Drive, base: DriveDir, force: boolean): Promise<DriveIdentity> {
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
