// Permission checks on the files whose content means root: the config (its hooks run as root) and the secrets
// (the SMTP password, the LUKS keys). As ssh and sudo do it: refuse rather than trust a file others can change or read.
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

const octal = (mode: number) => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
const myUid = () => process.getuid?.() ?? 0;

/** Whose writes `mode` allows besides the owner's: "group", "others", "group and others", or undefined. */
function otherWriters(mode: number): string | undefined {
  const who = [mode & 0o020 ? 'its group' : '', mode & 0o002 ? 'all users' : ''].filter(Boolean);
  return who.length === 0 ? undefined : who.join(' and ');
}

/** Root trusts only root's files; another user may also trust their own. */
function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === myUid();
}

/** Why the config file with these stats must not be used (its hooks run as root), or undefined when it is fine. */
export function configFileProblem(file: string, stats: Stats): string | undefined {
  const writers = otherWriters(stats.mode);
  if (writers) {
    return `the config ${file} is writable by ${writers} (mode ${octal(stats.mode)}), and its hooks run as root: anyone who can write it can become root; run: chmod go-w ${file}`;
  }
  if (!trustedOwner(stats.uid)) {
    return `the config ${file} is owned by uid ${stats.uid}, not root, and its hooks run as root: that user could become root; run: chown root: ${file}`;
  }
  return undefined;
}

/** Why a directory on the way to the config makes it unsafe (others can swap the file), or undefined. */
export async function configDirectoryProblem(file: string): Promise<string | undefined> {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const stats = await stat(dir);
    const writers = otherWriters(stats.mode);
    // A sticky directory (/tmp) lets others add files, but not replace ours.
    if (writers && !(stats.mode & 0o1000)) {
      return `the config ${file} is in ${dir}, which is writable by ${writers} (mode ${octal(stats.mode)}): they could replace the config, whose hooks run as root; run: chmod go-w ${dir}, or move the config`;
    }
    if (!trustedOwner(stats.uid)) {
      return `the config ${file} is in ${dir}, which is owned by uid ${stats.uid}, not root: that user could replace the config, whose hooks run as root; run: chown root: ${dir}, or move the config`;
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** Why a secret (a password or key file) with these stats is exposed, or undefined when only its owner can use it. */
export function secretFileProblem(file: string, stats: Stats, what: string): string | undefined {
  if (stats.mode & 0o077) {
    return `${what} ${file} can be read or changed by users other than its owner (mode ${octal(stats.mode)}); run: chmod 600 ${file}`;
  }
  if (myUid() === 0 && stats.uid !== 0) {
    return `${what} ${file} is owned by uid ${stats.uid}, not root, so that user can read or change it; run: chown root: ${file}`;
  }
  return undefined;
}

/**
 * Why a file anyone may read but only its owner may change (public keys to encrypt to) cannot be trusted: another
 * user who could rewrite it would have the next archives encrypted to a key of theirs.
 */
export function trustedFileProblem(file: string, stats: Stats, what: string): string | undefined {
  const writers = otherWriters(stats.mode);
  if (writers) return `${what} ${file} is writable by ${writers} (mode ${octal(stats.mode)}), who could put their own key in it; run: chmod go-w ${file}`;
  if (myUid() === 0 && stats.uid !== 0) return `${what} ${file} is owned by uid ${stats.uid}, not root, so that user can change it; run: chown root: ${file}`;
  return undefined;
}

/** secretFileProblem (or another such check) for a file by name; undefined too when it does not exist (that is reported where it is used). */
export async function secretPathProblem(file: string, what: string, check = secretFileProblem): Promise<string | undefined> {
  const stats = await stat(file).catch((error: NodeJS.ErrnoException) => {
    // Missing, or behind a folder this user cannot enter: the place that uses it reports that.
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR' || error.code === 'EACCES') return undefined;
    throw error;
  });
  return stats ? check(file, stats, what) : undefined;
}

/**
 * Why the folder for new key files (drive prepare's --key-dir) is unsafe, or undefined: another user who owns it
 * or may write it could take a key away or put another in its place. A folder not there yet is made root's (0700).
 */
export async function keyDirectoryProblem(dir: string): Promise<string | undefined> {
  const stats = await stat(dir).catch(() => undefined);
  if (!stats) return undefined;
  const writers = otherWriters(stats.mode);
  if (writers) return `the key folder ${dir} is writable by ${writers} (mode ${octal(stats.mode)}), who could take a key away or swap it; run: chmod 700 ${dir}, or give another --key-dir`;
  if (!trustedOwner(stats.uid)) return `the key folder ${dir} is owned by uid ${stats.uid}, not root, so that user can take its keys; run: chown root: ${dir}, or give another --key-dir`;
  return undefined;
}
