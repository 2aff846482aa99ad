// `plugback prune DRIVE --dry-run [--json]`: what the next backup's prune step would remove, and which rule keeps
// each of the rest, from the same plan the step computes (repo/prune-plan.ts).
import type { Command } from 'commander';
import { commandHint } from '../config/defaults.js';
import type { Config, Drive } from '../config/model.js';
import { formatLocalTime } from '../config/units.js';
import { parseSnapshotName } from '../repo/layout.js';
import { NEXT_SNAPSHOT, type NextPrune } from '../repo/prune-plan.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';
import { JSON_FORMAT } from './job-output.js';
import { openOwnRepository } from './own-repository.js';
import { renderColumns } from './table.js';

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('show which snapshots retention removes at the next backup, and which rule keeps each of the rest (needs --dry-run)')
    .argument('<drive>', 'the name of a drive in the config')
    .option('--dry-run', 'show the plan; change nothing (required: the prune itself runs at the end of each backup)')
    .option('--json', 'print JSON instead of a table (docs/json.md)')
    .addHelpText(
      'after',
      `
The plan is the one the backup's prune step makes once its new snapshot is complete: the snapshots
there are now, plus that new one, under backup.retention. Rules: "last N" (keepLast), "daily DAY",
"weekly WEEK", "monthly MONTH", "yearly YEAR" (the newest snapshot of that period). Snapshots of
another installation, with an unusable snapshot.json, or dated in the future are never removed.
A backup whose copy had errors (rsync exit 23) or whose checks had no trusted baseline prunes nothing.

There is no prune without --dry-run: retention only removes history after a newer snapshot is
complete and verified. To free room now (a full drive), delete chosen snapshots with
plugback forget DRIVE SNAPSHOT.

Examples:
  plugback prune offsite-a --dry-run
  plugback prune offsite-a --dry-run --json | jq -r '.remove[].snapshot'`,
    )
    .action(async (driveName: string, flags: { dryRun?: boolean; json?: boolean }, command: Command) => {
      if (!flags.dryRun) {
        throw new UserError(
          'plugback prune only shows the plan: add --dry-run. Retention runs at the end of each backup, once a newer snapshot is complete; ' +
            `to free room now, delete a snapshot with: plugback forget ${driveName} SNAPSHOT`,
          EXIT.usage,
        );
      }
      const config = await loadConfigOrExit(configFileOf(command));
      const drive = findDrive(config, driveName);
      const { plan, ledgerProblem } = await nextPrune(config, drive);
      if (flags.json) process.stdout.write(`${JSON.stringify(jsonOf(config, drive, plan, ledgerProblem), null, 2)}\n`);
      else process.stdout.write(render(config, drive, plan, ledgerProblem));
    });
}

async function nextPrune(config: Config, drive: Drive): Promise<{ plan: NextPrune; ledgerProblem?: string | undefined }> {
  const { planNextPrune } = await import('../repo/prune-plan.js');
  const { recallSnapshot } = await import('../repo/host-memory.js');
  const { repo, installation } = await openOwnRepository(config, drive);
  try {
    const listing = await repo.list(true);
    const plan = planNextPrune(listing, { host: config.host, installation }, config.backup.retention, new Date());
    return { plan, ledgerProblem: (await recallSnapshot(config.stateDir, drive.name)).problem };
  } finally {
    await repo.close();
  }
}

const timeOf = (name: string) => parseSnapshotName(name)?.toISOString();

function jsonOf(config: Config, drive: Drive, plan: NextPrune, ledgerProblem: string | undefined) {
  const kept = [...plan.keep.entries()].filter(([name]) => name !== NEXT_SNAPSHOT).sort(([a], [b]) => a.localeCompare(b));
  return {
    format: JSON_FORMAT,
    drive: drive.name,
    host: config.host,
    retention: config.backup.retention,
    remove: plan.prune.map((snapshot) => ({ snapshot, time: timeOf(snapshot) })),
    keep: kept.map(([snapshot, rules]) => ({ snapshot, time: timeOf(snapshot), rules })),
    nextBackup: { rules: plan.keep.get(NEXT_SNAPSHOT) ?? [] },
    neverRemoved: plan.untouchable.map((s) => ({ snapshot: s.name, time: timeOf(s.name), reason: s.why })),
    continued: plan.continued ?? null,
    leftovers: plan.leftovers,
    prunes: ledgerProblem === undefined,
    ...(ledgerProblem === undefined ? {} : { noPruneReason: `this machine's ledger cannot be read (${ledgerProblem})` }),
  };
}

function render(config: Config, drive: Drive, plan: NextPrune, ledgerProblem: string | undefined): string {
  const doc = jsonOf(config, drive, plan, ledgerProblem);
  const r = config.backup.retention;
  const local = (time: string | undefined) => (time ? formatLocalTime(time).slice(0, 16) : '');
  const rows: string[][] = [
    ...doc.remove.map((s) => [s.snapshot, local(s.time), 'removed', 'kept by no rule']),
    ...doc.keep.map((s) => [s.snapshot, local(s.time), 'kept', s.rules.join(', ')]),
    ...doc.neverRemoved.map((s) => [s.snapshot, local(s.time), 'never removed', s.reason]),
  ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
  rows.push(['(its new snapshot)', '', 'kept', doc.nextBackup.rules.join(', ')]);
  if (doc.continued) rows.push([doc.continued, '', 'continued', 'an interrupted copy: the next backup resumes it']);
  for (const name of doc.leftovers) rows.push([name, '', 'removed', name.endsWith('.deleting') ? 'a delete that did not finish' : 'an interrupted copy the next backup does not resume']);
  const n = doc.remove.length;
  const lines = [
    `backup.retention: keepLast ${r.keepLast}, keepDaily ${r.keepDaily}, keepWeekly ${r.keepWeekly}, keepMonthly ${r.keepMonthly}, keepYearly ${r.keepYearly}`,
    `The next backup of drive "${drive.name}" (host ${config.host}), once its snapshot is complete, removes ${n} snapshot${n === 1 ? '' : 's'} and keeps ${doc.keep.length + 1} (its own included):`,
    '',
    renderColumns(['SNAPSHOT', 'LOCAL TIME', 'AT THE NEXT BACKUP', 'WHY'], rows),
  ];
  if (doc.noPruneReason) lines.push(`As things are, it removes nothing: ${doc.noPruneReason}.`);
  lines.push('A backup whose copy has errors (rsync exit 23), or whose checks have no trusted baseline, removes nothing.');
  lines.push(`To free room now: ${commandHint(config.file, `forget ${drive.name} SNAPSHOT`)} (any but the newest).`);
  return `${lines.join('\n')}\n`;
}
