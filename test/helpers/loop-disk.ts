// Loop devices backed by sparse image files in a temporary folder, standing for a USB disk (never a host disk),
// and a private mount namespace to run a command in with its own /etc (fstab, crypttab) or an extra mount.
// Everything made here is undone after each test, also when it failed: mounts by path, loops by device.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach } from 'vitest';

const execFileP = promisify(execFile);

export interface LoopDisks {
  /** A blank disk of `size` (truncate's syntax) with partition scanning on; returns /dev/loopN. */
  make(size?: string): Promise<string>;
  /** Mounts `device` at a new temporary folder, unmounted after the test; returns the folder. */
  mount(device: string): Promise<string>;
  /** The folder the images live in. */
  dir(): Promise<string>;
}

/** Registers the cleanup; returns the maker of loop disks for this test file. */
export function loopDisksRemovedAfterEach(): LoopDisks {
  let folder: string | undefined;
  const loops: string[] = [];
  const mounts: string[] = [];
  afterEach(async () => {
    for (const m of mounts.splice(0).reverse()) await execFileP('umount', [m]).catch(() => undefined);
    for (const l of loops.splice(0)) await execFileP('losetup', ['--detach', l]).catch(() => undefined);
    if (folder) await fs.rm(folder, { recursive: true, force: true });
    folder = undefined;
  });
  const dir = async () => (folder ??= await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-loopdisk-')));
  return {
    dir,
    async make(size = '64M') {
      const image = path.join(await dir(), `disk${loops.length}.img`);
      await execFileP('truncate', ['-s', size, image]);
      const { stdout } = await execFileP('losetup', ['--find', '--show', '--partscan', image]);
      const loop = stdout.trim();
      loops.push(loop);
      return loop;
    },
    async mount(device) {
      const at = await fs.mkdtemp(path.join(await dir(), 'mnt-'));
      await execFileP('mount', [device, at]);
      mounts.push(at);
      return at;
    },
  };
}

/** One GPT partition over the whole disk (as a user's old disk would have); returns its device once it shows. */
export async function partitioned(disk: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('sfdisk', ['--quiet', '--label', 'gpt', disk], (error) => (error ? reject(error) : resolve()));
    child.stdin?.end('type=linux\n');
  });
  await execFileP('partx', ['--update', disk]).catch(() => undefined);
  return `${disk}p1`;
}

export async function mkfs(kind: 'ext4' | 'btrfs', device: string): Promise<void> {
  await execFileP(`mkfs.${kind}`, ['-q', kind === 'btrfs' ? '-f' : '-F', device]);
}

/** What wipefs finds on a device, as "type type ..." (empty for a blank one). */
export async function signatures(device: string): Promise<string> {
  const { stdout } = await execFileP('wipefs', ['--noheadings', '--output', 'TYPE', device]);
  return stdout.split('\n').filter(Boolean).join(' ');
}

export interface Namespace {
  /** Files put into the private copy of /etc (fstab, crypttab). */
  etc?: Record<string, string>;
  /** A device mounted at a path inside the namespace only (the /boot of a system disk). */
  mount?: { device: string; at: string };
}

/** The argv that runs `argv` in a private mount namespace (unshare) set up as `ns` says; nothing leaks out. */
export async function inNamespace(ns: Namespace, argv: string[], scratch: string): Promise<string[]> {
  const lines = ['set -e'];
  if (ns.etc) {
    const etc = await fs.mkdtemp(path.join(scratch, 'etc-'));
    await execFileP('cp', ['-a', '/etc/.', etc]);
    for (const [name, text] of Object.entries(ns.etc)) await fs.writeFile(path.join(etc, name), text);
    lines.push(`mount --bind ${etc} /etc`);
  }
  if (ns.mount) lines.push(`mount ${ns.mount.device} ${ns.mount.at}`);
  lines.push('exec "$@"');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', lines.join('\n'), 'sh', ...argv];
}
