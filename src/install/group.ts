// The plugback group (owner of the BlinkStick's hidraw node and the log folder), on the host or under a root.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { InstallError } from './errors.js';

/** The group's GID under `root`, or undefined when it does not exist there. */
export async function groupId(root: string, name: string): Promise<number | undefined> {
  if (root === '/') {
    // getent also sees groups from NSS sources other than /etc/group (LDAP, systemd-userdb).
    const result = await execa('getent', ['group', name], { reject: false });
    return result.exitCode === 0 ? Number(result.stdout.split(':')[2]) : undefined;
  }
  const text = await readFile(path.join(root, 'etc/group'), 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.split(':')[0] === name);
  return line === undefined ? undefined : Number(line.split(':')[2]);
}

/**
 * Under a root without a group database (an empty folder, an image being built), creates an empty ROOT/etc/group
 * for groupadd --prefix to add to; true when it did. The host's /etc/group is never created or touched here.
 */
export async function ensureGroupFile(root: string): Promise<boolean> {
  if (root === '/') return false;
  const file = path.join(root, 'etc/group');
  try {
    await writeFile(file, '', { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InstallError(`cannot create ${file} for the plugback group: ${(error as Error).message}`);
  }
}

/** Removes ROOT/etc/group (and groupadd's backup group-) that ensureGroupFile made, when no group is left in it. */
export async function removeGroupFile(root: string): Promise<boolean> {
  const file = path.join(root, 'etc/group');
  if ((await readFile(file, 'utf8').catch(() => 'gone')).trim() !== '') return false;
  await rm(file, { force: true });
  await rm(`${file}-`, { force: true });
  return true;
}

/** Creates a system group; under another root through groupadd --prefix, which edits ROOT/etc/group only. */
export async function addGroup(root: string, name: string): Promise<void> {
  const args = root === '/' ? ['--system', name] : ['--prefix', root, '--system', name];
  const result = await execa('groupadd', args, { reject: false });
  if (result.exitCode !== 0) {
    throw new InstallError(`groupadd ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.exitCode}`}; create the group ${name} by hand and run install again`);
  }
}

export async function deleteGroup(root: string, name: string): Promise<void> {
  const args = root === '/' ? [name] : ['--prefix', root, name];
  const result = await execa('groupdel', args, { reject: false });
  if (result.exitCode !== 0) throw new InstallError(`groupdel ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
}
