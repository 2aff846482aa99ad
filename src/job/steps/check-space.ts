// check-space: before any hook runs, whether this backup will most likely fit. From the drive's history (the
// bytes its recent incremental backups copied, notify/space-forecast.ts) and its free space now: a drive with
// less room than a typical backup needs fails at once, with advice, instead of at 99% after hours of copying.
// Nothing is pruned early to make room: a backup that then failed would have cost snapshots retention keeps.
import { statfs } from 'node:fs/promises';
import { commandHint } from '../../config/defaults.js';
import { formatBytes } from '../../config/units.js';
import { readLedger } from '../../notify/ledger.js';
import { forecastSpace } from '../../notify/space-forecast.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const checkSpace: Step<BackupContext> = {
  name: 'check-space',
  async run(ctx) {
    const free = await statfs(ctx.paths.root).then((s) => s.bavail * s.bsize, () => undefined);
    const ledger = await readLedger(ctx.config.stateDir).catch(() => undefined);
    const forecast = forecastSpace(ledger?.[ctx.drive.name], free);
    if (!forecast || free === undefined || free >= forecast.perBackup) return;
    const hint = (args: string) => commandHint(ctx.config.file, args);
    throw new Error(
      `drive "${ctx.drive.name}" has ${formatBytes(free)} free, and its recent backups each copied about ${formatBytes(forecast.perBackup)}: ` +
        `this one would most likely fill it before it completes, so nothing was copied. Free room first: ${hint(`prune ${ctx.drive.name} --dry-run`)} ` +
        `shows what retention removes at the next backup, ${hint(`forget ${ctx.drive.name} SNAPSHOT`)} deletes one snapshot now; or keep fewer (backup.retention), or use a bigger drive`,
    );
  },
};
