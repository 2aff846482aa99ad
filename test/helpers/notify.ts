// What the notification tests share: a pino logger whose lines the test can read, and a settable clock.
import { pino, type Logger } from 'pino';

/** A logger that keeps its lines (as text) in `lines`. */
export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private time: Date) {}
  readonly now = (): Date => new Date(this.time);
  set(iso: string): void {
    this.time = new Date(iso);
  }
  advanceDays(days: number): void {
    this.time = new Date(this.time.getTime() + days * 86_400_000);
  }
}
