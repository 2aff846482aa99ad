// Where the daemon's start-up time goes, phase by phase, logged on its ready line (startupMs): after a crash,
// systemd's RestartSec= plus this is how long nothing watches for drives.
import { performance } from 'node:perf_hooks';

export class StartupClock {
  /** Milliseconds per phase, in order; "node" is the time from the process's start to the daemon's. */
  readonly phases: Record<string, number> = { node: Math.round(performance.now()) };
  private last = performance.now();

  mark(phase: string): void {
    const now = performance.now();
    this.phases[phase] = Math.round(now - this.last);
    this.last = now;
  }
}
