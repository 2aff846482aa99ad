// check-source: every folder of every state is there, readable, and does not look like an empty mount point.
// The size comparison with the last snapshot comes later (check-shrink), from rsync's own count of the source.
// What "had files" and "was on its own mount" mean comes from this machine's memory and from the drive, per
// folder; whichever is more careful wins, so a damaged or forged record on the drive cannot switch the check off.
import { access, constants, opendir, stat } from 'node:fs/promises';
import { stateMemory } from '../../repo/host-memory.js';
import { withRepository } from '../../repo/repository.js';
import type { SourceMount } from '../../repo/snapshot-record.js';
import { mountOf } from '../../system/mounts.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const checkSource: Step<BackupContext> = {
  name: 'check-source',
  async run(ctx) {
    const problems: string[] = [];
    for (const state of ctx.config.states) {
      for (const folder of state.folders) {
        const problem = await folderProblem(folder);
        if (problem) problems.push(`state "${state.name}": ${problem}`);
        else if (!ctx.options.allowShrink) {
          const before = await folderBefore(ctx, state.name, folder);
          const missing = await looksMissing(folder, before.mounts, before.hadEntries);
          if (missing) problems.push(`state "${state.name}": ${missing}`);
        }
      }
    }
    if (problems.length > 0) {
      const hint = problems.some((p) => p.includes('is its disk mounted?'))
        ? ` If the folder really is empty or moved on purpose, run once with --allow-shrink.`
        : '';
      throw new Error(`the source is not all there, so nothing was copied: ${problems.join('; ')}${hint}`);
    }
  },
};

/** What the last snapshot tells of a folder: the mounts that held it and whether it held anything, by either witness. */
async function folderBefore(ctx: BackupContext, state: string, folder: string): Promise<{ mounts: SourceMount[]; hadEntries: () => Promise<boolean> }> {
  const remembered = stateMemory(ctx.memory, state)?.folders;
  const mine = remembered && Object.hasOwn(remembered, folder) ? remembered[folder] : undefined;
  const record = ctx.previous?.record?.states;
  const recorded = record && Object.hasOwn(record, state) ? record[state]?.mounts : undefined;
  const mounts = [mine?.mount, recorded && Object.hasOwn(recorded, folder) ? recorded[folder] : undefined].filter((m): m is SourceMount => !!m);
  const previous = ctx.previous?.name;
  const hadEntries = async () => {
    if (mine?.hadEntries === true) return true;
    if (!previous) return false;
    // The previous snapshot's own copy of the folder, looked at without following anything on the drive; a copy
    // that cannot be looked at counts as full (more careful, never less).
    return withRepository(ctx.paths.root, ctx.config.host, (repo) => repo.folderHasEntries(previous, state, folder)).then(
      (has) => has === true,
      () => true,
    );
  };
  return { mounts, hadEntries };
}

/** Why a folder can't be read, or undefined when it can. */
async function folderProblem(folder: string): Promise<string | undefined> {
  const info = await stat(folder).catch((e: NodeJS.ErrnoException) => e);
  if (info instanceof Error) return info.code === 'ENOENT' ? `${folder} does not exist` : `${folder} cannot be read (${info.code})`;
  if (!info.isDirectory()) return `${folder} is not a directory`;
  try {
    await access(folder, constants.R_OK | constants.X_OK);
  } catch {
    return `${folder} is not readable by this user`;
  }
  return undefined;
}

/** Signs that a folder's disk is not mounted: it was on its own mount and is not now, or it had entries and is empty. */
async function looksMissing(folder: string, mounts: SourceMount[], hadFiles: () => Promise<boolean>): Promise<string | undefined> {
  const now = await sourceMount(folder);
  const before = mounts.find((b) => now && b.mountPoint !== now.mountPoint && b.mountPoint.startsWith(now.mountPoint));
  if (before && now) {
    return `${folder} was on ${before.fsType} ${before.source} mounted at ${before.mountPoint} at the last snapshot, and now lies on the file system of ${now.mountPoint}: is its disk mounted?`;
  }
  if ((await isEmpty(folder)) && (await hadFiles())) return `${folder} is empty but had files at the last snapshot: is its disk mounted?`;
  return undefined;
}

/** The mount that holds a folder, recorded with each snapshot. */
export async function sourceMount(folder: string): Promise<SourceMount | undefined> {
  const m = await mountOf(folder);
  return m && { mountPoint: m.mountPoint, fsType: m.fsType, source: m.source };
}

async function isEmpty(folder: string): Promise<boolean> {
  const dir = await opendir(folder);
  try {
    return (await dir.read()) === null;
  } finally {
    await dir.close().catch(() => undefined);
  }
}
