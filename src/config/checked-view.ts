// What the whole-config checks read (a lenient view of the raw YAML, so they also run on a config with schema
// errors), what they report, and the helpers every group of them shares (checks.ts, checks-archive.ts).
import type { ConfigPath } from './positions.js';

export interface DriveView {
  uuid?: string;
  path?: string;
  mountPoint?: string;
  keyFile?: string;
  cryptName?: string;
  deviceTimeout?: string;
  btrfsCompression?: string;
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
    if (d.btrfsCompression !== undefined) view.btrfsCompression = String(d.btrfsCompression);
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
