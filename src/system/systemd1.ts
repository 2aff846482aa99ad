// systemd's manager over D-Bus: start and stop units and wait for their jobs, read unit state, watch a unit.
// The race the man page warns about is handled here once: the JobRemoved listener is in place before
// StartUnit is called, and signals that arrive before the reply are kept until the job path is known.
import { DbusConnection, errorText, variantValue, type Signal } from './dbus.js';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UNIT = 'org.freedesktop.systemd1.Unit';
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/** How a job ended: "done" is the only success. */
export type JobResultName = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped' | string;

export interface UnitState {
  loadState: string;
  activeState: string;
  subState: string;
}

interface JobRemoved {
  job: string;
  unit: string;
  result: JobResultName;
}

export class Systemd1 {
  private readonly finishedJobs: JobRemoved[] = [];
  private readonly waiters = new Map<string, (removed: JobRemoved) => void>();

  private constructor(private readonly dbus: DbusConnection) {}

  /** Subscribes once for this connection (systemd sends most signals only to subscribers) and starts listening for jobs. */
  static async connect(dbus: DbusConnection): Promise<Systemd1> {
    const systemd = new Systemd1(dbus);
    await dbus.onSignal({ sender: SYSTEMD, interface: MANAGER, member: 'JobRemoved', path: MANAGER_PATH }, (s) => systemd.jobRemoved(s));
    try {
      await dbus.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'Subscribe' });
    } catch (error) {
      throw new Error(
        `systemd does not answer on the D-Bus system bus (${errorText(error)}): the daemon unlocks drives through systemd-cryptsetup and needs systemd as the init system; without it, use "plugback run" on a drive you unlocked and mounted yourself`,
      );
    }
    return systemd;
  }

  /** Starts `unit` and waits for its job to end; returns the job's result ("done" on success). */
  startUnit(unit: string, timeoutMs: number): Promise<JobResultName> {
    return this.runJob('StartUnit', unit, timeoutMs);
  }

  stopUnit(unit: string, timeoutMs: number): Promise<JobResultName> {
    return this.runJob('StopUnit', unit, timeoutMs);
  }

  /** Loads the unit (from disk if needed) and returns its object path. */
  async loadUnit(unit: string): Promise<string> {
    const [path] = await this.dbus.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'LoadUnit', signature: 's', body: [unit] });
    return path as string;
  }

  async unitState(unit: string): Promise<UnitState> {
    const path = await this.loadUnit(unit);
    const [all] = await this.dbus.call({ destination: SYSTEMD, path, interface: PROPERTIES, member: 'GetAll', signature: 's', body: [UNIT] });
    const props = all as Record<string, unknown>;
    return {
      loadState: String(variantValue(props.LoadState)),
      activeState: String(variantValue(props.ActiveState)),
      subState: String(variantValue(props.SubState)),
    };
  }

  /** Calls `listener` with the unit's ActiveState whenever systemd reports a change. */
  async watchActiveState(unit: string, listener: (activeState: string) => void): Promise<() => void> {
    const path = await this.loadUnit(unit);
    return this.dbus.onSignal({ sender: SYSTEMD, interface: PROPERTIES, member: 'PropertiesChanged', path }, (signal) => {
      const [iface, changed] = signal.body as [string, Record<string, unknown>];
      if (iface === UNIT && changed.ActiveState !== undefined) listener(String(variantValue(changed.ActiveState)));
    });
  }

  private async runJob(method: 'StartUnit' | 'StopUnit', unit: string, timeoutMs: number): Promise<JobResultName> {
    const [job] = await this.dbus.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: method, signature: 'ss', body: [unit, 'replace'] });
    const jobPath = job as string;
    const early = this.finishedJobs.findIndex((j) => j.job === jobPath);
    if (early >= 0) return this.finishedJobs.splice(early, 1)[0]!.result;
    return new Promise<JobResultName>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(jobPath);
        reject(new Error(`systemd did not finish the ${method === 'StartUnit' ? 'start' : 'stop'} job of ${unit} within ${Math.round(timeoutMs / 1000)}s`));
      }, timeoutMs);
      this.waiters.set(jobPath, (removed) => {
        clearTimeout(timer);
        resolve(removed.result);
      });
    });
  }

  private jobRemoved(signal: Signal): void {
    const [, job, unit, result] = signal.body as [number, string, string, string];
    const waiter = this.waiters.get(job);
    if (waiter) {
      this.waiters.delete(job);
      waiter({ job, unit, result });
      return;
    }
    // A job whose StartUnit reply has not arrived yet; keep a short history of the rest.
    this.finishedJobs.push({ job, unit, result });
    if (this.finishedJobs.length > 64) this.finishedJobs.shift();
  }
}
