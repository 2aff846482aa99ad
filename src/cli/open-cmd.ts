// `plugback open DRIVE [--rw] [--wait DURATION]` and `plugback close DRIVE`: a LUKS drive unlocked and mounted
// (read-only unless --rw) for browsing and restores, and closed again. When the daemon runs they go through its
// D-Bus API, so it knows the drive is open and starts no backup on it; without the daemon they work alone, through
// systemd as the daemon would (src/drives/open-drive.ts), and keep the same record for a daemon started later.
import type { Command } from 'commander';
import type { Config, LuksDrive } from '../config/model.js';
import { formatDuration, parseDuration } from '../config/units.js';
import { configFileOf, findDrive, loadConfigOrExit, UserError } from './common.js';
import { EXIT } from './exit-codes.js';

const DEFAULT_WAIT = '5m';

export function registerOpen(program: Command): void {
  program
    .command('open')
    .description('unlock and mount a LUKS drive read-only, to browse it and restore from it; no backup starts on it until `plugback close`')
    .argument('<drive>', 'the name of a LUKS drive in the config')
    .option('--rw', 'mount it read-write, for deliberate repairs (plugback forget, fsck afterwards); read-only by default')
    .option('--wait <duration>', 'how long the daemon waits for a drive that is not plugged in yet (e.g. 30s, 10m)', DEFAULT_WAIT)
    .addHelpText(
      'after',
      `
The drive is unlocked through its crypttab line and mounted at its mountPoint, as for a backup, then
made read-only. There, plugback snapshots, versions and restore find it. When the daemon runs, it asks
the daemon (polkit action io.github.plugback.open-drive); a drive that is not plugged in yet is waited
for, and that plug-in opens it instead of starting a backup. Without the daemon it works alone (as
root) on a drive that is plugged in.

Examples:
  plugback open offsite-a
  plugback versions offsite-a /srv/photos/2019/beach.jpg
  plugback restore offsite-a --snapshot 2026-10-03T091200Z --path /srv/photos/2019/beach.jpg --yes
  plugback close offsite-a`,
    )
    .action(async (name: string, flags: { rw?: boolean; wait: string }, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const drive = luksDrive(config, name);
      const waitMs = parseDuration(flags.wait);
      if (waitMs === undefined) throw new UserError(`--wait ${flags.wait}: not a duration (e.g. 30s, 5m)`, EXIT.usage);
      const mode = flags.rw ? 'read-write' : 'read-only';
      const mountPoint = await viaDaemon(
        async (client) => {
          const here = (await client.status()).drives.find((d) => d.name === name);
          if (here && !here.present && waitMs > 0) process.stderr.write(`plug drive "${name}" in now: the daemon opens it instead of backing it up (waiting up to ${formatDuration(waitMs)})\n`);
          return client.openDrive(name, mode === 'read-write', Math.round(waitMs / 1000));
        },
        () => openAlone(config, drive, mode),
      );
      process.stdout.write(
        `drive "${name}" is open ${mode} at ${mountPoint}\n` +
          `  see what it holds: plugback snapshots ${name}; plugback versions ${name} PATH\n` +
          `  get files back:    plugback restore ${name} --dry-run\n` +
          `  when done:         plugback close ${name}\n`,
      );
    });

  program
    .command('close')
    .description('unmount, lock and power off a drive opened with `plugback open`')
    .argument('<drive>', 'the name of a LUKS drive in the config')
    .addHelpText(
      'after',
      `
Refused while something still uses the mount (a shell inside it, a file open); the message names the
processes. Once it says "safe to remove", pull the drive out.

Example:
  plugback close offsite-a`,
    )
    .action(async (name: string, _flags: unknown, command: Command) => {
      const config = await loadConfigOrExit(configFileOf(command));
      const drive = luksDrive(config, name);
      const message = await viaDaemon((client) => client.closeDrive(name), () => closeAlone(config, drive));
      process.stdout.write(`${message}\n`);
    });
}

function luksDrive(config: Config, name: string): LuksDrive {
  const drive = findDrive(config, name);
  if (drive.kind !== 'luks') throw new UserError(`drive "${name}" is a directory target: it is always at ${drive.path}, there is nothing to open or close`, EXIT.usage);
  return drive;
}

/** Through the daemon when it runs, alone otherwise; the daemon's refusals are the user's errors (exit 1). */
async function viaDaemon<T>(withDaemon: (client: import('../api/client.js').DaemonClient) => Promise<T>, alone: () => Promise<T>): Promise<T> {
  const { DaemonClient, NoDaemonError } = await import('../api/client.js');
  let client;
  try {
    client = await DaemonClient.connect();
  } catch (error) {
    if (error instanceof NoDaemonError) return alone();
    throw error;
  }
  try {
    return await withDaemon(client);
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.failed);
  } finally {
    client.close();
  }
}

/** No daemon: systemd does the work, as for the daemon; the record tells a daemon started later. */
async function openAlone(config: Config, drive: LuksDrive, mode: 'read-only' | 'read-write'): Promise<string> {
  return withSystem(async ({ systemd }) => {
    const { uuidDeviceUnit } = await import('../units/escape.js');
    if ((await systemd.unitState(uuidDeviceUnit(drive.uuid))).activeState !== 'active') {
      throw new UserError(`drive "${drive.name}" is not plugged in (no disk with LUKS UUID ${drive.uuid}): plug it in and run this again`, EXIT.failed);
    }
    const { openDrive } = await import('../drives/open-drive.js');
    const { recordOpen } = await import('../drives/open-record.js');
    await openDrive(systemd, drive, mode).catch((error: Error) => {
      throw new UserError(`could not open drive "${drive.name}": ${error.message}`, EXIT.failed);
    });
    await recordOpen(config.stateDir, drive.name, mode, `uid ${process.getuid?.() ?? '?'} on the command line`);
    return drive.mountPoint;
  });
}

async function closeAlone(config: Config, drive: LuksDrive): Promise<string> {
  return withSystem(async ({ systemd, udisks }) => {
    const { closeDrive, closedMessage } = await import('../drives/open-drive.js');
    const { openRecordOf, recordClosed } = await import('../drives/open-record.js');
    const { mountedAt } = await import('../system/drive-mounts.js');
    if (!(await openRecordOf(config.stateDir, drive, systemd)) && !(await mountedAt(drive.mountPoint))) throw new UserError(`drive "${drive.name}" is not open`, EXIT.failed);
    const done = await closeDrive(systemd, drive, udisks).catch((error: Error) => {
      throw new UserError(`could not close drive "${drive.name}": ${error.message}`, EXIT.failed);
    });
    await recordClosed(config.stateDir, drive.name);
    return closedMessage(drive.name, done);
  });
}

type System = { systemd: import('../system/systemd1.js').Systemd1; udisks: import('../drives/udisks.js').UdisksClient | undefined };

async function withSystem<T>(work: (system: System) => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) throw new UserError('the plugback daemon is not running, and opening a drive without it needs root: run this with sudo, or start the daemon ("systemctl start plugback")', EXIT.failed);
  const { DbusConnection } = await import('../system/dbus.js');
  const { Systemd1 } = await import('../system/systemd1.js');
  const { UdisksClient } = await import('../drives/udisks.js');
  const dbus = await DbusConnection.system();
  try {
    const systemd = await Systemd1.connect(dbus);
    const udisks = await UdisksClient.connect(dbus, { blockAdded: () => undefined, blockRemoved: () => undefined, restarted: () => undefined });
    return await work({ systemd, udisks });
  } finally {
    dbus.close();
  }
}
