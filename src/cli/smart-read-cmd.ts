// `plugback smart-read DISK` (hidden): what plugback-smart@.service runs for the daemon, whose sandbox may not
// open a raw disk. It reads the disk's SMART as the health step does and leaves the reading in /run/plugback/smart/.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

export function registerSmartRead(program: Command): void {
  program
    .command('smart-read', { hidden: true })
    .description("read a disk's SMART health into /run/plugback/smart/ for the daemon (run by plugback-smart@.service)")
    .argument('<disk>', 'the whole disk, e.g. /dev/sdb')
    .addHelpText(
      'after',
      `
For systemd: plugback.service asks for plugback-smart@<disk>.service, which runs
  plugback smart-read %f
By hand, as root, to see what the daemon would read:
  plugback smart-read /dev/sdb && cat /run/plugback/smart/dev-sdb.json`,
    )
    .action(async (disk: string) => {
      await refuseNonDisk(disk);
      const { readSmart } = await import('../system/smart.js');
      const { writeSmartFile } = await import('../system/smart-file.js');
      const reading = await readSmart(disk);
      const file = await writeSmartFile(disk, reading).catch((error: Error) => {
        throw new UserError(`could not write the SMART reading of ${disk}: ${error.message}`, EXIT.failed);
      });
      process.stdout.write(`SMART of ${disk}: ${reading.verdict}${reading.note ? ` (${reading.note})` : ''}; written to ${file}\n`);
    });
}

/** Only a block device under /dev, by a plain absolute path: the unit's %f, never a file or a path with "..". */
async function refuseNonDisk(disk: string): Promise<void> {
  if (!path.isAbsolute(disk) || path.normalize(disk) !== disk || !disk.startsWith('/dev/')) {
    throw new UserError(`"${disk}" is not a disk: give the absolute /dev path of a whole disk, e.g. /dev/sdb`, EXIT.usage);
  }
  const st = await stat(disk).catch(() => undefined);
  if (!st?.isBlockDevice()) throw new UserError(`${disk} is not a block device: give a whole disk, e.g. /dev/sdb`, EXIT.usage);
}
