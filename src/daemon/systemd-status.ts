// What `systemctl status plugback` shows on its Status: line (sd_notify STATUS=): waiting for which drives,
// which drive is being backed up, and the copy's progress every few seconds (often enough for a human), as the
// same whole-job figure a terminal shows (progress-figure.ts: no `0ms left` from rsync's per-file estimate).
import type { SyncProgress } from '../job/events.js';
import { ProgressFigure } from '../job/progress-figure.js';
import { notifySystemd } from '../system/sd-notify.js';
import type { JobSubscriber } from './job-runner.js';

const PROGRESS_EVERY_MS = 5000;

export class SystemdStatus {
  private lastProgressAt = 0;
  private figure = new ProgressFigure();

  /** `notify` sends to systemd's notify socket; a test hands in its own. */
  constructor(private readonly notify: (fields: Record<string, string>) => Promise<void> = notifySystemd) {}

  /** READY=1 with the idle status: only once the bus name is ours and the drives already plugged in are known. */
  ready(drives: string[]): Promise<void> {
    return this.notify({ READY: '1', STATUS: idleText(drives) });
  }

  idle(drives: string[]): Promise<void> {
    return this.notify({ STATUS: idleText(drives) });
  }

  stopping(): Promise<void> {
    return this.notify({ STOPPING: '1' });
  }

  /** The job's part: "backing up" at its start, then its progress. */
  readonly subscriber: JobSubscriber = (drive) => ({
    started: () => {
      this.figure = new ProgressFigure();
      this.lastProgressAt = 0;
      return this.notify({ STATUS: `backing up "${drive.name}"` });
    },
    event: (event) => {
      if (event.type === 'progress') this.progress(drive.name, event.progress);
    },
  });

  private progress(drive: string, p: SyncProgress): void {
    // Every update goes into the figure (it adds the states up); systemd hears of it every few seconds.
    const line = this.figure.line(p);
    if (Date.now() - this.lastProgressAt < PROGRESS_EVERY_MS) return;
    this.lastProgressAt = Date.now();
    void this.notify({ STATUS: `${drive}: backing up, ${line}` });
  }
}

function idleText(drives: string[]): string {
  return `waiting for drives (${drives.join(', ') || 'none configured'})`;
}
