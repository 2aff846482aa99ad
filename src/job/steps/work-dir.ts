// Where a run copies to: the newest interrupted run's .incomplete folder (so a resumed run copies only what is
// missing), or a new one (on a btrfs drive, a writable snapshot of the previous one). A resumed folder is drive input like any other: its state folders must be real
// directories on the drive; one that is not (a planted link) is not resumed, and a fresh folder is started.
import type { DriveDir } from '../../repo/drive-dir.js';
import { INCOMPLETE_SUFFIX } from '../../repo/layout.js';
import type { Repository } from '../../repo/repository.js';
import type { BackupContext } from '../context.js';

/** Opens (or creates) the run's .incomplete folder; sets ctx.workDir, ctx.workName and ctx.resumedFrom. */
export async function openWorkDir(ctx: BackupContext, repo: Repository): Promise<DriveDir> {
  const { incomplete } = await repo.list();
  for (const name of [...incomplete].reverse()) {
    const resumed = await tryResume(ctx, repo, name);
    if (resumed) return resumed;
  }
  const name = `${ctx.snapshotName as string}${INCOMPLETE_SUFFIX}`;
  const dir = await repo.createIncomplete(ctx.snapshotName as string, ctx.previous?.name);
  // A btrfs snapshot starts as the previous one: its record and any state dropped since must not carry over.
  await removeUnwanted(ctx, dir);
  ctx.workName = name;
  ctx.workDir = dir.path;
  return dir;
}

/** Removes everything but the configured states' folders (a state dropped from the config must not reappear). */
async function removeUnwanted(ctx: BackupContext, dir: DriveDir): Promise<void> {
  const wanted = new Set(ctx.config.states.map((s) => s.name));
  for (const entry of await dir.entries()) {
    if (!wanted.has(entry.name)) await dir.removeTree(entry.name);
  }
}

/** The interrupted run `name`, cleaned of states dropped from the config; undefined when it cannot be trusted. */
async function tryResume(ctx: BackupContext, repo: Repository, name: string): Promise<DriveDir | undefined> {
  let dir: DriveDir;
  try {
    dir = await repo.openSnapshot(name);
  } catch (error) {
    ctx.warn(`not continuing the interrupted snapshot ${name}: ${(error as Error).message}`);
    return undefined;
  }
  const wanted = new Set(ctx.config.states.map((s) => s.name));
  const entries = await dir.entries();
  const odd = entries.filter((e) => wanted.has(e.name) && e.kind !== 'dir');
  if (odd.length > 0) {
    await dir.close();
    ctx.warn(
      `not continuing the interrupted snapshot ${name}: ${odd.map((e) => dir.show(e.name)).join(', ')} should be a state folder but is a ${odd[0]?.kind}; ` +
        `a new snapshot is started, and the old folder is deleted (without following anything in it) once this one is complete`,
    );
    return undefined;
  }
  try {
    await repo.reopenIncomplete(dir, name);
    await removeUnwanted(ctx, dir);
  } catch (error) {
    await dir.close();
    throw error;
  }
  ctx.resumedFrom = name.slice(0, -INCOMPLETE_SUFFIX.length);
  ctx.workName = name;
  ctx.workDir = dir.path;
  ctx.log.info({ workDir: ctx.workDir }, `resuming the interrupted snapshot ${name}`);
  return dir;
}
