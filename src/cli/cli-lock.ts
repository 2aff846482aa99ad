// The repository lock as the one-shot commands take it (plugback run, plugback archive): wait up to
// backup.lockWait, and say on stderr who holds it while waiting.
import type { Config } from '../config/model.js';
import { acquireLock, type HeldLock, type LockOwner } from '../system/flock.js';
import { describeHolder } from '../system/lock-file.js';

export function takeCliLock(config: Config, owner: LockOwner, signal: AbortSignal): Promise<HeldLock> {
  const file = config.backup.lockFile;
  return acquireLock(file, {
    waitMs: config.backup.lockWait,
    signal,
    owner,
    onWait: (holders) => {
      const who = holders.map(describeHolder).join(', ') || 'another process';
      process.stderr.write(`plugback: waiting for the lock ${file}, held by ${who} (up to ${Math.round(config.backup.lockWait / 1000)}s, backup.lockWait)\n`);
    },
  });
}
