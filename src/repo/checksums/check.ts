// Checking a snapshot against its checksum list: every file (or a sample) read back from the drive and hashed.
// With `--all`, snapshots are checked oldest first, and a file that is the very inode the older snapshot held,
// already read and found right, is not read again (hard links and btrfs snapshots share it).
import type { DriveDir } from '../drive-dir.js';
import { splitKey, type ChecksumEntry } from './format.js';
import type { ChecksumCursor } from './list-io.js';
import { hashWalkedFile, walkStates, withListedFile, type WalkedFile } from './tree-walk.js';

export interface Damage {
  snapshot: string;
  /** <state>/<path inside the state folder>, byte-escaped as in the list. */
  file: string;
  problem: string;
}

export interface SnapshotCheck {
  snapshot: string;
  /** No list on the drive: its files were only read (an unreadable one is damage), not compared. */
  listed: boolean;
  files: number;
  read: number;
  bytesRead: number;
  /** Files the older snapshot had shown right already (the same inode): not read again. */
  shared: number;
  /** Files on the drive the list does not name (not compared). */
  unlisted: number;
  damage: Damage[];
}

/** What the next snapshot's check needs from this one: its list again, and the keys not shown right. */
export interface OlderCheck {
  list: ChecksumCursor;
  doubtful: Set<string>;
}

export async function checkSnapshotFully(
  snapshot: string,
  dir: DriveDir,
  states: readonly string[],
  expected: ChecksumCursor | undefined,
  older: OlderCheck | undefined,
): Promise<{ result: SnapshotCheck; doubtful: Set<string> }> {
  const result: SnapshotCheck = { snapshot, listed: Boolean(expected), files: 0, read: 0, bytesRead: 0, shared: 0, unlisted: 0, damage: [] };
  const doubtful = new Set<string>();
  const damaged = (file: string, problem: string) => {
    result.damage.push({ snapshot, file, problem });
    doubtful.add(file);
  };
  const missing = (e: ChecksumEntry) => damaged(e.key, 'is missing from the drive');
  const readAndCompare = async (f: WalkedFile, want?: ChecksumEntry) => {
    result.read++;
    result.bytesRead += Number(f.st.size);
    let hash: string;
    try {
      hash = await hashWalkedFile(f);
    } catch (error) {
      damaged(f.key, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return;
    }
    if (want && hash !== want.hash) damaged(f.key, 'has different content than when it was backed up');
  };
  try {
    await walkStates(dir, states, {
      file: async (f) => {
        result.files++;
        if (!expected) return readAndCompare(f);
        const want = await expected.seek(f.key, missing);
        if (!want) {
          result.unlisted++;
          return;
        }
        if (f.st.size !== want.size) return damaged(f.key, `is ${f.st.size} bytes, ${want.size} when it was backed up`);
        if (f.st.ino !== want.ino) doubtful.add(f.key);
        const before = await older?.list.seek(f.key);
        const sameAsShown = before && !older?.doubtful.has(f.key) && before.ino === want.ino && f.st.ino === want.ino && before.hash === want.hash && before.mtimeNs === want.mtimeNs;
        if (sameAsShown) {
          result.shared++;
          return;
        }
        await readAndCompare(f, want);
      },
      skipped: (key, why) => damaged(key, why),
    });
    await expected?.finish(missing);
    if (expected?.damage) damaged('(checksum list)', `is damaged: ${expected.damage}`);
  } finally {
    await Promise.all([expected?.dispose(), older?.list.dispose()]);
  }
  return { result, doubtful };
}

/** Reads and compares one listed file, reached from the snapshot folder without following links. */
export async function checkListedFile(snapshot: string, dir: DriveDir, entry: ChecksumEntry): Promise<Damage | undefined> {
  const { state, names } = splitKey(entry.key);
  const problem = await withListedFile(dir, state, names, async (f): Promise<string | undefined> => {
    if (f.st.size !== entry.size) return `is ${f.st.size} bytes, ${entry.size} when it was backed up`;
    try {
      if ((await hashWalkedFile(f)) !== entry.hash) return 'has different content than when it was backed up';
    } catch (error) {
      return `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
    return undefined;
  });
  return problem === undefined ? undefined : { snapshot, file: entry.key, problem };
}
