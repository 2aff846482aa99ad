// The client side of plugback's D-Bus API, for `plugback status`, `start` and `cancel`: plain values out of
// the a{sv} dictionaries, and a clear error when no daemon is running.
import { DbusConnection, errorName, errorText, variantValue } from '../system/dbus.js';
import { BUS_NAME, INTERFACE, OBJECT_PATH } from './names.js';

export interface JobInfo {
  drive: string;
  step?: string;
  /** The state (named set of folders) being copied. */
  copyingState?: string;
  percent?: number;
  bytes?: number;
  rate?: number;
  etaSeconds?: number;
}

export interface DriveInfo {
  name: string;
  kind: string;
  present: boolean;
  queued: boolean;
  overdue: boolean;
  /** "read-only" or "read-write" while opened by `plugback open`. */
  open?: string;
  lastSuccess?: string;
  lastFailure?: string;
  lastFailureStep?: string;
  lastFailureReason?: string;
  snapshotCount?: number;
  freeBytes?: number;
}

export interface FinishedInfo {
  drive: string;
  outcome: 'success' | 'warning' | 'failed' | 'cancelled';
  durationMs: number;
  transferredBytes: number;
  snapshot?: string;
  failedStep?: string;
  error?: string;
}

export interface DaemonStatus {
  state: string;
  job?: JobInfo | undefined;
  drives: DriveInfo[];
}

/** The daemon is not on the bus. */
export class NoDaemonError extends Error {}

/** What `status`, `start` and `cancel` say when no daemon owns the bus name. */
export const NO_DAEMON = 'the plugback daemon is not running (start it with "systemctl start plugback", or run "plugback daemon")';

const PROPERTIES = 'org.freedesktop.DBus.Properties';

export class DaemonClient {
  private constructor(private readonly dbus: DbusConnection) {}

  static async connect(): Promise<DaemonClient> {
    const dbus = await DbusConnection.system();
    if (!(await dbus.nameOwner(BUS_NAME))) {
      dbus.close();
      throw new NoDaemonError(NO_DAEMON);
    }
    return new DaemonClient(dbus);
  }

  async status(): Promise<DaemonStatus> {
    const [all] = await this.call(PROPERTIES, 'GetAll', 's', [INTERFACE]);
    const props = all as Record<string, unknown>;
    const job = plain(variantValue(props.CurrentJob));
    const drives = (variantValue(props.Drives) ?? {}) as Record<string, unknown>;
    return {
      state: String(variantValue(props.State)),
      job: job.Drive !== undefined ? toJob(job) : undefined,
      drives: Object.entries(drives).map(([name, d]) => toDrive(name, plain(d))),
    };
  }

  async start(drive: string): Promise<string> {
    const [result] = await this.call(INTERFACE, 'Start', 's', [drive]);
    return String(result);
  }

  /** Opens the drive; waits (up to `waitSeconds`, plus time for the unlock) for it to be plugged in. Returns its mount point. */
  async openDrive(drive: string, readWrite: boolean, waitSeconds: number): Promise<string> {
    const [mountPoint] = await this.call(INTERFACE, 'OpenDrive', 'sbu', [drive, readWrite, waitSeconds], (waitSeconds + 300) * 1000);
    return String(mountPoint);
  }

  async closeDrive(drive: string): Promise<string> {
    const [message] = await this.call(INTERFACE, 'CloseDrive', 's', [drive], 300_000);
    return String(message);
  }

  async cancel(): Promise<string> {
    const [drive] = await this.call(INTERFACE, 'Cancel');
    return String(drive);
  }

  /** Follows the daemon's signals until `stop()` is called. */
  async follow(handlers: { progress(job: JobInfo): void; finished(result: FinishedInfo): void; state(state: string): void }): Promise<() => void> {
    const offs = await Promise.all([
      this.dbus.onSignal({ sender: BUS_NAME, interface: INTERFACE, member: 'Progress', path: OBJECT_PATH }, (s) => handlers.progress(toJob(plain(s.body[0])))),
      this.dbus.onSignal({ sender: BUS_NAME, interface: INTERFACE, member: 'JobFinished', path: OBJECT_PATH }, (s) => handlers.finished(toFinished(plain(s.body[0])))),
      this.dbus.onSignal({ sender: BUS_NAME, interface: INTERFACE, member: 'StateChanged', path: OBJECT_PATH }, (s) => handlers.state(String(s.body[0]))),
    ]);
    return () => offs.forEach((off) => off());
  }

  /** Calls `listener` if the daemon leaves the bus (stopped or crashed). */
  onDaemonGone(listener: () => void): () => void {
    return this.dbus.onOwnerChanged(BUS_NAME, (owner) => {
      if (!owner) listener();
    });
  }

  close(): void {
    this.dbus.close();
  }

  private async call(iface: string, member: string, signature = '', body: unknown[] = [], timeoutMs?: number): Promise<unknown[]> {
    try {
      return await this.dbus.call({ destination: BUS_NAME, path: OBJECT_PATH, interface: iface, member, signature, body }, timeoutMs);
    } catch (error) {
      // The daemon's own errors carry a message meant for people; show it without the D-Bus error name.
      const name = errorName(error);
      if (name?.startsWith(`${INTERFACE}.Error.`)) throw new Error((error as { text: string }).text);
      throw new Error(errorText(error));
    }
  }
}

/** An a{sv} as plain values. */
function plain(value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
    const inner = variantValue(v);
    out[key] = typeof inner === 'bigint' ? Number(inner) : inner;
  }
  return out;
}

const optional = <T>(key: string, value: T | undefined): Record<string, T> => (value === undefined ? {} : { [key]: value });

function toJob(d: Record<string, unknown>): JobInfo {
  return {
    drive: String(d.Drive),
    ...optional('step', d.Step as string | undefined),
    ...optional('copyingState', d.CopyingState as string | undefined),
    ...optional('percent', d.Percent as number | undefined),
    ...optional('bytes', d.Bytes as number | undefined),
    ...optional('rate', d.Rate as number | undefined),
    ...optional('etaSeconds', d.EtaSeconds as number | undefined),
  };
}

function toDrive(name: string, d: Record<string, unknown>): DriveInfo {
  return {
    name,
    kind: String(d.Kind),
    present: d.Present === true,
    queued: d.Queued === true,
    overdue: d.Overdue === true,
    ...optional('open', d.Open as string | undefined),
    ...optional('lastSuccess', d.LastSuccess as string | undefined),
    ...optional('lastFailure', d.LastFailure as string | undefined),
    ...optional('lastFailureStep', d.LastFailureStep as string | undefined),
    ...optional('lastFailureReason', d.LastFailureReason as string | undefined),
    ...optional('snapshotCount', d.SnapshotCount as number | undefined),
    ...optional('freeBytes', d.FreeBytes as number | undefined),
  };
}

function toFinished(d: Record<string, unknown>): FinishedInfo {
  return {
    drive: String(d.Drive),
    outcome: String(d.Outcome) as FinishedInfo['outcome'],
    durationMs: Number(d.DurationMs ?? 0),
    transferredBytes: Number(d.TransferredBytes ?? 0),
    ...optional('snapshot', d.Snapshot as string | undefined),
    ...optional('failedStep', d.FailedStep as string | undefined),
    ...optional('error', d.Error as string | undefined),
  };
}
