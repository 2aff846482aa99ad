// Which drive id this machine adopted for each drive name, so a second drive carrying the same name is noticed.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureDirDurable, writeFileAtomic } from '../system/atomic-file.js';

interface KnownDrive {
  id: string;
  since: string;
}

const fileIn = (stateDir: string) => path.join(stateDir, 'known-drives.json');

async function readAll(stateDir: string): Promise<Record<string, KnownDrive>> {
  try {
    return JSON.parse(await readFile(fileIn(stateDir), 'utf8')) as Record<string, KnownDrive>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

/** The id remembered for drive `name`, if any. */
export async function knownDriveId(stateDir: string, name: string): Promise<string | undefined> {
  return (await readAll(stateDir))[name]?.id;
}

/** Remembers `id` as drive `name` (on adopt, or the first time a run meets the drive). */
export async function rememberDrive(stateDir: string, name: string, id: string): Promise<void> {
  await ensureDirDurable(stateDir);
  const all = await readAll(stateDir);
  all[name] = { id, since: new Date().toISOString() };
  await writeFileAtomic(fileIn(stateDir), `${JSON.stringify(all, null, 2)}\n`, 0o600);
}

/** Forgets drive `name` (it was retired); returns the id it had. */
export async function forgetDrive(stateDir: string, name: string): Promise<string | undefined> {
  const all = await readAll(stateDir);
  const id = all[name]?.id;
  if (id === undefined) return undefined;
  delete all[name];
  await writeFileAtomic(fileIn(stateDir), `${JSON.stringify(all, null, 2)}\n`, 0o600);
  return id;
}
