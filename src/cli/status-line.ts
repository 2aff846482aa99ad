// A status line at the bottom of a terminal, redrawn in place, with log lines printed above it. It never turns line
// wrap off (a progress library did, for the whole run, and log lines were cut at the screen's width): the status
// itself is cut to the width instead. The cursor it hides comes back however the process ends, even by
// process.exit() after a second Ctrl-C, through the 'exit' event.

const CLEAR_LINE = '\r\x1b[K';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

export class StatusLine {
  private text: string | undefined;
  private cursorHidden = false;
  private readonly onExit = () => this.clear();

  constructor(private readonly out: NodeJS.WriteStream) {}

  /** Shows (or replaces) the status. */
  show(text: string): void {
    if (!this.cursorHidden) {
      this.cursorHidden = true;
      process.on('exit', this.onExit);
      this.out.write(HIDE_CURSOR);
    }
    this.text = text;
    this.out.write(`${CLEAR_LINE}${this.fit(text)}`);
  }

  /**
   * Prints a line above the status. The line is cleared first: the terminal echoes `^C` where the cursor is, and
   * that must not stay in front of the next line.
   */
  log(text: string): void {
    const body = text.endsWith('\n') ? text : `${text}\n`;
    this.out.write(`${CLEAR_LINE}${body}${this.text === undefined ? '' : this.fit(this.text)}`);
  }

  /** Takes the status away and gives the cursor back; the terminal is as it was before the first show(). */
  clear(): void {
    if (this.text !== undefined) this.out.write(CLEAR_LINE);
    this.text = undefined;
    if (!this.cursorHidden) return;
    this.cursorHidden = false;
    process.off('exit', this.onExit);
    this.out.write(SHOW_CURSOR);
  }

  /** Cut to one short of the width: writing into the last column would wrap the line on some terminals. */
  private fit(text: string): string {
    const width = (this.out.columns ?? 80) - 1;
    const chars = Array.from(text);
    return chars.length > width ? chars.slice(0, Math.max(0, width)).join('') : text;
  }
}

/** A bar of `cells` cells for a percentage: ████████░░░░. */
export function bar(percent: number, cells = 20): string {
  const full = Math.max(0, Math.min(cells, Math.round((percent / 100) * cells)));
  return '█'.repeat(full) + '░'.repeat(cells - full);
}
