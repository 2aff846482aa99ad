// The SMART reading plugback-smart@.service leaves for the daemon: /run/plugback/smart/<escaped disk>.json,
// root's alone. The daemon trusts it only when it is for the disk it asked about, was written after it asked,
// and has exactly the shape of a SmartReading: anything else is "unavailable", never a verdict.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from '../config/zod.js';
import { systemdEscape } from '../units/escape.js';
import { ensureDirDurable, writeFileAtomic } from './atomic-file.js';
import type { SmartReading } from './smart.js';

/** PLUGBACK_SMART_DIR is for the tests only, where the readings of several daemons must not meet. */
export const smartDir = (): string => process.env.PLUGBACK_SMART_DIR ?? '/run/plugback/smart';

const count = z.number().int().nonnegative().optional();
const readingSchema = z
  .object({
    verdict: z.enum(['passed', 'failed', 'unavailable']),
    note: z.string().max(4000).optional(),
    model: z.string().max(200).optional(),
    serial: z.string().max(200).optional(),
    reallocated: count,
    pending: count,
    offlineUncorrectable: count,
    mediaErrors: count,
  })
  .strict();
const fileSchema = z.object({ disk: z.string(), readAt: z.iso.datetime(), reading: readingSchema }).strict();

/** Where the reading of `disk` (/dev/sdb) goes: named as systemd names its unit's instance (dev-sdb). */
export function smartFileOf(disk: string, dir = smartDir()): string {
  return path.join(dir, `${systemdEscape(disk, { path: true })}.json`);
}

/** Writes the reading of `disk` for the daemon: whole or not at all, the folder 0700 and the file 0600. */
export async function writeSmartFile(disk: string, reading: SmartReading, dir = smartDir()): Promise<string> {
  await ensureDirDurable(dir, 0o700);
  const file = smartFileOf(disk, dir);
  await writeFileAtomic(file, `${JSON.stringify({ disk, readAt: new Date().toISOString(), reading })}\n`, 0o600);
  return file;
}

/** The reading of `disk` written at or after `notBefore`; a missing, stale or malformed file is unavailable, with why. */
export async function readSmartFile(disk: string, notBefore: Date, dir = smartDir()): Promise<SmartReading> {
  const file = smartFileOf(disk, dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { verdict: 'unavailable', note: `plugback-smart@ left no reading in ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  let parsed: z.infer<typeof fileSchema>;
  try {
    parsed = fileSchema.parse(JSON.parse(text));
  } catch {
    return { verdict: 'unavailable', note: `${file} is not a SMART reading plugback wrote; it was not used` };
  }
  if (parsed.disk !== disk) return { verdict: 'unavailable', note: `${file} holds the reading of ${parsed.disk}, not of ${disk}` };
  // A second of slack for the clocks of two processes; an older file is a reading from before this job.
  if (Date.parse(parsed.readAt) < notBefore.getTime() - 1000) return { verdict: 'unavailable', note: `${file} is a reading from ${parsed.readAt}, from before this backup` };
  return parsed.reading;
}
