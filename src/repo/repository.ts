// One host's repository on a drive, reached only through DriveDir handles (see drive-dir.ts):
//   <root>/plugback/drive.json                  which drive this is (identity.ts)
//   <root>/plugback/<host>/installation.json    which installation owns this folder (installation.ts)
//   <root>/plugback/<host>/snapshots/<ts>/      complete snapshots; <ts>.incomplete, <name>.deleting
//   <root>/plugback/<host>/latest -> snapshots/<ts>
//   <root>/plugback/<host>/logs/<ts>.log
import path from 'node:path';
import { syncFileSystem } from '../system/sync-fs.js';
import { DriveDir, temporaryName } from './drive-dir.js';
import { DELETING_SUFFIX, INCOMPLETE_SUFFIX, parseSnapshotName, repoPaths, SNAPSHOT_RECORD, type RepoPaths } from './layout.js';
import { MAX_RECORD_BYTES, parseSnapshotRecord, type SnapshotRecord } from './snapshot-record.js';
import { deleteSubvolume, isSubvolume, setReadOnly, snapshotKindOf, startSubvolume, type SnapshotKind, type SubvolumeDeletion, type SubvolumeHelper } from './subvolumes.js';

/** A snapshot dated further ahead than this is "in the future": a clock that was ahead when it was made. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

export interface SnapshotEntry {
  name: string;
  time: Date;
  /** Its folder as people read it (never used to reach it: see Repository.openSnapshot). */
  dir: string;
  /** Dated after now: never the newest, never pruned, reported. */
  future: boolean;
  record?: SnapshotRecord | undefined;
  /** Why the record could not be used, when it could not. */
  recordProblem?: string | undefined;
}

export interface SnapshotListing {
  /** Complete snapshots, oldest first (future-dated ones included, flagged). */
  complete: SnapshotEntry[];
  /** Interrupted runs (directories named <ts>.incomplete), oldest first. */
  incomplete: string[];
  /** Deletions a crash or a pull interrupted. */
  deleting: string[];
  /** Entries named like snapshots that are not directories (links, files): never followed, never used. */
  strange: string[];
}

/** The newest complete snapshot: the one this host made last when it is still there, else the newest not in the future. */
export function newestSnapshot(listing: SnapshotListing, madeLast?: string): SnapshotEntry | undefined {
  const usable = listing.complete.filter((s) => !s.future);
  return usable.find((s) => s.name === madeLast) ?? usable.at(-1);
}

export class Repository {
  private detectedKind: SnapshotKind | undefined;

  private constructor(
    readonly paths: RepoPaths,
    readonly root: DriveDir,
    private baseDir: DriveDir | undefined,
    private hostDir: DriveDir | undefined,
    private snapshotsDir: DriveDir | undefined,
  ) {}

  /**
   * Opens the repository of `host` on the drive at `root`, as far as it exists (a missing folder means no snapshots
   * yet). Any link or foreign file system on the way is refused (UnsafeDriveEntry). Nothing is written.
   */
  static async open(root: string, host: string): Promise<Repository> {
    const rootDir = await DriveDir.openRoot(root);
    const repo = new Repository(repoPaths(root, host), rootDir, undefined, undefined, undefined);
    try {
      repo.baseDir = await rootDir.openDir('plugback');
      repo.hostDir = await repo.baseDir?.openDir(host);
      repo.snapshotsDir = await repo.hostDir?.openDir('snapshots');
      return repo;
    } catch (error) {
      await repo.close();
      throw error;
    }
  }

  /** `<drive>/plugback/`, where the identity lives; undefined when the drive has none. */
  get base(): DriveDir | undefined {
    return this.baseDir;
  }

  get host(): DriveDir | undefined {
    return this.hostDir;
  }

  get snapshots(): DriveDir | undefined {
    return this.snapshotsDir;
  }

  /** Creates plugback/, <host>/ and snapshots/ where missing (a backup, once the drive's identity is checked). */
  async createFolders(): Promise<void> {
    this.baseDir ??= await this.root.ensureDir('plugback');
    this.hostDir ??= await this.baseDir.ensureDir(path.basename(this.paths.host));
    this.snapshotsDir ??= await this.hostDir.ensureDir('snapshots');
  }

  /** How this drive keeps snapshots (btrfs subvolumes, or hard-linked folders), from its file system. */
  async kind(): Promise<SnapshotKind> {
    this.detectedKind ??= await snapshotKindOf(this.root);
    return this.detectedKind;
  }

  /** Whether snapshot (or .incomplete, .deleting) `name` is a btrfs subvolume. */
  async isSubvolume(name: string): Promise<boolean> {
    return (await this.kind()) === 'btrfs-subvolumes' && isSubvolume(this.requireSnapshots(), name);
  }

  /** Everything in the snapshot folder; records read (and validated) when asked. */
  async list(withRecords = false, now = new Date()): Promise<SnapshotListing> {
    const listing: SnapshotListing = { complete: [], incomplete: [], deleting: [], strange: [] };
    if (!this.snapshots) return listing;
    for (const entry of await this.snapshots.entries()) {
      const base = entry.name.endsWith(INCOMPLETE_SUFFIX) ? entry.name.slice(0, -INCOMPLETE_SUFFIX.length) : entry.name;
      const time = parseSnapshotName(base);
      const deleting = entry.name.endsWith(DELETING_SUFFIX);
      if (!time && !deleting) continue;
      if (entry.kind !== 'dir') listing.strange.push(entry.name);
      else if (deleting) listing.deleting.push(entry.name);
      else if (base !== entry.name) listing.incomplete.push(entry.name);
      else {
        const snapshot: SnapshotEntry = {
          name: entry.name,
          time: time as Date,
          dir: this.snapshots.show(entry.name),
          future: (time as Date).getTime() > now.getTime() + FUTURE_TOLERANCE_MS,
        };
        if (withRecords) Object.assign(snapshot, await this.readRecord(entry.name));
        listing.complete.push(snapshot);
      }
    }
    return listing;
  }

  /** A snapshot's record, or why there is none that can be trusted. */
  async readRecord(name: string): Promise<{ record?: SnapshotRecord; recordProblem?: string }> {
    try {
      const dir = await this.openSnapshot(name);
      try {
        const text = await dir.readFile(SNAPSHOT_RECORD, MAX_RECORD_BYTES);
        if (text === undefined) return { recordProblem: 'it has no snapshot.json' };
        const parsed = parseSnapshotRecord(text, name);
        return 'record' in parsed ? { record: parsed.record } : { recordProblem: `its snapshot.json is ${parsed.problem}` };
      } finally {
        await dir.close();
      }
    } catch (error) {
      return { recordProblem: (error as Error).message };
    }
  }

  /** A snapshot (or .incomplete) folder, checked like every folder on the drive. */
  async openSnapshot(name: string): Promise<DriveDir> {
    return this.requireSnapshots().requireDir(name);
  }

  /**
   * Opens `<snapshot>/<state>/<absolute folder>` one component at a time, refusing links: the way into a snapshot's
   * contents. Undefined when some component is missing.
   */
  async openInSnapshot(snapshot: string, state: string, folder: string): Promise<DriveDir | undefined> {
    let dir = await this.openSnapshot(snapshot);
    for (const name of [state, ...folder.split('/').filter(Boolean)]) {
      const parent = dir;
      const next = await parent.openDir(name).finally(() => parent.close());
      if (!next) return undefined;
      dir = next;
    }
    return dir;
  }

  /** Whether a snapshot's copy of a source folder holds anything; undefined when it has no such folder. */
  async folderHasEntries(snapshot: string, state: string, folder: string): Promise<boolean | undefined> {
    const dir = await this.openInSnapshot(snapshot, state, folder);
    if (!dir) return undefined;
    try {
      return (await dir.entries()).length > 0;
    } finally {
      await dir.close();
    }
  }

  /**
   * A new .incomplete folder for a run: empty on a hard-link drive; on btrfs a subvolume that starts as a copy of
   * `previous` (the newest complete snapshot), so that rsync only changes what changed. The caller removes what
   * must not carry over from it (its record, states no longer configured).
   */
  async createIncomplete(name: string, previous?: string): Promise<DriveDir> {
    const snapshots = this.requireSnapshots();
    const incomplete = `${name}${INCOMPLETE_SUFFIX}`;
    if ((await this.kind()) === 'hard-links') return snapshots.ensureDir(incomplete);
    await startSubvolume(snapshots, incomplete, previous);
    await snapshots.sync();
    return snapshots.requireDir(incomplete);
  }

  /** An .incomplete subvolume left read-only (a crash between completing and renaming it) is made writable again. */
  async reopenIncomplete(dir: DriveDir, name: string): Promise<void> {
    if (await this.isSubvolume(name)) await setReadOnly(dir, false);
  }

  /**
   * Turns a finished .incomplete folder into a snapshot: record written, file system flushed, renamed, flushed
   * again, `latest` repointed. Until the rename, nothing calls it complete.
   */
  async complete(incomplete: string, record: SnapshotRecord): Promise<void> {
    const snapshots = this.requireSnapshots();
    const dir = await snapshots.requireDir(incomplete);
    try {
      await dir.writeAtomic(SNAPSHOT_RECORD, `${JSON.stringify(record, null, 2)}\n`);
      await syncFileSystem(dir.pinned);
      // From here on, nobody (not plugback, not a hook, not a user with write access) can change it.
      if (await this.isSubvolume(incomplete)) await setReadOnly(dir, true);
    } finally {
      await dir.close();
    }
    await snapshots.rename(incomplete, record.name);
    await snapshots.sync();
    await this.pointLatest(record.name);
  }

  /** Makes `latest` point at snapshots/<name>, replacing it in one rename. */
  async pointLatest(name: string): Promise<void> {
    await this.requireHost().replaceSymlink('latest', `snapshots/${name}`);
  }

  /**
   * Deletes a snapshot folder: renamed to .deleting first, so an interrupted delete never leaves a damaged snapshot.
   * Says how: a btrfs subvolume goes at once where plugback may delete subvolumes (see subvolumes.ts).
   */
  async deleteSnapshot(name: string, helper?: SubvolumeHelper): Promise<SubvolumeDeletion | 'folder'> {
    const snapshots = this.requireSnapshots();
    let doomed = name;
    if (!name.endsWith(DELETING_SUFFIX)) {
      doomed = `${name}${DELETING_SUFFIX}`;
      // A leftover of the same name (an earlier interrupted delete) must not block this one.
      if (await snapshots.lstat(doomed)) doomed = `${temporaryName(name).slice(1, -4)}${DELETING_SUFFIX}`;
      await snapshots.rename(name, doomed);
      await snapshots.sync();
    }
    if (await this.isSubvolume(doomed)) return deleteSubvolume(snapshots, doomed, helper);
    await snapshots.removeTree(doomed);
    return 'folder';
  }

  /** The logs folder (made when missing); the caller closes it. */
  async logs(): Promise<DriveDir> {
    return this.requireHost().ensureDir('logs');
  }

  async close(): Promise<void> {
    await Promise.all([this.snapshotsDir, this.hostDir, this.baseDir, this.root].map((d) => d?.close()));
  }

  private requireSnapshots(): DriveDir {
    if (!this.snapshots) throw new Error(`${this.paths.snapshots} does not exist: there are no snapshots of this host on the drive`);
    return this.snapshots;
  }

  private requireHost(): DriveDir {
    if (!this.host) throw new Error(`${this.paths.host} does not exist: this host has no snapshots on the drive`);
    return this.host;
  }
}

/** Opens the repository, runs `work` with it, and closes it whatever happens. */
export async function withRepository<T>(root: string, host: string, work: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(root, host);
  try {
    return await work(repo);
  } finally {
    await repo.close();
  }
}
