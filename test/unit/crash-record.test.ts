// The record of the job in flight, as a power cut may leave it, and the crash mail built from it.
import { describe, expect, it } from 'vitest';
import { parseInFlight } from '../../src/daemon/in-flight.js';
import { crashMail } from '../../src/notify/crash-mail.js';

const GOOD = { drive: 'offsite-a', jobId: '0b7e6c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b', startedAt: '2026-12-01T10:00:00.000Z', pid: 4242, bootId: 'f3c1e2d4-5b6a-4789-9abc-def012345678', step: 'sync', stepStartedAt: '2026-12-01T10:00:05.000Z' };

describe('parseInFlight', () => {
  it('reads a whole record back', () => {
    expect(parseInFlight(JSON.stringify(GOOD))).toEqual(GOOD);
  });

  it('calls a record cut short by a power cut damaged, never throws', () => {
    const text = JSON.stringify(GOOD);
    for (const cut of [0, 1, 10, text.length - 1]) expect(parseInFlight(text.slice(0, cut))).toHaveProperty('damaged');
    expect(parseInFlight('\0\0\0\0')).toHaveProperty('damaged');
    expect(parseInFlight('[]')).toEqual({ damaged: 'not a JSON object' });
    expect(parseInFlight('null')).toEqual({ damaged: 'not a JSON object' });
  });

  it('names the drive of a record that lacks what a report needs', () => {
    expect(parseInFlight(JSON.stringify({ ...GOOD, pid: 'x' }))).toEqual({ damaged: 'incomplete record for drive "offsite-a"' });
    expect(parseInFlight(JSON.stringify({ ...GOOD, pid: -1 }))).toEqual({ damaged: 'incomplete record for drive "offsite-a"' });
    expect(parseInFlight(JSON.stringify({ ...GOOD, startedAt: 'yesterday' }))).toEqual({ damaged: 'incomplete record for drive "offsite-a"' });
    expect(parseInFlight(JSON.stringify({ ...GOOD, drive: 7 }))).toEqual({ damaged: 'no drive name' });
  });

  it('drops a step or boot id that is not one, keeping the rest', () => {
    const parsed = parseInFlight(JSON.stringify({ ...GOOD, step: 'sync; rm -rf /', bootId: 42 }));
    expect(parsed).toMatchObject({ drive: 'offsite-a', pid: 4242 });
    expect(parsed).not.toHaveProperty('step', expect.anything());
    expect(parsed).not.toHaveProperty('bootId', expect.anything());
  });
});

describe('crashMail', () => {
  it('says which backup stopped at which step, what the restart did and what happens now', () => {
    const m = crashMail('nas', { drive: 'offsite-a', step: 'sync', startedAt: GOOD.startedAt, jobId: GOOD.jobId, pid: 4242, recovery: ['unmounted it from /mnt/a', 'closed its LUKS mapping plugback-offsite-a'], next: 'The drive is still plugged in: plugback backs it up again now, continuing the interrupted copy.' });
    expect(m.subject).toBe('plugback: backup of offsite-a interrupted: plugback stopped unexpectedly');
    expect(m.text).toContain('plugback stopped unexpectedly during the backup of offsite-a at sync on nas; it restarted and unmounted it from /mnt/a and closed its LUKS mapping plugback-offsite-a.');
    expect(m.text).toContain('plugback backs it up again now');
    expect(m.text).toContain('No snapshot was completed by this run');
    expect(m.text).toContain('journalctl -u plugback -b');
  });

  it('says the snapshot was complete when the stop came after it', () => {
    const m = crashMail('nas', { drive: 'offsite-a', step: 'prune', recovery: [], next: 'The drive is not plugged in now.' });
    expect(m.text).toContain('The snapshot of this run was already complete');
    expect(m.text).not.toContain('No snapshot was completed');
    expect(m.text).toContain('nothing of the drive was left mounted or open');
  });

  it('says only "a backup" when the record was damaged', () => {
    const m = crashMail('nas', { recovery: [], next: 'The next backup of that drive continues any interrupted copy.', damaged: 'not JSON' });
    expect(m.subject).toBe('plugback: a backup was interrupted: plugback stopped unexpectedly');
    expect(m.text).toContain('during a backup on nas');
    expect(m.text).toContain('could not be read (not JSON)');
    expect(m.text).not.toMatch(/Drive:|Step:/);
  });
});
