// The folder archives go into, on this machine. plugback runs as root there, so it treats the folder like a
// drive (docs/threat-model.md): reached through one checked handle, refused when another user could swap names
// in it, files created O_EXCL|O_NOFOLLOW under unguessable names, and an archive appears under its own name
// only once it is whole (fsync, rename over, fsync the folder). A crash leaves the old file and a hidden temp.
import { link, stat, unlink, type FileHandle } from 'node:fs/promises';
import { openDestination } from '../restore/destination.js';
import { DriveDir, temporaryName } from '../repo/drive-dir.js';
import { datedToDelete } from './naming.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** A new archive being written under a hidden temporary name. */
export interface PendingArchive {
  handle: FileHandle;
  temp: string;
}

/** Opens (creating when missing, 0700) the archive folder and checks nobody but root or this user can change it. */
export async function openArchiveFolder(folder: string): Promise<DriveDir> {
  // Missing folders are made one at a time through handles (never mkdir -p, which follows a planted link).
  const { parent, name } = await openDestination(folder, false);
  const dir = await parent.ensureDir(name, 0o700).finally(() => parent.close());
  try {
    await checkFolder(dir, folder);
    return dir;
  } catch (error) {
    await dir.close();
    throw error;
  }
}

/** Refuses a folder another user owns, or one group or others may write to without the sticky bit (like /tmp has). */
export async function checkFolder(dir: DriveDir, shown: string): Promise<void> {
  const st = await stat(dir.pinned);
  const me = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me) {
    throw new Error(
      `${shown} belongs to user ${st.uid}, who could swap files in it while plugback (root) writes there: ` +
        `use a folder root owns (the archive files get --owner), or chown root ${shown}`,
    );
  }
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new Error(
      `${shown} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}) without the sticky bit, so anyone could ` +
        `replace an archive in it: run chmod go-w ${shown}`,
    );
  }
}

/** Starts a new archive beside `name`, created exclusively (a planted file or link of that name is never written through). */
export async function startArchive(dir: DriveDir, name: string): Promise<PendingArchive> {
  const temp = temporaryName(name);
  return { handle: await dir.createFile(temp, 0o600), temp };
}

/** Makes the written archive durable and gives it its name, replacing an older file of that name in one rename. */
export async function finishArchive(dir: DriveDir, pending: PendingArchive, name: string, owner?: Owner): Promise<void> {
  try {
    if (owner) await pending.handle.chown(owner.uid, owner.gid);
    await pending.handle.sync();
  } finally {
    await pending.handle.close();
  }
  await dir.rename(pending.temp, name);
  await dir.sync();
}

/** Removes a half-written archive (after a failure or a cancel). */
export async function abandonArchive(dir: DriveDir, pending: PendingArchive): Promise<void> {
  await pending.handle.close().catch(() => undefined);
  await dir.unlink(pending.temp).catch(() => undefined);
}

/** Gives the finished archive `from` a second name too, atomically: a hard link to a temp name, renamed over `to`. */
export async function alsoName(dir: DriveDir, from: string, to: string): Promise<void> {
  const temp = temporaryName(to);
  await link(dir.at(from), dir.at(temp));
  try {
    await dir.rename(temp, to);
  } catch (error) {
    await unlink(dir.at(temp)).catch(() => undefined);
    throw error;
  }
  await dir.sync();
}

/** Deletes this host's dated archives beyond the newest `keep`; returns their names. Touches nothing else. */
export async function pruneDated(dir: DriveDir, host: string, keep: number): Promise<string[]> {
  const files = (await dir.entries()).filter((e) => e.kind === 'file').map((e) => e.name);
  const doomed = datedToDelete(host, files, keep);
  for (const name of doomed) await dir.unlink(name);
  if (doomed.length > 0) await dir.sync();
  return doomed;
}
