// `plugback drive retire NAME`: this machine stops using drive NAME, so the name can go to a new drive. Nothing on
// any drive is touched (the old drive keeps its snapshots and can still be opened with its key). What changes:
// the config loses drives.NAME (comments kept), the key file and LUKS header backup are renamed aside, and this
// machine's memory of the drive (its adopted id, its ledger record) moves to stateDir/retired-drives.json.
import { readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { commandHint } from '../config/defaults.js';
import type { Config, Drive } from '../config/model.js';
import { snapshotName } from '../repo/layout.js';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

export interface Retired {
  name: string;
  /** What was done, one sentence each. */
  done: string[];
}

export async function retireDrive(config: Config, drive: Drive, now = new Date()): Promise<Retired> {
  const { takeLockNow } = await import('./cli-lock.js');
  const lock = await takeLockNow(config, { what: 'retire', drive: drive.name }, 'nothing was changed');
  try {
    const done: string[] = [];
    await removeFromConfig(config.file, drive.name);
    done.push(`drives.${drive.name} was removed from ${config.file}`);
    const memory = await forgetOnThisMachine(config.stateDir, drive.name, now);
    done.push(`this machine's record of the drive (${memory}) was moved to ${path.join(config.stateDir, RETIRED_FILE)}`);
    if (drive.kind === 'luks') {
      for (const file of [drive.keyFile, path.join(path.dirname(drive.keyFile), `${drive.name}.luks-header`)]) {
        if (!(await stat(file).catch(() => undefined))) continue;
        const aside = await freeName(`${file}.retired-${snapshotName(now)}`);
        await rename(file, aside);
        done.push(`${file} was renamed ${aside} (it still opens the old drive; delete it once that drive is wiped)`);
      }
    }
    return { name: drive.name, done };
  } finally {
    await lock.release();
  }
}

/** `name`, or name-2, name-3, ...: a rename must never replace an older retired key (it may open a drive still). */
async function freeName(name: string): Promise<string> {
  let free = name;
  for (let n = 2; await stat(free).catch(() => undefined); n++) free = `${name}-${n}`;
  return free;
}

/** The lines after a retirement: what was done and what comes next. */
export function retiredReport(config: Config, r: Retired): string {
  return [
    `drive "${r.name}" is retired on this machine; nothing on any drive was changed.`,
    ...r.done.map((d) => `- ${d}`),
    `Next: ${commandHint(config.file, 'install --write-crypttab')} removes its crypttab line and mount unit. A new drive can take the name:`,
    `  ${commandHint(config.file, `drive prepare ${r.name} /dev/sdX --write-config`)}`,
    '',
  ].join('\n');
}

async function removeFromConfig(file: string, name: string): Promise<void> {
  const [{ parseDocument }, { parseConfig, ConfigError }, { writeFileAtomic }] = await Promise.all([import('yaml'), import('../config/load.js'), import('../system/atomic-file.js')]);
  const document = parseDocument(await readFile(file, 'utf8'));
  if (!document.deleteIn(['drives', name])) throw new UserError(`${file} has no drive "${name}" written out to remove`, EXIT.failed);
  const text = document.toString({ flowCollectionPadding: false });
  try {
    parseConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) throw new UserError(`${file} would not load without drive "${name}" (something else names it?), so nothing was changed:\n${error.message}`, EXIT.failed);
    throw error;
  }
  await writeFileAtomic(file, text, (await stat(file)).mode & 0o7777);
}

const RETIRED_FILE = 'retired-drives.json';

/** Moves the adopted id and the ledger record of `name` into retired-drives.json; says what there was. */
async function forgetOnThisMachine(stateDir: string, name: string, now: Date): Promise<string> {
  const [{ forgetDrive }, { updateLedger }, { ensureDirDurable, writeFileAtomic }] = await Promise.all([
    import('../repo/known-drives.js'),
    import('../notify/ledger.js'),
    import('../system/atomic-file.js'),
  ]);
  const id = await forgetDrive(stateDir, name);
  let record: unknown;
  await updateLedger(stateDir, (ledger) => {
    record = Object.hasOwn(ledger, name) ? ledger[name] : undefined;
    delete ledger[name];
  });
  const file = path.join(stateDir, RETIRED_FILE);
  const earlier = await readFile(file, 'utf8').then((t) => JSON.parse(t) as unknown[], () => []);
  await ensureDirDurable(stateDir);
  await writeFileAtomic(file, `${JSON.stringify([...earlier, { name, id: id ?? null, retiredAt: now.toISOString(), ledger: record ?? null }], null, 2)}\n`, 0o600);
  return [id ? `id ${id}` : 'no adopted id', record ? 'its history' : 'no history'].join(', ');
}
