// health: the disk's SMART verdict and bad-sector counters, read before anything is written to the drive. A disk
// that says it is failing gets no backup (drives.<name>.health: refuse, the default) or a warning (warn); counters
// that rose since the last reading are a warning; a disk whose SMART cannot be read (a USB bridge that passes none
// through, a loop device, a sandbox without raw disk access) is a plain note. The reading is kept in the ledger at
// once, also when the backup is refused, so `plugback drives` and the metrics show why. The daemon reads SMART
// through systemd (ctx.smartReader, plugback-smart@.service), as its sandbox may not open the disk.
import { compareReading, type HealthChange } from '../../drives/health-change.js';
import { recordOf, updateLedger } from '../../notify/ledger.js';
import { backingDiskOf } from '../../system/backing-disk.js';
import { readSmart, type SmartReading } from '../../system/smart.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const health: Step<BackupContext> = {
  name: 'health',
  async run(ctx) {
    const drive = ctx.drive;
    if (drive.health === 'off') {
      ctx.log.info(`SMART is not read for drive "${drive.name}" (drives.${drive.name}.health: off)`);
      return;
    }
    const where = await backingDiskOf(drive);
    if ('skip' in where) {
      ctx.log.info({ health: 'unavailable' }, `no SMART reading for drive "${drive.name}": ${where.skip}`);
      return;
    }
    const reading = await (ctx.smartReader ?? readSmart)(where.disk, ctx.signal);
    if (ctx.signal.aborted) throw new Error('cancelled while reading SMART');
    report(ctx, reading, await remember(ctx, reading, where.disk), where.disk);
  },
};

/** Keeps the reading in the ledger, compared with the one before; a ledger that cannot be written is logged, not fatal. */
async function remember(ctx: BackupContext, reading: SmartReading, disk: string): Promise<HealthChange> {
  const now = new Date();
  let change: HealthChange | undefined;
  try {
    await updateLedger(ctx.config.stateDir, (ledger) => {
      const record = recordOf(ledger, ctx.drive.name, now);
      change = compareReading(record.health, reading, disk, now);
      record.health = change.record;
    });
  } catch (error) {
    ctx.log.warn(`could not keep the SMART reading of drive "${ctx.drive.name}" in the ledger: ${(error as Error).message}`);
  }
  // Without the last reading there is nothing to compare with; the verdict still counts.
  return change ?? compareReading(undefined, reading, disk, now);
}

function report(ctx: BackupContext, reading: SmartReading, change: HealthChange, disk: string): void {
  const drive = ctx.drive;
  const which = `drive "${drive.name}" (${[disk, reading.model, reading.serial && `serial ${reading.serial}`].filter(Boolean).join(', ')})`;
  const fields = { health: reading.verdict, disk, reallocated: reading.reallocated, pending: reading.pending, offlineUncorrectable: reading.offlineUncorrectable, mediaErrors: reading.mediaErrors };
  if (reading.verdict === 'unavailable') {
    ctx.log.info(fields, `no SMART reading for ${which}: ${reading.note ?? 'smartctl gave none'}`);
    return;
  }
  if (change.otherDisk) ctx.log.info(`drive "${drive.name}": ${change.otherDisk}`);
  if (change.rising.length > 0) {
    ctx.warn(
      `the disk of ${which} has more bad sectors than at its last reading: ${change.rising.join(', ')}. ` +
        `A disk whose bad sectors keep growing is wearing out: check it with "smartctl -a ${disk}" and plan to replace it`,
    );
  }
  if (reading.verdict === 'passed') {
    ctx.log.info(fields, `SMART of ${which}: passed`);
    return;
  }
  if (drive.health === 'warn') {
    ctx.warn(`the disk of ${which} says it is FAILING (SMART overall-health: FAILED); backing up onto it anyway, as drives.${drive.name}.health is warn. Replace it soon`);
    return;
  }
  throw new Error(
    `the disk of ${which} says it is FAILING (SMART overall-health: FAILED), so nothing was written to it. ` +
      `Copy what you need from it and replace it with a new drive; see "smartctl -a ${disk}". ` +
      `To back up onto it anyway, set drives.${drive.name}.health: warn in ${ctx.config.file}`,
  );
}
