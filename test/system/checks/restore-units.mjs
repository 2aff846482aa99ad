// The host's assertions for scenarios 8 and 7 (guest/restore-units.mjs).
import { expect, it } from 'vitest';
import { GREEN, WORKING, lastColour } from './colours.mjs';

export const restoreUnitsChecks = (scenario) => ({
  '8': () => it('8: plugback open (daemon running) opens drive A read-only instead of backing it up; restore puts files back, elsewhere and in place; plugback close', () => {
    const r = scenario('s8-restore');
    // Asked for the drive, then opened it when it came: read-only, at its mount point, through systemd's units.
    expect(r.openAsked).toContain('plug drive "offsite-a" in now');
    expect(r.open.code, r.open.err).toBe(0);
    expect(r.open.out).toContain('drive "offsite-a" is open read-only at /run/plugback/offsite-a');
    expect(r.openState.mapping).toBe(true);
    expect(r.openState.cryptUnit).toBe('active');
    expect(r.openState.mounted).toMatch(/^\/dev\/mapper\/plugback-offsite-a\s+\/run\/plugback\/offsite-a$/);
    expect(r.mountOptions.split(',')).toContain('ro');
    expect(r.touch.code).not.toBe(0);
    // While open the daemon backs it up neither on the plug-in nor when asked.
    expect(r.startRefused.code).not.toBe(0);
    expect(r.startRefused.out + r.startRefused.err).toContain('is open');
    expect(r.backupsStarted, JSON.stringify(r.journal, null, 1)).toEqual([]);
    expect(r.snapshots.code, r.snapshots.err).toBe(0);
    expect(r.restoreTo.code, r.restoreTo.err).toBe(0);
    expect(r.diffTo).toEqual({ code: 0, text: '' });
    // Owner, mode and the hard link come back as they were.
    expect(r.privateOwner).toEqual(['1234:1234 600', '1234:1234 600']);
    expect(r.hardLinked[0]).toBe(r.hardLinked[1]);
    expect(r.restoreInPlace.code, r.restoreInPlace.err).toBe(0);
    expect(r.diffInPlace).toEqual({ code: 0, text: '' });
    expect(r.keptAside).toHaveLength(1);
    expect(r.keptImg1).toBe('damaged');
    // Closed: nothing mounted, no mapping left, the daemon still the one that ran before.
    expect(r.close.code, r.close.err).toBe(0);
    expect(r.close.out).toContain('drive "offsite-a" is closed');
    expect(r.afterClose.mounted).toBe('');
    expect(r.afterClose.mapping).toBe(false);
    expect(r.afterClose.daemon).toBe('active');
    expect(r.afterClose.daemonPid).toBe(r.openState.daemonPid);
  }),

  '7': () => it('7: with install.trigger units and no daemon, systemd starts plugback-drive@ when the drive appears', () => {
    const r = scenario('s7-units-trigger');
    expect(r.install.code, r.install.err).toBe(0);
    // The daemon's unit is gone; the drive's device unit wants the drive's backup unit.
    expect(r.daemonUnitAfterInstall).not.toBe(0);
    // (plugback-floor.service there is the suite's own, setup.mjs: systemd's floor for scenario 1's timing.)
    expect(r.wants.split('\n').filter((u) => u !== 'plugback-floor.service')).toEqual([r.units.driveUnit]);
    expect(r.unit.Result).toBe('success');
    expect(r.unit.ExecMainStatus).toBe('0');
    expect(r.after.mapping).toBe(false);
    expect(r.after.mounted).toBe('');
    expect(r.colours.map((c) => c.value)).toContain(WORKING);
    expect(lastColour(r.colours)).toBe(GREEN);
    expect(r.mails).toEqual([]);
    expect(r.verify.diff).toBe('');
    expect(r.verify.diffExit).toBe(0);
    expect(r.verify.latest).not.toBe(scenario('s8-restore').latestBefore);
  }),
});
