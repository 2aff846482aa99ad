// Reading and finishing snapshots on a drive.
import { mkdir, readdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory, writeFileAtomic } from '../system/atomic-file.js';
import { syncFileSystem } from '../system/sync-fs.js';
import { DELETING_SUFFIX, INCOMPLETE_SUFFIX, parseSnapshotName, SNAPSHOT_RECORD, type RepoPaths } from './layout.js';

/** What plugback knows about one state inside a snapshot: enough for the shrink check and listings. */
export interface StateRecord {
  folders: string[];
  /** Regular files in the source. */
  files: number;
  /** Every entry rsync listed in the source: files, directories, links. */
  entries: number;
  /** Apparent size of the source's regular files. */
  bytes: number;
  /** Bytes rsync actually copied (the rest was hard-linked from the previous snapshot). */
  transferredBytes: number;
  /** Folder → the mount that held it, to notice an unmounted source next time. */
  mounts: Record<string, SourceMount>;
}

export interface SourceMount {
  mountPoint: string;
  fsType: string;
  source: string;
}

export interface SnapshotRecord {
  format: 1;
  name: string;
  host: string;
  drive: string;
  driveId: string;
  startedAt: string;
  finishedAt: string;
  plugbackVersion: string;
  /** Set when this run continued an interrupted one. */
  resumedFrom?: string;
  states: Record<string, StateRecord>;
  /** rsync's complaints when it finished with exit code 23 or 24 (bounded). */
  problems: string[];
  rsyncExitCodes: number[];
}

export interface SnapshotEntry {
  name: string;
  time: Date;
  dir: string;
  record?: SnapshotRecord;
}

export interface SnapshotListing {
  /** Complete snapshots, oldest first. */
  complete: SnapshotEntry[];
  /** Names of interrupted runs (with the .incomplete suffix), oldest first. */
  incomplete: string[];
  /** Names of snapshots whose deletion was interrupted. */
  deleting: string[];
}

/** Everything in a host's snapshot folder; missing folder means no snapshots yet. */
export async function listSnapshots(paths: RepoPaths, withRecords = false): Promise<SnapshotListing> {
  let names: string[];
  try {
    names = (await readdir(paths.snapshots)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { complete: [], incomplete: [], deleting: [] };
    throw error;
  }
  const complete: SnapshotEntry[] = [];
  for (const name of names) {
    const time = parseSnapshotName(name);
    if (!time) continue;
    const dir = path.join(paths.snapshots, name);
    const entry: SnapshotEntry = { name, time, dir };
    if (withRecords) {
      const record = await readSnapshotRecord(dir);
      if (record) entry.record = record;
    }
    complete.push(entry);
  }
  return {
    complete,
    incomplete: names.filter((n) => n.endsWith(INCOMPLETE_SUFFIX) && parseSnapshotName(n.slice(0, -INCOMPLETE_SUFFIX.length))),
    deleting: names.filter((n) => n.endsWith(DELETING_SUFFIX)),
  };
}

/** The record of a snapshot, or undefined when it has none or it cannot be read. */
export async function readSnapshotRecord(dir: string): Promise<SnapshotRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, SNAPSHOT_RECORD), 'utf8')) as SnapshotRecord;
  } catch {
    return undefined;
  }
}

/**
 * Turns a finished `.incomplete` directory into a snapshot: record written, file system flushed, renamed,
 * flushed again, and `latest` repointed atomically. Until the rename, nothing calls it complete.
 */
export async function completeSnapshot(paths: RepoPaths, incompleteDir: string, record: SnapshotRecord): Promise<string> {
  await writeFileAtomic(path.join(incompleteDir, SNAPSHOT_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  await syncFileSystem(incompleteDir);
  const finalDir = path.join(paths.snapshots, record.name);
  await rename(incompleteDir, finalDir);
  await fsyncDirectory(paths.snapshots);
  await pointLatest(paths, record.name);
  return finalDir;
}

/** Makes `latest` point at snapshots/<name>, replacing it in one rename. */
export async function pointLatest(paths: RepoPaths, name: string): Promise<void> {
  const temp = `${paths.latest}.${process.pid}.tmp`;
  await rm(temp, { force: true });
  await symlink(path.join('snapshots', name), temp);
  await rename(temp, paths.latest);
  await fsyncDirectory(paths.host);
}

/** Deletes a snapshot directory: renamed first, so a crash midway leaves a `.deleting` folder, never a damaged snapshot. */
export async function deleteSnapshotDir(paths: RepoPaths, name: string): Promise<void> {
  const doomed = name.endsWith(DELETING_SUFFIX) ? name : `${name}${DELETING_SUFFIX}`;
  const doomedDir = path.join(paths.snapshots, doomed);
  if (doomed !== name) {
    await rename(path.join(paths.snapshots, name), doomedDir);
    await fsyncDirectory(paths.snapshots);
  }
  await rm(doomedDir, { recursive: true, force: true });
}

/** Creates the host's folders on the drive. */
export async function ensureRepoFolders(paths: RepoPaths): Promise<void> {
  await mkdir(paths.snapshots, { recursive: true });
  await mkdir(paths.logs, { recursive: true });
}
