// complete: the copy becomes a snapshot: record written, flushed to disk, renamed, and pointed to by `latest`.
import { completeSnapshot, type SnapshotRecord } from '../../repo/snapshots.js';
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
    await completeSnapshot(ctx.paths, ctx.workDir as string, record);
    ctx.snapshot = name;
    ctx.workDir = undefined;
    ctx.log.info({ snapshot: name }, `snapshot ${name} is complete`);
  },
};
