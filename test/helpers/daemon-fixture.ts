// The daemon under test, as a user would run it: `node dist/main.js daemon` in its own process, on a private
// dbus-daemon where a separate peer process plays udisks2 and systemd1. Each LUKS "drive" is an ext4 image
// file that the peer announces as the cleartext device once its cryptsetup unit is started, so unlock, mount,
// rsync, unmount and power-off all run for real (through a loop device) without touching a host disk.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { adoptDrive } from '../../src/cli/drive-adopt.js';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { repoPaths } from '../../src/repo/layout.js';
import { startPrivateBus, type PrivateBus } from './private-bus.js';
import { startSystemPeer, type SystemPeer } from './system-peer-client.js';

const execFileP = promisify(execFile);
const MAIN = path.resolve('dist/main.js');
export const HOST = 'testhost';

export interface LogLine {
  level: number;
  msg: string;
  drive?: string;
  [key: string]: unknown;
}

export interface TestDrive {
  name: string;
  uuid: string;
  cryptName: string;
  image: string;
  mountPoint: string;
  keyFile: string;
}

export interface DaemonProcess {
  child: ChildProcessWithoutNullStreams;
  lines: LogLine[];
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

export class DaemonFixture {
  readonly source: string;
  readonly stateDir: string;
  readonly configFile: string;
  readonly drives = new Map<string, TestDrive>();
  /** Directory targets by name → path (the daemon backs them up only when asked through its API). */
  readonly directories = new Map<string, string>();
  bus!: PrivateBus;
  peer!: SystemPeer;
  daemon: DaemonProcess | undefined;
  private readonly inspectMounts = new Set<string>();

  private constructor(readonly root: string) {
    this.source = path.join(root, 'source');
    this.stateDir = path.join(root, 'state');
    this.configFile = path.join(root, 'plugback.yaml');
  }

  /** A temp dir with a source tree, the bus and the peer (with `peerEnv` added); drives are added with addDrive. */
  static async create(options: { udisks?: boolean; peerEnv?: Record<string, string> } = {}): Promise<DaemonFixture> {
    const f = new DaemonFixture(await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-daemon-')));
    await fs.mkdir(path.join(f.source, 'docs'), { recursive: true });
    await fs.writeFile(path.join(f.source, 'docs', 'letter.txt'), 'Dear plugback,\n');
    await fs.writeFile(path.join(f.source, 'photo.raw'), Buffer.alloc(256 * 1024, 7));
    f.bus = await startPrivateBus(path.join(f.root, 'bus'));
    f.peer = await startSystemPeer(f.bus, { udisks: options.udisks ?? true, ...(options.peerEnv ? { env: options.peerEnv } : {}) });
    return f;
  }

  /**
   * An ext4 (or btrfs) image adopted as drive `name`, known to the peer as a LUKS disk (not plugged in yet) with a
   * crypttab line unless `crypttab` is false.
   */
  async addDrive(name: string, options: { crypttab?: boolean; canPowerOff?: boolean; sizeMiB?: number; fs?: 'ext4' | 'btrfs' } = {}): Promise<TestDrive> {
    const drive: TestDrive = {
      name,
      uuid: randomUUID(),
      cryptName: `plugback-${name}`,
      image: path.join(this.root, `${name}.img`),
      mountPoint: path.join(this.root, 'mnt', name),
      keyFile: path.join(this.root, 'keys', `${name}.key`),
    };
    this.drives.set(name, drive);
    await fs.mkdir(path.dirname(drive.keyFile), { recursive: true });
    await fs.writeFile(drive.keyFile, 'not a real key: the peer plays systemd-cryptsetup', { mode: 0o600 });
    await fs.mkdir(drive.mountPoint, { recursive: true });
    const btrfs = options.fs === 'btrfs';
    // mkfs.btrfs wants about 110 MiB at least.
    await execFileP('truncate', ['-s', `${options.sizeMiB ?? (btrfs ? 128 : 64)}M`, drive.image]);
    await execFileP(btrfs ? 'mkfs.btrfs' : 'mkfs.ext4', ['-q', btrfs ? '-f' : '-F', drive.image]);
    await this.writeConfig();
    // Adopt it the way a user would: mounted at its mount point.
    await execFileP('mount', ['-o', 'loop', drive.image, drive.mountPoint]);
    try {
      const config = await loadConfig(this.configFile);
      const configured = config.drives.find((d) => d.name === name);
      if (!configured) throw new Error(`drive ${name} missing from the test config`);
      await adoptDrive(config, configured, false);
    } finally {
      await execFileP('umount', [drive.mountPoint]);
    }
    await this.peer.addDisk(diskId(name), drive.uuid, true, drive.image, options.canPowerOff ?? true);
    if (options.crypttab ?? true) await this.peer.setCrypttab(drive.cryptName, drive.uuid);
    await this.peer.addMountUnit(drive.mountPoint, drive.cryptName);
    return drive;
  }

  /** A directory target `name`, adopted. */
  async addDirectoryDrive(name: string): Promise<string> {
    const dir = path.join(this.root, 'targets', name);
    await fs.mkdir(dir, { recursive: true });
    this.directories.set(name, dir);
    await this.writeConfig();
    const config = await loadConfig(this.configFile);
    const configured = config.drives.find((d) => d.name === name);
    if (!configured) throw new Error(`drive ${name} missing from the test config`);
    await adoptDrive(config, configured, false);
    return dir;
  }

  /** Plugs the drive's disk into the peer (udisks2 announces it, its device unit turns active). */
  plug(name: string): Promise<void> {
    return this.peer.plug(diskId(name));
  }

  unplug(name: string): Promise<void> {
    return this.peer.unplug(diskId(name));
  }

  /** Pulled out, with udisks2's news `udisksDelayMs` after systemd's (the kernel's and udev's view). */
  unplugLate(name: string, udisksDelayMs: number): Promise<void> {
    return this.peer.unplugLate(diskId(name), udisksDelayMs);
  }

  /** udisks2 restarts, and the named drives are plugged in while it is down (no signal tells of them). */
  restartUdisks(plugged: string[]): Promise<void> {
    return this.peer.restartUdisks(plugged.map(diskId), []);
  }

  /** Writes the YAML config for the drives added so far; `extra` is merged at the top level. */
  async writeConfig(extra: Partial<ConfigInput> = {}): Promise<void> {
    const drives: ConfigInput['drives'] = {};
    for (const d of this.drives.values()) drives[d.name] = { uuid: d.uuid, keyFile: d.keyFile, cryptName: d.cryptName, mountPoint: d.mountPoint };
    for (const [name, dir] of this.directories) drives[name] = { path: dir };
    const doc: ConfigInput = {
      host: HOST,
      stateDir: this.stateDir,
      drives,
      states: { data: { folders: [this.source] } },
      backup: { lockFile: path.join(this.root, 'plugback.lock'), lockWait: '2s', verifySample: 2 },
      led: { enabled: false },
      daemon: { minInterval: '0s' },
      ...extra,
    };
    await fs.writeFile(this.configFile, stringify(doc));
  }

  /**
   * Starts `plugback daemon` and waits until it says it is ready; `env` is added to its environment. `wrapper`
   * prefixes the command (setpriv, to run it without a capability as its sandbox does).
   */
  async startDaemon(extraEnv: Record<string, string> = {}, wrapper: string[] = []): Promise<DaemonProcess> {
    // Not under systemd: no journal priority prefixes, no sd_notify (unless the test gives a NOTIFY_SOCKET).
    const { NOTIFY_SOCKET: _notify, JOURNAL_STREAM: _journal, ...env } = process.env;
    const argv = [...wrapper, process.execPath, MAIN, 'daemon', '--config', this.configFile, '--log-level', 'debug'];
    const child = spawn(argv[0] as string, argv.slice(1), {
      env: { ...env, DBUS_SYSTEM_BUS_ADDRESS: this.bus.address, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines: LogLine[] = [];
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (text.trim()) lines.push(parseLine(text));
      }
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    this.daemon = { child, lines, exited };
    await Promise.race([
      this.waitForLog(/plugback daemon ready/, undefined, 20_000),
      exited.then((code) => {
        throw new Error(`the daemon exited with ${code} before it was ready: ${stderr}${lines.map((l) => l.msg).join('\n')}`);
      }),
    ]);
    return this.daemon;
  }

  /** Waits for a log line whose message matches (and, if given, whose drive is `drive`); returns it. */
  async waitForLog(pattern: RegExp, drive?: string, timeoutMs = 30_000): Promise<LogLine> {
    const daemon = this.daemon;
    if (!daemon) throw new Error('no daemon running');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = daemon.lines.find((l) => pattern.test(l.msg) && (drive === undefined || l.drive === drive));
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no log line matching ${pattern} within ${timeoutMs / 1000}s; the daemon said:\n${daemon.lines.map((l) => `  ${l.msg}`).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  messages(): string[] {
    return this.daemon?.lines.map((l) => l.msg) ?? [];
  }

  /** Sends SIGTERM and waits for the exit code. */
  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const daemon = this.daemon;
    if (!daemon) return null;
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill(signal);
    return daemon.exited;
  }

  /** Mounts the drive's image read-only somewhere private to look at what the daemon left on it. */
  async inspect<T>(name: string, look: (repo: ReturnType<typeof repoPaths>, root: string) => Promise<T>): Promise<T> {
    const drive = this.drive(name);
    const dir = path.join(this.root, 'inspect', name);
    await fs.mkdir(dir, { recursive: true });
    await execFileP('mount', ['-o', 'loop,ro', drive.image, dir]);
    this.inspectMounts.add(dir);
    try {
      return await look(repoPaths(dir, HOST), dir);
    } finally {
      await execFileP('umount', [dir]);
      this.inspectMounts.delete(dir);
    }
  }

  drive(name: string): TestDrive {
    const drive = this.drives.get(name);
    if (!drive) throw new Error(`no test drive ${name}`);
    return drive;
  }

  /** Whether anything is mounted at the drive's mount point. */
  async isMounted(name: string): Promise<boolean> {
    const mountPoint = this.drive(name).mountPoint;
    const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
    return info.split('\n').some((line) => line.split(' ')[4] === mountPoint);
  }

  /** Stops everything this fixture started, by PID, unmounts what is left and removes the temp dir. */
  async cleanup(): Promise<void> {
    if (this.daemon && this.daemon.child.exitCode === null && this.daemon.child.signalCode === null) {
      this.daemon.child.kill('SIGKILL');
      await this.daemon.exited;
    }
    await this.peer?.stop().catch(() => undefined);
    await this.bus?.stop().catch(() => undefined);
    const mountPoints = [...this.inspectMounts, ...[...this.drives.values()].map((d) => d.mountPoint)];
    for (const dir of mountPoints) await execFileP('umount', ['-l', dir]).catch(() => undefined);
    await fs.rm(this.root, { recursive: true, force: true });
  }
}

/** The peer's disk id for a drive name (object path components allow no dash). */
export const diskId = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');

function parseLine(text: string): LogLine {
  try {
    return JSON.parse(text) as LogLine;
  } catch {
    return { level: 30, msg: text };
  }
}
