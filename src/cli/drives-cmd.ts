// `plugback drives [--json]`: each drive's history from the ledger, the drive longest without a good backup first.
import type { Command } from 'commander';
import { forecastSpace, forecastWords } from '../notify/space-forecast.js';
import type { Config } from '../config/model.js';
import { formatBytes, formatDuration } from '../config/units.js';
import type { DriveRecord, HealthRecord, Ledger } from '../notify/ledger.js';
import type { SnapshotKind } from '../repo/subvolumes.js';
import { configFileOf, loadConfigOrExit } from './common.js';
import { EXIT } from './exit-codes.js';
import { JSON_FORMAT } from './job-output.js';
import { renderColumns } from './table.js';

export interface DriveRow {
  drive: string;
  /** Milliseconds since the last good backup; null when there has been none. */
  sinceLastSuccessMs: number | null;
  overdue: boolean;
  record: DriveRecord | null;
  /** drives.<name>.schedule, or null for a drive backed up only when plugged in. */
  schedule: string | null;
  /** When its timer runs next (ISO), or null: no schedule, the timer not installed or not running, no systemctl. */
  nextRun: string | null;
  /** What `drives --check` reports for it: overdue, or its last run failed after its last good backup. */
  problems: string[];
}

export function registerDrives(program: Command): void {
  program
    .command('drives')
    .description("every drive's history on this machine: last good backup and its age, last run, last failure, snapshots, free space, kind, disk health")
    .option('--json', 'print JSON instead of a table (docs/json.md)')
    .option('--check', 'a monitoring check: one line per problem (overdue, last run failed), exit 1 if there is any')
    .addHelpText(
      'after',
      `
The drive that has gone longest without a good backup comes first; "overdue" marks drives older than
their overdueAfterDays (reminders.overdueAfterDays unless the drive sets its own; 2 for a drive whose
schedule runs at least daily). A scheduled drive's note shows its schedule and, when its timer is
installed and running, the next run systemd has planned. HEALTH is the disk's SMART verdict at its
last backup (passed, FAILING or "no SMART" when it could not be read) with its bad-sector counts, and
RISING when they grew since the reading before (docs/health.md). The history is kept in stateDir/ledger.json
and works with no drive plugged in.
With --check, plugback drives is a monitoring check (cron, a systemd timer, Nagios-style): it prints
one line per problem, "DRIVE: overdue: ...", "DRIVE: last run failed ...", "DRIVE: the disk says it is
failing ..." or "DRIVE: bad sectors rising ...", and nothing when all is well. A failure that a later good backup made history is not a problem.

Examples:
  plugback drives --check || echo "a backup drive needs attention"
  plugback drives
  plugback drives --json | jq '.drives[] | select(.overdue) | .drive'
  plugback drives --json | jq '.drives[] | select(.schedule) | {drive, schedule, nextRun}'
  plugback drives --json | jq '.drives[] | {drive, health: .record.health.verdict}'`,
    )
    .action(async (flags: { json?: boolean; check?: boolean }, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const now = new Date();
      const rows = await historyRows(config, now);
      const problems = rows.flatMap((r) => r.problems.map((p) => `${r.drive}: ${p}`));
      if (flags.check && problems.length > 0) process.exitCode = EXIT.failed;
      if (flags.json) process.stdout.write(`${JSON.stringify({ format: JSON_FORMAT, host: config.host, now: now.toISOString(), drives: rows }, null, 2)}\n`);
      else if (flags.check) process.stdout.write(problems.map((p) => `${p}\n`).join(''));
      else process.stdout.write(renderDrives(rows, now));
    });
}

/** Every drive's row from the ledger in stateDir, with its overdue flag and its timer's next run. */
export async function historyRows(config: Config, now: Date): Promise<DriveRow[]> {
  const { readLedger } = await import('../notify/ledger.js');
  const { checkOverdue } = await import('../notify/overdue.js');
  const ledger = await readLedger(config.stateDir);
  const overdue = new Set(checkOverdue(now, ledger, config.drives, config.reminders).overdue.map((d) => d.drive));
  return driveRows(config, ledger, now, overdue, await scheduledRuns(config));
}

/** The next run of each scheduled drive's timer, asked of systemd (null where it cannot say). */
async function scheduledRuns(config: Config): Promise<Map<string, Date | null>> {
  const scheduled = config.drives.filter((d) => d.schedule !== undefined);
  if (scheduled.length === 0) return new Map();
  const { nextElapse } = await import('../system/timer-state.js');
  const { driveTimerUnit } = await import('../units/schedule.js');
  return new Map(await Promise.all(scheduled.map(async (d) => [d.name, await nextElapse(driveTimerUnit(d.name))] as const)));
}

/** One row per configured drive, stalest first (never backed up counts as stalest). */
export function driveRows(config: Config, ledger: Ledger, now: Date, overdue: ReadonlySet<string>, nextRuns: ReadonlyMap<string, Date | null> = new Map()): DriveRow[] {
  const rows = config.drives.map((d): DriveRow => {
    // lastSnapshot is the interlocks' baseline (repo/host-memory.ts), not history: it is not shown.
    const { lastSnapshot: _baseline, ...kept } = ledger[d.name] ?? {};
    const record = ledger[d.name] ? (kept as DriveRecord) : null;
    const since = record?.lastSuccess ? now.getTime() - Date.parse(record.lastSuccess) : null;
    const nextRun = nextRuns.get(d.name)?.toISOString() ?? null;
    const failure = currentFailure(record);
    const problems = [
      ...(overdue.has(d.name) ? [`overdue: ${since === null ? 'never backed up' : `last good backup ${formatAge(since)}`}`] : []),
      ...(failure ? [`last run failed ${formatAge(now.getTime() - Date.parse(failure.at))} at ${failure.step ?? '?'}: ${shorten(failure.reason)}`] : []),
      ...healthProblems(record?.health, now),
      ...(record?.drill?.damaged ? [`the restore drill ${formatAge(now.getTime() - Date.parse(record.drill.at))} found ${record.drill.damaged} damaged files: run plugback check ${d.name} --all`] : []),
    ];
    return { drive: d.name, sinceLastSuccessMs: since, overdue: overdue.has(d.name), record, schedule: d.schedule?.calendar ?? null, nextRun, problems };
  });
  return rows.sort((a, b) => (b.sinceLastSuccessMs ?? Infinity) - (a.sinceLastSuccessMs ?? Infinity) || a.drive.localeCompare(b.drive));
}

export function renderDrives(rows: DriveRow[], now: Date): string {
  const ago = (iso: string | undefined) => (iso ? formatAge(now.getTime() - Date.parse(iso)) : '-');
  const body = rows.map((r) => {
    const rec = r.record;
    const failure = currentFailure(rec);
    return [
      r.drive,
      r.sinceLastSuccessMs === null ? 'never' : formatAge(r.sinceLastSuccessMs),
      rec?.lastRun ? `${rec.lastRun.outcome}, ${formatDuration(rec.lastRun.durationMs)}, ${formatBytes(rec.lastRun.transferredBytes)}` : '-',
      rec?.snapshotCount === undefined ? '-' : String(rec.snapshotCount),
      rec?.freeBytes === undefined ? '-' : [formatBytes(rec.freeBytes), forecastWords(forecastSpace(rec))].filter(Boolean).join(', '),
      rec?.snapshotKind === undefined ? '-' : KIND_WORDS[rec.snapshotKind],
      healthWords(rec?.health),
      ago(rec?.lastSeen),
      [r.overdue ? 'OVERDUE' : '', rec?.drill?.damaged ? `DRILL FOUND DAMAGE ${ago(rec.drill.at)}` : '', failure ? `failed ${ago(failure.at)} at ${failure.step ?? '?'}: ${shorten(failure.reason)}` : '', earlyEnd(rec), scheduleNote(r)]
        .filter(Boolean)
        .join('; '),
    ];
  });
  return renderColumns(['DRIVE', 'LAST GOOD BACKUP', 'LAST RUN', 'SNAPSHOTS', 'FREE', 'KIND', 'HEALTH', 'LAST SEEN', 'NOTE'], body);
}

/** The KIND column: how the drive keeps snapshots, as seen at its last run. */
const KIND_WORDS: Record<SnapshotKind, string> = { 'btrfs-subvolumes': 'btrfs', 'hard-links': 'hard links' };

/** What `drives --check` says of the disk's last SMART reading: failing, or bad sectors that rose. */
function healthProblems(health: HealthRecord | undefined, now: Date): string[] {
  if (!health) return [];
  const when = formatAge(now.getTime() - Date.parse(health.at));
  return [
    ...(health.verdict === 'failed' ? [`the disk says it is failing (SMART, read ${when}): replace it`] : []),
    ...(health.rising?.length ? [`bad sectors rising (SMART, read ${when}): ${health.rising.join(', ')}`] : []),
  ];
}

/** The HEALTH column: the SMART verdict, with the bad-sector counts when there are any ("passed, 304 reallocated"). */
function healthWords(health: HealthRecord | undefined): string {
  if (!health) return '-';
  const verdict = health.verdict === 'unavailable' ? 'no SMART' : health.verdict === 'failed' ? 'FAILING' : 'passed';
  const counts = [
    health.reallocated ? `${health.reallocated} reallocated` : '',
    health.pending ? `${health.pending} pending` : '',
    health.offlineUncorrectable ? `${health.offlineUncorrectable} uncorrectable` : '',
    health.mediaErrors ? `${health.mediaErrors} media errors` : '',
  ].filter(Boolean);
  return [verdict, ...counts, health.rising?.length ? 'RISING' : ''].filter(Boolean).join(', ');
}

/** The last failure, unless a later good backup made it history ("failed just now" after a success was not news). */
function currentFailure(rec: DriveRecord | null): DriveRecord['lastFailure'] {
  return rec?.lastFailure && (!rec.lastSuccess || rec.lastFailure.at > rec.lastSuccess) ? rec.lastFailure : undefined;
}

/** A good last run that still stopped early (a pull after its snapshot was complete) says so: "last run finished; the drive was removed ...". */
function earlyEnd(rec: DriveRecord | null): string {
  const run = rec?.lastRun;
  if (!run?.title || !run.cause || run.cause === 'none' || (run.outcome !== 'success' && run.outcome !== 'warning')) return '';
  return `last run ${run.title}${run.step ? ` (during ${run.step})` : ''}`;
}

/** "schedule daily, next run 2026-12-03 02:34" (local time), or just the schedule when systemd cannot say. */
function scheduleNote(row: DriveRow): string {
  if (row.schedule === null) return '';
  if (row.nextRun === null) return `schedule ${row.schedule}`;
  const next = new Date(row.nextRun);
  const pad = (n: number) => String(n).padStart(2, '0');
  const local = `${next.getFullYear()}-${pad(next.getMonth() + 1)}-${pad(next.getDate())} ${pad(next.getHours())}:${pad(next.getMinutes())}`;
  return `schedule ${row.schedule}, next run ${local}`;
}

/** "47 days ago", "5 hours ago", "12 minutes ago": the unit a person thinks in for an age. */
export function formatAge(ms: number): string {
  const units: [string, number][] = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ];
  for (const [name, size] of units) {
    const n = Math.floor(ms / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'} ago`;
  }
  return 'just now';
}

function shorten(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
