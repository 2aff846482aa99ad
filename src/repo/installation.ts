// Which installation of plugback owns a host folder on a drive. Host names are not unique (two machines called
// "nas" sharing one drive would prune each other's snapshots), so each installation has a random id, kept in
// stateDir, written into <host>/installation.json on first use and into every snapshot record. A folder that
// belongs to another installation is refused, with advice; pruning only ever touches this installation's snapshots.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { commandHint } from '../config/defaults.js';
import { ensureDirDurable, writeFileOnce } from '../system/atomic-file.js';
import type { DriveDir } from './drive-dir.js';

const ID_FILE = 'installation-id';
const OWNER_FILE = 'installation.json';
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Owner {
  format: 1;
  installation: string;
  host: string;
  claimedAt: string;
}

/** This installation's id, made on first use (stateDir belongs to root, but the file is still created exclusively). */
export async function installationId(stateDir: string): Promise<string> {
  const file = path.join(stateDir, ID_FILE);
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing !== undefined) {
    const id = existing.trim();
    if (!ID.test(id)) throw new Error(`${file} is damaged (not an installation id); move it aside only if this machine never backed up yet`);
    return id;
  }
  await ensureDirDurable(stateDir);
  const id = randomUUID();
  // Whole or absent after a power cut: an empty file here would stop every backup as "damaged".
  if (!(await writeFileOnce(file, `${id}\n`))) return installationId(stateDir); // another plugback process made it just now
  return id;
}

type OwnerIds = { installation: string; host: string; drive: string; configFile: string };

/** Checks that `hostDir` is this installation's, claiming it when nobody has. `claim` takes it over (after a reinstall). */
export async function checkOwner(hostDir: DriveDir, ids: OwnerIds, claim = false): Promise<'claimed' | 'ours'> {
  if (!claim && (await refuseForeign(hostDir, ids)) === 'ours') return 'ours';
  const owner: Owner = { format: 1, installation: ids.installation, host: ids.host, claimedAt: new Date().toISOString() };
  await hostDir.writeAtomic(OWNER_FILE, `${JSON.stringify(owner, null, 2)}\n`);
  return 'claimed';
}

/**
 * Throws when `hostDir` belongs to another installation (or its owner file is damaged); 'unclaimed' when nobody
 * has claimed it yet. Writes nothing: for commands that only read, or delete what a person chose.
 */
export async function refuseForeign(hostDir: DriveDir, ids: OwnerIds): Promise<'ours' | 'unclaimed'> {
  const text = await hostDir.readFile(OWNER_FILE, 64 * 1024);
  if (text === undefined) return 'unclaimed';
  const owner = parseOwner(text);
  if (!owner) {
    throw new Error(
      `${hostDir.show(OWNER_FILE)} is damaged, so it is not known which machine's snapshots these are; nothing was written. ` +
        `If this machine made them, run: ${commandHint(ids.configFile, `drive claim ${ids.drive}`)}`,
    );
  }
  if (owner.installation === ids.installation) return 'ours';
  throw new Error(
    `${hostDir.path} on drive "${ids.drive}" belongs to another plugback installation (id ${owner.installation}, since ${owner.claimedAt}): ` +
      `two machines called "${ids.host}" share this drive, and each would prune the other's snapshots. Give this machine its own ` +
      `\`host:\` in ${ids.configFile}; or, if this machine was reinstalled and made these snapshots, run: ${commandHint(ids.configFile, `drive claim ${ids.drive}`)}`,
  );
}

function parseOwner(text: string): Owner | undefined {
  try {
    const value = JSON.parse(text) as Partial<Owner>;
    return value.format === 1 && typeof value.installation === 'string' && typeof value.claimedAt === 'string' ? (value as Owner) : undefined;
  } catch {
    return undefined;
  }
}
