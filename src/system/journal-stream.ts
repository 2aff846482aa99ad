// Whether a standard stream is connected to the systemd journal, the way systemd.exec(5) documents it:
// JOURNAL_STREAM holds "DEVICE:INODE" of the stream systemd connected; a stream redirected since differs.
import { fstatSync } from 'node:fs';

/** True when file descriptor `fd` (1 stdout, 2 stderr) is the journal stream JOURNAL_STREAM names. */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!match) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(match[1]!) && st.ino === BigInt(match[2]!);
  } catch {
    return false;
  }
}
