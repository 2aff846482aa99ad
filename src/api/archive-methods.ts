// The archive methods of the D-Bus API: CreateArchive, ArchiveStatus, CancelArchive, ListArchives and
// DeleteArchive, as a table the service dispatches to. Callers name drives, snapshots and archive names, never a
// folder: archives go into (and are listed and deleted from) the one archive folder only.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import dbus from 'dbus-next';
import type { Owner } from '../archive/destination.js';
import { openArchiveFolder } from '../archive/destination.js';
import { normalizeFingerprint, openPassphraseFile, type Encryption } from '../archive/encryption.js';
import { COMPRESSIONS, NAMINGS, parseArchiveName, type Compression, type Naming } from '../archive/naming.js';
import { RequestError } from '../daemon/request-error.js';
import { DriveDir } from '../repo/drive-dir.js';
import { archiveFolder, type ArchiveHost, type ArchiveJobs, type ArchiveSettings, type ArchiveStatus } from './archive-jobs.js';
import { ACTIONS } from './names.js';

const { Variant } = dbus;
type V = InstanceType<typeof Variant>;
type Dict = Record<string, V>;
const execFileP = promisify(execFile);

/** What one method gets: its arguments, and a way to ask polkit for an action (it throws NotAuthorized). */
export interface MethodCall {
  args: unknown[];
  authorize(action: string): Promise<{ who: string; uid: number }>;
}

export interface MethodReply {
  signature: string;
  body: unknown[];
}

export type Method = (call: MethodCall) => Promise<MethodReply>;

export function archiveMethods(jobs: ArchiveJobs, host: ArchiveHost): Record<string, Method> {
  return {
    CreateArchive: async ({ args, authorize }) => {
      const { who, uid } = await authorize(ACTIONS.Archive);
      const settings = await settingsOf(args[2], uid);
      const snapshot = String(args[1]);
      const id = await jobs.start(String(args[0]), snapshot === '' || snapshot === 'latest' ? undefined : snapshot, settings, who);
      return { signature: 's', body: [id] };
    },
    ArchiveStatus: async ({ args }) => ({ signature: 'a{sv}', body: [archiveStatusDict(jobs.status(String(args[0])))] }),
    CancelArchive: async ({ args, authorize }) => {
      const { who } = await authorize(ACTIONS.Archive);
      jobs.cancel(String(args[0]), who);
      return { signature: '', body: [] };
    },
    ListArchives: async () => ({ signature: 'aa{sv}', body: [await listArchives(host)] }),
    DeleteArchive: async ({ args, authorize }) => {
      const { who } = await authorize(ACTIONS.Archive);
      await deleteArchive(host, String(args[0]), who);
      return { signature: '', body: [] };
    },
  };
}

export function archiveStatusDict(s: ArchiveStatus): Dict {
  const out: Dict = { Id: new Variant('s', s.id), Drive: new Variant('s', s.drive), State: new Variant('s', s.state), Bytes: new Variant('t', BigInt(s.bytes)) };
  if (s.snapshot) out.Snapshot = new Variant('s', s.snapshot);
  if (s.files?.[0]) out.File = new Variant('s', s.files[0]);
  if (s.files) out.Files = new Variant('as', s.files);
  if (s.error) out.Error = new Variant('s', s.error);
  return out;
}

/** The a{sv} options of CreateArchive; unknown keys and wrong types are refused rather than ignored. */
async function settingsOf(raw: unknown, uid: number): Promise<ArchiveSettings> {
  const options = (raw ?? {}) as Record<string, V>;
  const known = ['Compression', 'Naming', 'Recipients', 'PassphraseFile'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new RequestError(`CreateArchive has no option ${unknown.join(', ')}; the options are ${known.join(', ')}`);
  const text = (key: string): string | undefined => {
    const v = options[key];
    if (v === undefined) return undefined;
    if (v.signature !== 's') throw new RequestError(`the option ${key} must be a string (s), got type ${v.signature}`);
    return String(v.value);
  };
  const compression = oneOf<Compression>('Compression', text('Compression') ?? 'zstd', COMPRESSIONS);
  const naming = oneOf<Naming>('Naming', text('Naming') ?? 'dated', NAMINGS);
  return { compression, naming, encryption: await encryptionOf(options.Recipients, text('PassphraseFile')), owner: await ownerOf(uid) };
}

async function encryptionOf(recipients: V | undefined, passphraseFile: string | undefined): Promise<Encryption> {
  if (recipients !== undefined && recipients.signature !== 'as') throw new RequestError(`the option Recipients must be a list of fingerprints (as), got type ${recipients.signature}`);
  const list = (recipients?.value ?? []) as string[];
  if (list.length > 0 && passphraseFile !== undefined) throw new RequestError('choose one way to encrypt: Recipients or PassphraseFile, not both');
  if (passphraseFile !== undefined) {
    if (!path.isAbsolute(passphraseFile)) throw new RequestError(`PassphraseFile must be an absolute path (of a root-owned file, mode 0600), got "${passphraseFile}"`);
    // Refused now rather than in ArchiveStatus later: the caller is still listening.
    const handle = await openPassphraseFile(passphraseFile, true).catch((error: Error) => Promise.reject(new RequestError(error.message)));
    await handle.close();
    return { kind: 'passphrase', file: passphraseFile, rootOwnedOnly: true };
  }
  if (list.length === 0) return { kind: 'none' };
  const fingerprints = list.map((r) => {
    const fpr = normalizeFingerprint(r);
    if (!fpr) throw new RequestError(`Recipients takes keys' full fingerprints (40 hex digits, see gpg --fingerprint), got "${r}"`);
    return fpr;
  });
  return { kind: 'recipients', fingerprints };
}

/** A caller other than root gets its archives, so it can fetch them (as the seed's remote backup user does). */
async function ownerOf(uid: number): Promise<Owner | undefined> {
  if (uid === 0) return undefined;
  const passwd = await execFileP('getent', ['passwd', String(uid)]).catch(() => undefined);
  const gid = Number(passwd?.stdout.split(':')[3]);
  return { uid, gid: Number.isInteger(gid) ? gid : uid };
}

function oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new RequestError(`the option ${key} must be one of ${allowed.join(', ')}, got "${value}"`);
}

/** This host's archives in the archive folder (names as plugback gives them; anything else is not shown). */
async function listArchives(host: ArchiveHost): Promise<Dict[]> {
  const config = host.currentConfig;
  const folder = archiveFolder(config);
  if (!(await stat(folder).then(() => true, () => false))) return [];
  const dir = await DriveDir.openRoot(folder);
  try {
    const out: Dict[] = [];
    for (const entry of await dir.entries()) {
      const parsed = entry.kind === 'file' ? parseArchiveName(config.host, entry.name) : undefined;
      const st = parsed && (await dir.lstat(entry.name));
      if (!parsed || !st) continue;
      out.push({
        Name: new Variant('s', entry.name),
        Size: new Variant('t', BigInt(st.size)),
        Time: new Variant('s', st.mtime.toISOString()),
        Kind: new Variant('s', parsed.kind),
        Encrypted: new Variant('b', parsed.format.encrypted),
        ...(parsed.kind === 'dated' ? { Snapshot: new Variant('s', parsed.snapshot) } : {}),
      });
    }
    return out;
  } finally {
    await dir.close();
  }
}

/** Deletes one archive by its name: only a name plugback gives this host's archives, never a path. */
async function deleteArchive(host: ArchiveHost, name: string, requestedBy: string): Promise<void> {
  const config = host.currentConfig;
  const folder = archiveFolder(config);
  if (!parseArchiveName(config.host, name)) {
    throw new RequestError(`"${name}" is not the name of an archive of host "${config.host}" (like ${config.host}-2026-11-22T101500Z.tar.zst): DeleteArchive takes a name from ListArchives, never a path`);
  }
  const dir = await openArchiveFolder(folder);
  try {
    const st = await dir.lstat(name);
    if (!st?.isFile()) throw new RequestError(`there is no archive ${name} in ${folder}: ListArchives shows the archives there`);
    await dir.unlink(name);
    await dir.sync();
  } finally {
    await dir.close();
  }
  host.logRequest('', `archive ${path.join(folder, name)} deleted, as requested by ${requestedBy}`);
}
