// The kernel's id of this boot. Records that name a process (the outbox's claims, the daemon's job in flight)
// carry it too, so a record from an earlier boot is known to be left by a process that is surely gone, whatever
// PID it had: after a power cut, the next boot's daemon often gets the same one.
import { readFileSync } from 'node:fs';

let cached: string | undefined | null = null;

/** This boot's id as the kernel prints it (with dashes), or undefined where /proc does not say. */
export function bootId(): string | undefined {
  if (cached === null) {
    try {
      cached = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      cached = undefined;
    }
  }
  return cached;
}
