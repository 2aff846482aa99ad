// Asking before `plugback drive prepare --wipe` erases a disk: the drive's model, serial and size are shown, and
// the person types the new drive's name back; a script passes the serial (--yes SERIAL) instead, so it cannot
// erase another disk than the one it means. A disk with no serial (a loop device) is named by its path.
import { createInterface } from 'node:readline/promises';
import { formatBytes } from '../config/units.js';
import type { BlockNode } from '../system/block-device.js';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

/** What --yes must be given for this disk: its serial, or its path when it has none. */
export const confirmationFor = (disk: BlockNode): string => disk.serial ?? disk.path;

/** The lines that show which disk is about to be erased. */
export function describeDisk(disk: BlockNode): string {
  return [
    `${disk.path}: ${disk.model ?? '(no model)'}, serial ${disk.serial ?? `none (give --yes ${disk.path})`}, ${formatBytes(disk.size)}`,
    ...disk.children.map((c) => `  ${c.path}: ${formatBytes(c.size)}`),
  ].join('\n');
}

/** Throws unless the wipe is confirmed: by --yes with the right serial, or by the name typed on a terminal. */
export async function confirmWipe(disk: BlockNode, name: string, yes: string | undefined): Promise<void> {
  const expected = confirmationFor(disk);
  process.stderr.write(`${describeDisk(disk)}\n`);
  if (yes !== undefined) {
    if (yes === expected) return;
    throw new UserError(
      `drive prepare: --yes ${yes} does not match ${disk.path}, ${disk.serial ? `whose serial is ${disk.serial}` : 'which has no serial, so --yes takes its path'}; nothing was changed`,
      EXIT.usage,
    );
  }
  if (!process.stdin.isTTY) {
    throw new UserError(`drive prepare: --wipe erases ${disk.path} and stdin is not a terminal, so it cannot ask: add --yes ${expected}`, EXIT.usage);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`Everything on ${disk.path} will be erased. Type the drive's name (${name}) to go on: `);
  rl.close();
  if (answer.trim() !== name) throw new UserError(`drive prepare: "${answer.trim()}" is not "${name}"; nothing was changed`, EXIT.usage);
}
