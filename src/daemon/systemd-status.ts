// What `systemctl status plugback` shows on its Status: line (sd_notify STATUS=): waiting for which drives,
// which drive is being backed up, and the copy's progress every few seconds (often enough for a human).
import { formatBytes, formatDuration } from '../config/units.js';
import type { SyncProgress } from '../job/events.js';
import { notifySystemd } from '../system/sd-notify.js';
import type { JobSubscriber } from './job-runner.js';

const PROGRESS_EVERY_MS = 5000;

export class SystemdStatus {
  private lastProgressAt = 0;

  /** READY=1 with the idle status: only once the bus name is ours and the drives already plugged in are known. */
  ready(drives: string[]): Promise<void> {
    return notifySystemd({ READY: '1', STATUS: idleText(drives) });
  }

  idle(drives: string[]): Promise<void> {
    return notifySystemd({ STATUS: idleText(drives) });
  }

  stopping(): Promise<void> {
    return notifySystemd({ STOPPING: '1' });
  }

  /** The job's part: "backing up" at its start, then its progress. */
  readonly subscriber: JobSubscriber = (drive) => ({
    started: () => notifySystemd({ STATUS: `backing up "${drive.name}"` }),
    event: (event) => {
      if (event.type === 'progress') this.progress(drive.name, event.progress);
    },
  });

  private progress(drive: string, p: SyncProgress): void {
    if (Date.now() - this.lastProgressAt < PROGRESS_EVERY_MS) return;
    this.lastProgressAt = Date.now();
    const eta = p.etaSeconds !== undefined ? `, ${formatDuration(p.etaSeconds * 1000)} left` : '';
    void notifySystemd({ STATUS: `${drive}: syncing ${Math.floor(p.percent)}%, ${formatBytes(p.rate)}/s${eta}` });
  }
}

function idleText(drives: string[]): string {
  return `waiting for drives (${drives.join(', ') || 'none configured'})`;
}
