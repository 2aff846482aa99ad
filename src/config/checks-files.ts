// What only the file system can tell about a config (`config check`): the secret files it names, and the
// folders and secrets that are missing. A missing folder or key is a warning: it may be made after the config.
import { stat } from 'node:fs/promises';
import type { Config } from './model.js';
import { dotted, valueAt, type ConfigPath } from './positions.js';
import type { trustedFileProblem } from '../system/file-perms.js';

export interface SecretFile {
  file: string;
  what: string;
  where: ConfigPath;
  /** Point at the key (the drive), not a value: the default keyFile has no line of its own. */
  key: boolean;
  /** How its modes are judged (default: readable by its owner alone). */
  check?: typeof trustedFileProblem;
  /** What goes wrong while it is missing. */
  missing: string;
}

export interface FileWarning {
  path: ConfigPath;
  message: string;
  atKey: boolean;
}

/** The key, password, passphrase and keyring files the config names, with where it names them. */
export function secretFiles(config: Config, raw: unknown, keyringCheck: typeof trustedFileProblem): SecretFile[] {
  const secrets: SecretFile[] = [];
  for (const drive of config.drives) {
    const encryption = drive.archive?.encryption;
    const archiveMissing = `drive "${drive.name}" gets no archive while it is missing`;
    if (encryption?.kind === 'passphrase') {
      secrets.push({ file: encryption.file, what: `the archive passphrase file of drive "${drive.name}"`, where: ['drives', drive.name, 'archive', 'passphraseFile'], key: false, missing: archiveMissing });
    }
    if (encryption?.kind === 'keyring') {
      secrets.push({ file: encryption.file, what: `the archive keyring of drive "${drive.name}"`, where: ['drives', drive.name, 'archive', 'keyring'], key: false, check: keyringCheck, missing: archiveMissing });
    }
    if (drive.kind !== 'luks') continue;
    const given = valueAt(raw, ['drives', drive.name, 'keyFile']) !== undefined;
    secrets.push({
      file: drive.keyFile,
      what: `the key file of drive "${drive.name}"`,
      where: given ? ['drives', drive.name, 'keyFile'] : ['drives', drive.name],
      key: !given,
      missing: 'the drive cannot be unlocked until it is there (root\'s, chmod 600)',
    });
  }
  const passwordFile = config.mail?.smtp?.passwordFile;
  if (passwordFile) secrets.push({ file: passwordFile, what: 'the SMTP password file', where: ['mail', 'smtp', 'passwordFile'], key: false, missing: 'no mail can be sent over SMTP while it is missing' });
  return secrets;
}

/** Folders to back up that are not there (or not folders), and secret files that do not exist yet. */
export async function fileWarnings(config: Config, secrets: SecretFile[]): Promise<FileWarning[]> {
  const warnings: FileWarning[] = [];
  for (const state of config.states) {
    for (const [i, folder] of state.folders.entries()) {
      const where: ConfigPath = ['states', state.name, 'folders', i];
      const kind = await kindOf(folder);
      if (kind === 'missing') warnings.push({ path: where, atKey: false, message: `${dotted(where)}: ${folder} does not exist; a backup fails at check-source while it is missing` });
      else if (kind !== 'folder') warnings.push({ path: where, atKey: false, message: `${dotted(where)}: ${folder} is not a directory; a backup fails at check-source while it is not` });
    }
  }
  for (const s of secrets) {
    if ((await kindOf(s.file)) === 'missing') warnings.push({ path: s.where, atKey: s.key, message: `${dotted(s.where)}: ${s.what} ${s.file} does not exist; ${s.missing}` });
  }
  return warnings;
}

async function kindOf(file: string): Promise<'folder' | 'file' | 'other' | 'missing'> {
  const stats = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (!stats) return 'missing';
  return stats.isDirectory() ? 'folder' : stats.isFile() ? 'file' : 'other';
}
