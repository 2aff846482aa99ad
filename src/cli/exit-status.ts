// Which exit codes each command returns, in one table: shown at the end of every command's --help and in the man
// page (both read it from the help), so a script writer can rely on them. Keep it true to each command's code.
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';

type Codes = [code: number, meaning: string][];

const USAGE: [number, string] = [EXIT.usage, 'usage or config error (the problems are listed)'];
const GROUP = (name: string): Codes => [
  [EXIT.ok, '--help'],
  [EXIT.usage, `no subcommand, or an unknown one; otherwise that of the subcommand (plugback ${name} SUBCOMMAND --help)`],
];

/** By the command's path below `plugback` ('' is plugback itself). A command missing here fails the tests. */
export const EXIT_STATUS: Record<string, Codes> = {
  '': [
    [EXIT.ok, 'success'],
    [EXIT.failed, 'failed (and any unexpected error); check: damage found'],
    [EXIT.usage, 'usage or config error'],
    [EXIT.warnings, 'done, with warnings (run, restore, status --follow)'],
    [EXIT.busy, 'this drive is being backed up already (run), or the lock is held (forget, check): nothing was done'],
    [130, 'a second Ctrl-C during run: stopped without the clean-up'],
  ],
  run: [
    [EXIT.ok, 'the backup succeeded'],
    [EXIT.failed, 'it failed, or was cancelled before the snapshot was complete (the partial copy stays for the next run)'],
    [EXIT.usage, 'usage or config error, or no such drive in the config; nothing was started'],
    [EXIT.warnings, 'the snapshot is complete, with warnings (copy errors, a failed prune or archive, a cancel after it was complete)'],
    [EXIT.busy, 'this drive is being backed up already: nothing was done (no hooks, no mail, no record)'],
    [130, 'a second Ctrl-C: stopped at once, without the clean-up'],
  ],
  snapshots: [
    [EXIT.ok, 'listed (also when there are none yet)'],
    [EXIT.failed, 'the drive is not there, is another drive, or cannot be read'],
    USAGE,
  ],
  open: [
    [EXIT.ok, 'the drive is open (read-only, or read-write with --rw)'],
    [EXIT.failed, 'it could not be opened (not plugged in within --wait, no crypttab line, a backup of it runs, the unlock or mount failed): nothing is left unlocked or mounted'],
    [EXIT.usage, 'usage or config error, or a directory target'],
  ],
  close: [
    [EXIT.ok, 'the drive is unmounted and locked: safe to remove'],
    [EXIT.failed, 'it is not open, or it is still in use (the processes are named) or could not be locked'],
    [EXIT.usage, 'usage or config error, or a directory target'],
  ],
  check: [
    [EXIT.ok, 'nothing wrong found'],
    [EXIT.failed, 'damage found: a file missing, unreadable or different from when it was backed up, a damaged checksum list, or scrub errors (all listed)'],
    [EXIT.usage, 'the check could not run: usage or config error, the drive is not there or is another drive'],
    [EXIT.busy, 'the lock is held (a backup, restore or archive runs): nothing was checked'],
  ],
  forget: [
    [EXIT.ok, 'the snapshot is deleted'],
    [EXIT.failed, 'no such complete snapshot, it is the newest, the drive is not there or is another drive, or the delete failed'],
    USAGE,
    [EXIT.busy, 'the lock is held (a backup, restore or archive runs): nothing was deleted'],
  ],
  prune: [
    [EXIT.ok, 'the plan is shown'],
    [EXIT.failed, 'the drive is not there, is another drive, or cannot be read'],
    [EXIT.usage, 'usage or config error, or no --dry-run'],
  ],
  versions: [
    [EXIT.ok, 'at least one snapshot holds PATH'],
    [EXIT.failed, 'no snapshot holds PATH, or the drive is not there or is another drive'],
    [EXIT.usage, 'usage or config error, or PATH not written plainly (absolute, no "..", "." or "//")'],
  ],
  restore: [
    [EXIT.ok, 'restored (or, with --dry-run, the plan shown)'],
    [EXIT.failed, 'failed (what was set aside is renamed back), nothing to restore, or too little room where it goes'],
    [EXIT.usage, 'usage or config error, or not confirmed'],
    [EXIT.warnings, 'restored, with warnings'],
  ],
  archive: [
    [EXIT.ok, 'the archive is written'],
    [EXIT.failed, 'failed, or the lock stayed taken for backup.lockWait'],
    USAGE,
  ],
  'archive restore': [
    [EXIT.ok, 'unpacked'],
    [EXIT.failed, 'unpacking or decrypting failed'],
    [EXIT.usage, 'usage error: no --to, a folder that is not empty, not an archive, or not confirmed'],
  ],
  drive: GROUP('drive'),
  'drive prepare': [
    [EXIT.ok, 'the drive is prepared and closed again'],
    [EXIT.failed, 'refused (the disk is in use or not blank) or failed half way (the message says what was written)'],
    [EXIT.usage, 'usage error: a bad name or option, the name is in the config, a key file exists, or --wipe not confirmed'],
  ],
  'drive adopt': [
    [EXIT.ok, 'the identity is written'],
    [EXIT.failed, 'the target is missing or not mounted, or names another drive (without --force)'],
    USAGE,
  ],
  'drive claim': [
    [EXIT.ok, 'this installation owns the host folder now'],
    [EXIT.failed, 'the drive is not there, or is another drive'],
    USAGE,
  ],
  'drive retire': [
    [EXIT.ok, 'the drive is retired on this machine'],
    [EXIT.failed, 'its entry cannot be removed from the config, or the state folder cannot be written'],
    USAGE,
    [EXIT.busy, 'the lock is held (a backup, restore or archive runs): nothing was changed'],
  ],
  drives: [
    [EXIT.ok, 'the history is shown; with --check: no drive is overdue and none has a failed last run'],
    [EXIT.failed, 'the history (stateDir/ledger.json) cannot be read; with --check: some drive is overdue or its last run failed'],
    USAGE,
  ],
  'notify-failure': [
    [EXIT.ok, 'the mail went'],
    [EXIT.failed, 'it could not be sent yet: it waits in stateDir/outbox (the next plugback process sends it)'],
    [EXIT.usage, 'usage or config error, or no mail: section in the config'],
  ],
  mail: GROUP('mail'),
  'mail test': [
    [EXIT.ok, 'the server took the mail'],
    [EXIT.failed, 'it could not be sent (why is printed; it waits in stateDir/outbox)'],
    [EXIT.usage, 'usage or config error, or no mail: section in the config'],
  ],
  'mail flush': [
    [EXIT.ok, 'nothing is left waiting'],
    [EXIT.failed, 'some mail still waits (why is printed)'],
    [EXIT.usage, 'usage or config error, or no mail: section in the config'],
  ],
  'set-aside': [
    [EXIT.ok, 'listed (as set-aside list)'],
    [EXIT.failed, 'a folder could not be read'],
    USAGE,
  ],
  'set-aside list': [
    [EXIT.ok, 'listed (also when there are none)'],
    [EXIT.failed, 'a folder could not be read'],
    USAGE,
  ],
  'set-aside remove': [
    [EXIT.ok, 'removed (or nothing to remove; with --dry-run, listed)'],
    [EXIT.failed, 'something could not be removed (each is named), or the lock stayed taken'],
    [EXIT.usage, 'usage or config error, or neither --older-than nor --all'],
  ],
  led: GROUP('led'),
  'led list': [
    [EXIT.ok, 'listed (also when no stick is plugged in)'],
    [EXIT.failed, 'USB HID devices cannot be read'],
    [EXIT.usage, 'usage error'],
  ],
  'led show': [
    [EXIT.ok, 'shown'],
    [EXIT.failed, 'no BlinkStick found'],
    [EXIT.usage, 'usage or config error, or neither a state nor a colour'],
  ],
  'led off': [[EXIT.ok, 'off'], [EXIT.failed, 'no BlinkStick found'], USAGE],
  'led clear': [[EXIT.ok, 'the idle colour is shown'], [EXIT.failed, 'no BlinkStick found'], USAGE],
  daemon: [
    [EXIT.ok, 'stopped by SIGTERM or SIGINT, after its clean-up'],
    [EXIT.failed, 'it could not start, or stopped on a fatal error'],
    USAGE,
  ],
  status: [
    [EXIT.ok, 'the status is shown; also when no daemon runs with install.trigger: units'],
    [EXIT.failed, 'no daemon runs (install.trigger: daemon) or it cannot be reached; with --follow, the job failed or was cancelled'],
    [EXIT.usage, 'usage error'],
    [EXIT.warnings, 'with --follow: the job completed with warnings'],
  ],
  start: [
    [EXIT.ok, 'the backup started, or is queued behind the running one'],
    [EXIT.failed, 'no daemon runs, or it refused (not allowed, unknown drive, not plugged in)'],
    [EXIT.usage, 'usage error'],
  ],
  cancel: [
    [EXIT.ok, 'the running backup is being cancelled'],
    [EXIT.failed, 'no daemon runs, no backup runs, or not allowed'],
    [EXIT.usage, 'usage error'],
  ],
  config: GROUP('config'),
  'config check': [
    [EXIT.ok, 'the config is valid (a summary is printed)'],
    [EXIT.failed, 'an unexpected error'],
    [EXIT.usage, 'every problem is listed as FILE:LINE:COL: message'],
  ],
  'config init': [
    [EXIT.ok, 'the config is written (to --out, or printed)'],
    [EXIT.failed, 'FILE could not be written'],
    [EXIT.usage, 'usage error: no drive, no folder, a bad name or UUID, or FILE exists (without --force)'],
  ],
  'config schema': [[EXIT.ok, 'printed'], [EXIT.usage, 'usage error']],
  generate: [
    [EXIT.ok, 'printed or written; with --diff: nothing would change'],
    [EXIT.failed, 'with --diff: something would change; or plugback\'s templates are missing'],
    [EXIT.usage, 'usage or config error, a --bin that is not an executable, or a name systemd cannot take'],
  ],
  install: [
    [EXIT.ok, 'installed (or nothing to change)'],
    [EXIT.failed, 'not root on /, or a file, folder or the group could not be made'],
    [EXIT.usage, 'usage or config error, a bad --bin, or a crypttab line of yours that clashes'],
  ],
  uninstall: [
    [EXIT.ok, 'removed (or nothing was installed)'],
    [EXIT.failed, 'not root on /, or a file could not be removed'],
    [EXIT.usage, 'usage error'],
  ],
  demo: [
    [EXIT.ok, 'the demo ran through'],
    [EXIT.failed, 'a step failed'],
    [EXIT.usage, 'usage error (e.g. --size-mb not a positive number)'],
    [EXIT.warnings, 'a backup completed with warnings'],
  ],
  man: [[EXIT.ok, 'printed'], [EXIT.usage, 'usage error']],
  completion: [[EXIT.ok, 'printed'], [EXIT.usage, 'usage error, or a shell other than bash, zsh and fish']],
  'complete-names': [[EXIT.ok, 'the names printed (none when the config cannot be read)'], [EXIT.usage, 'usage error']],
  'smart-read': [
    [EXIT.ok, 'the reading is written (whatever it says, "unavailable" included)'],
    [EXIT.failed, 'it could not be written'],
    [EXIT.usage, 'usage error, or DISK is not the /dev path of a block device'],
  ],
};

/** The command's path below `plugback`: '' for plugback itself, 'archive restore' for a subcommand. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The "Exit status:" block for a command's --help, or undefined when the table has no entry for it. */
export function exitStatusText(command: Command): string | undefined {
  const codes = EXIT_STATUS[commandPath(command)];
  if (!codes) return undefined;
  return `\nExit status:\n${codes.map(([code, meaning]) => `  ${String(code).padEnd(4)}${meaning}`).join('\n')}`;
}

/** Adds the block to this command and every subcommand below it that the table knows. */
export function addExitStatus(command: Command): void {
  const text = exitStatusText(command);
  if (text) command.addHelpText('after', text);
  for (const sub of command.commands) addExitStatus(sub);
}
