// `plugback drive prepare NAME DEVICE`: a blank disk becomes a plugback drive in one go. Everything that can be
// refused is checked before the first write; a failure half way closes what it opened, removes the key file and
// header backup it made (they belong to a container that is to be made again) and says what the disk holds now.
import { access, constants, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_STATE_DIR, commandHint } from '../config/defaults.js';
import type { LuksDrive } from '../config/model.js';
import { probeBlockDevice, type BlockNode } from '../system/block-device.js';
import { UserError, loadConfigOrExit } from './common.js';
import { adoptDrive } from './drive-adopt.js';
import { addToConfig, configLines, refuseKnownName, type PreparedDrive } from './drive-prepare-config.js';
import { confirmWipe } from './drive-prepare-confirm.js';
import { refuseDeviceInUse, refuseSignatures, signaturesFound } from './drive-prepare-checks.js';
import { formatLuks, OpenedContainer, partitionDisk, wipeDisk, writeKeyFile, type Done, type FileSystemKind } from './drive-prepare-luks.js';
import { EXIT } from './exit-codes.js';

export interface PrepareFlags {
  fs: FileSystemKind;
  wipe?: boolean;
  yes?: string;
  keyDir: string;
  passphraseFile?: string;
  kdfMemory?: number;
  kdfTime?: number;
  writeConfig?: boolean;
}

const usage = (message: string) => new UserError(`drive prepare: ${message}`, EXIT.usage);

/** Prepares DEVICE as drive NAME; prints the config lines (or adds them) and what to run next. */
export async function prepareDrive(configFile: string, name: string, device: string, flags: PrepareFlags): Promise<void> {
  const { NAME_PATTERN } = await import('../config/schema.js');
  if (!NAME_PATTERN.test(name)) throw usage(`"${name}" cannot be a drive name: use letters, digits, "-" and "_" (up to 63)`);
  const stateDir = await stateDirFor(configFile, name, flags.writeConfig ?? false);
  const keyFile = path.resolve(flags.keyDir, `${name}.key`);
  const headerFile = path.resolve(flags.keyDir, `${name}.luks-header`);
  for (const file of [keyFile, headerFile]) {
    if (await stat(file).catch(() => undefined)) throw usage(`${file} exists (it may open another drive): move it away first, or give --key-dir`);
  }
  const { keyDirectoryProblem } = await import('../system/file-perms.js');
  const keyDirProblem = await keyDirectoryProblem(path.resolve(flags.keyDir));
  if (keyDirProblem) throw usage(`${keyDirProblem}; nothing was changed`);
  if (flags.passphraseFile === undefined && !process.stdin.isTTY) {
    throw usage('the drive gets a passphrase too (to open it on another machine), and stdin is not a terminal to ask for it: give --passphrase-file FILE');
  }
  if (flags.passphraseFile !== undefined) await access(flags.passphraseFile, constants.R_OK).catch(() => Promise.reject(usage(`cannot read --passphrase-file ${flags.passphraseFile}`)));
  const disk = await probeBlockDevice(device).catch((error: Error) => {
    throw usage(`${device} is not a block device lsblk knows (${error.message}); lsblk lists the disks`);
  });
  await refuseDeviceInUse(disk);
  const signatures = await signaturesFound(disk);
  if (!flags.wipe) refuseSignatures(disk, signatures);
  // A --yes for another disk is refused even where nothing needs wiping: it names the disk the script meant.
  if ((flags.wipe && signatures.length > 0) || flags.yes !== undefined) await confirmWipe(disk, name, flags.yes);
  // Asked before the first write, so a mistyped passphrase or a Ctrl-C here leaves the disk as it was.
  const passphrase = await passphraseFor(name, flags.passphraseFile).catch((error: Error) => {
    throw usage(`${error.message}; nothing was changed`);
  });

  const done: Done = [];
  const signals = new SignalWatch();
  const prepared = await writeDrive(disk, name, flags, { keyFile, headerFile, stateDir, passphrase }, done, signals)
    .catch(async (error: Error) => {
      await rm(keyFile, { force: true });
      await rm(headerFile, { force: true });
      throw new UserError(failureMessage(disk, error, done), EXIT.failed);
    })
    .finally(() => signals.stop());
  report(prepared, headerFile);
  await tellConfig(configFile, prepared, flags.writeConfig ?? false);
  process.stderr.write(`Next: ${commandHint(configFile, 'install --write-crypttab')} (the drive's crypttab line and mount unit); then plug it in, or back up by hand (docs/drives.md)\n`);
}

/** Adds the drive to the config, or prints its lines (also when adding fails: the drive is prepared either way). */
async function tellConfig(configFile: string, drive: PreparedDrive, write: boolean): Promise<void> {
  if (write) {
    try {
      await addToConfig(configFile, drive);
      // A running daemon reloads the config at once and takes up a configured drive that is plugged in.
      process.stderr.write(`added drive "${drive.name}" to ${configFile}; a running plugback daemon sees it at once, and cannot open it before the install below: unplug it until then\n`);
      return;
    } catch (error) {
      process.stdout.write(configLines(drive));
      throw new UserError(`${(error as Error).message}\nThe drive is prepared: add the lines above to the config by hand.`, EXIT.failed);
    }
  }
  if (await stat(configFile).catch(() => undefined)) {
    process.stderr.write(`Add these lines to ${configFile} (or give --write-config next time):\n`);
  } else {
    process.stderr.write(`There is no config at ${configFile} yet: start one with plugback config init --uuid ${drive.name}=${drive.uuid} --folder DIR --out ${configFile}, or use these lines:\n`);
  }
  process.stdout.write(configLines(drive));
}

interface Places {
  keyFile: string;
  headerFile: string;
  stateDir: string;
  passphrase: string;
}

/** The second key slot's passphrase: from --passphrase-file, or typed twice on the terminal. */
async function passphraseFor(name: string, file: string | undefined): Promise<string> {
  const { askNewPassphrase, passphraseFromFile } = await import('./hidden-prompt.js');
  if (file !== undefined) return passphraseFromFile(file);
  process.stderr.write('The drive also gets a passphrase, to open it on another machine (keep it off this one).\n');
  return askNewPassphrase(`drive "${name}"`);
}

/**
 * Ctrl-C or SIGTERM while prepare writes does not kill plugback half way: the program it runs gets Ctrl-C too and
 * fails, and between steps a signal stops the work, so the clean-up and the message of a failure still happen.
 */
class SignalWatch {
  private caught: string | undefined;
  private readonly onSignal = (signal: string) => (this.caught = signal);

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Throws when a signal came since the last step. */
  check(): void {
    if (this.caught) throw new Error(`stopped by ${this.caught}`);
  }

  stop(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

async function writeDrive(
  disk: BlockNode,
  name: string,
  flags: PrepareFlags,
  places: Places,
  done: Done,
  signals: SignalWatch,
): Promise<PreparedDrive & { id: string; partition: string }> {
  if (flags.wipe) await wipeDisk(disk, done);
  signals.check();
  const partition = await partitionDisk(disk, done);
  await writeKeyFile(places.keyFile);
  const settings = { keyFile: places.keyFile, headerFile: places.headerFile, passphrase: places.passphrase, kdfMemoryMiB: flags.kdfMemory, kdfTimeMs: flags.kdfTime };
  signals.check();
  const uuid = await formatLuks(partition, settings, done);
  signals.check();
  const container = new OpenedContainer(partition, places.keyFile);
  try {
    const root = await container.openWithFileSystem(flags.fs, name, done);
    signals.check();
    // adopt's own checks and writes, on a drive entry that points at the private mount.
    const drive: LuksDrive = { kind: 'luks', name, uuid, keyFile: places.keyFile, cryptName: container.mapping, mountPoint: root, deviceTimeout: 0, btrfsCompression: 'off', health: 'refuse' };
    const identity = await adoptDrive({ stateDir: places.stateDir }, drive, false);
    done.push(`the identity of drive "${name}" was written onto it`);
    await container.close();
    return { name, uuid, keyFile: places.keyFile, id: identity.id, partition: partition.path };
  } catch (error) {
    await container.close().catch(() => undefined);
    const left = container.leftOpen();
    throw left ? new Error(`${(error as Error).message}; ${left}`) : error;
  }
}

/** The state folder adopt records the drive's id in: the config's, or the default before there is a config. */
async function stateDirFor(configFile: string, name: string, writeConfig: boolean): Promise<string> {
  if (!(await stat(configFile).catch(() => undefined))) {
    if (writeConfig) throw usage(`there is no config at ${configFile} to add the drive to: drop --write-config (the lines are printed), or make one first with plugback config init`);
    return DEFAULT_STATE_DIR;
  }
  const config = await loadConfigOrExit(configFile);
  await refuseKnownName(configFile, name);
  return config.stateDir;
}

function failureMessage(disk: BlockNode, error: Error, done: Done): string {
  const what = done.length > 0 ? `Done on ${disk.path} so far: ${done.join('; ')}.` : `${disk.path} was not changed.`;
  return [
    `drive prepare: ${error.message}`,
    what,
    'The key file and header backup made for it were removed again.',
    done.length > 0 ? 'To start over, run the same command again with --wipe.' : 'Fix the cause and run the same command again.',
  ].join('\n');
}

function report(drive: PreparedDrive & { id: string; partition: string }, headerFile: string): void {
  process.stderr.write(
    [
      `${drive.partition} is drive "${drive.name}" (LUKS UUID ${drive.uuid}, id ${drive.id}); it is closed again and may be unplugged`,
      `key file: ${drive.keyFile} (0400)`,
      `LUKS header backup: ${headerFile} (0400). Keep a copy of it and of the passphrase off this machine: with them the drive opens after its header is damaged or this machine is lost.`,
      '',
    ].join('\n'),
  );
}
