// Makes an archive of one complete snapshot: tar | zstd or gzip | gpg, streamed into a new hidden file in the
// archive folder, renamed to its name(s) only when whole. tar reads the snapshot through the checked handle
// (-C /proc/<pid>/fd/<n>) with the state folders as members, so no link on the drive can send it elsewhere.
import path from 'node:path';
import type { Config, Drive } from '../config/model.js';
import type { DriveDir } from '../repo/drive-dir.js';
import { recallSnapshot } from '../repo/host-memory.js';
import { newestSnapshot, type Repository, type SnapshotEntry } from '../repo/repository.js';
import { openVerifiedRepository } from '../repo/verify-drive.js';
import { withLowPriority } from '../system/rsync.js';
import { abandonArchive, alsoName, finishArchive, openArchiveFolder, pruneDated, startArchive, type Owner } from './destination.js';
import { encryptStage, type Encryption, type GpgSetup } from './encryption.js';
import { archiveNames, type Compression, type Naming } from './naming.js';
import { PipelineError, runPipeline, type Stage } from './pipeline.js';
import { requirePrograms } from './programs.js';

export interface ArchiveRequest {
  config: Config;
  drive: Drive;
  /** A snapshot name; default: the newest (the one this machine made last). */
  snapshot?: string | undefined;
  /** The archive folder on this machine. */
  to: string;
  naming: Naming;
  compression: Compression;
  encryption: Encryption;
  owner?: Owner | undefined;
  /** Keep this many dated archives of this host in the folder, deleting older ones. */
  keep?: number | undefined;
  signal?: AbortSignal | undefined;
  onBytes?: ((total: number) => void) | undefined;
}

export interface ArchiveResult {
  snapshot: string;
  /** The archive's paths (two names for `both`). */
  files: string[];
  bytes: number;
  /** Dated archives deleted by --keep. */
  pruned: string[];
}

/** The compressor, reading stdin and writing stdout. */
export function compressStage(compression: Compression, decompress = false): Stage {
  return compression === 'zstd'
    ? { name: 'zstd', command: 'zstd', args: ['-q', '-c', ...(decompress ? ['-d'] : [])] }
    : { name: 'gzip', command: 'gzip', args: ['-c', ...(decompress ? ['-d'] : [])] };
}

export async function createArchive(req: ArchiveRequest): Promise<ArchiveResult> {
  const { config, drive } = req;
  const p = config.backup;
  await requirePrograms({
    tar: 'making the archive',
    [req.compression]: 'compressing it',
    ...(req.encryption.kind === 'none' ? {} : { gpg: 'encrypting it' }),
    ...(p.nice !== 0 ? { nice: 'backup.nice' } : {}),
    ...(p.ioClass !== 'none' ? { ionice: 'backup.ioClass' } : {}),
  });
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    // Everything that can be refused is checked before tar reads a byte.
    const folder = await openArchiveFolder(req.to);
    cleanups.push(() => folder.close());
    let gpg: GpgSetup | undefined;
    if (req.encryption.kind !== 'none') {
      gpg = await encryptStage(req.encryption);
      cleanups.push(gpg.cleanup);
    }
    const { repo } = await openVerifiedRepository(config, drive);
    cleanups.push(() => repo.close());
    const snapshot = await pickSnapshot(config, drive, repo, req.snapshot);
    const snapDir = await repo.openSnapshot(snapshot.name);
    cleanups.push(() => snapDir.close());
    const states = await statesOf(snapDir, snapshot);

    const tarArgs = ['--create', '--file=-', '--format=posix', '--xattrs', '--xattrs-include=*', '--acls', '--numeric-owner', '--sparse', '--one-file-system'];
    const low = (s: Stage): Stage => ({ ...s, ...withLowPriority(s.command, s.args, p) });
    const stages = [
      low({ name: 'tar', command: 'tar', args: [...tarArgs, '-C', snapDir.pinned, '--', ...states] }),
      low(compressStage(req.compression)),
      ...(gpg ? [low(gpg.stage)] : []),
    ];
    const format = { compression: req.compression, encrypted: gpg !== undefined };
    const [first, second] = archiveNames(config.host, snapshot, req.naming, format) as [string, string | undefined];
    const pending = await startArchive(folder, first);
    let bytes: number;
    try {
      bytes = await runPipeline(stages, {
        output: pending.handle,
        signal: req.signal,
        onBytes: req.onBytes,
        bytesPerSecond: p.bandwidthLimit,
        readable: (t) => t.replaceAll(snapDir.pinned, snapDir.path),
      });
      await finishArchive(folder, pending, first, req.owner);
    } catch (error) {
      await abandonArchive(folder, pending);
      if (error instanceof PipelineError && error.cancelled) {
        throw new Error(`archive cancelled: tar, ${req.compression}${gpg ? ' and gpg' : ''} were stopped and the half-written file removed; ${path.join(req.to, first)} is as it was`);
      }
      throw error;
    }
    if (second) await alsoName(folder, first, second);
    const pruned = req.keep && req.naming !== 'rolling' ? await pruneDated(folder, config.host, req.keep) : [];
    const files = [first, second].filter((n): n is string => n !== undefined).map((n) => path.join(req.to, n));
    return { snapshot: snapshot.name, files, bytes, pruned };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** The snapshot asked for, or the newest: the one this machine made last, else the newest not dated in the future. */
async function pickSnapshot(config: Config, drive: Drive, repo: Repository, name: string | undefined): Promise<SnapshotEntry> {
  const listing = await repo.list(true);
  const { memory } = await recallSnapshot(config.stateDir, drive.name);
  const found = name === undefined || name === 'latest' ? newestSnapshot(listing, memory?.snapshot) : listing.complete.find((s) => s.name === name);
  if (found) return found;
  const names = listing.complete.map((s) => s.name);
  if (names.length === 0) throw new Error(`there are no complete snapshots of host "${config.host}" on drive "${drive.name}": run plugback run ${drive.name} first`);
  const incomplete = name !== undefined && listing.incomplete.includes(`${name}.incomplete`);
  throw new Error(
    incomplete
      ? `snapshot ${name} on drive "${drive.name}" is incomplete (an interrupted run); only a complete snapshot can be archived: ${names.join(', ')}`
      : `there is no snapshot "${name ?? ''}" on drive "${drive.name}"; the snapshots are: ${names.join(', ')} (see plugback snapshots ${drive.name})`,
  );
}

/** The snapshot's state folders: the ones its record names (or, without a usable record, every folder in it), each a real directory. */
async function statesOf(snapDir: DriveDir, snapshot: SnapshotEntry): Promise<string[]> {
  const entries = await snapDir.entries();
  const dirs = entries.filter((e) => e.kind === 'dir').map((e) => e.name);
  const states = snapshot.record ? Object.keys(snapshot.record.states).sort() : dirs;
  for (const state of states) {
    if (!dirs.includes(state)) {
      const what = entries.find((e) => e.name === state)?.kind;
      throw new Error(
        what
          ? `${snapDir.show(state)} is a ${what}, not the folder of state "${state}"; plugback never follows links on a drive: look at it (ls -l ${snapDir.show(state)})`
          : `snapshot ${snapshot.name} has no folder for its state "${state}" (${snapDir.show(state)} is missing): the snapshot is damaged; archive another one with --snapshot`,
      );
    }
  }
  if (states.length === 0) throw new Error(`snapshot ${snapshot.name} (${snapDir.path}) holds no state folders: there is nothing to archive`);
  return states;
}
