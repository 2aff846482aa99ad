// The host's assertions for scenario 11 (guest/pull-crash.mjs, issue 20): a pull after `complete` told the same way
// three times over, as a finished backup; and a daemon killed in the middle of rsync that comes back, mails the
// crash once and finishes the backup.
import { expect, it } from 'vitest';
import { GREEN, RED, lastColour } from './colours.mjs';

/** The end line without the snapshot's name and the time taken, so the rounds can be compared. */
const shape = (line) => line.replace(/\d{4}-\d\d-\d\dT\d{6}Z/g, 'SNAPSHOT').replace(/ in [\d.]+m?s\b.*$/, '');

export const pullCrashChecks = (scenario, log) => ({
  '11': () => {
    it('11a: a drive pulled after its snapshot is complete is a finished backup, told the same way three times: no FAILED, LED green, drive closed', () => {
      const r = scenario('s11a-pull-after-complete');
      expect(r.reload).toMatch(/config reloaded/);
      expect(r.rounds).toHaveLength(3);
      for (const round of r.rounds) {
        expect(round.complete, JSON.stringify(round.journal, null, 1)).toMatch(/^snapshot \S+ is complete$/);
        expect(round.end).toMatch(/^backup of "offsite-a" finished; the drive was removed before it was put away: snapshot \S+/);
        expect(round.journal.some((m) => /FAILED|failed at/.test(m)), JSON.stringify(round.journal, null, 1)).toBe(false);
        expect(round.mails.filter((s) => /FAILED/.test(s))).toEqual([]);
        expect(lastColour(round.colours)).toBe(GREEN);
        expect(round.colours.map((c) => c.value)).not.toContain(RED);
        // The clean-up after the pull: nothing of the drive is left open.
        expect(round.after.mapping).toBe(false);
        expect(round.after.mounted).toBe('');
        expect(round.after.daemon).toBe('active');
      }
      expect(new Set(r.rounds.map((round) => shape(round.end))).size).toBe(1);
      // What the end line promised: the next plug checks the drive and puts it away.
      expect(r.nextPlug, JSON.stringify(r.nextPlugJournal, null, 1)).toBe('drive "offsite-a" is done: safe to remove');
      // Every round's snapshot was complete: they are all on the drive, the newest equal to the source.
      expect(r.verify.snapshots.filter((s) => s.endsWith('.incomplete'))).toEqual([]);
      expect(r.verify.diff).toBe('');
      expect(r.verify.diffExit).toBe(0);
    });

    it('11b: the daemon killed with SIGKILL mid-copy: systemd restarts it, it mails the crash once and finishes the backup', () => {
      const r = scenario('s11b-kill-daemon-mid-copy');
      log(`system test: 11b: the crash mail came ${(r.mailAfterKillMs / 1000).toFixed(1)} s after the kill; the daemon restarted ${Number(r.restartsAfter) - Number(r.restartsBefore)} time(s)`);
      expect(r.rsyncRunningAtKill).toBe(true);
      expect(r.after.daemon).toBe('active');
      expect(r.after.daemonPid).not.toBe(r.pidBefore);
      expect(Number(r.restartsAfter)).toBe(Number(r.restartsBefore) + 1);
      expect(r.mail.subject).toBe('plugback: backup of offsite-a interrupted: plugback stopped unexpectedly');
      expect(r.mail.text).toMatch(/^plugback stopped unexpectedly during the backup of offsite-a at sync on guest; it restarted/);
      expect(r.mail.text).toContain('plugback backs it up again now, continuing the interrupted copy');
      expect(r.mailsAfter.filter((s) => /stopped unexpectedly/.test(s))).toHaveLength(1);
      expect(r.doneMsg, JSON.stringify(r.journal, null, 1)).toBe('drive "offsite-a" is done: safe to remove');
      expect(r.after.mapping).toBe(false);
      expect(r.after.mounted).toBe('');
      expect(lastColour(r.colours)).toBe(GREEN);
      expect(r.verify.snapshots.filter((s) => s.endsWith('.incomplete'))).toEqual([]);
      expect(r.verify.diff).toBe('');
      expect(r.verify.diffExit).toBe(0);
    });
  },
});
