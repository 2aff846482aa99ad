// The host's assertions for scenario 10 (guest/scheduled-backup.mjs): a directory target backed up by its own timer.
// What systemctl printed for the timer's times is also checked against the raw D-Bus value with plugback's own
// parser (the built dist/, as installed in the guest), and printed, so a new systemd's forms can be captured.
import { expect, it } from 'vitest';
import { parseNextElapse } from '../../../dist/system/timer-state.js';

/** A property from `systemctl show` output ("Name=value" lines). */
const property = (text, name) => new RegExp(`^${name}=(.*)$`, 'm').exec(text ?? '')?.[1];
/** busctl get-property's "t 1796175480000000" as a time, to the second as systemctl prints it; none for 0 (never). */
const busTime = (text) => {
  const usec = /^t (\d+)$/.exec(text ?? '')?.[1];
  return usec && usec !== '0' ? new Date(Math.floor(Number(usec) / 1e6) * 1000).toISOString() : undefined;
};

export const scheduledChecks = (scenario, log) => ({
  '10': () => it('10: a directory target with a schedule is backed up by its own timer, which install enables and takes away again', () => {
    const r = scenario('s10-scheduled');
    log(`system test: 10: ${r.systemd}; the timer's times as systemctl shows them:\n${JSON.stringify({ before: r.timesBefore, after: r.timesAfter, probe: r.probe }, null, 1)}`);
    expect(r.configCheck.code, r.configCheck.err).toBe(0);
    expect(r.adopt.code, r.adopt.err).toBe(0);
    expect(r.install.code, r.install.err).toBe(0);
    expect(r.daemon).toBe('active');
    expect(r.timerEnabled).toBe('enabled');
    expect(r.timerActive).toBe('active');
    expect(r.timerCat).toContain(`OnCalendar=${r.calendar}`);
    expect(r.timerCat).toContain('Persistent=true');
    expect(r.listTimers).toContain(r.units.timer);

    // Before it fires: systemd plans exactly the scheduled minute (no random delay), and plugback drives says so.
    expect(busTime(r.timesBefore.bus.NextElapseUSecRealtime)).toBe(r.expectedAt);
    expect(r.drivesBefore.row).toMatchObject({ schedule: r.calendar, nextRun: r.expectedAt });
    expect(Date.parse(r.drivesBefore.row.nextRun)).toBeGreaterThan(Date.parse(r.drivesBefore.now));
    // What plugback's own command printed (systemd 252 ignores --timestamp=unix there), and the text form in UTC,
    // parse to the bus's value; a timer with RandomizedDelaySec= shows its next run with the delay drawn.
    for (const times of [r.timesBefore, r.probe]) {
      const want = busTime(times.bus.NextElapseUSecRealtime);
      for (const form of ['plugback', 'utc']) {
        expect(parseNextElapse(property(times[form], 'NextElapseUSecRealtime') ?? '')?.toISOString(), form).toBe(want);
      }
    }

    // The timer fired, not before its minute, and the run succeeded.
    expect(r.unit.Result).toBe('success');
    expect(r.unit.ExecMainStatus).toBe('0');
    const triggered = busTime(r.timesAfter.bus.LastTriggerUSec);
    expect(Date.parse(triggered)).toBeGreaterThanOrEqual(Date.parse(r.expectedAt));
    // A new complete snapshot on the target, equal to the source.
    expect(r.snapshot.entries).toHaveLength(1);
    expect(r.snapshot.entries[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}Z d$/);
    expect(r.snapshot.latest).toContain(r.snapshot.entries[0].split(' ')[0]);
    expect(r.snapshot.diff).toEqual({ code: 0, text: '' });
    expect(r.snapshot.copyFiles).toBe(r.snapshot.sourceFiles);
    // plugback drives shows the run.
    const after = r.drivesAfter.row;
    expect(after.record?.lastRun?.outcome).toBe('success');
    expect(Date.parse(after.record.lastSuccess)).toBeGreaterThanOrEqual(Date.parse(triggered));
    expect(after.record.lastRun.snapshot).toContain(r.snapshot.entries[0].split(' ')[0]);
    expect(after.sinceLastSuccessMs).not.toBeNull();

    // Without the schedule, install removes the timer and its link and stops it.
    expect(r.unscheduled.code, r.unscheduled.err).toBe(0);
    expect(r.unscheduled.out).toContain(`removed /etc/systemd/system/${r.units.timer} (no longer generated)`);
    expect(r.timerAfterUnschedule).not.toBe('active');
    expect(r.timerFilesAfterUnschedule).not.toBe(0);
  }),
});
