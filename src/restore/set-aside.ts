// The copies a restore in place set aside (<name>.plugback-before-restore-<time>[-N], see keptAsideName):
// found beside and inside the config's folders, listed, and removed on request. The walk goes through DriveDir
// handles: it never follows a link, never leaves a folder's file system, and a removal goes through the handle
// of the directory it was found in, so a directory swapped for a link meanwhile cannot redirect it.
import path from 'node:path';
import { DriveDir, type EntryKind } from '../repo/drive-dir.js';
import { parseSnapshotName } from '../repo/layout.js';

const SET_ASIDE = /^(.+)\.plugback-before-restore-(\d{4}-\d\d-\d\dT\d{6}Z)(?:-\d+)?$/;

export interface SetAside {
  /** Where it is, and its name in the directory it is in. */
  path: string;
  name: string;
  /** The path it was set aside from (what the restore replaced). */
  original: string;
  /** When it was set aside (from its name). */
  time: Date;
  kind: EntryKind;
}

/** When `name` is a set-aside copy's name: the original's name and the time; else undefined. */
export function parseSetAsideName(name: string): { original: string; time: Date } | undefined {
  const m = SET_ASIDE.exec(name);
  const time = m && parseSnapshotName(m[2]!);
  return m && time ? { original: m[1]!, time } : undefined;
}

/**
 * Calls `visit` for every set-aside copy of the folders (beside each, and anywhere inside it), with the open
 * directory it is in. Copies are not looked into. Folders that are missing are skipped.
 */
export async function forEachSetAside(folders: readonly string[], visit: (found: SetAside, parent: DriveDir) => Promise<void>): Promise<void> {
  for (const folder of folders) {
    let parent: DriveDir;
    try {
      // The config's own path (root's): links on the way to it are followed, as for a restore in place.
      parent = await DriveDir.openRoot(path.dirname(folder));
    } catch {
      continue;
    }
    try {
      const own = path.basename(folder);
      for (const e of await parent.entries()) {
        const parsed = parseSetAsideName(e.name);
        if (parsed?.original === own) await visit({ path: parent.show(e.name), name: e.name, original: folder, time: parsed.time, kind: e.kind }, parent);
      }
      const dir = await parent.openDir(own).catch(() => undefined);
      if (dir) await walk(dir, visit).finally(() => dir.close());
    } finally {
      await parent.close();
    }
  }
}

async function walk(dir: DriveDir, visit: (found: SetAside, parent: DriveDir) => Promise<void>): Promise<void> {
  for (const e of await dir.entries()) {
    const parsed = parseSetAsideName(e.name);
    if (parsed) {
      await visit({ path: dir.show(e.name), name: e.name, original: dir.show(parsed.original), time: parsed.time, kind: e.kind }, dir);
      continue;
    }
    if (e.kind !== 'dir') continue;
    // Another file system mounted below (openDir refuses it) is not this folder's: skip it.
    const sub = await dir.openDir(e.name).catch(() => undefined);
    if (sub) await walk(sub, visit).finally(() => sub.close());
  }
}
