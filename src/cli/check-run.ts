// `plugback check`: opens the drive as backups do (in place, the right identity), under the repository lock,
// compares files with their checksum lists (repo/checksums/check-drive.ts), scrubs a btrfs LUKS drive, and
// prints what it found. Exit 0 clean, 1 damage found, 2 could not check.
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { formatBytes } from '../config/units.js';
import type { Damage } from '../repo/checksums/check.js';
import type { ContentCheck } from '../repo/checksums/check-drive.js';
import { splitKey } from '../repo/checksums/format.js';
import type { Repository } from '../repo/repository.js';
import type { ScrubResult } from '../system/btrfs-scrub.js';
import type { HeldLock } from '../system/flock.js';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import { JSON_FORMAT } from './job-output.js';

export interface CheckOptions {
  all: boolean;
  sample: number;
  drill: boolean;
  scrub: boolean;
  json: boolean;
}

type ScrubOutcome = { ran: true; result: ScrubResult } | { ran: false; why: string };

export async function runCheck(config: Config, drive: Drive, o: CheckOptions): Promise<number> {
  const { takeLockNow } = await import('./cli-lock.js');
  const lock = await takeLockNow(config, { what: 'check', drive: drive.name }, 'nothing was checked', EXIT.usage);
  try {
    const { openVerifiedRepository } = await import('../repo/verify-drive.js');
    const { repo } = await openVerifiedRepository(config, drive).catch((error: Error) => Promise.reject(new UserError(error.message, EXIT.usage)));
    try {
      const checks = await import('../repo/checksums/check-drive.js');
      const progress = (name: string) => !o.json && process.stderr.isTTY && process.stderr.write(`checking snapshot ${name}\n`);
      const content = o.all
        ? await checks.checkAllSnapshots(repo, progress)
        : o.drill
          ? await drill(config, drive, repo, lock, o.sample)
          : await checks.checkSample(repo, o.sample);
      const scrub = await scrubIfBtrfs(drive, (await repo.kind()) === 'btrfs-subvolumes', o.scrub);
      const damaged = content.damage.length > 0 || (scrub.ran && (scrub.result.errors > 0 || scrub.result.uncorrectable > 0));
      process.stdout.write(o.json ? `${JSON.stringify(checkDocument(config, drive, content, scrub, damaged), null, 2)}\n` : describe(drive, content, scrub, damaged));
      return damaged ? EXIT.failed : EXIT.ok;
    } finally {
      await repo.close();
    }
  } finally {
    await lock.release();
  }
}

async function drill(config: Config, drive: Drive, repo: Repository, lock: HeldLock, count: number): Promise<ContentCheck> {
  const { restoreDrill } = await import('../restore/drill.js');
  const { pino } = await import('pino');
  return restoreDrill(config, drive, repo, lock, count, pino({ level: 'silent' }));
}

async function scrubIfBtrfs(drive: Drive, btrfs: boolean, wanted: boolean): Promise<ScrubOutcome> {
  if (!btrfs) return { ran: false, why: 'not a btrfs drive' };
  if (!wanted) return { ran: false, why: 'skipped (--no-scrub)' };
  // A folder inside a bigger file system (the host's): scrubbing it would read far more than the backups.
  const root = driveRoot(drive);
  const { mountAt } = await import('../system/mounts.js');
  if (!(await mountAt(root))) return { ran: false, why: `skipped: ${root} is a folder in a larger file system, not a drive of its own; run btrfs scrub on that yourself` };
  const { scrub } = await import('../system/btrfs-scrub.js');
  return { ran: true, result: await scrub(root).catch((error: Error) => Promise.reject(new UserError(error.message, EXIT.usage))) };
}

/** A listed file for people: its source path and state, the path's bytes as UTF-8 where they are. */
export function fileForPeople(key: string): { state: string; path: string } {
  if (key === '(checksum list)') return { state: '', path: key };
  const { state, names } = splitKey(key);
  const parts = names.map((bytes, i) => {
    const text = bytes.toString('utf8');
    // eslint-disable-next-line no-control-regex
    return Buffer.from(text, 'utf8').equals(bytes) && !/[\u0000-\u001f\u007f]/.test(text) ? text : (key.split('/')[i + 1] as string);
  });
  return { state, path: `/${parts.join('/')}` };
}

function describe(drive: Drive, c: ContentCheck, scrub: ScrubOutcome, damaged: boolean): string {
  const lines: string[] = [];
  const shared = (c.perSnapshot ?? []).reduce((n, s) => n + s.shared, 0);
  const read = `${formatBytes(c.bytesRead)} read back`;
  lines.push(
    c.mode === 'all'
      ? `drive "${drive.name}": checked every file of ${c.snapshots.length} snapshots: ${c.read} files, ${read}${shared > 0 ? ` (${shared} more are the same files as in an older snapshot, read once)` : ''}`
      : `drive "${drive.name}": ${c.mode === 'drill' ? 'restored and checked' : 'checked'} ${c.read} files picked at random from the ${c.files} listed in ${c.snapshots.length} snapshots: ${read}`,
  );
  if (c.unlisted.length > 0) {
    lines.push(`${c.unlisted.length} snapshots have no checksum list (made before plugback recorded them): ${c.mode === 'all' ? 'their files were read for errors, not compared' : 'not sampled; --all reads them for errors'}: ${c.unlisted.join(', ')}`);
  }
  if (scrub.ran) lines.push(`btrfs scrub: ${formatBytes(scrub.result.dataBytes)} of data blocks read, ${scrub.result.errors} errors (${scrub.result.uncorrectable} uncorrectable)`);
  else if (scrub.why !== 'not a btrfs drive') lines.push(`btrfs scrub: ${scrub.why}`);
  for (const d of c.damage.slice(0, 50)) lines.push(`DAMAGED  ${damageLine(d)}`);
  if (c.damage.length > 50) lines.push(`... and ${c.damage.length - 50} more (--json lists them all)`);
  lines.push(
    damaged
      ? `damage found: drive "${drive.name}" did not give back what was backed up. Keep the other drives' copies, check this one's health (smartctl -a, dmesg), and replace it soon (docs/drives.md, "Retiring a drive").`
      : `no damage found on drive "${drive.name}"`,
  );
  return `${lines.join('\n')}\n`;
}

function damageLine(d: Damage): string {
  const f = fileForPeople(d.file);
  return f.state === '' ? `snapshot ${d.snapshot}: its ${f.path} ${d.problem}` : `snapshot ${d.snapshot}, state ${f.state}: ${f.path} ${d.problem}`;
}

function checkDocument(config: Config, drive: Drive, c: ContentCheck, scrub: ScrubOutcome, damaged: boolean) {
  return {
    format: JSON_FORMAT,
    drive: drive.name,
    host: config.host,
    mode: c.mode,
    snapshots: c.snapshots,
    unlisted: c.unlisted,
    files: c.files,
    read: c.read,
    bytesRead: c.bytesRead,
    damage: c.damage.map((d) => ({ snapshot: d.snapshot, ...fileForPeople(d.file), key: d.file, problem: d.problem })),
    scrub: scrub.ran ? scrub.result : null,
    clean: !damaged,
  };
}
