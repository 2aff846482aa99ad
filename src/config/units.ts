// Parsing of the human units used in the config: durations ("10m") and sizes ("20MiB").

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A duration is one or more number+unit parts: "90s", "1h30m", "2d". */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;

/** Milliseconds for a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!DURATION_PATTERN.test(compact)) return undefined;
  let total = 0;
  for (const [, value, unit] of compact.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) {
    total += Number(value) * (DURATION_UNITS[unit as string] ?? Number.NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** A short human form of a duration: 1h 5m, 42s, 350ms. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  // The largest unit and the one right below it: 47 days and 1 second is "47d", not "47d 1s".
  const all: [number, string][] = [[d, 'd'], [h, 'h'], [m, 'm'], [s, 's']];
  const first = all.findIndex(([value]) => value > 0);
  if (first < 0) return '0s';
  return all
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}

// Binary prefixes (K, KiB) count in 1024s, SI ones (KB) in 1000s, as rsync and most users expect.
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

export const SIZE_PATTERN = /^\d+(?:\.\d+)?\s*(?:[KMGTkmgt](?:i?[Bb])?|[Bb])?$/;

/** Bytes for a size string like "512K", "20MiB", "1.5G" or "300MB"; undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
  if (!match) return undefined;
  const factor = SIZE_UNITS[(match[2] ?? '').toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/** A short human form of a byte count, in binary units: 1.2 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A moment as a person reads it: local time, to the second, with the zone's offset ("2026-12-02 07:42:35 +01:00"). */
export function formatLocalTime(when: Date | string | number): string {
  const d = new Date(when);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  // sv-SE writes the ISO order (2026-12-02 07:42:35) in the machine's zone.
  return `${d.toLocaleString('sv-SE')} ${zone}`;
}
