// plugback's own D-Bus API on the system bus: properties State, CurrentJob and Drives; methods Start, Cancel,
// OpenDrive, CloseDrive, ListSnapshots and DeleteSnapshot; signals StateChanged, Progress (at most two a second) and JobFinished; and the
// archive methods and signals of archive-methods.ts (CreateArchive, ...), whose job state lives in ArchiveJobs.
// Built on dbus-next's low-level method handler because every changing method needs to know its caller (for
// polkit), which dbus-next's high-level interfaces do not tell.
import dbus, { Message } from 'dbus-next';
import type { JobResult } from '../job/events.js';
import type { DbusConnection } from '../system/dbus.js';
import type { DaemonControl, DaemonEvent } from './daemon-port.js';
import { ArchiveJobs, type ArchiveEvent, type ArchiveHost } from './archive-jobs.js';
import { archiveMethods, archiveStatusDict, type Method } from './archive-methods.js';
import { INTROSPECTION_XML } from './introspection.js';
import { ACTIONS, BUS_NAME, ERRORS, INTERFACE, OBJECT_PATH } from './names.js';
import { authorize } from './polkit.js';
import { deleteSnapshotAsRequested, driveDicts, jobDict, listSnapshotsAsDicts, resultDict } from './status.js';

const { MessageType, Variant } = dbus;
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const PROGRESS_INTERVAL_MS = 500;
/** OpenDrive waits at most an hour for a drive to be plugged in. */
const MAX_OPEN_WAIT_S = 3600;

export class DaemonApi {
  private lastProgress = 0;
  private pendingProgress: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[];
  private readonly archives: ArchiveJobs;
  private readonly archiveMethods: Record<string, Method>;

  private constructor(
    private readonly dbus: DbusConnection,
    private readonly daemon: DaemonControl,
  ) {
    const host: ArchiveHost = {
      // Read at each call: a reload may change the config.
      get currentConfig() {
        return daemon.currentConfig;
      },
      backingUp: () => daemon.jobStatus()?.drive,
      logRequest: (drive, message) => daemon.logRequest(drive, message),
    };
    this.archives = new ArchiveJobs(host);
    this.archiveMethods = archiveMethods(this.archives, host);
    dbus.bus.addMethodHandler((msg: Message) => this.handle(msg));
    this.unsubscribe = [daemon.onEvent((event) => this.daemonEvent(event)), this.archives.onEvent((event) => this.archiveEvent(event))];
  }

  /** Exports the object and takes the well-known name; fails when another daemon holds it. */
  static async start(connection: DbusConnection, daemon: DaemonControl): Promise<DaemonApi> {
    const api = new DaemonApi(connection, daemon);
    const reply = await connection.bus.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER && reply !== dbus.RequestNameReply.ALREADY_OWNER) {
      await api.stop();
      throw new Error(`the D-Bus name ${BUS_NAME} is taken: is another plugback daemon running? ("busctl status ${BUS_NAME}")`);
    }
    return api;
  }

  /** Stops a running archive (its processes and temp file are gone when this resolves) and the signals. */
  async stop(): Promise<void> {
    await this.archives.stop();
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    clearTimeout(this.pendingProgress);
  }

  /** Answers calls to our object; returns false for anything else so dbus-next handles (or refuses) it. */
  private handle(msg: Message): boolean {
    if (msg.type !== MessageType.METHOD_CALL || msg.path !== OBJECT_PATH) return false;
    void this.answer(msg).catch((error: unknown) => {
      const name = error instanceof ApiError ? error.name : ERRORS.failed;
      this.dbus.bus.send(Message.newError(msg as unknown as string, name, (error as Error).message));
    });
    return true;
  }

  private async answer(msg: Message): Promise<void> {
    const reply = (signature = '', body: unknown[] = []) => this.dbus.bus.send(Message.newMethodReturn(msg, signature, body));
    const args = msg.body as unknown[];
    switch (`${msg.interface}.${msg.member}`) {
      case 'org.freedesktop.DBus.Introspectable.Introspect':
        return reply('s', [INTROSPECTION_XML]);
      case 'org.freedesktop.DBus.Peer.Ping':
        return reply();
      case `${PROPERTIES}.Get`:
        return reply('v', [await this.property(String(args[1]))]);
      case `${PROPERTIES}.GetAll`:
        return reply('a{sv}', [await this.properties()]);
      case `${PROPERTIES}.Set`:
        throw new ApiError('org.freedesktop.DBus.Error.PropertyReadOnly', `the properties of ${INTERFACE} are read-only`);
      case `${INTERFACE}.Start`: {
        const { who } = await this.authorized(msg, ACTIONS.Start);
        return reply('s', [this.daemon.requestBackup(String(args[0]), who)]);
      }
      case `${INTERFACE}.Cancel`: {
        const { who } = await this.authorized(msg, ACTIONS.Cancel);
        return reply('s', [this.daemon.cancelJob(who)]);
      }
      case `${INTERFACE}.OpenDrive`: {
        const { who } = await this.authorized(msg, ACTIONS.OpenDrive);
        const waitMs = Math.min(Number(args[2] ?? 0), MAX_OPEN_WAIT_S) * 1000;
        return reply('s', [await this.daemon.openDrive(String(args[0]), args[1] === true ? 'read-write' : 'read-only', waitMs, who)]);
      }
      case `${INTERFACE}.CloseDrive`: {
        const { who } = await this.authorized(msg, ACTIONS.OpenDrive);
        return reply('s', [await this.daemon.closeDrive(String(args[0]), who)]);
      }
      case `${INTERFACE}.ListSnapshots`:
        return reply('aa{sv}', [await listSnapshotsAsDicts(this.daemon, String(args[0]))]);
      case `${INTERFACE}.DeleteSnapshot`: {
        const { who } = await this.authorized(msg, ACTIONS.DeleteSnapshot);
        await deleteSnapshotAsRequested(this.daemon, String(args[0]), String(args[1]), who);
        return reply();
      }
      default: {
        // Own keys only: a member named toString or __proto__ must not reach Object.prototype.
        const member = msg.member ?? '';
        const method = msg.interface === INTERFACE && Object.hasOwn(this.archiveMethods, member) ? this.archiveMethods[member] : undefined;
        if (method) {
          const out = await method({ args, authorize: (action) => this.authorized(msg, action) });
          return reply(out.signature, out.body);
        }
        throw new ApiError('org.freedesktop.DBus.Error.UnknownMethod', `${msg.interface}.${msg.member} does not exist on ${OBJECT_PATH}`);
      }
    }
  }

  /** Throws NotAuthorized naming the action unless polkit (or being root) allows it; returns who asked, for the log. */
  private async authorized(msg: Message, action: string): Promise<{ who: string; uid: number }> {
    const decision = await authorize(this.dbus, msg.sender, action);
    if (!decision.allowed) throw new ApiError(ERRORS.notAuthorized, `not authorized: ${decision.reason ?? `action ${action} was denied`}`);
    return { who: `D-Bus caller ${msg.sender} (uid ${decision.uid})`, uid: decision.uid };
  }

  /** One property; only Drives reads the ledger. */
  private async property(name: string): Promise<InstanceType<typeof Variant>> {
    switch (name) {
      case 'State':
        return new Variant('s', this.daemon.state);
      case 'CurrentJob':
        return new Variant('a{sv}', jobDict(this.daemon.jobStatus()));
      case 'Drives':
        return new Variant('a{sa{sv}}', await driveDicts(this.daemon));
      default:
        throw new ApiError('org.freedesktop.DBus.Error.UnknownProperty', `${INTERFACE} has no property ${name}`);
    }
  }

  private async properties(): Promise<Record<string, InstanceType<typeof Variant>>> {
    const names = ['State', 'CurrentJob', 'Drives'];
    const values = await Promise.all(names.map((n) => this.property(n)));
    return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
  }

  private daemonEvent(event: DaemonEvent): void {
    if (event.type === 'state') {
      this.signal('StateChanged', 's', [event.state]);
      this.propertiesChanged({ State: new Variant('s', event.state) });
      return;
    }
    if (event.type !== 'job') return;
    const job = event.event;
    if (job.type === 'progress' || job.type === 'step-started') this.progressSoon();
    if (job.type === 'job-finished') this.jobFinished(job.result);
  }

  /** Progress at most every PROGRESS_INTERVAL_MS, the last one always sent. */
  private progressSoon(): void {
    if (this.pendingProgress) return;
    const wait = Math.max(0, this.lastProgress + PROGRESS_INTERVAL_MS - Date.now());
    this.pendingProgress = setTimeout(() => {
      this.pendingProgress = undefined;
      this.lastProgress = Date.now();
      const status = this.daemon.jobStatus();
      if (status) this.signal('Progress', 'a{sv}', [jobDict(status)]);
    }, wait);
  }

  private jobFinished(result: JobResult): void {
    clearTimeout(this.pendingProgress);
    this.pendingProgress = undefined;
    this.signal('JobFinished', 'a{sv}', [resultDict(result)]);
  }

  private archiveEvent(event: ArchiveEvent): void {
    if (event.type === 'progress') this.signal('ArchiveProgress', 'st', [event.id, BigInt(event.bytes)]);
    else this.signal('ArchiveFinished', 'sa{sv}', [event.status.id, archiveStatusDict(event.status)]);
  }

  private signal(name: string, signature: string, body: unknown[]): void {
    this.dbus.bus.send(Message.newSignal(OBJECT_PATH, INTERFACE, name, signature, body));
  }

  private propertiesChanged(changed: Record<string, InstanceType<typeof Variant>>): void {
    this.dbus.bus.send(Message.newSignal(OBJECT_PATH, PROPERTIES, 'PropertiesChanged', 'sa{sv}as', [INTERFACE, changed, []]));
  }
}

/** A D-Bus error with its name. */
class ApiError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}
