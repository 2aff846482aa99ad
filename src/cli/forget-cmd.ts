// `plugback forget DRIVE SNAPSHOT [--json]`: deletes one complete snapshot of this host, under the repository lock,
// never the newest. Local, like `plugback run` and `archive`: the lock is what keeps it apart from the daemon's jobs.
import type { Command } from 'commander';
import { statfs } from 'node:fs/promises';
import { commandHint } from '../config/defaults.js';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { formatBytes } from '../config/units.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import { JSON_FORMAT } from './job-output.js';
import { openOwnRepository } from './own-repository.js';

export function registerForget(program: Command): void {
  program
    .command('forget')
    .description('delete one snapshot of this host from a drive, to free room; never the newest')
    .argument('<drive>', 'the name of a drive in the config')
    .argument('<snapshot>', 'the snapshot to delete, by its name in `plugback snapshots DRIVE`, e.g. 2026-11-22T031513Z')
    .option('--json', 'print JSON instead of a sentence (docs/json.md)')
    .addHelpText(
      'after',
      `
The snapshot is renamed to SNAPSHOT.deleting first, then removed without following any link in it,
so an interruption never leaves a damaged snapshot (the next prune removes the rest). Files that
other snapshots share through hard links stay in those; only what no other snapshot holds frees room.
The newest complete snapshot is refused: the next backup builds on it and it is the last good copy.
It takes the repository lock (backup.lockFile) without waiting: while a backup, restore or archive
holds it, it exits 75 and deletes nothing.

Which ones to choose: plugback prune DRIVE --dry-run shows what retention removes at the next backup.

Examples:
  plugback snapshots offsite-a
  plugback forget offsite-a 2026-11-22T031513Z`,
    )
    .action(async (driveName: string, snapshot: string, flags: { json?: boolean }, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const drive = findDrive(config, driveName);
      const { takeLockNow } = await import('./cli-lock.js');
      const lock = await takeLockNow(config, { what: 'delete-snapshot', drive: drive.name }, 'nothing was deleted');
      try {
        const { recallSnapshot } = await import('../repo/host-memory.js');
        const { ForgetRefused, forgetSnapshot } = await import('../repo/forget.js');
        const { memory } = await recallSnapshot(config.stateDir, drive.name);
        const { repo } = await openOwnRepository(config, drive);
        const done = await forgetSnapshot(repo, snapshot, memory?.snapshot)
          .catch((error: Error) => {
            const list = commandHint(config.file, `snapshots ${drive.name}`);
            if (error instanceof ForgetRefused) throw new UserError(`drive "${drive.name}": ${error.message}${error.reason === 'unknown' ? `; see ${list}` : ''}`, EXIT.failed);
            throw new UserError(`deleting snapshot ${snapshot} from drive "${drive.name}" failed: ${error.message}`, EXIT.failed);
          })
          .finally(() => repo.close());
        const freeBytes = await recordInLedger(config, drive, done.left.length);
        if (flags.json) {
          const doc = { format: JSON_FORMAT, drive: drive.name, host: config.host, snapshot, left: done.left, newest: done.newest ?? null, freeBytes: freeBytes ?? null };
          process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
          return;
        }
        const free = freeBytes === undefined ? '' : `; ${formatBytes(freeBytes)} free on the drive`;
        process.stdout.write(`deleted snapshot ${snapshot} of host ${config.host} from drive "${drive.name}"; ${done.left.length} left, the newest ${done.newest}${free}\n`);
      } finally {
        await lock.release();
      }
    });
}

/**
 * The drive's free space now, also written into its ledger record (what `plugback drives` and the metrics show),
 * with the snapshot count; a ledger that cannot be written is only a note: the snapshot is deleted all the same.
 */
async function recordInLedger(config: Config, drive: Drive, snapshotCount: number): Promise<number | undefined> {
  const freeBytes = await statfs(driveRoot(drive)).then((s) => s.bavail * s.bsize, () => undefined);
  const { updateLedger } = await import('../notify/ledger.js');
  await updateLedger(config.stateDir, (ledger) => {
    const record = Object.hasOwn(ledger, drive.name) ? ledger[drive.name] : undefined;
    if (!record) return;
    record.snapshotCount = snapshotCount;
    if (freeBytes !== undefined) record.freeBytes = freeBytes;
  }).catch((error: Error) => process.stderr.write(`plugback: could not update this machine's record of drive "${drive.name}" (${error.message}); the next backup does\n`));
  return freeBytes;
}
