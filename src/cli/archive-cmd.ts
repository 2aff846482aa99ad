// `plugback archive DRIVE` (a compressed, optionally encrypted tar of one complete snapshot) and
// `plugback archive restore FILE --to DIR` (unpack one). See docs/archives.md.
import type { Command } from 'commander';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Encryption } from '../archive/encryption.js';
import { COMPRESSIONS, NAMINGS, type Compression, type Naming } from '../archive/naming.js';
import { formatBytes } from '../config/units.js';
import { takeCliLock } from './cli-lock.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';

interface ArchiveFlags {
  snapshot?: string;
  to?: string;
  name: string;
  owner?: string;
  compress: string;
  recipient: string[];
  keyring?: string;
  passphraseFile?: string;
  keep?: string;
}

interface UnpackFlags {
  to?: string;
  passphraseFile?: string;
  yes?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerArchive(program: Command): void {
  const archive = program
    .command('archive')
    .description('write a compressed (optionally gpg-encrypted) tar of one complete snapshot; `archive restore` unpacks one')
    .argument('<drive>', 'the drive holding the snapshot')
    .option('--snapshot <id>', 'the snapshot to archive (a name from `plugback snapshots`); default: the newest')
    .option('--to <dir>', 'the folder for the archive on this machine (default: <stateDir>/archives)')
    .option('--name <naming>', `dated (<host>-<snapshot>), rolling (<host>-<weekday 0-6>, replaced) or both`, 'dated')
    .option('--owner <user[:group]>', 'give the archive files to this user (and group)')
    .option('--compress <kind>', 'zstd or gzip', 'zstd')
    .option('--recipient <fingerprint>', 'encrypt to this public key, by its full fingerprint (repeatable)', collect, [])
    .option('--keyring <file>', 'encrypt to every public key in this key file (gpg --export output)')
    .option('--passphrase-file <file>', 'encrypt symmetrically with the passphrase on the first line of this file (mode 0600)')
    .option('--keep <n>', "keep this host's newest N dated archives in the folder, delete older ones")
    .addHelpText(
      'after',
      `
The archive is written under a hidden temporary name and renamed when whole, so an interrupted run
never leaves a half-written archive under an archive's name (a rolling archive of last week stays
intact). It runs at backup.nice / backup.ioClass, and backup.bandwidthLimit caps the bytes written.
It holds the repository lock (backup.lockFile) while it runs, so no backup prunes the snapshot
meanwhile: it waits up to backup.lockWait for a backup or another job, saying who holds the lock.
A drive with archive: in the config gets an archive after each backup without this command.

Examples:
  plugback archive offsite-a --to /srv/archives --name both --keep 14
  plugback archive offsite-a --recipient 0123456789ABCDEF0123456789ABCDEF01234567
  plugback archive offsite-a --passphrase-file /etc/plugback/archive.pass --owner pi
  plugback archive restore /srv/archives/nas-3.tar.zst.gpg --to /tmp/unpacked`,
    )
    .action(async (driveName: string, flags: ArchiveFlags, command: Command) => {
      process.exitCode = await makeArchive(command, driveName, flags);
    });
  archive
    .command('restore')
    .description('unpack an archive into a new or empty folder (decrypting it with gpg when it ends in .gpg)')
    .argument('<file>', 'the archive file')
    .option('--to <dir>', 'the folder to unpack into: new, or empty (required)')
    .option('--passphrase-file <file>', 'the passphrase of a symmetric archive (mode 0600); without it gpg uses your secret keys')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .action(async (file: string, flags: UnpackFlags, command: Command) => {
      process.exitCode = await unpack(file, { ...flags, ...sharedFlags(command) });
    });
}

async function makeArchive(command: Command, driveName: string, flags: ArchiveFlags): Promise<number> {
  const naming = oneOf<Naming>('--name', flags.name, NAMINGS);
  const compression = oneOf<Compression>('--compress', flags.compress, COMPRESSIONS);
  const keep = flags.keep === undefined ? undefined : Number(flags.keep);
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) throw new UserError(`--keep expects a whole number of at least 1, got ${flags.keep}`, EXIT.usage);
  if (keep !== undefined && naming === 'rolling') throw new UserError('--keep counts dated archives, and --name rolling makes none: use --name dated or both', EXIT.usage);
  const encryption = await encryptionOf(flags);
  const config = await loadConfigOrExit(configFileOf(command));
  const drive = findDrive(config, driveName);
  const { resolveOwner } = await import('../archive/owner.js');
  const owner = flags.owner ? await resolveOwner(flags.owner).catch((e: Error) => Promise.reject(new UserError(e.message, EXIT.usage))) : undefined;
  const to = path.resolve(flags.to ?? path.join(config.stateDir, 'archives'));

  const { createArchive } = await import('../archive/create.js');
  const progress = progressPrinter();
  const result = await whileInterruptible(async (signal) => {
    // Held for the whole archive, so no backup prunes the snapshot while tar reads it.
    const lock = await takeCliLock(config, { what: 'archive', drive: drive.name }, signal);
    try {
      return await createArchive({ config, drive, snapshot: flags.snapshot, to, naming, compression, encryption, owner, keep, signal, onBytes: progress.update });
    } finally {
      await lock.release();
    }
  }).finally(progress.done);
  const [first, ...others] = result.files;
  process.stdout.write(`archived snapshot ${result.snapshot} of host ${config.host} to ${first ?? to} (${formatBytes(result.bytes)})\n`);
  for (const other of others) process.stdout.write(`  also named ${other}\n`);
  for (const name of result.pruned) process.stdout.write(`  deleted the older dated archive ${path.join(to, name)} (--keep ${keep ?? ''})\n`);
  return EXIT.ok;
}

async function unpack(file: string, flags: UnpackFlags): Promise<number> {
  if (!flags.to) throw new UserError('archive restore needs --to DIR: a new or empty folder to unpack into (it never unpacks over existing files)', EXIT.usage);
  const { archiveFormat, checkUnpackFolder, unpackArchive } = await import('../archive/restore.js');
  const to = path.resolve(flags.to);
  try {
    archiveFormat(file);
    await checkUnpackFolder(to);
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.usage);
  }
  process.stdout.write(`unpack ${file} into ${to}\n`);
  if (!(await confirmed(flags.yes ?? false))) return EXIT.usage;
  await whileInterruptible((signal) => unpackArchive({ file, to, passphraseFile: flags.passphraseFile, interactive: process.stdin.isTTY === true, signal }));
  process.stdout.write(`unpacked ${file} into ${to}\n`);
  return EXIT.ok;
}

/**
 * --to and --passphrase-file of `archive restore`. Commander gives options that `archive` also has to `archive`,
 * wherever they stand (global options such as --config may come after the command), so they are read from there;
 * options only `archive` has are refused rather than ignored.
 */
function sharedFlags(command: Command): Pick<UnpackFlags, 'to' | 'passphraseFile'> {
  const parent = (command.parent?.opts() ?? {}) as Partial<ArchiveFlags>;
  const misplaced: string[] = (['snapshot', 'owner', 'keyring', 'keep'] as const).filter((k) => parent[k] !== undefined);
  if ((parent.recipient ?? []).length > 0) misplaced.push('recipient');
  // These two have defaults, so only a value other than the default was given.
  if (parent.name !== undefined && parent.name !== 'dated') misplaced.push('name');
  if (parent.compress !== undefined && parent.compress !== 'zstd') misplaced.push('compress');
  if (misplaced.length > 0) throw new UserError(`archive restore takes --to, --passphrase-file and --yes; not --${misplaced.join(', --')}`, EXIT.usage);
  return { ...(parent.to ? { to: parent.to } : {}), ...(parent.passphraseFile ? { passphraseFile: parent.passphraseFile } : {}) };
}

async function encryptionOf(flags: ArchiveFlags): Promise<Encryption> {
  const chosen = [flags.recipient.length > 0, flags.keyring !== undefined, flags.passphraseFile !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new UserError('choose one way to encrypt: --recipient (one or more), --keyring or --passphrase-file', EXIT.usage);
  if (flags.keyring) return { kind: 'keyring', file: path.resolve(flags.keyring) };
  if (flags.passphraseFile) return { kind: 'passphrase', file: path.resolve(flags.passphraseFile) };
  if (flags.recipient.length === 0) return { kind: 'none' };
  const { normalizeFingerprint } = await import('../archive/encryption.js');
  const fingerprints = flags.recipient.map((r) => {
    const fpr = normalizeFingerprint(r);
    if (!fpr) throw new UserError(`--recipient expects a key's full fingerprint (40 hex digits, see gpg --fingerprint), got "${r}"`, EXIT.usage);
    return fpr;
  });
  return { kind: 'recipients', fingerprints };
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError(`${flag} expects one of ${allowed.join(', ')}, got "${value}"`, EXIT.usage);
}

/** Runs `work` with a signal that Ctrl-C or SIGTERM aborts; its failures become exit 1 with their message. */
async function whileInterruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await work(controller.signal);
  } catch (error) {
    throw error instanceof UserError ? error : new UserError((error as Error).message, EXIT.failed);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Bytes written so far on stderr, at most once a second: one line rewritten on a terminal, plain lines elsewhere. */
function progressPrinter(out: NodeJS.WriteStream = process.stderr): { update: (bytes: number) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    update: (bytes) => {
      const now = Date.now();
      if (now - last < 1000) return;
      last = now;
      shown = true;
      out.write(out.isTTY ? `\rarchive: ${formatBytes(bytes)} written\x1b[K` : `archive: ${formatBytes(bytes)} written\n`);
    },
    done: () => {
      if (shown && out.isTTY) out.write('\n');
    },
  };
}

/** Unpacking writes files as root: on a terminal it asks; elsewhere it needs --yes. */
async function confirmed(yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new UserError('archive restore writes files and stdin is not a terminal, so it cannot ask: add --yes', EXIT.usage);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question('Unpack now? [y/N] ');
  rl.close();
  if (/^y(es)?$/i.test(answer.trim())) return true;
  process.stdout.write('nothing was changed\n');
  return false;
}
