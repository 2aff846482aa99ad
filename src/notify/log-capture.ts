// Keeps a job's log lines in memory as they pass to the console, so a failure mail can quote and attach them
// even when the log file on the drive is gone (unmounted) or was never started (the job failed before mounting).
import type { LineSink } from '../job/job-log.js';

/** More than any sane run logs; past it the oldest lines go, since the end of a log says why it failed. */
const MAX_BYTES = 8 * 1024 * 1024;

export class LogCapture {
  private lines: string[] = [];
  private bytes = 0;
  private dropped = 0;

  constructor(private readonly next: LineSink = () => undefined) {}

  /** Pass this as the job's console: each line is kept and handed on. */
  readonly sink: LineSink = (line) => {
    this.next(line);
    this.lines.push(line);
    this.bytes += line.length;
    while (this.bytes > MAX_BYTES && this.lines.length > 1) {
      this.bytes -= (this.lines.shift() ?? '').length;
      this.dropped++;
    }
  };

  /** Everything kept, as one text; says so when the start had to be dropped. */
  text(): string {
    const note = this.dropped > 0 ? `(the first ${this.dropped} lines are not kept)\n` : '';
    return note + this.lines.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');
  }
}
