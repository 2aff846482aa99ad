// The daemon's archive exports (CreateArchive on D-Bus): at most one archive at a time, its status kept for a
// while after it ends, progress and the end told to listeners (the service turns them into signals). Kept out of
// the daemon: it needs only the config in force and which drive, if any, is being backed up.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config/model.js';
import { createArchive } from '../archive/create.js';
import type { Owner } from '../archive/destination.js';
import type { Encryption } from '../archive/encryption.js';
import type { Compression, Naming } from '../archive/naming.js';
import { RequestError } from '../daemon/request-error.js';
import { acquireLock, LockTimeoutError, type HeldLock } from '../system/flock.js';
import { describeHolder } from '../system/lock-file.js';
import { publicReason } from '../system/program-output.js';
import { reachableRepo } from './status.js';

/** What the archive jobs need of the daemon. */
export interface ArchiveHost {
  readonly currentConfig: Config;
  /** The drive being backed up now, if any. */
  backingUp(): string | undefined;
  /** Logs a line about `drive` in the daemon's (root-only) log. */
  logRequest(drive: string, message: string): void;
}

export interface ArchiveSettings {
  compression: Compression;
  naming: Naming;
  encryption: Encryption;
  /** Who gets the archive files; root keeps them when undefined. */
  owner?: Owner | undefined;
}

export type ArchiveState = 'running' | 'done' | 'failed' | 'cancelled';

export interface ArchiveStatus {
  id: string;
  drive: string;
  state: ArchiveState;
  bytes: number;
  snapshot?: string | undefined;
  /** The archive's paths once done (two for naming "both"). */
  files?: string[] | undefined;
  /** Why it failed, without program output (anyone may read it). */
  error?: string | undefined;
}

export type ArchiveEvent = { type: 'progress'; id: string; bytes: number } | { type: 'finished'; status: ArchiveStatus };

/** At most one progress event a second. */
const PROGRESS_INTERVAL_MS = 1000;
/** Ended archives whose status can still be asked for. */
const KEEP_ENDED = 16;

/** The repository lock for an archive of `drive`, at once or not at all: a D-Bus caller is told who holds it. */
async function lockNow(config: Config, drive: string): Promise<HeldLock> {
  try {
    return await acquireLock(config.backup.lockFile, { waitMs: 0, owner: { what: 'archive', drive } });
  } catch (error) {
    if (error instanceof LockTimeoutError) {
      const who = error.holders.map(describeHolder).join(', ') || 'another process';
      throw new RequestError(`the repository lock ${error.file} is held by ${who}; archive drive "${drive}" when that is done`);
    }
    throw new RequestError((error as Error).message);
  }
}

/** Where the daemon writes archives: the default folder of `plugback archive`, never one a caller names. */
export function archiveFolder(config: Config): string {
  return path.join(config.stateDir, 'archives');
}

export class ArchiveJobs {
  private readonly jobs = new Map<string, ArchiveStatus>();
  private running: { id: string; controller: AbortController; done: Promise<void> } | undefined;
  private readonly listeners = new Set<(event: ArchiveEvent) => void>();

  constructor(private readonly host: ArchiveHost) {}

  /** Starts archiving `snapshot` (undefined: the newest) of `drive`; returns the archive's id. */
  async start(drive: string, snapshot: string | undefined, settings: ArchiveSettings, requestedBy: string): Promise<string> {
    this.refuseWhileRunning();
    const config = this.host.currentConfig;
    const { drive: configured } = await reachableRepo(config, drive);
    if (this.host.backingUp() === drive) throw new RequestError(`drive "${drive}" is being backed up right now; archive it after the job (JobFinished)`);
    // Held for the whole archive, so no backup prunes the snapshot while tar reads it; never waited for.
    const lock = await lockNow(config, drive);
    try {
      // Checked again after the awaits: a second call may have started one meanwhile.
      this.refuseWhileRunning();
    } catch (error) {
      await lock.release();
      throw error;
    }
    const id = randomUUID();
    const status: ArchiveStatus = { id, drive, state: 'running', bytes: 0 };
    this.remember(status);
    const controller = new AbortController();
    let lastProgress = 0;
    const onBytes = (bytes: number) => {
      status.bytes = bytes;
      if (Date.now() - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = Date.now();
      this.emit({ type: 'progress', id, bytes });
    };
    this.host.logRequest(drive, `archive ${id} of drive "${drive}" (${snapshot ?? 'newest snapshot'}) started, as requested by ${requestedBy}`);
    const work = createArchive({
      config,
      drive: configured,
      snapshot,
      to: archiveFolder(config),
      naming: settings.naming,
      compression: settings.compression,
      encryption: settings.encryption,
      owner: settings.owner,
      signal: controller.signal,
      onBytes,
    });
    const done = work.then(
      (result) => {
        Object.assign(status, { state: 'done', bytes: result.bytes, snapshot: result.snapshot, files: result.files });
        this.host.logRequest(drive, `archive ${id} of snapshot ${result.snapshot} of drive "${drive}" written: ${result.files.join(', ')}`);
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        const cancelled = controller.signal.aborted;
        Object.assign(status, { state: cancelled ? 'cancelled' : 'failed', error: cancelled ? undefined : publicReason(message) });
        // The full message, program output included, goes only to root's log.
        this.host.logRequest(drive, `archive ${id} of drive "${drive}" ${cancelled ? 'was cancelled' : 'failed'}: ${message}`);
      },
    ).finally(async () => {
      await lock.release().catch((error: Error) => this.host.logRequest(drive, `archive ${id}: releasing the lock failed: ${error.message}`));
      this.running = undefined;
      this.emit({ type: 'finished', status: { ...status } });
    });
    this.running = { id, controller, done };
    return id;
  }

  /** The archive's status; refused for an id never given out (or long forgotten). */
  status(id: string): ArchiveStatus {
    const status = this.jobs.get(id);
    if (!status) throw new RequestError(`there is no archive ${id} (known: ${[...this.jobs.keys()].join(', ') || 'none'}): the id is what CreateArchive returned`);
    return { ...status };
  }

  /** Stops the running archive `id`: its processes end and its half-written file is removed. */
  cancel(id: string, requestedBy: string): void {
    const status = this.status(id);
    if (this.running?.id !== id) throw new RequestError(`archive ${id} is not running (it is ${status.state}); nothing to cancel`);
    this.host.logRequest(status.drive, `archive ${id} of drive "${status.drive}" cancelled by ${requestedBy}`);
    this.running.controller.abort();
  }

  onEvent(listener: (event: ArchiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Cancels a running archive and waits until its processes are gone and its temp file removed. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.controller.abort();
    await running.done;
  }

  private refuseWhileRunning(): void {
    const running = this.running;
    if (running) throw new RequestError(`archive ${running.id} is being made right now; one archive at a time: cancel it (CancelArchive) or wait for ArchiveFinished`);
  }

  private remember(status: ArchiveStatus): void {
    this.jobs.set(status.id, status);
    for (const old of this.jobs.keys()) {
      if (this.jobs.size <= KEEP_ENDED) break;
      if (old !== status.id) this.jobs.delete(old);
    }
  }

  private emit(event: ArchiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
