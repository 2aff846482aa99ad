// Checks that need the whole config at once: which drive is which, and folders that overlap.
import { archiveFindings } from './checks-archive.js';
import type { ConfigPath } from './positions.js';

export interface DriveView {
  uuid?: string;
  path?: string;
  mountPoint?: string;
  keyFile?: string;
  cryptName?: string;
  deviceTimeout?: string;
  /** archive.to, when given as an absolute path. */
  archiveTo?: string;
  /** Whether archive: has a `passphrase` key (refused: see checks-archive.ts). */
  archivePassphrase?: boolean;
}

/** The parts of a config the cross checks read; built leniently, so they also run on a config with schema errors. */
export interface CheckedView {
  drives: Record<string, DriveView>;
  states: Record<string, { folders: string[] }>;
  /** Whether mail.smtp has a `password` key (refused: see secretFindings). */
  inlinePassword?: boolean;
  /** The drive names under healthchecks:. */
  healthcheckDrives?: string[];
}

type Raw = Record<string, unknown>;
const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const absolute = (v: unknown) => {
  const t = text(v);
  return t?.startsWith('/') ? (t.length > 1 ? t.replace(/\/+$/, '') : t) : undefined;
};

/** Picks what the cross checks need out of raw YAML data, skipping whatever has the wrong shape. */
export function viewForChecks(raw: unknown): CheckedView {
  const root = isRecord(raw) ? raw : {};
  // Keyed by the user's names: no prototype, so "constructor" is just a name.
  const drives = Object.create(null) as CheckedView['drives'];
  for (const [name, d] of Object.entries(isRecord(root.drives) ? root.drives : {})) {
    if (!isRecord(d)) continue;
    const view: CheckedView['drives'][string] = {};
    const uuid = text(d.uuid)?.toLowerCase();
    if (uuid) view.uuid = uuid;
    if (d.path !== undefined) view.path = absolute(d.path) ?? String(d.path);
    const mountPoint = absolute(d.mountPoint);
    if (mountPoint) view.mountPoint = mountPoint;
    if (d.keyFile !== undefined) view.keyFile = String(d.keyFile);
    if (d.cryptName !== undefined) view.cryptName = String(d.cryptName);
    if (d.deviceTimeout !== undefined) view.deviceTimeout = String(d.deviceTimeout);
    if (isRecord(d.archive)) {
      const to = absolute(d.archive.to);
      if (to) view.archiveTo = to;
      if ('passphrase' in d.archive) view.archivePassphrase = true;
    }
    drives[name] = view;
  }
  const states = Object.create(null) as CheckedView['states'];
  for (const [name, s] of Object.entries(isRecord(root.states) ? root.states : {})) {
    const folders = isRecord(s) && Array.isArray(s.folders) ? s.folders : [];
    // Keep indexes stable (findings point at folders[i]); a folder of the wrong shape becomes a path that matches nothing.
    states[name] = { folders: folders.map((f) => absolute(f) ?? '\0') };
  }
  const mail = isRecord(root.mail) ? root.mail : {};
  const inlinePassword = isRecord(mail.smtp) && 'password' in mail.smtp;
  const healthcheckDrives = Object.keys(isRecord(root.healthchecks) ? root.healthchecks : {});
  return { drives, states, inlinePassword, healthcheckDrives };
}

export interface Finding {
  path: ConfigPath;
  /** Point at the key rather than its value (for keys that should not be there). */
  atKey?: boolean;
  message: string;
}

/** True when `inner` is `outer` or lies beneath it. */
export function isSameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}

/** Every cross-field problem of a config that passed the schema. */
export function crossChecks(config: CheckedView): Finding[] {
  return [
    ...driveKindFindings(config),
    ...duplicateDriveFindings(config),
    ...folderFindings(config),
    ...targetInSourceFindings(config),
    ...secretFindings(config),
    ...healthcheckFindings(config),
    ...archiveFindings(config),
  ];
}

/** A password written into the config is refused: configs get shared, pasted and read by other users. */
function secretFindings(config: CheckedView): Finding[] {
  if (!config.inlinePassword) return [];
  return [
    {
      path: ['mail', 'smtp', 'password'],
      atKey: true,
      message:
        'a password in the config is refused (anyone who can read this file could read it): write it to a file only root can read (chmod 600) and give that file as passwordFile, or name an environment variable in passwordEnv',
    },
  ];
}

function healthcheckFindings(config: CheckedView): Finding[] {
  const known = Object.keys(config.drives);
  return (config.healthcheckDrives ?? [])
    .filter((name) => !known.includes(name))
    .map((name) => ({
      path: ['healthchecks', name],
      atKey: true,
      message: `there is no drive "${name}" under drives: (drives: ${known.join(', ') || 'none'})`,
    }));
}

function driveKindFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  for (const [name, drive] of Object.entries(config.drives)) {
    if (drive.uuid === undefined && drive.path === undefined) {
      findings.push({
        path: ['drives', name],
        message: `drive "${name}" needs either uuid (a LUKS drive) or path (a directory target)`,
      });
    } else if (drive.uuid !== undefined && drive.path !== undefined) {
      findings.push({ path: ['drives', name, 'path'], atKey: true, message: `drive "${name}" has both uuid and path: keep one` });
    } else if (drive.path !== undefined) {
      for (const key of ['keyFile', 'cryptName', 'mountPoint', 'deviceTimeout'] as const) {
        if (drive[key] !== undefined) {
          findings.push({
            path: ['drives', name, key],
            atKey: true,
            message: `${key} only applies to LUKS drives (with uuid); drive "${name}" is a directory target (path)`,
          });
        }
      }
    }
  }
  return findings;
}

function duplicateDriveFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  const byUuid = new Map<string, string>();
  const byRoot = new Map<string, string>();
  const byCryptName = new Map<string, string>();
  for (const [name, drive] of Object.entries(config.drives)) {
    if (drive.uuid !== undefined) {
      // Two crypttab lines with one name: systemd would make one unit of them and unlock only one drive.
      const cryptName = drive.cryptName ?? `plugback-${name}`;
      const other = byCryptName.get(cryptName);
      if (other) findings.push({ path: ['drives', name, drive.cryptName ? 'cryptName' : 'uuid'], message: `cryptName ${cryptName} is already used by drive "${other}"` });
      else byCryptName.set(cryptName, name);
      const first = byUuid.get(drive.uuid);
      if (first) findings.push({ path: ['drives', name, 'uuid'], message: `uuid ${drive.uuid} is already used by drive "${first}"` });
      else byUuid.set(drive.uuid, name);
    }
    const target = targetOf(name, drive);
    if (target === undefined) continue;
    const { root, key } = target;
    const first = byRoot.get(root);
    if (first) findings.push({ path: ['drives', name, key], message: `${root} is already the target of drive "${first}"` });
    else byRoot.set(root, name);
  }
  return findings;
}

export interface FolderRef {
  state: string;
  index: number;
  folder: string;
}

/** The folder a drive's repository lives under (its path, or its mount point), and the key that sets it. */
export function targetOf(name: string, drive: DriveView): { root: string; key: 'path' | 'mountPoint' } | undefined {
  const root = drive.path ?? drive.mountPoint ?? (drive.uuid ? `/run/plugback/${name}` : undefined);
  return root === undefined ? undefined : { root, key: drive.path !== undefined ? 'path' : 'mountPoint' };
}

export function allFolders(config: CheckedView): FolderRef[] {
  return Object.entries(config.states).flatMap(([state, s]) =>
    s.folders.map((folder, index) => ({ state, index, folder })).filter((f) => f.folder !== '\0'),
  );
}

function folderFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  const folders = allFolders(config);
  for (const [i, later] of folders.entries()) {
    for (const earlier of folders.slice(0, i)) {
      const where = `state "${earlier.state}" (folders[${earlier.index}])`;
      let message: string | undefined;
      if (later.folder === earlier.folder) message = `${later.folder} is already listed in ${where}`;
      else if (isSameOrInside(later.folder, earlier.folder)) message = `${later.folder} is inside ${earlier.folder} of ${where}: its files would be backed up twice`;
      else if (isSameOrInside(earlier.folder, later.folder)) message = `${later.folder} contains ${earlier.folder} of ${where}: its files would be backed up twice`;
      if (message) findings.push({ path: ['states', later.state, 'folders', later.index], message });
    }
  }
  return findings;
}

function targetInSourceFindings(config: CheckedView): Finding[] {
  const findings: Finding[] = [];
  for (const [name, drive] of Object.entries(config.drives)) {
    const target = targetOf(name, drive);
    if (target === undefined) continue;
    const { root, key } = target;
    for (const ref of allFolders(config)) {
      if (isSameOrInside(root, ref.folder)) {
        findings.push({
          path: ['drives', name, key],
          message: `${key} ${root} of drive "${name}" is inside the folder ${ref.folder} of state "${ref.state}": the backup would copy itself`,
        });
      } else if (isSameOrInside(ref.folder, root)) {
        findings.push({
          path: ['states', ref.state, 'folders', ref.index],
          message: `${ref.folder} is inside the ${key} ${root} of drive "${name}": a state cannot back up the backup drive`,
        });
      }
    }
  }
  return findings;
}
