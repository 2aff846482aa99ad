// The host's assertions for scenario 14 (guest/prepare-drive.mjs, issue 16): `plugback drive prepare` made an
// ext4 and a btrfs LUKS drive from blank USB disks, left nothing open, added them to the config, and the daemon
// backed each up once `plugback install --write-crypttab` had run.
import { expect, it } from 'vitest';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const prepareDriveChecks = (scenario, log) => ({
  '14': () => it('14: drive prepare makes an ext4 and a btrfs LUKS drive of blank USB disks; after install the daemon backs each up', () => {
    const r = scenario('s14-prepare');
    expect(r.install.code, r.install.err).toBe(0);
    expect(r.config).toContain('# written by the system test'); // --write-config kept the file's comments
    for (const [id, fs] of [['p', 'ext4'], ['q', 'btrfs']]) {
      const name = `offsite-${id}`;
      const d = r.drives[id];
      log(`system test: 14: ${name} on ${d.disk}: ${d.lsblk}`);
      expect(d.prepare.code, d.prepare.err).toBe(0);
      expect(d.prepare.err).toContain(`is drive "${name}" (LUKS UUID ${d.uuid}`);
      expect(d.prepare.err).toContain(`added drive "${name}" to /etc/plugback/config.yaml`);
      expect(d.uuid).toMatch(UUID);
      expect(d.mappings.filter((m) => m.startsWith('plugback-prepare-'))).toEqual([]);
      expect(d.prepareMounts).toBe('');
      expect(d.keyMode).toBe('400');
      expect(d.headerMode).toBe('400');
      expect(d.passphrase.code, d.passphrase.err).toBe(0);
      expect(r.config).toContain(`  ${name}:\n    uuid: ${d.uuid}\n    keyFile: /etc/plugback/keys/${name}.key\n`);
      expect(r.crypttab).toContain(`plugback-${name} UUID=${d.uuid} /etc/plugback/keys/${name}.key luks,noauto`);

      expect(d.backup.doneMsg).toBe(`drive "${name}" is done: safe to remove`);
      expect(d.backup.after.mapping).toBe(false);
      expect(d.backup.after.mounted).toBe('');

      const v = d.verify;
      expect(v.fsType).toBe(fs);
      expect(v.label).toBe(name);
      expect(v.identity.name).toBe(name);
      expect(v.latest).toMatch(/^snapshots\/\d{4}-\d\d-\d\dT\d{6}Z$/);
      expect(v.diff.text).toBe('');
      expect(v.diff.code).toBe(0);
    }
  }),
});
