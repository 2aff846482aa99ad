// The daemon's notifier (mail, ledger, metrics, healthchecks, reminders): started with the config, started
// again with the new one on a reload, and told of each job's start and end. A job keeps the notifier it
// started with, as it keeps its config.
import type { Logger } from 'pino';
import type { Config } from '../config/model.js';
import { Notifier } from '../notify/notifier.js';
import type { JobSubscriber } from './job-runner.js';

export class NotifySubscriber {
  private notifier: Notifier | undefined;
  private stopOverdueWatch: (() => void) | undefined;

  constructor(
    private readonly log: Logger,
    /** Called when the overdue drives change (the LED shows them when idle). */
    private readonly overdueChanged: () => void,
  ) {}

  /** The notifier in force, if started. */
  get current(): Notifier | undefined {
    return this.notifier;
  }

  /** Mail, ledger, metrics and the reminder schedule for `config`. */
  start(config: Config): void {
    this.notifier = new Notifier(config, this.log);
    this.stopOverdueWatch = this.notifier.onOverdueChange(() => this.overdueChanged());
    this.notifier.start();
  }

  async stop(): Promise<void> {
    this.stopOverdueWatch?.();
    await this.notifier?.stop();
    this.notifier = undefined;
  }

  async restart(config: Config): Promise<void> {
    await this.stop();
    this.start(config);
  }

  overdueDrives(): string[] {
    return this.notifier?.overdueDrives() ?? [];
  }

  readonly subscriber: JobSubscriber = (drive) => {
    const notifier = this.notifier;
    return {
      started: () => notifier?.jobStarted(drive.name) ?? Promise.resolve(),
      ended: async (result, details) => {
        await notifier?.jobFinished(drive.name, result, details);
      },
    };
  };
}
