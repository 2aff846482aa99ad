// `plugback snapshots DRIVE [--json]`: what is on a drive, newest last.
import type { Command } from 'commander';
import type { Config, Drive } from '../config/model.js';
import { formatBytes, formatLocalTime } from '../config/units.js';
import type { SnapshotEntry } from '../repo/repository.js';
import { KIND_DESCRIPTIONS, type SnapshotKind } from '../repo/subvolumes.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { JSON_FORMAT } from './job-output.js';
import { renderColumns } from './table.js';

export interface SnapshotSummary {
  name: string;
  time: string;
  /** Total size of the backed-up files (most of it shared with other snapshots: hard links, or btrfs extents). */
  bytes: number | null;
  files: number | null;
  /** Bytes that were new in this snapshot. */
  transferredBytes: number | null;
  states: string[];
  resumedFrom?: string;
  problems: number;
  /** Dated after now: never taken as the newest, never pruned. */
  future?: boolean;
  /** Why its snapshot.json cannot be used (it is then never pruned). */
  recordProblem?: string;
}

export function registerSnapshots(program: Command): void {
  program
    .command('snapshots')
    .description("list a drive's snapshots for this host, oldest first, with size, file count and states")
    .argument('<drive>', 'the name of a drive in the config')
    .option('--json', 'print JSON instead of a table (docs/json.md)')
    .action(async (name: string, flags: { json?: boolean }, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const { summaries, incomplete, kind } = await snapshotSummaries(config, findDrive(config, name));
      if (flags.json) {
        // `snapshot` names a snapshot in every JSON plugback prints (docs/json.md).
        const snapshots = summaries.map(({ name: snapshot, ...rest }) => ({ snapshot, ...rest }));
        process.stdout.write(`${JSON.stringify({ format: JSON_FORMAT, drive: name, host: config.host, kind, snapshots, incomplete }, null, 2)}\n`);
        return;
      }
      process.stdout.write(renderTable(summaries, incomplete));
      if (summaries.length + incomplete.length > 0) process.stdout.write(`\nsnapshots kept as ${KIND_DESCRIPTIONS[kind]}\n`);
    });
}

/**
 * The snapshots of this host on a drive that is in place and is the drive the config means: a folder that is
 * missing, or carries no identity or another drive's, is an error (exit 1), never "no snapshots yet".
 */
export async function snapshotSummaries(config: Config, drive: Drive): Promise<{ summaries: SnapshotSummary[]; incomplete: string[]; kind: SnapshotKind }> {
  const { openVerifiedRepository } = await import('../repo/verify-drive.js');
  const fail = (error: Error) => Promise.reject(new UserError(error.message, 1));
  const { repo } = await openVerifiedRepository(config, drive).catch(fail);
  try {
    const listing = await repo.list(true).catch(fail);
    return { summaries: listing.complete.map(summarize), incomplete: listing.incomplete, kind: await repo.kind() };
  } finally {
    await repo.close();
  }
}

function summarize(s: SnapshotEntry): SnapshotSummary {
  const states = Object.values(s.record?.states ?? {});
  const sum = (pick: (x: (typeof states)[number]) => number) => (s.record ? states.reduce((n, x) => n + pick(x), 0) : null);
  return {
    name: s.name,
    time: s.time.toISOString(),
    bytes: sum((x) => x.bytes),
    files: sum((x) => x.files),
    transferredBytes: sum((x) => x.transferredBytes),
    states: Object.keys(s.record?.states ?? {}),
    ...(s.record?.resumedFrom ? { resumedFrom: s.record.resumedFrom } : {}),
    problems: s.record?.problems.length ?? 0,
    ...(s.future ? { future: true } : {}),
    ...(s.recordProblem ? { recordProblem: s.recordProblem } : {}),
  };
}

function renderTable(rows: SnapshotSummary[], incomplete: string[]): string {
  if (rows.length === 0 && incomplete.length === 0) return 'no snapshots yet\n';
  const header = ['SNAPSHOT', 'LOCAL TIME', 'SIZE', 'FILES', 'NEW', 'STATES', 'NOTE'];
  const body = rows.map((r) => [
    r.name,
    formatLocalTime(r.time).slice(0, 16),
    r.bytes === null ? '?' : formatBytes(r.bytes),
    r.files === null ? '?' : String(r.files),
    r.transferredBytes === null ? '?' : formatBytes(r.transferredBytes),
    r.states.join(',') || '?',
    [r.resumedFrom ? 'resumed' : '', r.problems ? `${r.problems} problems` : '', r.future ? 'dated in the future' : '', r.recordProblem ? 'record unusable' : '']
      .filter(Boolean)
      .join(', '),
  ]);
  for (const name of incomplete) body.push([name, '', '', '', '', '', 'interrupted: the next run continues it']);
  return renderColumns(header, body);
}
