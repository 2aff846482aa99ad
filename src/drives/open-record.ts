// Which drives people opened (`plugback open`), in <stateDir>/open-drives.json: the daemon starts no backup on an
// open drive and its start-up clean-up leaves it mounted, also when the CLI opened it while no daemon ran. A record
// counts only while the drive's cryptsetup unit is active: a drive pulled out while open is closed by systemd
// (BindsTo=), and what is left of its record means nothing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LuksDrive } from '../config/model.js';
import { ensureDirDurable, writeFileAtomic } from '../system/atomic-file.js';
import type { UnitJobs } from '../system/drive-mounts.js';
import { cryptsetupUnit } from '../units/escape.js';

export type OpenMode = 'read-only' | 'read-write';

export interface OpenRecord {
  mode: OpenMode;
  openedAt: string;
  /** Who asked: "uid 0 on the command line", "D-Bus caller :1.42 (uid 1000)". */
  by: string;
}

const fileIn = (stateDir: string) => path.join(stateDir, 'open-drives.json');

async function readAll(stateDir: string): Promise<Record<string, OpenRecord>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(fileIn(stateDir), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    // A damaged file must not hide an open drive from the daemon: it counts as "every drive with a mapping is open".
    return { '*': { mode: 'read-only', openedAt: '', by: `an unreadable ${fileIn(stateDir)} (${(error as Error).message})` } };
  }
  const all: Record<string, OpenRecord> = {};
  if (!parsed || typeof parsed !== 'object') return all;
  for (const [name, r] of Object.entries(parsed as Record<string, Partial<OpenRecord>>)) {
    if (r && (r.mode === 'read-only' || r.mode === 'read-write')) all[name] = { mode: r.mode, openedAt: String(r.openedAt ?? ''), by: String(r.by ?? '') };
  }
  return all;
}

/** The drive's record, if it is open now (still unlocked). */
export async function openRecordOf(stateDir: string, drive: LuksDrive, systemd: Pick<UnitJobs, 'unitState'>): Promise<OpenRecord | undefined> {
  const all = await readAll(stateDir);
  const record = Object.hasOwn(all, drive.name) ? all[drive.name] : all['*'];
  if (!record) return undefined;
  const unlocked = await systemd.unitState(cryptsetupUnit(drive.cryptName)).then((s) => s.activeState === 'active', () => false);
  return unlocked ? record : undefined;
}

export async function recordOpen(stateDir: string, name: string, mode: OpenMode, by: string): Promise<void> {
  await ensureDirDurable(stateDir);
  const all = await readAll(stateDir);
  delete all['*'];
  all[name] = { mode, openedAt: new Date().toISOString(), by };
  await writeFileAtomic(fileIn(stateDir), `${JSON.stringify(all, null, 2)}\n`, 0o600);
}

export async function recordClosed(stateDir: string, name: string): Promise<void> {
  const all = await readAll(stateDir);
  if (!Object.hasOwn(all, name) && !all['*']) return;
  delete all[name];
  delete all['*'];
  await ensureDirDurable(stateDir);
  await writeFileAtomic(fileIn(stateDir), `${JSON.stringify(all, null, 2)}\n`, 0o600);
}
