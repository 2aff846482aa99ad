// What the D-Bus API needs of the daemon, and nothing more: the API depends on this small interface, not on
// src/daemon/, so the daemon can use the API without an import circle.
import type { Config, Drive } from '../config/model.js';
import type { JobEvent, StepName, SyncProgress } from '../job/events.js';

export type DaemonState = 'starting' | 'idle' | 'working' | 'stopping';

/** What the daemon tells the outside (the D-Bus API listens to these). */
export type DaemonEvent =
  | { type: 'state'; state: DaemonState }
  | { type: 'queued'; drive: string; behind: string }
  | { type: 'skipped'; drive: string; reason: string }
  | { type: 'job'; drive: string; event: JobEvent };

/** The running job as the API shows it. */
export interface JobStatus {
  drive: string;
  step?: StepName | undefined;
  progress?: SyncProgress | undefined;
}

/** One configured drive as the API shows it. */
export interface DriveStatus {
  name: string;
  kind: Drive['kind'];
  present: boolean;
  queued: boolean;
  overdue: boolean;
  /** Opened by `plugback open`: "read-only" or "read-write". */
  open?: 'read-only' | 'read-write' | undefined;
}

/** The daemon as the API sees it. Requests it cannot carry out throw RequestError (src/daemon/request-error.ts). */
export interface DaemonControl {
  readonly state: DaemonState;
  /** The config in force (read at each call: a reload may change it). */
  readonly currentConfig: Config;
  /** The running job, if any. */
  jobStatus(): JobStatus | undefined;
  driveStatus(): DriveStatus[];
  /** Backs up `name` now (queued behind a running job): "started" or "queued". */
  requestBackup(name: string, requestedBy: string): 'started' | 'queued';
  /** Opens a LUKS drive for people (waiting up to `waitMs` for its plug-in); resolves with its mount point. */
  openDrive(name: string, mode: 'read-only' | 'read-write', waitMs: number, requestedBy: string): Promise<string>;
  /** Closes an open drive; resolves with what to tell the user ("... safe to remove"). */
  closeDrive(name: string, requestedBy: string): Promise<string>;
  /** Cancels the running job; returns the drive it was for. */
  cancelJob(requestedBy: string): string;
  onEvent(listener: (event: DaemonEvent) => void): () => void;
  /** Logs what an API caller had done (the API has no logger of its own). */
  logRequest(drive: string, message: string): void;
}
