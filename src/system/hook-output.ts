// A hook's output, read with bounded memory and logged with a bound: lines are cut at MAX_LINE_BYTES, and only the
// first and last lines of a long output are passed on, with a count of what was left out between them. A hook that
// prints a gigabyte must neither crash plugback nor fill the drive with its log.

export type OutputStream = 'stdout' | 'stderr';

export const MAX_LINE_BYTES = 64 * 1024;
export const CUT_MARK = ' … (line cut at 64 KiB)';
/** Passed on from the start and kept for the end of each hook's output, in lines and in bytes. */
export const HEAD_LINES = 200;
export const TAIL_LINES = 200;
export const PART_BYTES = 512 * 1024;

/** Turns chunks of bytes into lines of at most MAX_LINE_BYTES; the rest of a longer line is dropped, not buffered. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** In a line already cut: skipping to its newline. */
  private skipping = false;

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline < 0 ? chunk.length : newline;
      if (!this.skipping) {
        const take = Math.min(MAX_LINE_BYTES - this.size, end - start);
        if (take > 0) {
          this.parts.push(chunk.subarray(start, start + take));
          this.size += take;
        }
        if (end - start > take) {
          this.flush(CUT_MARK);
          this.skipping = true;
        }
      }
      if (newline < 0) return;
      if (this.skipping) this.skipping = false;
      else this.flush('');
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (!this.skipping && this.size > 0) this.flush('');
    this.parts = [];
    this.size = 0;
    this.skipping = false;
  }

  private flush(suffix: string): void {
    const text = Buffer.concat(this.parts, this.size).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.emit(`${text.endsWith('\r') ? text.slice(0, -1) : text}${suffix}`);
  }
}

export interface OutputSink {
  line(stream: OutputStream, line: string): void;
  /** Said once, between the first lines and the last ones, when some were left out. */
  omitted(lines: number, bytes: number): void;
}

/** Passes the first HEAD_LINES lines on at once, keeps the last TAIL_LINES, and counts the ones between. */
export class CappedOutput {
  private headLines = 0;
  private headBytes = 0;
  private tail: { stream: OutputStream; line: string; bytes: number }[] = [];
  private tailBytes = 0;
  private omittedLines = 0;
  private omittedBytes = 0;

  constructor(private readonly sink: OutputSink) {}

  add(stream: OutputStream, line: string): void {
    const bytes = Buffer.byteLength(line) + 1;
    if (this.tail.length === 0 && this.headLines < HEAD_LINES && this.headBytes + bytes <= PART_BYTES) {
      this.headLines++;
      this.headBytes += bytes;
      this.sink.line(stream, line);
      return;
    }
    this.tail.push({ stream, line, bytes });
    this.tailBytes += bytes;
    while (this.tail.length > TAIL_LINES || (this.tailBytes > PART_BYTES && this.tail.length > 1)) {
      const dropped = this.tail.shift();
      if (!dropped) break;
      this.tailBytes -= dropped.bytes;
      this.omittedLines++;
      this.omittedBytes += dropped.bytes;
    }
  }

  /** The output ended: the count of what was left out, then the last lines. */
  finish(): void {
    if (this.omittedLines > 0) this.sink.omitted(this.omittedLines, this.omittedBytes);
    for (const t of this.tail) this.sink.line(t.stream, t.line);
    this.tail = [];
    this.tailBytes = 0;
  }
}
