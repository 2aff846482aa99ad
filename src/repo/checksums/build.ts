// Builds a new snapshot's checksum list: a file that is still the very inode the previous snapshot listed (a
// hard link to it, or untouched in a btrfs snapshot of it), with the same size and time, inherits its hash;
// every other file is read back from the drive and hashed. So a run hashes what it copied, and a resumed run
// or a damaged previous list costs only reading more, never a wrong entry.
import type { DriveDir } from '../drive-dir.js';
import { ChecksumCursor, ChecksumWriter } from './list-io.js';
import { hashWalkedFile, walkStates } from './tree-walk.js';

export interface BuildResult {
  files: number;
  hashed: number;
  bytesHashed: number;
  /** Folders not walked and files not hashed, with why. */
  skipped: string[];
  /** Why the previous list could not be used (from there on), if it could not. */
  previousDamage?: string;
}

export async function buildChecksums(snapshot: DriveDir, states: readonly string[], previous: ChecksumCursor | undefined): Promise<BuildResult> {
  const writer = await ChecksumWriter.create(snapshot);
  const result: BuildResult = { files: 0, hashed: 0, bytesHashed: 0, skipped: [] };
  try {
    await walkStates(snapshot, states, {
      file: async (f) => {
        const before = await previous?.seek(f.key);
        let hash = before && before.ino === f.st.ino && before.size === f.st.size && before.mtimeNs === f.st.mtimeNs ? before.hash : undefined;
        if (!hash) {
          try {
            hash = await hashWalkedFile(f);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            // The drive could not give back what was just written to it: that is no snapshot to keep.
            if (code === 'EIO') throw new Error(`reading back ${f.key} from the drive failed (EIO): the drive may be failing`);
            result.skipped.push(`${f.key}: ${(error as Error).message}`);
            return;
          }
          result.hashed++;
          result.bytesHashed += Number(f.st.size);
        }
        result.files++;
        await writer.add({ key: f.key, hash, size: f.st.size, ino: f.st.ino, mtimeNs: f.st.mtimeNs });
      },
      skipped: (key, why) => result.skipped.push(`${key} ${why}`),
    });
    await writer.commit();
  } catch (error) {
    await writer.abandon();
    throw error;
  } finally {
    await previous?.dispose();
  }
  if (previous?.damage) result.previousDamage = previous.damage;
  return result;
}
