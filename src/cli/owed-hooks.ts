// The postBackup hooks a job still owes, followed from its events, so quitting without clean-up can name them.
import type { JobEvent } from '../job/events.js';

export class OwedHooks {
  private hooks: { state?: string | undefined; script: string }[] = [];

  onEvent(event: JobEvent): void {
    if (event.type === 'post-hooks-owed') this.hooks = event.hooks;
  }

  /** One sentence per hook that will not run: "skipped postBackup hook of photos: `systemctl start x` — ...". */
  skipped(): string[] {
    return this.hooks.map((h) => {
      const which = h.state === undefined ? 'the global postBackup hook' : `postBackup hook of ${h.state}`;
      return `skipped ${which}: \`${oneLine(h.script)}\` — what its preBackup stopped may still be stopped; run it by hand`;
    });
  }
}

/** A multi-line script shown on one line. */
function oneLine(script: string): string {
  const lines = script.trim().split('\n');
  return lines.length > 1 ? `${lines[0]} …` : (lines[0] ?? '');
}
