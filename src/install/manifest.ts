// The record of what `plugback install` put on a system, so `plugback uninstall` removes that and nothing else.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../system/atomic-file.js';
import { InstallError } from './errors.js';

export interface Manifest {
  /** Files written, with the SHA-256 of what was written (a file changed since is left alone). */
  files: { path: string; sha256: string }[];
  symlinks: { path: string; target: string }[];
  /** Directories install created, in the order it created them. */
  directories: string[];
  /** plugback's block in /etc/crypttab. */
  crypttab: boolean;
  /** The plugback group, when install created it. */
  group: boolean;
  /** ROOT/etc/group, when install created it (an install under a root that had none). */
  groupFile?: boolean;
}

export const MANIFEST_NAME = 'installed-files.json';

export function emptyManifest(): Manifest {
  return { files: [], symlinks: [], directories: [], crypttab: false, group: false };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The manifest under `stateDirOnRoot`, or an empty one when nothing was installed. */
export async function readManifest(stateDirOnRoot: string): Promise<Manifest> {
  const file = path.join(stateDirOnRoot, MANIFEST_NAME);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return emptyManifest();
  try {
    return { ...emptyManifest(), ...(JSON.parse(text) as Partial<Manifest>) };
  } catch {
    throw new InstallError(`${file} is not valid JSON; it lists what plugback installed: restore it, or remove the files by hand (docs/installing.md lists them)`);
  }
}

/** Writes the manifest when it differs from what is there (so a second install changes nothing). */
export async function writeManifest(stateDirOnRoot: string, manifest: Manifest): Promise<boolean> {
  const file = path.join(stateDirOnRoot, MANIFEST_NAME);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old === text) return false;
  await mkdir(stateDirOnRoot, { recursive: true });
  await writeFileAtomic(file, text);
  return true;
}
