// `plugback config init`: a first config for this machine, commented, from a few command-line choices. Pure: the
// choices in, YAML text out; the caller validates it with the loader before anyone sees it.
import path from 'node:path';
import { DEFAULT_STATE_DIR } from './defaults.js';
import { NAME_PATTERN } from './schema.js';

export interface InitChoices {
  host: string;
  /** LUKS drives: `UUID` or `NAME=UUID`. */
  uuids: string[];
  /** Directory targets: `DIR` or `NAME=DIR`. */
  targetDirs: string[];
  /** Folders to back up, one state each: `DIR` or `NAME=DIR`. */
  folders: string[];
  /** When it was written, for the first comment. */
  now: Date;
}

/** A choice the command line got wrong; the message says what to give instead. */
export class InitError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Named {
  name: string;
  value: string;
}

/** The config text for these choices. Throws InitError when a drive or a folder is missing or a name is invalid. */
export function initConfigText(choices: InitChoices): string {
  if (choices.uuids.length + choices.targetDirs.length === 0) {
    throw new InitError('give at least one drive: --uuid UUID for a LUKS drive (cryptsetup luksUUID /dev/sdX1), or --target-dir DIR for a directory target');
  }
  if (choices.folders.length === 0) throw new InitError('give at least one folder to back up: --folder DIR (repeatable)');
  const taken = new Set<string>();
  const luks = choices.uuids.map((u, i) => named(u, () => `usb${i + 1}`, taken, '--uuid'));
  for (const d of luks) {
    if (!UUID.test(d.value)) throw new InitError(`--uuid ${d.value}: not a UUID; the LUKS container's is shown by cryptsetup luksUUID /dev/sdX1`);
  }
  const dirs = choices.targetDirs.map((d, i) => named(d, () => `disk${i + 1}`, taken, '--target-dir', true));
  const states = new Set<string>();
  const folders = choices.folders.map((f) => named(f, (value) => stateNameOf(value, states), states, '--folder', true));
  const lines = [
    `# plugback configuration for ${choices.host}, written by \`plugback config init\` on ${choices.now.toISOString().slice(0, 10)}.`,
    '# Check it after each change:  plugback config check FILE',
    '# Every option, with its default: config/plugback.example.yaml and docs/configuration.md.',
    '# Keep it writable only by root (its hooks run as root): chown root: FILE; chmod 600 FILE.',
    '',
    '# host: the name of this machine on the drive; snapshots go under <drive>/plugback/<host>/.',
    '# Keep it when the machine is renamed, so its history stays together.',
    `host: ${scalar(choices.host)}`,
    '',
    "# stateDir: plugback's own state here: drive ids, each drive's history (ledger.json), mail not sent yet.",
    `stateDir: ${DEFAULT_STATE_DIR}`,
    '',
    '# drives: the backup drives, by name. `plugback drive adopt NAME` once, with the drive attached, before the first run.',
    'drives:',
  ];
  for (const d of luks) {
    lines.push(
      '  # A LUKS-encrypted drive, known by the UUID of its LUKS container. Its key is read from',
      `  # /etc/plugback/keys/${d.name}.key (root's, chmod 600); it is unlocked as /dev/mapper/plugback-${d.name}`,
      `  # and mounted at /run/plugback/${d.name}. Preparing one: plugback drive prepare (docs/drives.md).`,
      `  ${d.name}:`,
      `    uuid: ${scalar(d.value.toLowerCase())}`,
    );
  }
  for (const d of dirs) {
    lines.push('  # A directory target: an always-attached disk mounted here (or any folder).', `  ${d.name}:`, `    path: ${scalar(d.value)}`);
  }
  lines.push(
    '',
    '# states: what to back up, by name. A state is a set of folders with its own hooks (preBackup, postBackup),',
    '# such as one service whose data must be consistent; put the folders of one service into one state.',
    'states:',
  );
  for (const f of folders) lines.push(`  ${f.name}:`, '    folders:', `      - ${scalar(f.value)}`);
  lines.push(
    '',
    '# mail: to be told when a backup fails (and reminded when a drive was away too long), add for example',
    '# mail:',
    '#   to: [you@example.org]',
    '# and see docs/notifications.md; `plugback mail test` sends a test message.',
    '',
  );
  return lines.join('\n');
}

/** `NAME=VALUE` or `VALUE` (named by `fallback`); a path made absolute when `isPath`. */
function named(arg: string, fallback: (value: string) => string, taken: Set<string>, flag: string, isPath = false): Named {
  const eq = arg.indexOf('=');
  // A path may hold "=": only a valid name before it counts as one.
  const given = eq > 0 && NAME_PATTERN.test(arg.slice(0, eq)) ? arg.slice(0, eq) : undefined;
  const raw = given === undefined ? arg : arg.slice(eq + 1);
  if (raw === '') throw new InitError(`${flag} ${arg}: nothing after the name`);
  const value = isPath ? path.resolve(raw) : raw;
  const name = given ?? fallback(value);
  if (taken.has(name)) throw new InitError(`${flag} ${arg}: the name "${name}" is given twice; name them with ${flag} NAME=...`);
  taken.add(name);
  return { name, value };
}

/** A state name from a folder's last part: `/srv/photos` → photos, made valid and unique. */
function stateNameOf(folder: string, taken: Set<string>): string {
  const base = path.basename(folder).replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[_-]+/, '').slice(0, 56) || 'root';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  return name;
}

/** A YAML scalar: plain when it is safe to be, else double-quoted (JSON's quoting is valid YAML). */
function scalar(value: string): string {
  // A leading digit could read as a number (a host "2024"), so only a letter or "/" starts a plain one.
  return /^[A-Za-z/][A-Za-z0-9_./-]*$/.test(value) ? value : JSON.stringify(value);
}
