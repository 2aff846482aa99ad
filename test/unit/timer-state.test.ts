// NextElapseUSecRealtime in the forms systemctl may print it (plugback drives' next run of a scheduled drive).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNextElapse } from '../../src/system/timer-state.js';

/** What systemd 252 printed in the full-OS guest, beside the D-Bus value (the file says where it came from). */
interface Captured { what: string; stdout: string; busctl: Record<string, string> }
const captured = (JSON.parse(readFileSync(new URL('../fixtures/systemctl-show-timer.json', import.meta.url), 'utf8')) as { cases: Captured[] }).cases;
const property = (stdout: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
/** busctl's "t 1796265720000000" to the second, as systemctl prints it. */
const busSecond = (value: string | undefined) => new Date(Math.floor(Number(/^t (\d+)$/.exec(value ?? '')?.[1]) / 1e6) * 1000).toISOString();

describe('parseNextElapse', () => {
  it('reads what systemd 252 prints for a timer: its next run as UTC text, the D-Bus time to the second', () => {
    expect(captured.length).toBeGreaterThan(0);
    for (const c of captured) {
      expect(parseNextElapse(property(c.stdout, 'NextElapseUSecRealtime'))?.toISOString(), c.what).toBe(busSecond(c.busctl.NextElapseUSecRealtime));
      // Never fired: LastTriggerUSec is empty and the monotonic time 0; neither is a time.
      expect(parseNextElapse(property(c.stdout, 'LastTriggerUSec')), c.what).toBeNull();
      expect(parseNextElapse(property(c.stdout, 'NextElapseUSecMonotonic')), c.what).toBeNull();
    }
  });

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
