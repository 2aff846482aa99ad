// The restore drill: files picked at random from the snapshots' checksum lists, restored through the real
// restore code (plan, destination checks, rsync from the drive's handles) into a temporary folder, and compared
// with the checksums recorded when they were backed up. It proves what check's reads alone do not: that
// `plugback restore` gives them back. Files whose names are not UTF-8 cannot be named to restore; they are read.
import { sha256File as sha256 } from '../system/file-hash.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config, Drive } from '../config/model.js';
import { checkListedFile, type Damage } from '../repo/checksums/check.js';
import { sampleListed, type ContentCheck } from '../repo/checksums/check-drive.js';
import { splitKey } from '../repo/checksums/format.js';
import type { Repository } from '../repo/repository.js';
import type { HeldLock } from '../system/flock.js';
import { closePlan, planRestore } from './plan.js';
import { runRestore } from './restore-job.js';

export async function restoreDrill(config: Config, drive: Drive, repo: Repository, lock: HeldLock, count: number, log: Logger): Promise<ContentCheck> {
  const { out, pool } = await sampleListed(repo, count);
  out.mode = 'drill';
  // The drill runs inside the caller's lock: each restore borrows it, and its release-lock step leaves it held.
  const borrowed = Promise.resolve<HeldLock>({ file: lock.file, release: async () => undefined });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'plugback-drill-'));
  try {
    for (const [i, { snapshot, entry }] of pool.entries()) {
      out.read++;
      out.bytesRead += Number(entry.size);
      const { state, names } = splitKey(entry.key);
      const original = `/${names.map((n) => n.toString('utf8')).join('/')}`;
      let damage: Damage | undefined;
      if (!names.every((n) => Buffer.from(n.toString('utf8'), 'utf8').equals(n))) {
        const dir = await repo.openSnapshot(snapshot);
        damage = await checkListedFile(snapshot, dir, entry).finally(() => dir.close());
      } else {
        damage = await restoreOne(config, drive, repo, { snapshot, state, original, to: path.join(scratch, String(i)) }, borrowed, log);
        if (!damage) {
          const hash = await sha256(path.join(scratch, String(i), original)).catch((error: NodeJS.ErrnoException) => error);
          if (typeof hash !== 'string') damage = { snapshot, file: entry.key, problem: `was restored but cannot be read back (${hash.code ?? hash.message})` };
          else if (hash !== entry.hash) damage = { snapshot, file: entry.key, problem: 'was restored with different content than when it was backed up' };
        }
        if (damage) damage.file = entry.key;
      }
      if (damage) out.damage.push(damage);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return out;
}

async function restoreOne(
  config: Config,
  drive: Drive,
  repo: Repository,
  what: { snapshot: string; state: string; original: string; to: string },
  lock: Promise<HeldLock>,
  log: Logger,
): Promise<Damage | undefined> {
  const failed = (why: string): Damage => ({ snapshot: what.snapshot, file: '', problem: `could not be restored: ${why}` });
  let plan;
  try {
    plan = await planRestore(config, repo, { snapshot: what.snapshot, states: [what.state], path: what.original, to: what.to, keep: false });
  } catch (error) {
    return failed((error as Error).message);
  }
  try {
    const result = await runRestore({ config, drive, plan, log, hooks: false, lock });
    return result.ok ? undefined : failed(result.error ?? `the restore failed at ${result.failedStep}`);
  } finally {
    await closePlan(plan);
  }
}

