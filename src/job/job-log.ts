// One job's log: pino JSON lines to the console sink and, once the drive is known, to
// <drive>/plugback/<host>/logs/<snapshot>.log. Lines written before the file exists are kept and copied in.
// The file is created by check-target through the drive's DriveDir (new, never through a link); this only writes.
import { closeSync, writeSync } from 'node:fs';
import { pino, type Logger, type Level } from 'pino';

export type LineSink = (line: string) => void;

/** A pino logger writing JSON lines to `sink`. */
export function lineLogger(sink: LineSink, level: Level, bindings: Record<string, string>): Logger {
  return pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => sink(line) });
}

export class JobLog {
  readonly logger: Logger;
  /** Lines logged before the file was attached; undefined once it was (nothing is kept after detaching). */
  private early: string[] | undefined = [];
  private fd: number | undefined;
  private filePath: string | undefined;

  constructor(console: LineSink, level: Level = 'info', bindings: Record<string, string> = {}) {
    this.logger = lineLogger((line) => this.write(console, line), level, bindings);
  }

  /** Starts saving the log to the open file `fd` (shown as `file`), beginning with what was logged so far; takes it over. */
  attachFile(fd: number, file: string): void {
    if (this.fd !== undefined) {
      closeSync(fd);
      return;
    }
    this.fd = fd;
    this.filePath = file;
    for (const line of this.early ?? []) writeSync(this.fd, line);
    this.early = undefined;
  }

  get file(): string | undefined {
    return this.filePath;
  }

  /** Stops writing to the drive (before it is unmounted); later lines only reach the console. */
  detachFile(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private write(console: LineSink, line: string): void {
    console(line);
    if (this.fd !== undefined) writeSync(this.fd, line);
    else if (this.early && this.early.length < 10_000) this.early.push(line);
  }
}
