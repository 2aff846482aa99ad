// The writing half of `plugback drive prepare`, one step per function: wipe, one GPT partition, LUKS2 with a new
// key file and a passphrase slot, the header backup, then the file system and the identity inside the opened
// container. Each step says what it did into `done`, so a failure half way can tell what the device holds now.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { programOutput, waitForPartition, partitionsOf, type BlockNode } from '../system/block-device.js';
import { ensureDirDurable } from '../system/atomic-file.js';

export type FileSystemKind = 'ext4' | 'btrfs';

export interface LuksSettings {
  keyFile: string;
  headerFile: string;
  /** The second key slot's passphrase, asked or read before anything was written. */
  passphrase: string;
  /** argon2id memory per key slot, MiB; unset: cryptsetup's default (up to 1 GiB, less on a small machine). */
  kdfMemoryMiB?: number | undefined;
  /** How long unlocking one key slot takes on this machine, ms (cryptsetup --iter-time); unset: its 2000. */
  kdfTimeMs?: number | undefined;
}

/** What has been written so far, in words, for the message of a failure half way. */
export type Done = string[];

/** Removes every signature from the disk's partitions and the disk (wipefs --all), so nothing old shows through. */
export async function wipeDisk(disk: BlockNode, done: Done): Promise<void> {
  for (const part of partitionsOf(disk)) await programOutput('wipefs', ['--all', '--quiet', part.path]);
  await programOutput('wipefs', ['--all', '--quiet', disk.path]);
  done.push(`the old partition table and file system signatures on ${disk.path} were wiped`);
}

/** A GPT with one Linux partition over the whole disk; returns the partition once the kernel shows it. */
export async function partitionDisk(disk: BlockNode, done: Done): Promise<BlockNode> {
  // sfdisk(8) script: one partition of type "linux", the default start (1 MiB aligned) and the rest of the disk.
  await programOutput('sfdisk', ['--quiet', '--wipe', 'always', '--label', 'gpt', disk.path], 'type=linux\n');
  done.push(`a GPT partition table with one partition was written to ${disk.path}`);
  return waitForPartition(disk.path);
}

const kdfArgs = (settings: LuksSettings) => [
  '--pbkdf',
  'argon2id',
  ...(settings.kdfMemoryMiB ? ['--pbkdf-memory', String(settings.kdfMemoryMiB * 1024)] : []),
  ...(settings.kdfTimeMs ? ['--iter-time', String(settings.kdfTimeMs)] : []),
];

/** 64 random bytes in a new file readable by root alone (0400); never replaces a file. */
export async function writeKeyFile(keyFile: string): Promise<void> {
  await ensureDirDurable(path.dirname(keyFile), 0o700);
  const handle = await open(keyFile, 'wx', 0o400);
  try {
    await handle.writeFile(randomBytes(64));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** LUKS2 (argon2id) unlocked by the key file, plus a passphrase slot; returns the LUKS UUID. */
export async function formatLuks(partition: BlockNode, settings: LuksSettings, done: Done): Promise<string> {
  await programOutput('cryptsetup', ['luksFormat', '--type', 'luks2', '--batch-mode', ...kdfArgs(settings), '--key-file', settings.keyFile, partition.path]);
  done.push(`a LUKS2 container was made on ${partition.path}`);
  await addPassphrase(partition, settings);
  const uuid = (await programOutput('cryptsetup', ['luksUUID', partition.path])).trim();
  await programOutput('cryptsetup', ['luksHeaderBackup', partition.path, '--header-backup-file', settings.headerFile]);
  return uuid;
}

async function addPassphrase(partition: BlockNode, settings: LuksSettings): Promise<void> {
  // The new passphrase on stdin as a key file ("-"): exactly these bytes, as they are typed at a prompt later.
  await programOutput('cryptsetup', ['luksAddKey', ...kdfArgs(settings), '--key-file', settings.keyFile, partition.path, '-'], settings.passphrase);
}

/** The opened container, mounted in a private temporary folder; `close` undoes whatever of it was done. */
export class OpenedContainer {
  private mounted = false;
  private opened = false;
  private dir: string | undefined;
  readonly mapping = `plugback-prepare-${randomBytes(6).toString('hex')}`;

  constructor(private readonly partition: BlockNode, private readonly keyFile: string) {}

  get mapperPath(): string {
    return `/dev/mapper/${this.mapping}`;
  }

  /** Opens it under a mapping name of its own, makes the file system and mounts it; returns the mount point. */
  async openWithFileSystem(fs: FileSystemKind, label: string, done: Done): Promise<string> {
    await programOutput('cryptsetup', ['open', '--type', 'luks2', '--key-file', this.keyFile, this.partition.path, this.mapping]);
    this.opened = true;
    // An ext4 label holds 16 bytes; btrfs labels up to 255.
    const mkfs = fs === 'ext4' ? ['mkfs.ext4', '-q', '-L', label.slice(0, 16)] : ['mkfs.btrfs', '-q', '-L', label];
    await programOutput(mkfs[0] as string, [...mkfs.slice(1), this.mapperPath]);
    done.push(`an ${fs} file system was made inside it`);
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'plugback-prepare-'));
    await programOutput('mount', ['-o', 'nodev,nosuid,noexec', this.mapperPath, this.dir]);
    this.mounted = true;
    return this.dir;
  }

  /** Unmounts and closes what is open; throws the first failure after trying every step. */
  async close(): Promise<void> {
    const errors: Error[] = [];
    if (this.mounted && this.dir) await programOutput('umount', [this.dir]).then(() => (this.mounted = false), (e: Error) => errors.push(e));
    if (!this.mounted && this.dir) await rmdir(this.dir).catch(() => undefined);
    if (this.opened && !this.mounted) await programOutput('cryptsetup', ['close', this.mapping]).then(() => (this.opened = false), (e: Error) => errors.push(e));
    if (errors[0]) throw errors[0];
  }

  /** What is left open, in words (empty when nothing is). */
  leftOpen(): string {
    if (this.mounted) return `${this.mapperPath} is still mounted at ${this.dir}: umount ${this.dir} && cryptsetup close ${this.mapping}`;
    if (this.opened) return `${this.mapperPath} is still open: cryptsetup close ${this.mapping}`;
    return '';
  }
}
