// lock / release-lock: the repository lock around the copy, so nothing else writes to the source meanwhile.
import type { Logger } from 'pino';
import type { Config, Drive } from '../../config/model.js';
import { acquireLock, type HeldLock, type LockPurpose } from '../../system/flock.js';
import { describeHolder } from '../../system/lock-file.js';
import type { JobEvent } from '../events.js';
import type { Step, StepContext } from '../runner.js';

/** What the lock steps need; backups and restores both take the lock. */
export interface LockingContext extends StepContext {
  readonly config: Config;
  readonly drive: Drive;
  readonly log: Logger;
  /** Recorded in the lock file; 'backup' when not given. */
  readonly lockPurpose?: LockPurpose;
  /** The lock as the caller already asked for it (plugback run, to refuse a second run at once): taken, not asked again. */
  readonly takenLock?: Promise<HeldLock>;
  emit(event: JobEvent): void;
  lock?: HeldLock;
}

export const takeLock: Step<LockingContext> = {
  name: 'lock',
  async run(ctx) {
    if (ctx.takenLock) {
      ctx.lock = await ctx.takenLock;
      return;
    }
    const file = ctx.config.backup.lockFile;
    ctx.lock = await acquireLock(file, {
      waitMs: ctx.config.backup.lockWait,
      signal: ctx.signal,
      owner: { what: ctx.lockPurpose ?? 'backup', drive: ctx.drive.name },
      onWait: (holders) => {
        ctx.log.warn({ file, holders }, `waiting for the lock ${file}, held by ${holders.map(describeHolder).join(', ') || 'another process'}`);
        ctx.emit({ type: 'waiting-for-lock', file, holders });
      },
    });
  },
  async undo(ctx) {
    await ctx.lock?.release();
  },
};

export const releaseLock: Step<LockingContext> = {
  name: 'release-lock',
  closes: 'lock',
  async run(ctx) {
    await ctx.lock?.release();
  },
};
