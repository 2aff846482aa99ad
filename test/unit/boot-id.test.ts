// The boot id inside plugback's units, where ProcSubset=pid hides /proc/sys: systemd's %b, handed over in
// PLUGBACK_BOOT_ID, must compare equal to what the kernel prints, or records written inside and outside the units
// (the daemon's job in flight, the outbox's claims) would each look like another boot's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootIdFromSystemd } from '../../src/system/boot-id.js';

describe('bootIdFromSystemd', () => {
  it("turns systemd's %b into the kernel's form of the same id", () => {
    const kernel = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    expect(bootIdFromSystemd(kernel.replace(/-/g, ''))).toBe(kernel);
    expect(bootIdFromSystemd(kernel.replace(/-/g, '').toUpperCase())).toBe(kernel);
  });

  it('takes nothing else for an id: no value, a wrong length, other characters', () => {
    for (const value of [undefined, '', '1234', 'zz'.repeat(16), `${'a'.repeat(32)}\nX`]) expect(bootIdFromSystemd(value)).toBeUndefined();
  });
});
