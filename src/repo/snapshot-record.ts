// snapshot.json: what a snapshot says about itself. It lives on the drive, so it is read as untrusted input:
// parsed against a strict shape, and a record that does not fit is "no record" (which only makes plugback more
// careful: no shrink baseline, no pruning on its word, no folders to restore to).
import path from 'node:path';
import { z } from '../config/zod.js';

export interface SourceMount {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** What plugback knows about one state inside a snapshot: enough for the shrink check and listings. */
export interface StateRecord {
  folders: string[];
  /** Regular files in the source. */
  files: number;
  /** Every entry rsync listed in the source: files, directories, links. */
  entries: number;
  /** Apparent size of the source's regular files. */
  bytes: number;
  /** Bytes rsync actually copied (the rest was hard-linked from the previous snapshot). */
  transferredBytes: number;
  /** Folder → the mount that held it, to notice an unmounted source next time. */
  mounts: Record<string, SourceMount>;
}

export interface SnapshotRecord {
  format: 1;
  name: string;
  host: string;
  /** The installation that made it (see installation.ts); absent in snapshots made before plugback had one. */
  installation?: string | undefined;
  drive: string;
  driveId: string;
  startedAt: string;
  finishedAt: string;
  plugbackVersion: string;
  /** Set when this run continued an interrupted one. */
  resumedFrom?: string | undefined;
  states: Record<string, StateRecord>;
  /** rsync's complaints when it finished with exit code 23 or 24 (bounded). */
  problems: string[];
  rsyncExitCodes: number[];
}

/** The most a record may weigh: a state list and up to 200 rsync complaints fit easily. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

const count = z.number().int().nonnegative().finite();
const text = z.string().max(4096);
/** An absolute, normalized path: never `..`, never relative, no control characters. */
const absolutePath = text.refine((p) => path.posix.isAbsolute(p) && path.posix.normalize(p) === p && !/[\0-\x1f\x7f]/.test(p));
const mount = z.object({ mountPoint: text, fsType: text, source: text });
const state = z.object({
  folders: z.array(absolutePath).max(1000),
  files: count,
  entries: count,
  bytes: count,
  transferredBytes: count,
  mounts: z.record(absolutePath, mount),
});
const record = z.object({
  format: z.literal(1),
  name: text,
  host: text,
  installation: text.optional(),
  drive: text,
  driveId: text,
  startedAt: text,
  finishedAt: text,
  plugbackVersion: text,
  resumedFrom: text.optional(),
  // A state name as the config allows; `__proto__` as a key would replace the parsed object's prototype.
  states: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,63}$/).refine((k) => k !== '__proto__'), state),
  problems: z.array(z.string()).max(1000),
  rsyncExitCodes: z.array(z.number().int()).max(1000),
});

/** The record in `text`, or why it is not one. `name` is the snapshot's folder name, which the record must repeat. */
export function parseSnapshotRecord(json: string, name: string): { record: SnapshotRecord } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = record.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { problem: `not a snapshot record (${first ? `${first.path.join('.') || 'top'}: ${first.message}` : 'wrong shape'})` };
  }
  if (parsed.data.name !== name) return { problem: `it names snapshot ${parsed.data.name}, not ${name}` };
  return { record: parsed.data as SnapshotRecord };
}
