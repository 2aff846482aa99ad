// check-target: the drive is really there and really the drive the config means; then the repository is opened.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { driveRoot } from '../../config/model.js';
import { readIdentity } from '../../repo/identity.js';
import { knownDriveId, rememberDrive } from '../../repo/known-drives.js';
import { INCOMPLETE_SUFFIX, snapshotName } from '../../repo/layout.js';
import { ensureRepoFolders, listSnapshots } from '../../repo/snapshots.js';
import { probeFsFeatures } from '../../system/fs-features.js';
import { mountAt } from '../../system/mounts.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const checkTarget: Step<BackupContext> = {
  name: 'check-target',
  async run(ctx) {
    await checkMounted(ctx);
    await checkIdentity(ctx);
    await ensureRepoFolders(ctx.paths);
    ctx.features = await probeFsFeatures(ctx.paths.snapshots);
    for (const note of ctx.features.notes) ctx.warn(note);
    const listing = await listSnapshots(ctx.paths, true);
    ctx.previous = listing.complete.at(-1);
    ctx.snapshotName = await freeSnapshotName(ctx);
    ctx.runLog.attachFile(path.join(ctx.paths.logs, `${ctx.snapshotName}.log`));
    ctx.log.info(
      { target: ctx.paths.root, previous: ctx.previous?.name, snapshot: ctx.snapshotName },
      `drive "${ctx.drive.name}" checked: ${ctx.previous ? `previous snapshot ${ctx.previous.name}` : 'first snapshot'}`,
    );
  },
};

async function checkMounted(ctx: BackupContext): Promise<void> {
  const root = driveRoot(ctx.drive);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new Error(`${root} does not exist or is not a directory: drive "${ctx.drive.name}" is not there`);
  }
  if (ctx.drive.kind === 'luks' && !(await mountAt(root))) {
    throw new Error(
      `${root} is not a mount point, so drive "${ctx.drive.name}" is not mounted there; plugback never writes into ` +
        `a folder that should hold a mounted drive (it would fill the disk underneath). Mount /dev/mapper/${ctx.drive.cryptName} at ${root} first.`,
    );
  }
}

async function checkIdentity(ctx: BackupContext): Promise<void> {
  const { drive, paths } = ctx;
  const identity = await readIdentity(paths);
  if (!identity) {
    throw new Error(
      `${paths.root} carries no plugback identity (${paths.identity}), so it is not known to be drive "${drive.name}". ` +
        `If it is a new drive for plugback, run: plugback drive adopt ${drive.name}`,
    );
  }
  if (identity.name !== drive.name) {
    throw new Error(
      `${paths.root} is drive "${identity.name}" (id ${identity.id}), not "${drive.name}": check which drive is plugged in, or the config`,
    );
  }
  const known = await knownDriveId(ctx.config.stateDir, drive.name);
  if (known && known !== identity.id) {
    throw new Error(
      `${paths.root} says it is drive "${drive.name}" but has id ${identity.id}, while this machine adopted "${drive.name}" with id ${known}. ` +
        `Two drives carry the same name; if this one replaces the old one, run: plugback drive adopt ${drive.name} --force`,
    );
  }
  if (!known) await rememberDrive(ctx.config.stateDir, drive.name, identity.id);
  ctx.identity = identity;
}

/** The run's start time as a snapshot name; if a snapshot of that second exists, the next second. */
async function freeSnapshotName(ctx: BackupContext): Promise<string> {
  for (;;) {
    const name = snapshotName(new Date());
    const taken = await Promise.all(
      [name, `${name}${INCOMPLETE_SUFFIX}`].map((n) => stat(path.join(ctx.paths.snapshots, n)).then(() => true, () => false)),
    );
    if (!taken.includes(true)) return name;
    await sleep(1000 - (Date.now() % 1000) + 5);
  }
}
