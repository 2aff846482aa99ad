// The daemon's log: pino JSON lines on stdout. Under systemd, stdout goes to the journal, which reads a
// "<N>" prefix as the line's syslog priority, so `journalctl -p warning -u plugback` shows warnings and worse.
import type { LineSink } from '../job/job-log.js';

// pino's numeric levels → syslog priorities (sd-daemon(3)): fatal 2 crit, error 3 err, warn 4 warning, info 6, debug/trace 7.
const PRIORITY: Record<number, number> = { 60: 2, 50: 3, 40: 4, 30: 6, 20: 7, 10: 7 };

/** Writes lines to `out`, with the journal's priority prefix when stdout is connected to the journal. */
export function journalSink(out: NodeJS.WritableStream = process.stdout, toJournal = Boolean(process.env.JOURNAL_STREAM)): LineSink {
  if (!toJournal) return (line) => void out.write(line);
  return (line) => {
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
    out.write(`<${PRIORITY[level] ?? 6}>${line}`);
  };
}
