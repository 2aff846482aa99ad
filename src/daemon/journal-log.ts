// Log lines for the journal. Under systemd, stdout and stderr go to the journal, which stamps each line with its
// own time and reads a "<N>" prefix as its syslog priority (sd-daemon(3)), so `journalctl -p warning -u plugback`
// shows warnings and worse. There a line is the message alone; the JSON form stays in the run log on the drive.
import type { LineSink } from '../job/job-log.js';
import { isJournalStream } from '../system/journal-stream.js';

// pino's numeric levels → syslog priorities: fatal 2 crit, error 3 err, warn 4 warning, info 6, debug/trace 7.
const PRIORITY: Record<number, number> = { 60: 2, 50: 3, 40: 4, 30: 6, 20: 7, 10: 7 };

/** Syslog priorities for lines plugback prints itself. */
export const JOURNAL_PRIORITY = { err: 3, warning: 4, info: 6 } as const;

/** One pino JSON line as journal lines: `<N>message`, each line of a message with the same priority. */
export function journalLine(line: string): string {
  let priority = 6;
  let text = line.replace(/\n$/, '');
  try {
    const entry = JSON.parse(text) as { level?: unknown; msg?: unknown };
    if (typeof entry.level === 'number') priority = PRIORITY[entry.level] ?? 6;
    if (typeof entry.msg === 'string') text = entry.msg;
  } catch {
    // Not JSON: printed as it is, at info.
  }
  return prefixed(priority, text);
}

/** `text` with `<priority>` before each of its lines. */
export function prefixed(priority: number, text: string): string {
  return `${text.split('\n').map((l) => `<${priority}>${l}`).join('\n')}\n`;
}

/** Writes log lines to `out`: as journal lines when `toJournal`, else the JSON lines as they are. */
export function journalSink(out: NodeJS.WritableStream = process.stdout, toJournal = isJournalStream(1)): LineSink {
  if (!toJournal) return (line) => void out.write(line);
  return (line) => void out.write(journalLine(line));
}

/** A line of plugback's own on stderr; with its priority when stderr is the journal. */
export function stderrNote(priority: number, text: string, err: NodeJS.WritableStream = process.stderr, toJournal = isJournalStream(2)): void {
  err.write(toJournal ? prefixed(priority, text) : `${text}\n`);
}
