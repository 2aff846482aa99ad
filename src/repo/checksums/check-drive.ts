// `plugback check`'s work on one opened repository: every file of every complete snapshot (`all`), or a random
// sample of listed files across them (`sample`), read back and compared with the snapshots' checksum lists.
import type { DriveDir } from '../drive-dir.js';
import type { Repository } from '../repository.js';
import { checkListedFile, checkSnapshotFully, type Damage, type SnapshotCheck } from './check.js';
import { compareKeys, type ChecksumEntry } from './format.js';
import { openChecksumList, snapshotChecksumList as listOf } from './list-io.js';

export interface ContentCheck {
  mode: 'all' | 'sample' | 'drill';
  /** Complete snapshots looked at, oldest first. */
  snapshots: string[];
  /** Snapshots without a checksum list (made by a plugback before checksums): read for errors only, or skipped in a sample. */
  unlisted: string[];
  files: number;
  read: number;
  bytesRead: number;
  damage: Damage[];
  /** With `all`: each snapshot's figures. */
  perSnapshot?: SnapshotCheck[];
}

export async function checkAllSnapshots(repo: Repository, onSnapshot?: (name: string) => void): Promise<ContentCheck> {
  const { complete } = await repo.list();
  const out: ContentCheck = { mode: 'all', snapshots: complete.map((s) => s.name), unlisted: [], files: 0, read: 0, bytesRead: 0, damage: [], perSnapshot: [] };
  let older: { name: string; doubtful: Set<string> } | undefined;
  for (const { name } of complete) {
    onSnapshot?.(name);
    const dir = await repo.openSnapshot(name);
    try {
      const expected = await openChecksumList(dir);
      const olderList = older ? await listOf(repo, older.name) : undefined;
      const { result, doubtful } = await checkSnapshotFully(name, dir, await stateFolders(dir), expected, olderList && older ? { list: olderList, doubtful: older.doubtful } : undefined);
      if (!expected) out.unlisted.push(name);
      out.perSnapshot?.push(result);
      out.files += result.files;
      out.read += result.read;
      out.bytesRead += result.bytesRead;
      out.damage.push(...result.damage);
      older = expected ? { name, doubtful } : undefined;
    } finally {
      await dir.close();
    }
  }
  return out;
}

export async function checkSample(repo: Repository, count: number, random: () => number = Math.random): Promise<ContentCheck> {
  const { out, pool } = await sampleListed(repo, count, random);
  for (const name of out.snapshots) {
    const picked = pool.filter((p) => p.snapshot === name);
    if (picked.length === 0) continue;
    const dir = await repo.openSnapshot(name);
    try {
      for (const { entry } of picked) {
        out.read++;
        out.bytesRead += Number(entry.size);
        const damage = await checkListedFile(name, dir, entry);
        if (damage) out.damage.push(damage);
      }
    } finally {
      await dir.close();
    }
  }
  return out;
}

export interface Sampled {
  snapshot: string;
  entry: ChecksumEntry;
}

/**
 * `count` listed files picked at random across every complete snapshot's list (reservoir sampling: each has the
 * same chance, in one pass over the lists), in snapshot and key order; `out` counts them and notes damaged lists.
 */
export async function sampleListed(repo: Repository, count: number, random: () => number = Math.random): Promise<{ out: ContentCheck; pool: Sampled[] }> {
  const { complete } = await repo.list();
  const out: ContentCheck = { mode: 'sample', snapshots: complete.map((s) => s.name), unlisted: [], files: 0, read: 0, bytesRead: 0, damage: [] };
  const pool: Sampled[] = [];
  for (const { name } of complete) {
    const list = await listOf(repo, name);
    if (!list) {
      out.unlisted.push(name);
      continue;
    }
    await list.finish((entry) => {
      out.files++;
      if (pool.length < count) pool.push({ snapshot: name, entry });
      else {
        const at = Math.floor(random() * out.files);
        if (at < count) pool[at] = { snapshot: name, entry };
      }
    });
    if (list.damage) out.damage.push({ snapshot: name, file: '(checksum list)', problem: `is damaged: ${list.damage}` });
  }
  const order = (a: Sampled, b: Sampled) => (a.snapshot === b.snapshot ? compareKeys(a.entry.key, b.entry.key) : a.snapshot < b.snapshot ? -1 : 1);
  return { out, pool: pool.sort(order) };
}

/** The state folders in a snapshot folder: its directories (state names hold no dot, the record is a file). */
async function stateFolders(dir: DriveDir): Promise<string[]> {
  return (await dir.entries()).filter((e) => e.kind === 'dir').map((e) => e.name);
}
