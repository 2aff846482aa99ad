// How a disk's new SMART reading compares with the one the ledger kept: which bad-sector counters rose, and the
// record to keep. Pure. The counters only ever grow on a disk that is wearing out, so any rise is worth a warning,
// while a disk that has had a few reallocated sectors for years and no new ones is not news.
import type { HealthRecord } from '../notify/ledger.js';
import type { SectorCounters, SmartReading } from '../system/smart-report.js';

/** smartctl's names for the counters, as `smartctl -A` prints them, so a warning can be checked by hand. */
export const COUNTER_NAMES: Record<keyof SectorCounters, string> = {
  reallocated: 'Reallocated_Sector_Ct',
  pending: 'Current_Pending_Sector',
  offlineUncorrectable: 'Offline_Uncorrectable',
  mediaErrors: 'Media and Data Integrity Errors',
};

const COUNTERS = Object.keys(COUNTER_NAMES) as (keyof SectorCounters)[];

export interface HealthChange {
  record: HealthRecord;
  /** "Current_Pending_Sector 0 -> 8", one per counter that rose; empty when none did or there was nothing to compare. */
  rising: string[];
  /** Said when the reading is of another disk than the last one (same drive name, another serial number). */
  otherDisk?: string | undefined;
}

/** The record to keep after `reading` of `disk` at `at`, given the one before. */
export function compareReading(previous: HealthRecord | undefined, reading: SmartReading, disk: string | undefined, at: Date): HealthChange {
  const base = { at: at.toISOString(), verdict: reading.verdict, disk, note: reading.note };
  if (reading.verdict === 'unavailable') {
    // Nothing new to compare: keep the last counters (and whose they are) for the next reading that has some.
    const kept = previous ? pick(previous) : {};
    return { record: { ...kept, ...base, model: reading.model ?? previous?.model, serial: reading.serial ?? previous?.serial, countersAt: previous?.countersAt }, rising: [] };
  }
  const record: HealthRecord = { ...base, model: reading.model, serial: reading.serial, ...pick(reading), countersAt: base.at };
  if (previous?.serial && reading.serial && previous.serial !== reading.serial) {
    return { record, rising: [], otherDisk: `the disk's serial number is ${reading.serial}, not ${previous.serial} as at the last reading: its counters start afresh` };
  }
  const rising = COUNTERS.flatMap((c) => {
    const before = previous?.[c];
    const now = reading[c];
    return before !== undefined && now !== undefined && now > before ? [`${COUNTER_NAMES[c]} ${before} -> ${now}`] : [];
  });
  return { record: rising.length > 0 ? { ...record, rising } : record, rising };
}

function pick(from: SectorCounters): SectorCounters {
  return Object.fromEntries(COUNTERS.filter((c) => from[c] !== undefined).map((c) => [c, from[c]]));
}
