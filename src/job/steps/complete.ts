// complete: the copy becomes a snapshot: record written, flushed to disk, renamed, and pointed to by `latest`;
// then this machine remembers it (the baseline of the next run's checks), before anything is pruned.
import { rememberSnapshot, type SnapshotMemory } from '../../repo/host-memory.js';
import { withRepository } from '../../repo/repository.js';
import type { SnapshotRecord } from '../../repo/snapshot-record.js';
import { VERSION } from '../../version.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const complete: Step<BackupContext> = {
  name: 'complete',
  async run(ctx) {
    const name = ctx.snapshotName as string;
    const record: SnapshotRecord = {
      format: 1,
      name,
      host: ctx.config.host,
      installation: ctx.installation,
      drive: ctx.drive.name,
      driveId: ctx.identity?.id ?? '',
      startedAt: ctx.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      plugbackVersion: VERSION,
      ...(ctx.resumedFrom ? { resumedFrom: ctx.resumedFrom } : {}),
      states: ctx.states,
      problems: ctx.problems,
      rsyncExitCodes: ctx.rsyncExitCodes,
    };
    await withRepository(ctx.paths.root, ctx.config.host, (repo) => repo.complete(ctx.workName as string, record));
    ctx.snapshot = name;
    ctx.workDir = undefined;
    ctx.workName = undefined;
    ctx.log.info({ snapshot: name }, `snapshot ${name} is complete`);
    try {
      await rememberSnapshot(ctx.config.stateDir, ctx.drive.name, memoryOf(ctx, record));
    } catch (error) {
      // The snapshot is safe; without the memory the next run leans on the drive's record, so prune waits too.
      ctx.noPruneReason = `this machine could not record snapshot ${name} in its ledger (${(error as Error).message})`;
      ctx.warn(`${ctx.noPruneReason}; nothing is pruned this run`);
    }
  },
};

function memoryOf(ctx: BackupContext, record: SnapshotRecord): SnapshotMemory {
  const states: SnapshotMemory['states'] = {};
  for (const [state, r] of Object.entries(record.states)) {
    const entries = ctx.folderEntries[state] ?? {};
    states[state] = {
      files: r.files,
      bytes: r.bytes,
      folders: Object.fromEntries(r.folders.map((f) => [f, { hadEntries: entries[f] ?? true, mount: r.mounts[f] }])),
    };
  }
  return { snapshot: record.name, completedAt: record.finishedAt, states };
}
