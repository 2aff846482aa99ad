// What archives are called, and which files in a folder are plugback's archives (pure: no file system here).
//   dated:   <host>-<snapshot>.tar.zst[.gpg]   the snapshot's UTC name, so one snapshot gives one dated file
//   rolling: <host>-<weekday 0-6>.tar.zst[.gpg] the snapshot's local weekday (Sunday 0), replaced a week later
// Retention and clean-up touch only names that parse here, so a folder can hold other files safely.
import { parseSnapshotName } from '../repo/layout.js';

export type Naming = 'dated' | 'rolling' | 'both';
export type Compression = 'zstd' | 'gzip';

export const NAMINGS: readonly Naming[] = ['dated', 'rolling', 'both'];
export const COMPRESSIONS: readonly Compression[] = ['zstd', 'gzip'];

const EXTENSION: Record<Compression, string> = { zstd: '.tar.zst', gzip: '.tar.gz' };

export interface ArchiveFormat {
  compression: Compression;
  encrypted: boolean;
}

export type ParsedArchiveName =
  | { kind: 'dated'; snapshot: string; format: ArchiveFormat }
  | { kind: 'rolling'; weekday: number; format: ArchiveFormat };

/** `.tar.zst`, `.tar.gz.gpg`, ... */
export function archiveSuffix(format: ArchiveFormat): string {
  return `${EXTENSION[format.compression]}${format.encrypted ? '.gpg' : ''}`;
}

export function datedName(host: string, snapshot: string, format: ArchiveFormat): string {
  return `${host}-${snapshot}${archiveSuffix(format)}`;
}

/** The weekday IOTstack's rolling backups use (`date +%w`): local time, Sunday 0. */
export function weekdayOf(time: Date): number {
  return time.getDay();
}

export function rollingName(host: string, weekday: number, format: ArchiveFormat): string {
  if (!Number.isInteger(weekday) || weekday < 0 || weekday > 6) throw new Error(`internal error: weekday ${weekday} is not 0-6`);
  return `${host}-${weekday}${archiveSuffix(format)}`;
}

/** The names one archive of `snapshot` gets, dated first. */
export function archiveNames(host: string, snapshot: { name: string; time: Date }, naming: Naming, format: ArchiveFormat): string[] {
  const names: string[] = [];
  if (naming !== 'rolling') names.push(datedName(host, snapshot.name, format));
  if (naming !== 'dated') names.push(rollingName(host, weekdayOf(snapshot.time), format));
  return names;
}

/** The compression and encryption a file name says it has; undefined for a name no archive of plugback's has. */
export function formatOf(fileName: string): ArchiveFormat | undefined {
  const m = /\.tar\.(zst|gz)(\.gpg)?$/.exec(fileName);
  if (!m) return undefined;
  return { compression: m[1] === 'zst' ? 'zstd' : 'gzip', encrypted: m[2] !== undefined };
}

/** What `fileName` is as an archive of `host`; undefined when it is not one (another host's, a temp file, anything). */
export function parseArchiveName(host: string, fileName: string): ParsedArchiveName | undefined {
  if (!fileName.startsWith(`${host}-`)) return undefined;
  const format = formatOf(fileName);
  if (!format) return undefined;
  const middle = fileName.slice(host.length + 1, fileName.length - archiveSuffix(format).length);
  if (/^[0-6]$/.test(middle)) return { kind: 'rolling', weekday: Number(middle), format };
  if (parseSnapshotName(middle)) return { kind: 'dated', snapshot: middle, format };
  return undefined;
}

/** The dated archives of `host` to delete so that the newest `keep` snapshots' archives remain (all formats of one snapshot count once). */
export function datedToDelete(host: string, fileNames: readonly string[], keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`internal error: keep must be a whole number of at least 1, got ${keep}`);
  const bySnapshot = new Map<string, string[]>();
  for (const name of fileNames) {
    const parsed = parseArchiveName(host, name);
    if (parsed?.kind !== 'dated') continue;
    bySnapshot.set(parsed.snapshot, [...(bySnapshot.get(parsed.snapshot) ?? []), name]);
  }
  // Snapshot names are UTC times that sort as text.
  const snapshots = [...bySnapshot.keys()].sort();
  return snapshots.slice(0, Math.max(0, snapshots.length - keep)).flatMap((s) => (bySnapshot.get(s) ?? []).sort());
}
