// The host's assertions for scenarios 5 and 6 (guest/two-drives-led.mjs).
import { expect, it } from 'vitest';
import { GREEN, WORKING, lastColour } from './colours.mjs';

export const twoDrivesLedChecks = (scenario) => ({
  '5': () => it('5: two drives plugged in together are backed up one after the other', () => {
    const r = scenario('s5-two-drives');
    expect(r.done.a.msg).toBe('drive "offsite-a" is done: safe to remove');
    expect(r.done.b.msg).toBe('drive "offsite-b" is done: safe to remove');
    expect(r.queued).toMatch(/^drive "offsite-[ab]" is queued: it is backed up after "offsite-[ab]"$/);
    // Both were mounted at some moment, never both at once.
    expect(r.mountsSeen).toEqual(['/run/plugback/offsite-a', '/run/plugback/offsite-b']);
    expect(r.mostMountedAtOnce).toBe(1);
    const [first, second] = [r.done.a, r.done.b].sort((x, y) => x.t - y.t);
    expect(second.t).toBeGreaterThan(first.t);
    for (const after of [r.after.a, r.after.b]) {
      expect(after.mapping).toBe(false);
      expect(after.mounted).toBe('');
    }
    expect(lastColour(r.colours)).toBe(GREEN);
    for (const v of [r.verifyA, r.verifyB]) {
      expect(v.diff).toBe('');
      expect(v.diffExit).toBe(0);
    }
    expect(r.verifyB.snapshots).toHaveLength(1);
  }),

  '6': () => it('6: a BlinkStick unplugged and plugged back in during a job shows the current state again', () => {
    const r = scenario('s6-led-replugged');
    expect(lastColour(r.coloursBeforeUnplug)).toBe(WORKING);
    expect(r.lost).toMatch(/BlinkStick stopped answering/);
    expect(r.lost).not.toContain('(undefined)');
    expect(r.found).toMatch(/using .*BS000001-3\.1/);
    // The first colour on the stick that came back is the job's, drawn while rsync was still copying.
    expect(r.rsyncRunningAtRedraw).toBe(true);
    expect(r.redrawn.value).toBe(WORKING);
    expect(r.doneMsg).toBe('drive "offsite-a" is done: safe to remove');
    expect(lastColour(r.coloursAfterReplug)).toBe(GREEN);
  }),
});
