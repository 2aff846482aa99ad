// NextElapseUSecRealtime in the forms systemctl may print it (plugback drives' next run of a scheduled drive).
import { describe, expect, it } from 'vitest';
import { parseNextElapse } from '../../src/system/timer-state.js';

describe('parseNextElapse', () => {
  it('reads --timestamp=unix, raw microseconds and a UTC text time as the same moment', () => {
    const at = '2026-12-02T01:38:00.000Z';
    expect(parseNextElapse('@1796175480')?.toISOString()).toBe(at);
    expect(parseNextElapse('1796175480000000')?.toISOString()).toBe(at);
    expect(parseNextElapse('Wed 2026-12-02 01:38:00 UTC')?.toISOString()).toBe(at);
  });

  it('gives no time for a timer that will not fire again, or for what it cannot read', () => {
    for (const value of ['', '0', 'n/a', 'Wed 2026-12-02 01:38:00 CET']) expect(parseNextElapse(value)).toBeNull();
  });
});
