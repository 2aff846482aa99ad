// `plugback drive prepare|adopt|claim`: their options and help; the work is done by drive-prepare.ts,
// drive-adopt.ts and drive-claim.ts, loaded when the command runs.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { driveRoot } from '../config/model.js';
import { configFileOf, findDrive, loadConfigOrExit } from './common.js';

export function registerDrive(program: Command): void {
  const drive = program.command('drive').description('prepare backup drives');
  registerPrepare(drive);
  drive
    .command('adopt')
    .description('write plugback/drive.json onto the target of drive NAME (empty, or holding data already)')
    .argument('<name>', 'the drive, as named in the config')
    .option('--force', 'replace an identity that names another drive (the drive becomes NAME with a new id)')
    .addHelpText(
      'after',
      `
A LUKS drive must be unlocked and mounted at its mountPoint; a directory target must exist.
Example:
  plugback drive adopt offsite-a`,
    )
    .action(async (name: string, flags: { force?: boolean }, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const { adoptDrive } = await import('./drive-adopt.js');
      const identity = await adoptDrive(config, findDrive(config, name), flags.force ?? false);
      process.stdout.write(`${driveRoot(findDrive(config, name))} is drive "${identity.name}" (id ${identity.id})\n`);
    });
  drive
    .command('claim')
    .description("make this installation the owner of this host's folder on drive NAME (after a reinstall)")
    .argument('<name>', 'the drive, as named in the config')
    .addHelpText(
      'after',
      `
Each plugback installation has its own id (stateDir/installation-id), recorded in
<drive>/plugback/<host>/installation.json the first time it backs up there, and it prunes only
its own snapshots. A run refuses a host folder that belongs to another installation: two
machines with the same host name share the drive. If instead this machine was reinstalled (or
its stateDir lost) and it made those snapshots, claim the folder once. Do not claim the folder
of another machine: give this one its own \`host:\` in the config.
Example:
  plugback drive claim offsite-a`,
    )
    .action(async (name: string, _flags: unknown, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const { claimHostFolder } = await import('./drive-claim.js');
      process.stdout.write(`${await claimHostFolder(config, findDrive(config, name))}\n`);
    });
}

/** A whole number of at least `min`, for an option's value. */
const wholeNumber = (option: string, min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${option} takes a whole number, at least ${min} (not "${value}")`);
  return n;
};

function registerPrepare(drive: Command): void {
  drive
    .command('prepare')
    .description('turn a blank disk into LUKS drive NAME: GPT, LUKS2 with a new key file and a passphrase, a file system, the identity')
    .argument('<name>', 'the new drive\'s name (not in the config yet)')
    .argument('<device>', 'the whole disk, e.g. /dev/sdb (check with lsblk: everything on it is erased)')
    .addOption(new Option('--fs <kind>', 'the file system inside (docs/drives.md: Two kinds of snapshot)').choices(['ext4', 'btrfs']).default('ext4'))
    .option('--wipe', 'erase a disk that carries a partition table or file system (it shows the disk and asks first)')
    .option('--yes <serial>', "confirm --wipe without asking: the disk's serial (its path if it has none), as the question shows it")
    .option('--key-dir <dir>', 'where the key file NAME.key and the header backup NAME.luks-header go (0400)', '/etc/plugback/keys')
    .option('--passphrase-file <file>', 'the passphrase for the second key slot from FILE (one trailing newline dropped), instead of asking')
    .option('--kdf-memory <MiB>', "argon2id memory per key slot (default cryptsetup's: up to 1 GiB); less opens on small machines, but is cheaper to guess", wholeNumber('--kdf-memory', 8))
    .option('--kdf-time <ms>', 'how long opening takes with one key slot on this machine (default 2000); less is quicker, but cheaper to guess', wholeNumber('--kdf-time', 100))
    .option('--write-config', 'add the drive to the config file (keeping its comments) instead of printing its lines')
    .addHelpText(
      'after',
      `
Refused, with nothing changed: a partition or a disk that is mounted, is the system's disk, is named in
/etc/fstab or /etc/crypttab, or is held by a mapping; one that carries a partition table or file system
unless --wipe is given. With --wipe it shows the disk's model, serial and size and asks for NAME to be
typed back; --yes SERIAL confirms in a script. The disk is closed again at the end. If a step fails half
way, the message says what was written, and the same command with --wipe starts over.
Examples:
  plugback drive prepare offsite-a /dev/sdb
  plugback drive prepare offsite-b /dev/sdc --fs btrfs --wipe --write-config
  plugback drive prepare offsite-c /dev/sdd --wipe --yes WD-WX12A3456789 --passphrase-file /root/offsite-c.pass
Then: plugback install --write-crypttab`,
    )
    .action(async (name: string, device: string, flags: import('./drive-prepare.js').PrepareFlags, command: Command) => {
      const { prepareDrive } = await import('./drive-prepare.js');
      await prepareDrive(configFileOf(command), name, device, flags);
    });
  drive
    .command('retire')
    .description('stop using drive NAME on this machine, so a new drive can take its name; nothing on any drive changes')
    .argument('<name>', 'the drive, as named in the config')
    .addHelpText(
      'after',
      `
It removes drives.NAME from the config (keeping the rest and its comments), renames its key file and
LUKS header backup aside (NAME.key.retired-<time>: they still open the old drive), and moves this
machine's record of it (the adopted id, its history in the ledger) to stateDir/retired-drives.json,
so a new drive under the same name starts with a clean history. The old drive keeps its snapshots.
It takes the repository lock without waiting (exit 75 while a backup runs).
Replacing a dead drive, step by step: docs/drives.md, "Retiring a drive".
Example:
  plugback drive retire offsite-a
  plugback install --write-crypttab
  plugback drive prepare offsite-a /dev/sdc --write-config`,
    )
    .action(async (name: string, _flags: unknown, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const { retireDrive, retiredReport } = await import('./drive-retire.js');
      process.stdout.write(retiredReport(config, await retireDrive(config, findDrive(config, name))));
    });
}
