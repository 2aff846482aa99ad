// Pieces every JSON shape shares (docs/json.md): the format number, times in ISO 8601 UTC with Z, snapshot names.
// These schemas are not used at run time: they are the description docs/json/*.schema.json is made from, that the
// tests check real output and the examples in docs/json.md against.
import { z } from '../../config/zod.js';

export const format = z.literal(1).meta({ description: 'The shape version: 1. It goes up only when a field is removed, renamed or changes meaning.' });
export const time = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/).meta({ description: 'ISO 8601 time in UTC, ending in Z.' });
export const snapshot = z.string().regex(/^\d{4}-\d\d-\d\dT\d{6}Z$/).meta({ description: 'A snapshot name: its UTC time.' });
export const count = z.int().min(0);
export const bytes = z.number().min(0).meta({ description: 'A size in bytes.' });
export const outcome = z.enum(['success', 'warning', 'failed', 'cancelled']);
export const step = z.string().meta({ description: 'A step name (DESIGN.md): lock, check-target, sync, ...' });

/** A JSON line: format, type, time, then the fields of that type. */
export function line<T extends string, S extends z.ZodRawShape>(type: T, fields: S, description: string) {
  return z.strictObject({ format, type: z.literal(type), time, ...fields }).meta({ description });
}

/** The log line of a job: each line plugback logs, as in the run log. */
export const logLine = line(
  'log',
  {
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
    message: z.string(),
    drive: z.string().optional(),
    component: z.string().optional().meta({ description: 'led or notify for their lines; absent for the job\'s own.' }),
    step: z.string().optional(),
    state: z.string().optional(),
    hook: z.string().optional(),
    stream: z.string().optional(),
  },
  'One log line.',
);

export const stepLines = [
  line('step-started', { step }, 'A step began.'),
  line('step-finished', { step, durationMs: count }, 'A step ended well.'),
  line('step-failed', { step, error: z.string() }, 'A step failed (or was cancelled); the clean-up follows.'),
] as const;
