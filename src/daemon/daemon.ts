// `plugback daemon`: watches for the configured drives and backs each one up when it is plugged in, one job at
// a time: unlock, mount, the backup steps, unmount, close, power off, then "safe to remove". This file only puts
// the parts together and starts and stops them in order; each part is its own module (DESIGN.md, The daemon).
import type { Level, Logger } from 'pino';
import type { DaemonControl, DaemonEvent, DaemonState, DriveStatus, JobStatus } from '../api/daemon-port.js';
import { DaemonApi } from '../api/service.js';
import type { Config } from '../config/model.js';
import { DriveWatcher } from '../drives/drive-watcher.js';
import { lineLogger, type LineSink } from '../job/job-log.js';
import { DbusConnection, errorText } from '../system/dbus.js';
import { Systemd1 } from '../system/systemd1.js';
import { watchForReload } from './config-watch.js';
import { reportInterruptedJob } from './crash-report.js';
import { DaemonEvents } from './daemon-events.js';
import { DriveOpener } from './drive-opener.js';
import { inFlightSubscriber } from './in-flight.js';
import { Intake, luksDrives } from './intake.js';
import { JobRunner } from './job-runner.js';
import { LedSubscriber } from './led-subscriber.js';
import { NotifySubscriber } from './notify-subscriber.js';
import { recoverLeftovers } from './recovery.js';
import { RequestError } from './request-error.js';
import { logReloaded, readNewConfig } from './reload.js';
import { StartupClock } from './startup-clock.js';
import { SystemdStatus } from './systemd-status.js';

export interface DaemonOptions {
  configFile: string;
  /** Where log lines go (stdout, with journal priorities under systemd). */
  sink: LineSink;
  logLevel: Level;
  /** Loads the config file again for a reload; throws ConfigError when it is invalid. */
  loadConfig(file: string): Promise<Config>;
  /** The daemon cannot go on (the system bus went away): the process should exit non-zero so systemd restarts it. */
  onFatal(error: Error): void;
}

export class Daemon implements DaemonControl {
  private readonly log: Logger;
  private readonly events = new DaemonEvents();
  private readonly status = new SystemdStatus();
  private readonly notify: NotifySubscriber;
  private readonly led: LedSubscriber;
  private readonly runner: JobRunner;
  private readonly intake: Intake;
  private readonly opener: DriveOpener;
  private dbus: DbusConnection | undefined;
  private systemd: Systemd1 | undefined;
  private watcher: DriveWatcher | undefined;
  private api: DaemonApi | undefined;
  private stopWatching: (() => Promise<void>) | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private ledOpening: Promise<void> | undefined;

  constructor(
    private config: Config,
    private readonly options: DaemonOptions,
  ) {
    this.log = lineLogger(options.sink, options.logLevel, { component: 'daemon' });
    this.notify = new NotifySubscriber(this.log.child({ component: 'notify' }), () => this.led.showIdle());
    this.led = new LedSubscriber(() => !this.intake.empty, () => this.notify.overdueDrives());
    this.runner = new JobRunner({
      sink: options.sink,
      logLevel: options.logLevel,
      log: this.log,
      events: this.events,
      devices: () => (this.systemd && this.watcher ? { systemd: this.systemd, watcher: this.watcher } : undefined),
      // In this order; the in-flight record last, so it goes only once the job is reported.
      subscribers: [this.status.subscriber, this.led.subscriber, this.notify.subscriber, inFlightSubscriber(this.log)],
    });
    this.opener = new DriveOpener({
      log: this.log,
      config: () => this.config,
      devices: () => (this.systemd ? { systemd: this.systemd, udisks: this.watcher?.udisksClient } : undefined),
      find: (name) => this.watcher?.find(name),
      running: () => this.runner.running,
      dequeue: (name) => this.intake.dequeue(name),
    });
    this.intake = new Intake({
      configFile: options.configFile,
      log: this.log,
      events: this.events,
      runner: this.runner,
      config: () => this.config,
      find: (name) => this.watcher?.find(name),
      led: this.led,
      opener: this.opener,
      idle: () => this.status.idle(this.watchedNames()),
    });
  }

  get state(): DaemonState {
    return this.events.state;
  }

  get currentConfig(): Config {
    return this.config;
  }

  jobStatus(): JobStatus | undefined {
    return this.runner.status();
  }

  driveStatus(): DriveStatus[] {
    return this.intake.driveStatus(this.notify.overdueDrives());
  }

  requestBackup(name: string, requestedBy: string): 'started' | 'queued' {
    return this.intake.request(name, requestedBy);
  }

  openDrive(name: string, mode: 'read-only' | 'read-write', waitMs: number, requestedBy: string): Promise<string> {
    if (this.intake.stopping) return Promise.reject(new RequestError('the daemon is stopping'));
    return this.opener.request(name, mode, waitMs, requestedBy);
  }

  closeDrive(name: string, requestedBy: string): Promise<string> {
    return this.opener.close(name, requestedBy);
  }

  cancelJob(requestedBy: string): string {
    return this.runner.cancelRequested(requestedBy);
  }

  onEvent(listener: (event: DaemonEvent) => void): () => void {
    return this.events.onEvent(listener);
  }

  logRequest(drive: string, message: string): void {
    this.log.info({ drive }, message);
  }

  /** Connects to the system bus, cleans up after an earlier run, and starts watching; drives already plugged in are queued. */
  async start(): Promise<void> {
    const clock = new StartupClock();
    this.dbus = await DbusConnection.system();
    this.dbus.bus.on('error', (error: unknown) => this.fatal(new Error(`lost the D-Bus system bus: ${errorText(error)}`)));
    this.systemd = await Systemd1.connect(this.dbus);
    clock.mark('bus');
    // The LED needs nothing of the clean-up: it is looked for meanwhile.
    this.ledOpening = this.led.open(this.config.led, this.log.child({ component: 'led' }));
    // Drives people opened stay open: recovery leaves them alone.
    await this.opener.load();
    const recovered = await recoverLeftovers(this.config, this.systemd, this.log, { leave: (name) => this.opener.holds(name) });
    clock.mark('recovery');
    this.notify.start(this.config);
    this.watcher = new DriveWatcher(this.dbus, this.systemd, {
        added: (d) => this.intake.driveAdded(d),
        removed: (d) => {
          this.opener.driveRemoved(d);
          this.intake.driveRemoved(d);
        },
      }, this.log);
    await this.watcher.start(luksDrives(this.config));
    clock.mark('drives');
    this.stopWatching = await watchForReload(this.options.configFile, (why) => void this.reload(why));
    await this.ledOpening;
    clock.mark('led and config watch');
    this.api = await DaemonApi.start(this.dbus, this);
    clock.mark('api');
    // Only now: the bus name is ours, so no other daemon is running the job the record tells of.
    await reportInterruptedJob({ config: this.config, notifier: this.notify.current, log: this.log, recovered, present: (name) => this.watcher?.find(name) !== undefined });
    clock.mark('crash report');
    const names = this.watchedNames();
    this.log.info({ drives: names, config: this.options.configFile, startupMs: clock.phases }, `plugback daemon ready, waiting for ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'drives (none is configured)'}`);
    this.intake.open();
    this.events.setState('idle');
    // Ready for systemd only now: the bus name is ours and the drives already plugged in are known.
    await this.status.ready(names);
    this.intake.runSoon();
  }

  /** Stops cleanly: a running job is cancelled and its clean-up (unmount, close) finishes before this resolves. */
  async stop(why: string): Promise<void> {
    if (this.intake.stopping) return;
    this.intake.close();
    this.events.setState('stopping');
    await this.status.stopping();
    const running = this.runner.running;
    if (running !== undefined) {
      this.log.info({ drive: running }, `${why}: cancelling the backup of "${running}" and cleaning up`);
      this.runner.cancel(new Error(`cancelled: the daemon is stopping (${why})`));
    }
    await this.intake.drained();
    this.opener.stop();
    await this.stopWatching?.();
    this.watcher?.stop();
    await this.notify.stop();
    await this.api?.stop();
    await this.ledOpening?.catch(() => undefined);
    await this.led.close();
    this.dbus?.close();
    this.log.info(`plugback daemon stopped (${why})`);
  }

  /** Reads the config file again; an invalid file is refused with its problems and the old config stays in force. */
  reload(why: string): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      if (this.intake.stopping) return;
      const next = await readNewConfig(this.options, this.log, why);
      if (!next) return;
      const before = this.config;
      this.config = next;
      await this.notify.restart(next);
      await this.watcher?.setDrives(luksDrives(next));
      logReloaded(this.log, why, before, next, this.runner.running);
    });
    return this.reloading;
  }

  /** The LUKS drives' names: the drives the daemon watches for. */
  private watchedNames(): string[] {
    return luksDrives(this.config).map((d) => d.name);
  }

  private fatal(error: Error): void {
    this.log.fatal(error.message);
    this.options.onFatal(error);
  }
}
