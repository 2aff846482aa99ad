// drill: the restore drill of drives.<name>.drill, after a good backup and still under the lock: files picked at
// random from every snapshot are restored through the restore code into a temporary folder and compared with the
// checksums their backups recorded (restore/drill.ts, as `plugback check --drill`). Damage is a warning, never a
// failed backup (the new snapshot is fine); the result goes into the ledger for `drives`, the metrics and the mail.
import type { DrillPolicy } from '../../config/model.js';
import { recordOf, updateLedger, type DrillRecord } from '../../notify/ledger.js';
import { withRepository } from '../../repo/repository.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

const DAY_MS = 86_400_000;

/** Whether the drill is due after this backup, from the last one (none yet: due). */
export function drillDue(policy: DrillPolicy, last: DrillRecord | undefined, now: Date): boolean {
  if (!last) return true;
  if (policy.everyBackups !== undefined && last.backupsSince + 1 >= policy.everyBackups) return true;
  return policy.everyDays !== undefined && now.getTime() - Date.parse(last.at) >= policy.everyDays * DAY_MS;
}

export const drill: Step<BackupContext> = {
  name: 'drill',
  async run(ctx) {
    const policy = ctx.drive.drill;
    if (!policy || !ctx.snapshot || !ctx.lock) return;
    const now = new Date();
    let last: DrillRecord | undefined;
    await updateLedger(ctx.config.stateDir, (ledger) => {
      const record = recordOf(ledger, ctx.drive.name, now);
      last = record.drill;
      if (last && !drillDue(policy, last, now)) record.drill = { ...last, backupsSince: last.backupsSince + 1 };
    });
    if (last && !drillDue(policy, last, now)) return;
    const lock = ctx.lock;
    const { restoreDrill } = await import('../../restore/drill.js');
    let result;
    try {
      // The restores' own log lines would drown the job's: the drill reports once, below.
      result = await withRepository(ctx.paths.root, ctx.config.host, (repo) => restoreDrill(ctx.config, ctx.drive, repo, lock, policy.files, ctx.log.child({}, { level: 'silent' })));
    } catch (error) {
      ctx.warn(`the restore drill could not run: ${(error as Error).message}; the new snapshot is complete`);
      return;
    }
    const problems = result.damage.slice(0, 5).map((d) => `${d.file} in snapshot ${d.snapshot} ${d.problem}`);
    const record: DrillRecord = { at: now.toISOString(), files: result.read, damaged: result.damage.length, problems, backupsSince: 0 };
    await updateLedger(ctx.config.stateDir, (ledger) => {
      recordOf(ledger, ctx.drive.name, now).drill = record;
    });
    if (record.damaged > 0) {
      ctx.warn(
        `the restore drill found damage on drive "${ctx.drive.name}": ${record.damaged} of ${record.files} files did not come back as backed up (${problems.join('; ')}). ` +
          `The drive may be failing: run plugback check ${ctx.drive.name} --all, and keep the other drives' copies`,
      );
    } else {
      ctx.log.info({ drill: record }, `restore drill: ${record.files} files picked from ${result.snapshots.length} snapshots were restored and came back as backed up`);
    }
  },
};
