// The host's assertions for scenario 13 (guest/btrfs-drive.mjs, issue 15): on a btrfs drive the sandboxed daemon
// keeps each snapshot as a read-only subvolume, and prunes the old one at once through systemd
// (plugback-delete-subvolume@.service), not file by file.
import { expect, it } from 'vitest';

const DRIVE = 'offsite-btrfs';
const SNAPSHOT_NAME = /^\d{4}-\d\d-\d\dT\d{6}Z$/;

export const btrfsDriveChecks = (scenario, log) => ({
  '13': () => it('13: a btrfs drive backed up twice: each snapshot a read-only subvolume, the first pruned by plugback-delete-subvolume@.service', () => {
    const r = scenario('s13-btrfs');
    // Made through systemd's units: unlocked by its cryptsetup unit, mounted by `plugback open --rw`, adopted, closed.
    expect(r.cryptUnit).toBe('systemd-cryptsetup@plugback\\x2doffsite\\x2dbtrfs.service');
    expect(r.unlock.code, r.unlock.err).toBe(0);
    expect(r.mkfs.code, r.mkfs.err).toBe(0);
    expect(r.openRw.code, r.openRw.err).toBe(0);
    expect(r.openRw.out).toContain(`drive "${DRIVE}" is open read-write at /run/plugback/${DRIVE}`);
    expect(r.adopt.code, r.adopt.err).toBe(0);
    expect(r.closeAfterAdopt.code, r.closeAfterAdopt.err).toBe(0);
    expect(r.closeAfterAdopt.out).toContain(`drive "${DRIVE}" is closed`);
    expect(r.afterAdopt.mapping).toBe(false);
    expect(r.afterAdopt.mounted).toBe('');
    expect(r.plugs).toHaveLength(2);
    for (const p of r.plugs) {
      expect(p.doneMsg, JSON.stringify(p.journal, null, 1)).toBe(`drive "${DRIVE}" is done: safe to remove`);
      expect(p.after.mapping).toBe(false);
      expect(p.after.mounted).toBe('');
      expect(p.after.plugbackMounts).toBe('');
      expect(p.after.daemon).toBe('active');
      expect(p.snapshot).toMatch(SNAPSHOT_NAME);
    }
    const [first, second] = r.plugs.map((p) => p.snapshot);
    expect(second).not.toBe(first);

    // The second backup pruned the first, and systemd deleted its subvolume at once for the daemon.
    const journal = r.plugs[1].journal;
    log(`system test: 13: the helper unit's journal:\n  ${r.plugs[1].helperJournal.join('\n  ')}`);
    expect(journal, JSON.stringify(journal, null, 1)).toContain(`pruning snapshot ${first} (not kept by the retention policy)`);
    expect(r.plugs.flatMap((p) => p.journal).filter((m) => m.includes('deleted file by file'))).toEqual([]);
    expect(r.plugs[0].helperJournal).toEqual([]); // nothing to prune the first time
    const helper = r.plugs[1].helperJournal.join('\n');
    expect(helper).toMatch(new RegExp(`Delete subvolume .*/snapshots/${first}\\.deleting`));
    // systemd 252 says "Finished <unit> - <description>."; older ones the description alone.
    expect(helper).toMatch(new RegExp(`Finished .*plugback: delete the snapshot subvolume .*/snapshots/${first}\\.deleting`));
    expect(helper).not.toMatch(/Failed|Skipped|exec-condition/);

    // Opened read-only by `plugback open` alone: one snapshot, a read-only subvolume begun as a snapshot of the first,
    // equal to the source; then closed.
    const v = r.verify;
    expect(v.open.code, v.open.err).toBe(0);
    expect(v.open.out).toContain(`drive "${DRIVE}" is open read-only at /run/plugback/${DRIVE}`);
    expect(v.mountOptions.split(',')).toContain('ro');
    expect(v.fsType).toBe('btrfs');
    expect(v.snapshots).toEqual([second]);
    expect(v.latest).toBe(`snapshots/${second}`);
    expect(v.inode).toBe('256');
    expect(v.ro).toBe('ro=true');
    expect(v.show).toMatch(/Parent UUID:\s+[0-9a-f-]{36}/);
    expect(v.subvolumes).toContain(`snapshots/${second}`);
    expect(v.subvolumes).not.toContain(first);
    expect(v.diff.text).toBe('');
    expect(v.diff.code).toBe(0);
    expect(v.snapshotsCmd.code, v.snapshotsCmd.err).toBe(0);
    expect(v.snapshotsCmd.out).toContain('snapshots kept as btrfs: each snapshot is a read-only subvolume');
    expect(v.close.code, v.close.err).toBe(0);
    expect(v.close.out).toContain(`drive "${DRIVE}" is closed`);
    expect(v.afterClose.mapping).toBe(false);
    expect(v.afterClose.mounted).toBe('');
  }),
});
