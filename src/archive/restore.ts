// Unpacks an archive: gpg -d | zstd -d (or gzip -d) | tar -x into a folder that is empty or new, keeping
// owners, modes, ACLs, xattrs (every namespace, not only user.*) and hard links. The same pipe a user can type.
import { constants } from 'node:fs';
import { mkdir, open, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DriveDir } from '../repo/drive-dir.js';
import { compressStage } from './create.js';
import { checkFolder } from './destination.js';
import { decryptStage, type GpgSetup } from './encryption.js';
import { formatOf, type ArchiveFormat } from './naming.js';
import { runPipeline } from './pipeline.js';
import { requirePrograms } from './programs.js';

export interface UnpackRequest {
  file: string;
  to: string;
  passphraseFile?: string | undefined;
  /** On a terminal, gpg may ask for a secret key's passphrase. */
  interactive: boolean;
  signal?: AbortSignal | undefined;
}

/** The archive's format by its name, or an error saying which names plugback knows. */
export function archiveFormat(file: string): ArchiveFormat {
  const format = formatOf(path.basename(file));
  if (!format) throw new Error(`${file} is not named like an archive of plugback's (.tar.zst or .tar.gz, with .gpg when encrypted): rename it, or unpack it by hand (docs/archives.md)`);
  return format;
}

/** Refuses a --to that is not a new or empty folder that only root (or this user) can change; asked before confirming. */
export async function checkUnpackFolder(to: string): Promise<void> {
  const st = await stat(to).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new Error(`${to} is not a folder: give --to a new or empty folder`);
  const dir = await DriveDir.openRoot(to);
  try {
    await checkEmptyFolder(dir, to);
  } finally {
    await dir.close();
  }
}

export async function unpackArchive(req: UnpackRequest): Promise<void> {
  const format = archiveFormat(req.file);
  await requirePrograms({ tar: 'unpacking', [format.compression]: 'decompressing', ...(format.encrypted ? { gpg: 'decrypting' } : {}) });
  const input = await open(req.file, constants.O_RDONLY).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot open ${req.file} (${error.code ?? 'error'}): check the path`);
  });
  let gpg: GpgSetup | undefined;
  let dir: DriveDir | undefined;
  const created = !(await stat(req.to).catch(() => undefined));
  try {
    if (!(await input.stat()).isFile()) throw new Error(`${req.file} is not a regular file`);
    if (format.encrypted) gpg = await decryptStage(req.passphraseFile, req.interactive);
    else if (req.passphraseFile) throw new Error(`${req.file} is not encrypted (its name has no .gpg), so --passphrase-file has nothing to do: leave it out`);
    dir = await openEmptyFolder(req.to);
    const tar = ['--extract', '--file=-', '--xattrs', '--xattrs-include=*', '--acls', '--numeric-owner', '--same-owner', '--same-permissions', '-C', dir.pinned];
    const stages = [...(gpg ? [gpg.stage] : []), compressStage(format.compression, true), { name: 'tar', command: 'tar', args: tar }];
    const shown = dir;
    await runPipeline(stages, { input: input.fd, signal: req.signal, readable: (t) => t.replaceAll(shown.pinned, shown.path) }).catch(async (error: Error) => {
      // A folder made for this unpack and still empty goes again; one with part of the archive is the user's to look at.
      if (created && (await shown.entries()).length === 0) await rmdir(req.to).catch(() => undefined);
      else throw new Error(`${error.message}; ${req.to} holds part of the archive: delete it (rm -rf ${req.to}) before trying again`);
      throw error;
    });
  } finally {
    await dir?.close();
    await gpg?.cleanup();
    await input.close();
  }
}

/** The --to folder, created (0700) when missing, checked like the archive folder, and refused unless empty. */
async function openEmptyFolder(to: string): Promise<DriveDir> {
  await checkUnpackFolder(to);
  await mkdir(to, { recursive: true, mode: 0o700 });
  const dir = await DriveDir.openRoot(to);
  try {
    await checkEmptyFolder(dir, to);
    return dir;
  } catch (error) {
    await dir.close();
    throw error;
  }
}

async function checkEmptyFolder(dir: DriveDir, to: string): Promise<void> {
  await checkFolder(dir, to);
  const entries = await dir.entries();
  if (entries.length > 0) {
    throw new Error(`${to} is not empty (it holds ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}); unpacking never mixes an archive with other files: give --to a new or empty folder`);
  }
}
