// lock / release-lock: the repository lock around the copy, so nothing else writes to the source meanwhile.
import { acquireLock } from '../../system/flock.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const takeLock: Step<BackupContext> = {
  name: 'lock',
  async run(ctx) {
    const file = ctx.config.backup.lockFile;
    ctx.lock = await acquireLock(file, {
      waitMs: ctx.config.backup.lockWait,
      signal: ctx.signal,
      onWait: (holders) => {
        ctx.log.warn({ file, holders }, `waiting for the lock ${file}, held by ${holders.map((h) => `PID ${h.pid}`).join(', ') || 'another process'}`);
        ctx.emit({ type: 'waiting-for-lock', file, holders });
      },
    });
  },
  async undo(ctx) {
    await ctx.lock?.release();
  },
};

export const releaseLock: Step<BackupContext> = {
  name: 'release-lock',
  closes: 'lock',
  async run(ctx) {
    await ctx.lock?.release();
  },
};
