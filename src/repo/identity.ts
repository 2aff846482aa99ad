// The identity file on each drive: proof that the mounted file system is the drive the config means.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { VERSION } from '../version.js';
import { writeFileAtomic } from '../system/atomic-file.js';
import type { RepoPaths } from './layout.js';

export interface DriveIdentity {
  format: 1;
  name: string;
  id: string;
  createdAt: string;
  plugbackVersion: string;
}

/** The identity on a drive, or undefined when there is none; throws when the file is unreadable or corrupt. */
export async function readIdentity(paths: RepoPaths): Promise<DriveIdentity | undefined> {
  let text: string;
  try {
    text = await readFile(paths.identity, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: Partial<DriveIdentity> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<DriveIdentity>;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed?.name !== 'string' || typeof parsed.id !== 'string') {
    throw new Error(
      `${paths.identity} is damaged (not JSON with a name and an id); if you know which drive this is, run plugback drive adopt NAME --force to write a new identity`,
    );
  }
  return parsed as DriveIdentity;
}

/** Writes a new identity for `name`; the caller has checked there is none or that replacing it is wanted. */
export async function writeIdentity(paths: RepoPaths, name: string): Promise<DriveIdentity> {
  const identity: DriveIdentity = {
    format: 1,
    name,
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    plugbackVersion: VERSION,
  };
  await mkdir(paths.base, { recursive: true });
  await writeFileAtomic(paths.identity, `${JSON.stringify(identity, null, 2)}\n`);
  return identity;
}
