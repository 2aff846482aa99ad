// The building blocks the schema's fields share: absolute paths, durations (and timer durations) and sizes.
import path from 'node:path';
import { z } from './zod.js';
import { DURATION_PATTERN, parseDuration, parseSize, SIZE_PATTERN } from './units.js';

/** C0 controls and DEL: a path holding one could break a unit file, crypttab or PLUGBACK_FOLDERS line. */
export const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

/** "U+000A (a line break)": names the first control character of `text`, for messages. */
export function describeControl(text: string): string {
  const char = CONTROL_CHARACTER.exec(text)?.[0] ?? '';
  const code = `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  const names: Record<string, string> = { '\n': 'a line break', '\r': 'a carriage return', '\t': 'a tab', '\0': 'a NUL byte' };
  return `${code} (${names[char] ?? 'a control character'})`;
}

export const absolutePath = (what: string) =>
  z
    .string()
    .min(1)
    .refine((p) => !CONTROL_CHARACTER.test(p), {
      error: (issue) =>
        `${what} contains ${describeControl(String(issue.input))}, which the files plugback writes (systemd units, crypttab) cannot hold: use a path without control characters`,
    })
    .refine((p) => p.startsWith('/'), { message: `${what} must be an absolute path (starting with /)` })
    .refine((p) => !p.startsWith('/') || path.posix.normalize(p).replace(/\/$/, '') === p.replace(/\/$/, '') || p === '/', {
      message: `${what} must be a normalized path: no "..", "." or repeated "/"`,
    })
    .transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p));

const DURATION_MESSAGE = 'expected a duration such as 30s, 10m, 2h or 1d';

/** A duration that is only compared with other times (never handed to a timer), in ms. */
export const duration = (description: string) =>
  z
    .string()
    .regex(DURATION_PATTERN, { message: DURATION_MESSAGE })
    .transform((text) => parseDuration(text) as number)
    .meta({ description });

/** Node.js timers hold at most 2^31-1 ms (24.8 days); a longer one fires at once. */
export const TIMER_MAX_MS = 24 * 86_400_000;
export const TIMER_MIN_MS = 1000;

/** A duration a timer waits for, in ms: 1s to 24d, so it neither fires at once (0s) nor overflows. */
export const timerDuration = (description: string) =>
  z
    .string()
    .regex(DURATION_PATTERN, { message: DURATION_MESSAGE })
    .transform((text) => parseDuration(text) as number)
    .refine((ms) => ms >= TIMER_MIN_MS, { message: 'must be at least 1s (a shorter time would give up at once)' })
    .refine((ms) => ms <= TIMER_MAX_MS, { message: 'must be at most 24d (a longer timer overflows and fires at once)' })
    .meta({ description });

export const size = (description: string) =>
  z
    .string()
    .regex(SIZE_PATTERN, { message: 'expected a size such as 512K, 20MiB, 1.5G or 300MB' })
    .transform((text) => parseSize(text) as number)
    .meta({ description });
