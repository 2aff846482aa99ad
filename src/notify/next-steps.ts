// What to do next, by the step a backup failed at: the first thing a failure mail says after what happened.
import type { StepName } from '../job/events.js';

const ADVICE: Partial<Record<StepName, string>> = {
  unlock: 'Check that the key file unlocks the drive (cryptsetup open --test-passphrase --key-file KEY DEVICE) and that the drive is the one in the config.',
  mount: 'Check the file system on the drive (fsck) and that nothing else holds the mount point.',
  'check-target':
    'Check that the right drive is plugged in and mounted. A new drive needs `plugback drive adopt DRIVE`; a drive that says it is another one is probably not the drive you think.',
  'check-source':
    'A source folder is missing, unreadable or looks unmounted. Mount it (or fix the config), then plug the drive in again. Nothing was copied, so no snapshot is affected.',
  'pre-backup-hooks': 'A preBackup hook failed: its output is in the log below. Fix the hook or the service it stops; its postBackup has run.',
  lock: 'Another program held the lock for longer than backup.lockWait: the log names its PID. Wait for it, or raise lockWait.',
  sync: 'rsync could not copy: the log below has its error. The copy so far is kept on the drive and the next run continues it. A full drive needs older snapshots removed or a bigger drive.',
  'check-shrink':
    'A source lost more files or bytes than backup.maxShrinkPercent allows, so the snapshot was not completed and nothing was pruned. If the shrink is intended, run `plugback run DRIVE --allow-shrink` once.',
  complete: 'The snapshot could not be finished on the drive: check that the drive has space and no I/O errors (dmesg).',
  verify: 'Files read back from the new snapshot differ from the source: the drive may be failing. Check it (smartctl -a, dmesg) before trusting it.',
  prune: 'Old snapshots could not be removed; the new snapshot is fine. Check the drive for errors and free space.',
  'post-backup-hooks': 'A postBackup hook failed: a service it should restart may still be stopped. Check it now.',
  unmount: 'The drive could not be unmounted: something still uses it (lsof +f -- MOUNTPOINT). Do not unplug it yet.',
  'close-luks': 'The LUKS mapping could not be closed: the drive may still be in use. Do not unplug it yet.',
  'power-off': 'The drive could not be powered down; once the LED is green it can still be unplugged safely.',
};

/** One or two sentences on what to do after a failure at `step`. */
export function nextStepFor(step: StepName | undefined): string {
  const specific = step ? ADVICE[step] : undefined;
  return specific ?? 'Read the log below for the reason; docs/troubleshooting.md explains each message.';
}
