// What to do next, chosen by why the job stopped and when: a pulled drive, a cancel and a step's own failure at
// the same step need different advice, and the advice must fit what the LED shows and where the drive is.
import type { StepName } from '../job/events.js';
import type { JobEnding, PutAwayState } from '../job/ending.js';

/** For a step that failed on its own (the drive still there). */
const FAILED: Partial<Record<StepName, string>> = {
  unlock: 'Check that the key file unlocks the drive (cryptsetup open --test-passphrase --key-file KEY DEVICE) and that the drive is the one in the config.',
  mount: 'Check the file system on the drive (fsck) and that nothing else holds the mount point.',
  health: 'Nothing was written to the drive. Back up onto another drive, and replace this one: docs/health.md says how to read its SMART yourself.',
  'check-target':
    'Check that the right drive is plugged in and mounted. A new drive needs `plugback drive adopt DRIVE`; a drive that says it is another one is probably not the drive you think.',
  'check-source':
    'A source folder is missing, unreadable or looks unmounted. Mount it (or fix the config), then plug the drive in again. Nothing was copied, so no snapshot is affected.',
  'check-space':
    'The drive has less free space than its recent backups each needed, so this one was not started. Free room with `plugback prune DRIVE --dry-run` (what retention removes next) and `plugback forget DRIVE SNAPSHOT`, or use a bigger drive. Nothing was copied.',
  'pre-backup-hooks': 'A preBackup hook failed: its output is in the log below. Fix the hook or the service it stops; its postBackup has run.',
  lock: 'Another program held the lock for longer than backup.lockWait: the log names its PID. Wait for it, or raise lockWait.',
  sync: 'rsync could not copy: the log below has its error. The copy so far is kept on the drive and the next run continues it.',
  'check-shrink':
    'A source lost more files or bytes than backup.maxShrinkPercent allows, so the snapshot was not completed and nothing was pruned. If the shrink is intended, run `plugback run DRIVE --allow-shrink` once.',
  checksums:
    'Files just copied could not be read back from the drive to record their checksums: check the drive (smartctl -a, dmesg). The copy so far is kept on the drive and the next run continues it.',
  complete: 'The snapshot could not be finished on the drive: check that the drive has space and no I/O errors (dmesg).',
  verify: 'Files read back from the new snapshot differ from the source: the drive may be failing. Check it (smartctl -a, dmesg) before trusting it.',
  prune: 'Old snapshots could not be removed; the new snapshot is fine. Check the drive for errors and free space.',
  'post-backup-hooks': 'A postBackup hook failed: a service it should restart may still be stopped. Check it now.',
  'power-off': 'The drive could not be powered down; it is unmounted and closed, so it can be unplugged safely.',
};

/** The steps before anything is written into a snapshot folder. */
const BEFORE_COPY: readonly StepName[] = ['unlock', 'mount', 'lock', 'health', 'check-target', 'check-source', 'check-space', 'pre-backup-hooks'];

/** The advice for an ending; empty when there is nothing to do. */
export function adviceFor(e: JobEnding, facts: { drive: string; putAway: PutAwayState }): string {
  switch (e.cause) {
    case 'none':
      return e.verdict === 'warning' ? 'Read the warnings below; the snapshot itself is complete.' : '';
    case 'removed':
      return removedAdvice(e);
    case 'cancelled':
      return [cancelledAdvice(e), unpluggable(facts.putAway)].filter(Boolean).join(' ');
    case 'crashed':
      return `plugback stopped unexpectedly during ${e.step ?? 'the backup'}: its journal says why (journalctl -u plugback). ${kept(e) || 'Nothing of this run was completed.'}`;
    case 'failed':
      return failedAdvice(e, facts.putAway, facts.drive);
  }
}

function removedAdvice(e: JobEnding): string {
  if (e.snapshot) {
    if (e.notes.length > 0) return '';
    return (
      `Nothing was lost: snapshot ${e.snapshot} is complete on the drive. The drive was unplugged before plugback had put it away ` +
      `(${e.notDone.join(', ')} did not run), so the next backup of it checks its file system first and tidies up what this one left. ` +
      'Next time, leave it in until the LED turns green.'
    );
  }
  const step = e.step ?? 'sync';
  const leaveIt = 'Plug it in again and leave it in until the LED turns green.';
  if (BEFORE_COPY.includes(step)) {
    return `The drive was unplugged during ${step}, before anything was copied. ${untouched(e)} ${leaveIt}`;
  }
  if (step === 'complete') {
    return `The drive was unplugged while the snapshot was being completed: the next backup finds out whether it was, and otherwise continues the copy kept on the drive. ${newest(e)} ${leaveIt}`;
  }
  return `The drive was unplugged during ${step}. ${kept(e) || untouched(e)} ${leaveIt}`;
}

function cancelledAdvice(e: JobEnding): string {
  if (e.snapshot) return `Snapshot ${e.snapshot} is complete; the job was cancelled during ${e.step}${e.notDone.length ? `, so ${e.notDone.join(', ')} did not run` : ''}.`;
  if (BEFORE_COPY.includes(e.step ?? 'sync')) return `It was cancelled before anything was copied. ${untouched(e)} Run it again when it suits.`;
  return `Nothing is wrong with the drive. ${kept(e) || untouched(e)}`;
}

function failedAdvice(e: JobEnding, putAway: PutAwayState, drive: string): string {
  const step = e.step;
  if (step === 'unmount' || step === 'close-luks') {
    const what = step === 'unmount' ? 'The drive could not be unmounted: something still used it (the log names it; lsof +f -- MOUNTPOINT).' : 'The LUKS mapping could not be closed: the drive may still be in use.';
    return putAway.unmounted && putAway.closed
      ? `${what} plugback detached and closed it afterwards, so it can be unplugged now.`
      : `${what} Do not unplug it yet: see the clean-up errors below.`;
  }
  const specific = step ? FAILED[step] : undefined;
  const room = step === 'sync' || step === 'complete' ? ` ${roomAdvice(drive)}` : '';
  const text = `${specific ?? 'Read the log below for the reason; docs/troubleshooting.md explains each message.'}${room}`;
  return e.snapshot && step === 'post-backup-hooks' ? `Snapshot ${e.snapshot} is complete. ${text}` : text;
}

/** A full drive is the usual reason a copy or its completion fails (ENOSPC, rsync exit 11): how to make room. */
function roomAdvice(drive: string): string {
  return (
    `A full drive needs room: plugback prune ${drive} --dry-run shows which snapshots retention removes at the next backup, ` +
    `and plugback forget ${drive} SNAPSHOT deletes one now (never the newest); or use a bigger drive.`
  );
}

function kept(e: JobEnding): string {
  return e.keptForResume ? `The copy so far is kept on the drive (${e.keptForResume}) and the next run continues it. ${newest(e)}`.trim() : '';
}

function untouched(e: JobEnding): string {
  return `The snapshots already on the drive were not touched.${e.newestSnapshot ? ` The newest complete one is ${e.newestSnapshot}.` : ''}`;
}

function newest(e: JobEnding): string {
  if (!e.newestKnown) return '';
  return e.newestSnapshot ? `The newest complete snapshot, ${e.newestSnapshot}, is untouched.` : 'There is no complete snapshot on the drive yet.';
}

function unpluggable(putAway: PutAwayState): string {
  if (putAway.unmounted === undefined) return '';
  return putAway.unmounted && putAway.closed ? 'The drive was unmounted and closed: it can be unplugged.' : 'The drive could not be unmounted and closed: see the clean-up errors below before unplugging it.';
}
