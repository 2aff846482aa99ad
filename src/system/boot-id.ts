// The kernel's id of this boot. Records that name a process (the outbox's claims, the daemon's job in flight)
// carry it too, so a record from an earlier boot is known to be left by a process that is surely gone, whatever
// PID it had: after a power cut, the next boot's daemon often gets the same one.
import { readFileSync } from 'node:fs';

let cached: string | undefined | null = null;

/**
 * This boot's id as the kernel prints it (with dashes), or undefined where nothing says. Inside plugback's units
 * (ProcSubset=pid hides /proc/sys) systemd hands it over as PLUGBACK_BOOT_ID (%b, without dashes).
 */
export function bootId(): string | undefined {
  if (cached === null) {
    try {
      cached = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      cached = bootIdFromSystemd(process.env.PLUGBACK_BOOT_ID);
    }
  }
  return cached;
}

/** %b is 32 hex digits; the kernel's form has dashes (8-4-4-4-12), and records compare them as text. */
export function bootIdFromSystemd(value: string | undefined): string | undefined {
  const hex = value?.trim().toLowerCase();
  if (!hex || !/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
