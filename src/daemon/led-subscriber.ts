// The LED over the daemon's life: the running job's colours (ledReporter), then its result (green until the
// drive is taken away, red until that drive's next plug), and when idle "overdue" while a drive is overdue.
import type { Logger } from 'pino';
import type { LedSettings } from '../config/model.js';
import { ledReporter } from '../led/led-reporter.js';
import { startLed, type LedSession } from '../led/led-session.js';
import type { JobSubscriber } from './job-runner.js';

export class LedSubscriber {
  private led: LedSession | undefined;
  /** What the LED shows after a job: green until the drive is taken away, red until its next plug. */
  private result: 'done' | 'failed' | undefined;

  constructor(
    /** Whether a job runs or waits: then the LED shows that, not idle. */
    private readonly busy: () => boolean,
    private readonly overdueDrives: () => string[],
  ) {}

  /** Finds the stick (when led.enabled); without one the daemon runs on, LED-less. */
  async open(settings: LedSettings, log: Logger): Promise<void> {
    this.led = await startLed(settings, log);
  }

  async close(): Promise<void> {
    await this.led?.close();
  }

  readonly subscriber: JobSubscriber = () => {
    const reporter = this.led ? ledReporter(this.led.controller) : undefined;
    return {
      event: (event) => reporter?.(event),
      ended: async (result) => {
        this.result = result.ending.led;
      },
    };
  };

  /** A drive to back up was plugged in while nothing runs. */
  detected(): void {
    this.result = undefined;
    void this.led?.controller.set('detected');
  }

  showResult(state: 'done' | 'failed'): void {
    this.result = state;
    void this.led?.controller.set(state);
  }

  /** A drive was taken away while no job runs: green has done its job; red stays until that drive's next plug. */
  driveTaken(): void {
    if (this.result !== 'done') return;
    this.result = undefined;
    this.showIdle();
  }

  /** With no job running and no result to show, the LED shows "overdue" when a drive is overdue, else nothing. */
  showIdle(): void {
    if (this.busy() || this.result) return;
    void this.led?.controller.set(this.overdueDrives().length ? 'overdue' : 'idle');
  }
}
