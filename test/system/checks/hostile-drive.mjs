// The host's assertions for scenario 9, the hostile drive (guest/hostile-drive.mjs), defined when group 9 is
// played. The rig's own steps (re-install, planting) are hard checks; the safety properties are expect.soft so one
// ten-minute run shows every one that fails, not only the first.
import { expect, it } from 'vitest';
import { RED, lastColour } from './colours.mjs';

const NO_FOLLOW = 'never follows links on a drive'; // the phrase of the no-follow fix

export const hostileDriveChecks = (scenario, log) => ({
  '9': () => {
    it('9a: a drive whose snapshots folder is a link to a system folder is refused at check-target; the folder is untouched', () => {
      const r = scenario('s9a-hostile-link');
      expect(r.reinstall.code, r.reinstall.err).toBe(0);
      expect(r.driveUnitWants).toBe('');
      expect(r.daemonAfterReinstall).toBe('active');
      expect(r.planted).toEqual({ snapshots: 'symbolic link', target: '/srv/victim-a' });
      expect(r.victimBefore.entries).toEqual(['important.conf f']);

      expect.soft(r.victim, 'the victim folder /srv/victim-a').toEqual(r.victimBefore);
      expect.soft(r.jobEnd).toMatch(/^backup of "offsite-h" failed at check-target: /);
      expect.soft(r.jobEnd).toContain(NO_FOLLOW);
      expect.soft(r.doneMsg).toBe('drive "offsite-h" was left unmounted and closed after the failure: safe to remove');
      expect.soft(r.mail?.subject).toBe('plugback: backup of offsite-h on guest FAILED at check-target');
      expect.soft(r.mail?.text).toContain(NO_FOLLOW);
      expect.soft(r.after.mapping).toBe(false);
      expect.soft(r.after.mappings).toEqual([]);
      expect.soft(r.after.mounted).toBe('');
      expect.soft(r.after.plugbackMounts).toBe('');
      expect.soft(r.after.daemon).toBe('active');
      expect.soft(lastColour(r.colours)).toBe(RED);
    });

    it('9b: a planted .incomplete link and run-log links: never followed, the victims untouched, a new snapshot on the drive', () => {
      const r = scenario('s9b-hostile-incomplete');
      expect(r.planted).toEqual({ incomplete: 'symbolic link', logLinks: 120 });
      expect(r.victimBBefore.entries).toEqual(['keep.txt f']);
      // Printed, not asserted: plugback may leave the planted link or remove it.
      log(`system test: 9b: the planted .incomplete afterwards: ${r.verify?.incompleteAfter}; warnings: ${JSON.stringify(r.warnings)}`);

      expect.soft(r.victimB, 'the victim folder /srv/victim-b').toEqual(r.victimBBefore);
      expect.soft(r.victimLog, 'the victim file /srv/victim-log.txt').toBe(r.victimLogBefore);
      expect.soft(r.doneMsg).toBe('drive "offsite-h" is done: safe to remove');
      expect.soft(r.after.mapping).toBe(false);
      expect.soft(r.after.mounted).toBe('');
      // Exactly one new complete snapshot, a real folder on H (no link anywhere on the way), equal to the source.
      expect.soft(r.verify.newSnapshots, JSON.stringify(r.verify.entries)).toHaveLength(1);
      expect.soft(r.verify.copyOnDrive, r.verify.copyRealPath).toBe(true);
      expect.soft(r.verify.diff).toBe('');
      expect.soft(r.verify.diffExit).toBe(0);
      expect.soft(r.verify.copyFiles).toBe(r.verify.sourceFiles);
    });
  },
});
