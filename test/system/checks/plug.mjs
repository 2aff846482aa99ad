// The host's assertions for scenarios 1, 2, 4 and 3 (guest/plug-scenarios.mjs): one test per group, defined only
// when the run played that group (scenarios.mjs). `scenario(name)` is the guest's record of one scenario.
import { expect, it } from 'vitest';
import { GREEN, RED, WORKING, lastColour } from './colours.mjs';

export const plugChecks = (scenario) => ({
  '1': () => it('1: a configured LUKS drive is unlocked, mounted, backed up, closed and powered off; the LED ends green', () => {
    const r = scenario('s1-backup');
    expect(r.doneMsg).toBe('drive "offsite-a" is done: safe to remove');
    expect(r.after.mapping).toBe(false);
    expect(r.after.mappings).toEqual([]);
    expect(r.after.mounted).toBe('');
    expect(r.after.plugbackMounts).toBe('');
    expect(r.after.daemon).toBe('active');
    const values = r.colours.map((c) => c.value);
    expect(values).toContain(WORKING);
    expect(lastColour(r.colours)).toBe(GREEN);
    // Opened again in the guest (the host has no dm-crypt): the snapshot is the source.
    expect(r.verify.snapshots).toHaveLength(1);
    expect(r.verify.diff).toBe('');
    expect(r.verify.diffExit).toBe(0);
    expect(r.verify.copyFiles).toBe(r.verify.sourceFiles);
  }),

  '2': () => it('2: an unknown USB drive is ignored: one log line, nothing mounted, the LED unchanged', () => {
    const r = scenario('s2-unknown');
    expect(r.ignored).toMatch(/not a drive in the config/);
    expect(r.mountsOfDisk).toBe('');
    expect(r.after.mappings).toEqual([]);
    expect(r.colours).toEqual([]);
  }),

  '4': () => it('4: a wrong key file fails clearly at unlock, the LED turns red, a mail goes, the drive stays closed', () => {
    const r = scenario('s4-wrong-key');
    expect(r.failure).toMatch(/could not open drive "offsite-c" with the key file \/etc\/plugback\/keys\/offsite-c.key/);
    expect(r.after.mapping).toBe(false);
    expect(r.after.mounted).toBe('');
    expect(r.after.daemon).toBe('active');
    expect(lastColour(r.colours)).toBe(RED);
    // The failure mail reached the guest's SMTP server, saying what failed and what to do.
    expect(r.mail.subject).toBe('plugback: backup of offsite-c on guest FAILED at unlock');
    expect(r.mail.to).toEqual(['admin@guest.test']);
    expect(r.mail.text).toContain('What to do next:');
  }),

  '3': () => it('3: a drive pulled mid-sync: the daemon lives on, LED red, a mail goes, mapping and mount gone; plugged again it completes', () => {
    const r = scenario('s3-pull-mid-sync');
    // systemctl reload works through ExecReload= (SIGHUP).
    expect(r.systemctlReload?.code, r.systemctlReload?.err).toBe(0);
    expect(r.reload1).toMatch(/config reloaded/);
    expect(r.rsyncRunningAtPull).toBe(true);
    expect(r.removed).toMatch(/drive removed during sync/);
    expect(r.after.daemon).toBe('active');
    expect(r.after.daemonPid).toBe(r.pidBefore);
    expect(r.jobEnd).toMatch(/failed at sync: drive removed during sync/);
    expect(r.after.mounted).toBe('');
    expect(r.after.plugbackMounts).toBe('');
    expect(lastColour(r.colours)).toBe(RED);
    expect(r.mail.subject).toBe('plugback: backup of offsite-a on guest FAILED at sync');
    expect(r.mail.text).toContain('drive removed during sync');
    // systemd could not close the mapping while the pulled-out drive was still mounted; the daemon did, afterwards.
    expect(r.after.mapping, r.cryptJournal).toBe(false);
    expect(r.replugDoneMsg).toBe('drive "offsite-a" is done: safe to remove');
    expect(r.afterReplug.mapping).toBe(false);
    expect(r.afterReplug.mounted).toBe('');
    expect(lastColour(r.replugColours)).toBe(GREEN);
    expect(r.verify.diff).toBe('');
    expect(r.verify.diffExit).toBe(0);
    expect(r.verify.snapshots.filter((s) => s.endsWith('.incomplete'))).toEqual([]);
    // The snapshot of scenario 1 is still there, whole.
    const s1 = scenario('s1-backup').verify;
    expect(r.verify.oldest).toEqual(s1.newest);
  }),
});
