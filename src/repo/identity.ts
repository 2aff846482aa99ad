// The identity file on each drive: proof that the mounted file system is the drive the config means.
import { randomUUID } from 'node:crypto';
import { VERSION } from '../version.js';
import type { DriveDir } from './drive-dir.js';

export interface DriveIdentity {
  format: 1;
  name: string;
  id: string;
  createdAt: string;
  plugbackVersion: string;
}

const FILE = 'drive.json';
const MAX_BYTES = 64 * 1024;

/** The identity in `<drive>/plugback/`, or undefined when there is none; throws when it is damaged or not a file. */
export async function readIdentity(base: DriveDir): Promise<DriveIdentity | undefined> {
  const text = await base.readFile(FILE, MAX_BYTES);
  if (text === undefined) return undefined;
  let parsed: Partial<DriveIdentity> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<DriveIdentity>;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed?.name !== 'string' || typeof parsed.id !== 'string') {
    throw new Error(
      `${base.show(FILE)} is damaged (not JSON with a name and an id); if you know which drive this is, run plugback drive adopt NAME --force to write a new identity`,
    );
  }
  return parsed as DriveIdentity;
}

/** Writes a new identity for `name`; the caller has checked there is none or that replacing it is wanted. */
export async function writeIdentity(base: DriveDir, name: string): Promise<DriveIdentity> {
  const identity: DriveIdentity = {
    format: 1,
    name,
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    plugbackVersion: VERSION,
  };
  await base.writeAtomic(FILE, `${JSON.stringify(identity, null, 2)}\n`);
  return identity;
}
