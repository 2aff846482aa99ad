// check-source: every folder of every state is there, readable, and does not look like an empty mount point.
// The size comparison with the last snapshot comes later (check-shrink), from rsync's own count of the source.
import { access, constants, opendir, stat } from 'node:fs/promises';
import type { SourceMount } from '../../repo/snapshots.js';
import { mountOf } from '../../system/mounts.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const checkSource: Step<BackupContext> = {
  name: 'check-source',
  async run(ctx) {
    const problems: string[] = [];
    for (const state of ctx.config.states) {
      const before = ctx.previous?.record?.states[state.name];
      for (const folder of state.folders) {
        const problem = await folderProblem(folder);
        if (problem) problems.push(`state "${state.name}": ${problem}`);
        else if (!ctx.options.allowShrink) {
          const missing = await looksMissing(folder, before?.mounts?.[folder], (before?.files ?? 0) > 0);
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

/** Signs that a folder's disk is not mounted: it was on its own mount and is not now, or it was full and is empty. */
async function looksMissing(folder: string, before: SourceMount | undefined, hadFiles: boolean): Promise<string | undefined> {
  const now = await sourceMount(folder);
  if (before && now && before.mountPoint !== now.mountPoint && before.mountPoint.startsWith(now.mountPoint)) {
    return `${folder} was on ${before.fsType} ${before.source} mounted at ${before.mountPoint} at the last snapshot, and now lies on the file system of ${now.mountPoint}: is its disk mounted?`;
  }
  if (hadFiles && (await isEmpty(folder))) return `${folder} is empty but had files at the last snapshot: is its disk mounted?`;
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
