// The power-off at the end of a job makes the drive go away: udisks2 may tell of that removal before its PowerOff
// reply (as the Debian guest's does) or after it. Either way the job is done and the drive safe to remove; the
// removal its own power-off caused is no pull. Played on a private D-Bus by the udisks2/systemd1 peer.
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../src/notify/ledger.js';
import { DaemonFixture } from '../helpers/daemon-fixture.js';

let fixture: DaemonFixture | undefined;

afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

describe('the daemon after powering a drive off', () => {
  it.each([
    ['after its reply', false],
    ['before its reply, as the real udisks2 can', true],
  ] as const)('says "safe to remove" when udisks2 reports the removal %s', async (_when, removesFirst) => {
    const f = (fixture = await DaemonFixture.create());
    await f.addDrive('offsite-a');
    await f.peer.setPowerOffRemovesFirst(removesFirst);
    await f.startDaemon();

    await f.plug('offsite-a');
    const done = await f.waitForLog(/^drive "offsite-a" (is done: safe to remove|was left unmounted)/, 'offsite-a');
    expect(done.msg).toBe('drive "offsite-a" is done: safe to remove');
    expect(f.messages().some((m) => /FAILED|failed at|removed before it was put away/.test(m))).toBe(false);
    expect((await f.peer.calls()).filter((c) => c.member === 'PowerOff')).toHaveLength(1);
    const record = (await readLedger(f.stateDir))['offsite-a'];
    expect(record?.lastRun).toMatchObject({ outcome: 'success', cause: 'none' });
  });
});
