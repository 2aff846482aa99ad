// Reading and writing checksum lists on the drive. Reading is strict (format.ts): a list that is not exactly
// what plugback writes ends early and says why, so a damaged list can only make plugback hash or report more.
import { once } from 'node:events';
import { constants, open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { temporaryName, type DriveDir } from '../drive-dir.js';
import type { Repository } from '../repository.js';
import { CHECKSUMS_FILE, CHECKSUMS_HEADER, compareKeys, formatLine, MAX_LINE, parseLine, type ChecksumEntry } from './format.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Walks a checksum list in order, one key at a time; `damage` says why it ended early, if it did. */
export class ChecksumCursor {
  damage: string | undefined;
  private head: ChecksumEntry | undefined;
  /** Entries arrive a decompressed chunk at a time: one await per chunk, not per file. */
  private batch: ChecksumEntry[] = [];
  private at = 0;
  private ended = false;
  private disposed = false;
  private last: string | undefined;

  constructor(
    private readonly entries: AsyncIterator<ChecksumEntry[]>,
    private readonly close: () => Promise<void>,
  ) {}

  /** The entry for `key`, if the list has one; every entry before it is passed to `skipped` (a file not seen). */
  async seek(key: string, skipped?: (e: ChecksumEntry) => void): Promise<ChecksumEntry | undefined> {
    for (;;) {
      const head = await this.peek();
      if (!head) return undefined;
      const order = compareKeys(head.key, key);
      if (order > 0) return undefined;
      this.head = undefined;
      if (order === 0) return head;
      skipped?.(head);
    }
  }

  /** Passes every entry not yet reached to `skipped`, then closes the list. */
  async finish(skipped?: (e: ChecksumEntry) => void): Promise<void> {
    for (let e = await this.peek(); e; e = await this.peek()) {
      this.head = undefined;
      skipped?.(e);
    }
    await this.dispose();
  }

  /** Closes the list (once). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.ended = true;
    await this.close();
  }

  private async peek(): Promise<ChecksumEntry | undefined> {
    if (this.head || this.ended) return this.head;
    while (this.at >= this.batch.length) {
      try {
        const next = await this.entries.next();
        if (next.done) {
          this.ended = true;
          return undefined;
        }
        this.batch = next.value;
        this.at = 0;
      } catch (error) {
        this.endDamaged((error as Error).message);
        return undefined;
      }
    }
    const entry = this.batch[this.at++] as ChecksumEntry;
    if (this.last !== undefined && compareKeys(this.last, entry.key) >= 0) {
      this.endDamaged(`${entry.key} is out of order`);
    } else {
      this.head = entry;
      this.last = entry.key;
    }
    return this.head;
  }

  private endDamaged(why: string): void {
    this.damage = why;
    this.ended = true;
    this.head = undefined;
    this.batch = [];
  }
}

/**
 * The checksum list in snapshot folder `dir`, as a cursor; undefined when there is none. A list that is a link, a
 * FIFO or on another file system is refused like any drive entry: the cursor starts damaged.
 */
export async function openChecksumList(dir: DriveDir, alsoClose: () => Promise<void> = async () => undefined): Promise<ChecksumCursor | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(dir.at(CHECKSUMS_FILE), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return damagedCursor(`${dir.show(CHECKSUMS_FILE)} cannot be opened: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, alsoClose);
  }
  const st = await handle.stat();
  if (!st.isFile() || st.dev !== dir.dev) {
    await handle.close();
    return damagedCursor(`${dir.show(CHECKSUMS_FILE)} is not a regular file on the drive`, alsoClose);
  }
  const streams: Readable[] = [];
  return new ChecksumCursor(parseEntries(gunzipLines(handle, streams), dir.show(CHECKSUMS_FILE)), async () => {
    for (const stream of streams) stream.destroy();
    await handle.close();
    await alsoClose();
  });
}

/** The list's lines; read errors and gzip damage are thrown by the iteration (never left unhandled). */
async function* gunzipLines(handle: FileHandle, streams: Readable[]): AsyncGenerator<string[]> {
  // Big chunks: the list is read straight through, and each chunk costs a trip through the stream machinery.
  const raw = handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 });
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  streams.push(raw, gunzip);
  pipeline(raw, gunzip).catch(() => undefined);
  yield* readLines(gunzip);
}

/** The list of complete snapshot `name` as a cursor that also closes the snapshot folder; undefined when it has none. */
export async function snapshotChecksumList(repo: Repository, name: string): Promise<ChecksumCursor | undefined> {
  const dir = await repo.openSnapshot(name);
  const list = await openChecksumList(dir, () => dir.close());
  if (!list) await dir.close();
  return list;
}

function damagedCursor(why: string, close: () => Promise<void>): ChecksumCursor {
  const cursor = new ChecksumCursor((async function* () {})(), close);
  cursor.damage = why;
  return cursor;
}

async function* parseEntries(chunks: AsyncIterable<string[]>, shown: string): AsyncGenerator<ChecksumEntry[]> {
  let first = true;
  for await (const lines of chunks) {
    const entries: ChecksumEntry[] = [];
    for (const line of lines) {
      if (first) {
        if (line !== CHECKSUMS_HEADER) throw new Error(`${shown} does not start with "${CHECKSUMS_HEADER}"`);
        first = false;
        continue;
      }
      const entry = parseLine(line);
      if (!entry) throw new Error(`${shown} holds a line that is not a checksum entry`);
      entries.push(entry);
    }
    yield entries;
  }
  if (first) throw new Error(`${shown} is empty`);
}

/** The lines of a stream, a chunk's worth at a time. */
async function* readLines(stream: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of stream) {
    const parts = (rest + chunk.toString('latin1')).split('\n');
    rest = parts.pop() as string;
    if (rest.length > MAX_LINE || parts.some((part) => part.length > MAX_LINE)) throw new Error(`a line is longer than ${MAX_LINE} characters`);
    yield parts;
  }
  if (rest !== '') throw new Error('the last line is cut off');
}

/** Writes a new list into `dir` under an unguessable temporary name; `commit` renames it into place. */
export class ChecksumWriter {
  private readonly gzip = createGzip({ level: 1 });
  private pending = '';
  private done: Promise<void> | undefined;

  private constructor(
    private readonly dir: DriveDir,
    private readonly temp: string,
    private readonly handle: FileHandle,
  ) {
    // The compressed bytes go through the handle itself, so it can be flushed (fsync) before the rename.
    this.done = (async () => {
      for await (const chunk of this.gzip) await handle.write(chunk as Buffer);
    })();
    this.done.catch(() => undefined);
  }

  static async create(dir: DriveDir): Promise<ChecksumWriter> {
    const temp = temporaryName(CHECKSUMS_FILE);
    const writer = new ChecksumWriter(dir, temp, await dir.createFile(temp, 0o644));
    await writer.write(`${CHECKSUMS_HEADER}\n`);
    return writer;
  }

  async add(entry: ChecksumEntry): Promise<void> {
    // One zlib write per line would be one trip through libuv's pool per file: lines go in 64 KiB at a time.
    this.pending += formatLine(entry);
    if (this.pending.length >= 65_536) await this.flushPending();
  }

  async commit(): Promise<void> {
    await this.flushPending();
    this.gzip.end();
    await this.done;
    await this.handle.sync();
    await this.handle.close();
    await this.dir.rename(this.temp, CHECKSUMS_FILE);
  }

  /** Drops the half-written list (a failed run): nothing of it stays on the drive. */
  async abandon(): Promise<void> {
    this.gzip.destroy();
    await this.done?.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
    await this.dir.unlink(this.temp).catch(() => undefined);
  }

  private async flushPending(): Promise<void> {
    const text = this.pending;
    this.pending = '';
    if (text !== '') await this.write(text);
  }

  private async write(text: string): Promise<void> {
    if (!this.gzip.write(text)) await once(this.gzip, 'drain');
  }
}
