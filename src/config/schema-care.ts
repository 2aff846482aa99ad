// drives.<name>.health and drives.<name>.drill: how plugback looks after a drive's disk and its backups
// (docs/health.md, docs/drives.md "Checking a drive").
import { z } from './zod.js';

export const healthField = z
  .enum(['refuse', 'warn', 'off'])
  .meta({
    description:
      'What a failing SMART verdict of the disk (read with smartctl before anything is written) does: refuse skips the backup onto it, warn backs up and warns, off does not read SMART. Rising bad-sector counts are a warning either way (docs/health.md). Default: refuse',
  })
  .optional();

export const drillSchema = z
  .strictObject({
    everyBackups: z.int().min(1).meta({ description: 'Run the drill after every Nth good backup onto this drive.' }).optional(),
    everyDays: z.int().min(1).meta({ description: 'Run the drill after a good backup when the last drill is N days old or more.' }).optional(),
    files: z.int().min(1).max(10_000).default(20).meta({ description: 'How many files, picked at random across all snapshots, the drill restores and compares. Default: 20' }),
  })
  .refine((d) => d.everyBackups !== undefined || d.everyDays !== undefined, { message: 'say how often: everyBackups: N, everyDays: N, or both (whichever comes first)' })
  .meta({
    description:
      'The restore drill after a backup, as `plugback check DRIVE --drill` does it: files picked at random from all snapshots are restored into a temporary folder through the restore code and compared with the checksums their backups recorded. Damage found is a warning in the mail; the result is in `plugback drives` and the metrics. Unset: no drill.',
  });
