// A depth-first walk of a snapshot's state folders in checksum-list order (format.ts), for building and checking
// lists. Drive rules: no link is followed (every folder is opened with O_NOFOLLOW through the folder above it),
// nothing on another file system is entered, and a file is hashed only if it is still the inode the walk saw.
// Folders are read synchronously, one at a time, yielding between them: lstat through libuv's pool costs ten
// times more per file, and the daemon's event loop still gets a turn after every folder.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, type BigIntStats } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DriveDir } from '../drive-dir.js';
import { escapeName } from './format.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

export interface WalkedFile {
  key: string;
  /** The file as reached through its folder's descriptor (valid during the visit only). */
  path: Buffer;
  st: BigIntStats;
}

export interface WalkHandlers {
  file(f: WalkedFile): Promise<void>;
  /** Something not walked into: a folder on another file system, or one that could not be read. */
  skipped(key: string, why: string): void;
}

/** Walks each state folder of `snapshot` that exists, in key order. */
export async function walkStates(snapshot: DriveDir, states: readonly string[], handlers: WalkHandlers): Promise<void> {
  for (const state of [...states].sort()) {
    const dir = await snapshot.openDir(state);
    if (!dir) continue;
    try {
      await walkFolder(Buffer.from(dir.pinned), state, dir.dev, handlers);
    } finally {
      await dir.close();
    }
  }
}

async function walkFolder(folder: Buffer, key: string, dev: number, handlers: WalkHandlers): Promise<void> {
  let names: Buffer[];
  try {
    names = readdirSync(folder, { encoding: 'buffer' });
  } catch (error) {
    handlers.skipped(key, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return;
  }
  const entries = names.map((name) => ({ name, escaped: escapeName(name) })).sort((a, b) => (a.escaped < b.escaped ? -1 : a.escaped > b.escaped ? 1 : 0));
  const folders: { key: string; path: Buffer }[] = [];
  for (const e of entries) {
    const path = Buffer.concat([folder, SLASH, e.name]);
    const childKey = `${key}/${e.escaped}`;
    let st: BigIntStats;
    try {
      st = lstatSync(path, { bigint: true });
    } catch (error) {
      handlers.skipped(childKey, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      continue;
    }
    if (st.isFile()) {
      // A folder's own files and subfolders interleave in key order: finish the folders that sort first.
      while (folders.length > 0) await descend(folders.shift() as { key: string; path: Buffer }, dev, handlers);
      await handlers.file({ key: childKey, path, st });
    } else if (st.isDirectory()) {
      folders.push({ key: childKey, path });
    }
  }
  for (const f of folders) await descend(f, dev, handlers);
}

async function descend(f: { key: string; path: Buffer }, dev: number, handlers: WalkHandlers): Promise<void> {
  let fd: number;
  try {
    fd = openSync(f.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (error) {
    handlers.skipped(f.key, `cannot be opened as a folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return;
  }
  try {
    if (fstatSync(fd).dev !== dev) {
      handlers.skipped(f.key, 'is on another file system (a mount or a nested subvolume): not entered');
      return;
    }
    await yieldToLoop();
    await walkFolder(Buffer.from(`/proc/self/fd/${fd}`), f.key, dev, handlers);
  } finally {
    closeSync(fd);
  }
}

const SLASH = Buffer.from('/');

/** One buffer for every read: hash.update copies what it is given, so it is free again before any await. */
const READ_BUFFER = Buffer.allocUnsafe(1 << 20);
let lastYield = performance.now();

/**
 * The SHA-256 of a walked file, read through a descriptor of the same inode (never a link, never a FIFO).
 * Synchronous reads, yielding to the event loop every 20 ms: through FileHandle each small file cost about 20
 * times more (four trips through libuv's pool), which made hashing a first backup slower than copying it.
 */
export async function hashWalkedFile(f: WalkedFile): Promise<string> {
  const fd = openSync(f.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile() || st.ino !== f.st.ino || st.dev !== f.st.dev) throw new Error('it was replaced while being read');
    const hash = createHash('sha256');
    for (;;) {
      const bytesRead = readSync(fd, READ_BUFFER, 0, READ_BUFFER.length, null);
      if (bytesRead === 0) break;
      hash.update(READ_BUFFER.subarray(0, bytesRead));
      if (performance.now() - lastYield > 20) {
        await yieldToLoop();
        lastYield = performance.now();
      }
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/**
 * Reaches one listed file from the snapshot folder, folder by folder with O_NOFOLLOW, and runs `use` on it while
 * its folder stays open; a string says why it could not be reached (missing, a link, another file system).
 */
export async function withListedFile<T>(snapshot: DriveDir, state: string, names: Buffer[], use: (f: WalkedFile) => Promise<T>): Promise<T | string> {
  const dir = await snapshot.openDir(state).catch((error: Error) => error);
  if (!dir || dir instanceof Error) return dir ? `cannot be reached: ${dir.message}` : 'is missing from the drive (its state folder is gone)';
  const opened: number[] = [];
  try {
    let folder = Buffer.from(dir.pinned);
    for (const name of names.slice(0, -1)) {
      let fd: number;
      try {
        fd = openSync(Buffer.concat([folder, SLASH, name]), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return code === 'ENOENT' ? 'is missing from the drive' : `cannot be reached (${code}: a folder on its way is not a folder)`;
      }
      opened.push(fd);
      if (fstatSync(fd).dev !== dir.dev) return 'cannot be reached: a folder on its way is on another file system';
      folder = Buffer.from(`/proc/self/fd/${fd}`);
    }
    const path = Buffer.concat([folder, SLASH, names.at(-1) as Buffer]);
    let st: BigIntStats;
    try {
      st = lstatSync(path, { bigint: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? 'is missing from the drive' : `cannot be read (${code})`;
    }
    if (!st.isFile()) return 'is no longer a regular file';
    return await use({ key: '', path, st });
  } finally {
    for (const fd of opened) closeSync(fd);
    await dir.close();
  }
}
