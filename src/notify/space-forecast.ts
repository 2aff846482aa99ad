// How soon a drive fills up, from what its recent backups added: the ledger keeps the bytes each incremental
// backup copied (a first, full copy says nothing about the next ones), and the forecast divides the free space by
// their median. `drives`, the metrics and the check-space step read it.
import type { JobResult } from '../job/events.js';
import { readLedger, type DriveRecord } from './ledger.js';

/** How many recent backups the forecast looks at. */
const KEPT = 8;
/** Fewer than this and there is no forecast: one run may be a big one-off. */
const ENOUGH = 2;

/** Keeps what a completed incremental backup copied; called with each job's result. */
export function noteNewBytes(record: DriveRecord, r: JobResult): void {
  const completed = (r.outcome === 'success' || r.outcome === 'warning') && r.snapshot !== undefined;
  // files.deleted is counted only against a previous snapshot: without one this was a first, full copy.
  if (!completed || r.files?.deleted === undefined) return;
  record.recentNewBytes = [...(record.recentNewBytes ?? []), r.transferredBytes].slice(-KEPT);
}

export interface SpaceForecast {
  /** What a backup typically adds: the median of the recent ones. */
  perBackup: number;
  /** How many more such backups the free space holds (before any pruning). */
  backupsLeft: number;
}

export function forecastSpace(record: DriveRecord | undefined, freeBytes = record?.freeBytes): SpaceForecast | undefined {
  const recent = record?.recentNewBytes ?? [];
  if (recent.length < ENOUGH || freeBytes === undefined) return undefined;
  const sorted = [...recent].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const perBackup = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { perBackup, backupsLeft: perBackup > 0 ? Math.floor(freeBytes / perBackup) : Infinity };
}

/** "full in about N backups", or nothing to say. */
export function forecastWords(f: SpaceForecast | undefined): string {
  if (!f || !Number.isFinite(f.backupsLeft) || f.backupsLeft > 999) return '';
  return f.backupsLeft === 0 ? 'full at the next backup' : `full in about ${f.backupsLeft} backups`;
}

/** The forecast in words once `r` is counted too, for the mail of the job that just ended ('' when none). */
export async function forecastAfter(stateDir: string, drive: string, r: JobResult, freeBytes: number | undefined): Promise<string> {
  const ledger = await readLedger(stateDir).catch(() => undefined);
  const record: DriveRecord = { trackedSince: '', ...(ledger?.[drive] ?? {}) };
  // The ledger may or may not hold this job yet (both are written at once): count it once.
  if (record.lastRun?.startedAt !== r.startedAt) noteNewBytes(record, r);
  return forecastWords(forecastSpace(record, freeBytes));
}
