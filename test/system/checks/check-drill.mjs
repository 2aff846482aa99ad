// The host's assertions for scenario 15 (guest/check-drill.mjs, issue 16): the daemon's restore drill after a backup
// onto drive A comes back clean; one byte flipped in A's image on the host, between two plugs, is found by
// `plugback check --all` in the guest, naming the file it fell in.
import { expect, it } from 'vitest';

const DRIVE = 'offsite-a';
const CHANGED_CONTENT = 'has different content than when it was backed up';

/** An open through the daemon (scenario 8's way) and its close: read-only at the mount point, nothing left after. */
function expectOpenedAndClosed(o) {
  expect(o.openAsked).toContain(`plug drive "${DRIVE}" in now`);
  expect(o.open.code, o.open.err).toBe(0);
  expect(o.open.out).toContain(`drive "${DRIVE}" is open read-only at /run/plugback/${DRIVE}`);
  expect(o.mountOptions.split(',')).toContain('ro');
  expect(o.close.code, o.close.err).toBe(0);
  expect(o.close.out).toContain(`drive "${DRIVE}" is closed`);
  expect(o.afterClose.mapping).toBe(false);
  expect(o.afterClose.mounted).toBe('');
  expect(o.afterClose.plugbackMounts).toBe('');
  expect(o.afterClose.daemon).toBe('active');
}

export const checkDrillChecks = (scenario, log) => ({
  '15': () => it('15: the daemon\'s drill after a backup comes back clean; a byte flipped in drive A\'s image on the host is found by plugback check --all', () => {
    const r = scenario('s15-check-drill');
    expect(r.reload).toMatch(/config reloaded/);
    expect(r.systemctlReload.code, r.systemctlReload.err).toBe(0);

    // The backup, then the drill in the same job: its line in the journal and its record in the ledger.
    const b = r.backup;
    log(`system test: 15: the drill's journal lines:\n  ${b.drillLines.join('\n  ')}`);
    expect(b.doneMsg, JSON.stringify(b.journal, null, 1)).toBe(`drive "${DRIVE}" is done: safe to remove`);
    expect(b.drillLines.some((m) => /^restore drill: [1-9]\d* files picked from [1-9]\d* snapshots were restored and came back as backed up$/.test(m)), JSON.stringify(b.drillLines)).toBe(true);
    expect(b.journal.filter((m) => m.includes('the restore drill'))).toEqual([]); // neither damage nor "could not run"
    expect(b.ledger.drill, JSON.stringify(b.ledger)).toMatchObject({ damaged: 0, problems: [], backupsSince: 0 });
    expect(b.ledger.drill.files).toBeGreaterThan(0);
    expect(b.ledger.drill.files).toBeLessThanOrEqual(20);
    expect(b.ledger.drill.at >= b.startedAt, `${b.ledger.drill.at} before the plug at ${b.startedAt}`).toBe(true);
    expect(b.after.mapping).toBe(false);
    expect(b.after.mounted).toBe('');

    // Opened read-only: a file of the oldest snapshot, and where byte 1000 of its first block is in the image.
    const p = r.pick;
    expectOpenedAndClosed(p);
    expect(p.links).toBeGreaterThan(0);
    expect(p.snapshot).toBe(p.oldest);
    expect(p.state).toBe('photos');
    expect(p.sameFile).toContainEqual({ snapshot: p.snapshot, state: p.state, path: p.path });
    expect(p.offset).toBe(p.dataOffsetSectors * 512 + p.block * 4096 + 1000);
    log(`system test: 15: flipped byte ${p.offset} of the image, in ${p.path} of snapshot ${p.snapshot} (block ${p.block}, LUKS data at sector ${p.dataOffsetSectors}, ${p.links} links)`);

    // Opened again after the flip: the first block reads back changed, and check --all names the file.
    const c = r.check;
    expectOpenedAndClosed(c);
    expect(c.firstBlockHash).toMatch(/^[0-9a-f]{64}$/);
    expect(c.firstBlockHash).not.toBe(p.firstBlockHash);
    expect(c.json.code, c.json.err).toBe(1);
    const doc = c.json.doc;
    expect(doc).toMatchObject({ drive: DRIVE, host: 'guest', mode: 'all', clean: false });
    expect(doc.damage).toContainEqual(expect.objectContaining({ snapshot: p.snapshot, state: p.state, path: p.path, problem: CHANGED_CONTENT }));
    // Nothing else: every damaged file is a name of the flipped one (its hard links in this and later snapshots).
    for (const d of doc.damage) expect(p.sameFile, JSON.stringify(d)).toContainEqual({ snapshot: d.snapshot, state: d.state, path: d.path });
    expect(c.text.code, c.text.err).toBe(1);
    expect(c.text.out).toContain(`DAMAGED  snapshot ${p.snapshot}, state ${p.state}: ${p.path} ${CHANGED_CONTENT}`);
    expect(c.text.out).toContain(`damage found: drive "${DRIVE}" did not give back what was backed up`);

    // The plain config back in force.
    expect(r.configBack.answer).toMatch(/config reloaded/);
  }),
});
