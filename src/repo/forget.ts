// Deleting one snapshot a person chose (D-Bus DeleteSnapshot, `plugback forget`): never the newest complete one,
// which the next backup links against and which is the last good copy. The caller holds the repository lock.
import { newestSnapshot, type Repository } from './repository.js';

/** Why a snapshot was not deleted: there is no such complete snapshot, or it is the newest. */
export class ForgetRefused extends Error {
  constructor(
    message: string,
    readonly reason: 'unknown' | 'newest',
    /** The complete snapshots there are, oldest first. */
    readonly snapshots: string[],
  ) {
    super(message);
    this.name = 'ForgetRefused';
  }
}

/**
 * Deletes complete snapshot `name` (renamed to .deleting first, removed without following links); `madeLast` is
 * the snapshot this machine remembers making last, the newest whatever the drive's names say. Returns the
 * complete snapshots left and the newest of them.
 */
export async function forgetSnapshot(repo: Repository, name: string, madeLast: string | undefined): Promise<{ left: string[]; newest: string | undefined }> {
  const listing = await repo.list();
  const names = listing.complete.map((s) => s.name);
  if (!names.includes(name)) {
    throw new ForgetRefused(`there is no complete snapshot ${name} of host ${hostOf(repo)} (snapshots: ${names.join(', ') || 'none'})`, 'unknown', names);
  }
  // A snapshot dated in the future is never the newest, so it may go.
  const newest = newestSnapshot(listing, madeLast)?.name;
  if (newest === name) {
    throw new ForgetRefused(
      `${name} is the newest snapshot of host ${hostOf(repo)}: the next backup builds on it and it is the last good copy, so plugback never deletes it`,
      'newest',
      names,
    );
  }
  await repo.deleteSnapshot(name);
  return { left: names.filter((n) => n !== name), newest };
}

function hostOf(repo: Repository): string {
  return repo.paths.host.split('/').at(-1) ?? '';
}
