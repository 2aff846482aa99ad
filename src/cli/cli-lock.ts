// The repository lock as the one-shot commands take it (plugback run, plugback archive): wait up to
// backup.lockWait, and say on stderr who holds it while waiting.
import type { Config } from '../config/model.js';
import { acquireLock, LockTimeoutError, type HeldLock, type LockOwner } from '../system/flock.js';
import { describeHolder } from '../system/lock-file.js';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

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

/**
 * The lock without waiting (forget, check): while a backup, restore or archive holds it, exit 75 with a sentence
 * naming the holder and saying `nothingDone` ("nothing was deleted"); any other failure exits `failedExit`.
 */
export async function takeLockNow(config: Config, owner: LockOwner, nothingDone: string, failedExit: number = EXIT.failed): Promise<HeldLock> {
  return acquireLock(config.backup.lockFile, { waitMs: 0, owner }).catch((error: Error) => {
    if (!(error instanceof LockTimeoutError)) throw new UserError(error.message, failedExit);
    const who = error.holders.map(describeHolder).join(', ') || 'another process';
    throw new UserError(`not now: the repository lock ${error.file} is held by ${who}; ${nothingDone}. Try again when that is done.`, EXIT.busy);
  });
}
