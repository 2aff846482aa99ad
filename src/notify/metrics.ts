// Per-drive metrics in the Prometheus text format, written atomically for node_exporter's textfile collector.
import type { EndingCause } from '../job/ending.js';
import type { JobOutcome } from '../job/events.js';
import { writeFileAtomic } from '../system/atomic-file.js';
import type { HealthRecord, Ledger } from './ledger.js';
import { forecastSpace } from './space-forecast.js';

const OUTCOMES: readonly JobOutcome[] = ['success', 'warning', 'failed', 'cancelled'];
const CAUSES: readonly EndingCause[] = ['none', 'failed', 'cancelled', 'removed', 'crashed'];
const HEALTH_VALUES: Record<HealthRecord['verdict'], number> = { passed: 1, failed: 0, unavailable: -1 };

interface Family {
  name: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/** The textfile for every configured drive; a drive with nothing on record yet gets no samples. */
export function renderMetrics(ledger: Ledger, drives: readonly string[], overdue: readonly string[]): string {
  const family = (name: string, help: string): Family => ({ name, help, samples: [] });
  const lastSuccess = family('plugback_last_success_timestamp_seconds', 'When the last backup that completed a snapshot finished (Unix time).');
  const lastRun = family('plugback_last_run_timestamp_seconds', 'When the last backup finished, however it went (Unix time).');
  const duration = family('plugback_last_run_duration_seconds', 'How long the last backup took.');
  const bytes = family('plugback_last_run_transferred_bytes', 'Bytes copied by the last backup.');
  const result = family('plugback_last_run_result', 'How the last backup ended: 1 for its result, 0 for the others.');
  const cause = family('plugback_last_run_cause', 'Why the last backup stopped before its last step (none: it did not): 1 for its cause, 0 for the others.');
  const snapshots = family('plugback_snapshots', 'Complete snapshots of this host on the drive, when it was last seen.');
  const free = family('plugback_drive_free_bytes', 'Free space on the drive, when it was last seen.');
  const health = family('plugback_drive_health', "The disk's SMART verdict at its last reading: 1 passed, 0 failing, -1 could not be read.");
  const sectors = [
    ['reallocated', family('plugback_drive_reallocated_sectors', 'Reallocated sectors (SMART attribute 5) at the last reading that had them.')],
    ['pending', family('plugback_drive_pending_sectors', 'Sectors waiting to be reallocated (SMART attribute 197) at the last reading that had them.')],
    ['offlineUncorrectable', family('plugback_drive_offline_uncorrectable_sectors', 'Sectors found unreadable by the offline scan (SMART attribute 198) at the last reading that had them.')],
    ['mediaErrors', family('plugback_drive_media_errors', 'NVMe media and data integrity errors at the last reading that had them.')],
  ] as const;
  const backupsLeft = family('plugback_drive_backups_left', 'How many more backups the free space holds, at what the recent ones copied (their median); absent without two incremental backups yet.');
  const drillAt = family('plugback_drive_drill_timestamp_seconds', 'When the last restore drill after a backup ran (Unix time; drives.<name>.drill).');
  const drillDamaged = family('plugback_drive_drill_damaged_files', 'Files the last restore drill did not get back as backed up (0: all came back right).');
  const overdueFamily = family('plugback_drive_overdue', '1 when the drive has not been backed up for longer than its overdueAfterDays (or reminders.overdueAfterDays).');

  for (const drive of drives) {
    const labels = { drive };
    const record = ledger[drive];
    overdueFamily.samples.push({ labels, value: overdue.includes(drive) ? 1 : 0 });
    if (!record) continue;
    if (record.lastSuccess) lastSuccess.samples.push({ labels, value: seconds(record.lastSuccess) });
    const run = record.lastRun;
    if (run) {
      lastRun.samples.push({ labels, value: seconds(run.finishedAt) });
      duration.samples.push({ labels, value: run.durationMs / 1000 });
      bytes.samples.push({ labels, value: run.transferredBytes });
      for (const outcome of OUTCOMES) result.samples.push({ labels: { drive, result: outcome }, value: run.outcome === outcome ? 1 : 0 });
      // Runs recorded before the ledger kept the cause count as ended normally when they succeeded.
      const runCause = run.cause ?? (run.outcome === 'success' || run.outcome === 'warning' ? 'none' : run.outcome);
      for (const c of CAUSES) cause.samples.push({ labels: { drive, cause: c }, value: runCause === c ? 1 : 0 });
    }
    if (record.snapshotCount !== undefined) snapshots.samples.push({ labels, value: record.snapshotCount });
    if (record.freeBytes !== undefined) free.samples.push({ labels, value: record.freeBytes });
    if (record.health) {
      health.samples.push({ labels, value: HEALTH_VALUES[record.health.verdict] });
      for (const [key, f] of sectors) {
        const value = (record.health as HealthRecord)[key];
        if (value !== undefined) f.samples.push({ labels, value });
      }
    }
    const forecast = forecastSpace(record);
    if (forecast && Number.isFinite(forecast.backupsLeft)) backupsLeft.samples.push({ labels, value: forecast.backupsLeft });
    if (record.drill) {
      drillAt.samples.push({ labels, value: seconds(record.drill.at) });
      drillDamaged.samples.push({ labels, value: record.drill.damaged });
    }
  }
  return [lastSuccess, lastRun, duration, bytes, result, cause, snapshots, free, health, ...sectors.map(([, f]) => f), backupsLeft, drillAt, drillDamaged, overdueFamily].map(renderFamily).join('');
}

/** Writes the textfile so node_exporter never reads half of it. */
export async function writeMetrics(file: string, text: string): Promise<void> {
  await writeFileAtomic(file, text);
}

function renderFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`];
  for (const s of f.samples) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    lines.push(`${f.name}{${labels}} ${s.value}`);
  }
  return `${lines.join('\n')}\n`;
}

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
