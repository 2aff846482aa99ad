// gpg's part of an archive: to public keys (fingerprints in root's keyring, or every key in a keyring file),
// or symmetric with a passphrase from a file. The passphrase never reaches a command line or the config: gpg
// reads it from the file plugback opened and checked, through that open file's /proc path.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Stage } from './pipeline.js';

const execFileP = promisify(execFile);

export type Encryption =
  | { kind: 'none' }
  | { kind: 'recipients'; fingerprints: string[] }
  | { kind: 'keyring'; file: string }
  | { kind: 'passphrase'; file: string; rootOwnedOnly?: boolean };

/** A gpg stage ready to run, and what to close or delete after it. */
export interface GpgSetup {
  stage: Stage;
  cleanup(): Promise<void>;
}

const FINGERPRINT = /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/;

/** A fingerprint as gpg prints it (spaces dropped, upper case); undefined when it is not a full fingerprint. */
export function normalizeFingerprint(text: string): string | undefined {
  const fpr = text.replace(/\s+/g, '').toUpperCase();
  return FINGERPRINT.test(fpr) ? fpr : undefined;
}

/**
 * Opens a passphrase file the way ssh and sudo open keys: a regular file that group and others cannot read or
 * write. The handle stays open so gpg reads the inode that was checked.
 */
export async function openPassphraseFile(file: string, rootOwnedOnly = false): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new Error(`cannot open the passphrase file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): check the path`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`the passphrase file ${file} is not a regular file: give the path of a file holding the passphrase on its first line`);
    if ((st.mode & 0o066) !== 0) {
      throw new Error(
        `the passphrase file ${file} can be read or written by group or others (mode ${(st.mode & 0o777).toString(8)}); ` +
          `plugback refuses it, as ssh refuses such keys: run chmod 600 ${file}`,
      );
    }
    // A D-Bus caller names the file but must not pick one of its own: only root puts passphrases there.
    if (rootOwnedOnly && st.uid !== 0) throw new Error(`the passphrase file ${file} belongs to uid ${st.uid}, not root: the daemon takes passphrases only from root's files (chown root ${file})`);
    if (st.size === 0) throw new Error(`the passphrase file ${file} is empty: write the passphrase on its first line`);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The gpg stage that encrypts stdin to stdout; checks keys and files first, so the error comes before tar starts. */
export async function encryptStage(encryption: Exclude<Encryption, { kind: 'none' }>): Promise<GpgSetup> {
  const base = ['--batch', '--no-tty', '--yes', '--quiet', '--output', '-'];
  if (encryption.kind === 'passphrase') {
    const handle = await openPassphraseFile(encryption.file, encryption.rootOwnedOnly);
    const args = [...base, '--pinentry-mode', 'loopback', '--passphrase-file', procPath(handle), '--symmetric', '--cipher-algo', 'AES256'];
    return { stage: { name: 'gpg', command: 'gpg', args }, cleanup: () => handle.close() };
  }
  if (encryption.kind === 'recipients') {
    for (const fpr of encryption.fingerprints) await requirePublicKey(fpr, []);
    return { stage: { name: 'gpg', command: 'gpg', args: [...base, '--trust-model', 'always', '--encrypt', ...recipientArgs(encryption.fingerprints)] }, cleanup: async () => undefined };
  }
  // A keyring file: every key in it, imported into a private, temporary home so root's keyring is untouched.
  const home = await mkdtemp(path.join(os.tmpdir(), 'plugback-gpg-'));
  const cleanup = async () => {
    await execFileP('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home } }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  };
  try {
    const homeArgs = ['--homedir', home];
    await execFileP('gpg', [...homeArgs, '--batch', '--quiet', '--import', encryption.file]).catch((error: Error & { stderr?: string }) => {
      throw new Error(`gpg could not read keys from the keyring file ${encryption.file}: ${firstLines(error.stderr ?? error.message)}; export the public keys with gpg --export KEYID > FILE`);
    });
    const fingerprints = await encryptionKeys(homeArgs);
    if (fingerprints.length === 0) throw new Error(`the keyring file ${encryption.file} holds no public key that can encrypt: export one with gpg --export KEYID > ${encryption.file}`);
    const args = [...homeArgs, ...base, '--trust-model', 'always', '--encrypt', ...recipientArgs(fingerprints)];
    return { stage: { name: 'gpg', command: 'gpg', args }, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The gpg stage that decrypts stdin: with a passphrase file, or with the secret keys of the keyring gpg uses (GNUPGHOME). */
export async function decryptStage(passphraseFile: string | undefined, interactive: boolean): Promise<GpgSetup> {
  const base = ['--quiet', '--decrypt'];
  if (!interactive) base.unshift('--batch', '--no-tty');
  if (!passphraseFile) return { stage: { name: 'gpg', command: 'gpg', args: base }, cleanup: async () => undefined };
  const handle = await openPassphraseFile(passphraseFile);
  const args = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase-file', procPath(handle), '--quiet', '--decrypt'];
  return { stage: { name: 'gpg', command: 'gpg', args }, cleanup: () => handle.close() };
}

function recipientArgs(fingerprints: string[]): string[] {
  return fingerprints.flatMap((f) => ['--recipient', f]);
}

/** This process's open file, as a path its children can open (the same inode, whatever is renamed meanwhile). */
function procPath(handle: FileHandle): string {
  return `/proc/${process.pid}/fd/${handle.fd}`;
}

async function requirePublicKey(fingerprint: string, homeArgs: string[]): Promise<void> {
  const listed = await execFileP('gpg', [...homeArgs, '--batch', '--with-colons', '--list-keys', '--', fingerprint]).catch(() => undefined);
  if (!listed) {
    const home = process.env.GNUPGHOME ?? path.join(os.homedir(), '.gnupg');
    throw new Error(
      `there is no public key ${fingerprint} in the keyring gpg uses (${home}): import it with gpg --import KEYFILE, or give the key file with --keyring FILE`,
    );
  }
  if (!usable(listed.stdout)) throw new Error(`the key ${fingerprint} cannot encrypt (it is expired, revoked or has no encryption subkey): check it with gpg --list-keys ${fingerprint}`);
}

/** The fingerprints of the primary keys that can encrypt (gpg's capability field holds an upper-case E). */
async function encryptionKeys(homeArgs: string[]): Promise<string[]> {
  const { stdout } = await execFileP('gpg', [...homeArgs, '--batch', '--with-colons', '--list-keys']);
  const out: string[] = [];
  let current: { usable: boolean } | undefined;
  for (const line of stdout.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === 'pub') current = { usable: usable(line) };
    else if (fields[0] === 'fpr' && current) {
      if (current.usable && fields[9]) out.push(fields[9]);
      current = undefined;
    }
  }
  return out;
}

function usable(colons: string): boolean {
  const pub = colons.split('\n').find((l) => l.startsWith('pub:'));
  const fields = pub?.split(':') ?? [];
  return !['e', 'r', 'd'].includes(fields[1] ?? '') && (fields[11] ?? '').includes('E');
}

function firstLines(text: string): string {
  return text.trim().split('\n').slice(0, 3).join(' | ');
}
