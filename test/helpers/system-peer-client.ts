// Starts test/helpers/system-peer.mjs (a fake udisks2 + systemd1 in its own process) on a private bus and
// drives it through its control interface org.plugback.Test.Peer. Control calls answer only after every signal
// the change causes has been sent, so a client that listens on the same bus has them by the time a call resolves.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import dbus, { Message, type MessageBus } from 'dbus-next';
import type { PrivateBus } from './private-bus.js';
import { trackChild } from './processes.js';

const { MessageType } = dbus;

export const PEER_SCRIPT = fileURLToPath(new URL('./system-peer.mjs', import.meta.url));
export const PEER_NAME = 'org.plugback.Test.Peer';
export const PEER_PATH = '/org/plugback/Test/Peer';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export type UnlockResult = 'done' | 'failed' | 'timeout';

/** One method call the peer received on its udisks2/systemd1 objects. */
export interface PeerCall {
  iface: string;
  member: string;
  path: string;
  /** JSON-safe: bigint as a decimal string, `ay` as text without the NUL, Variants as their values. */
  args: unknown[];
}

export interface SystemPeer {
  pid: number;
  /**
   * Registers a disk (not plugged yet). `id` is [A-Za-z0-9_]+ (`sdb`): the drive is
   * /org/freedesktop/UDisks2/drives/<id>, its block .../block_devices/<id>1. `uuid` is the IdUUID of the LUKS
   * container, or of the ext4 filesystem when `luks` is false. `cleartextPath` (LUKS only) is what the cleartext
   * block's Device points at once unlocked: in tests a real ext4 image file.
   */
  addDisk(id: string, uuid: string, luks: boolean, cleartextPath?: string, canPowerOff?: boolean): Promise<void>;
  plug(id: string): Promise<void>;
  unplug(id: string): Promise<void>;
  /** Pulled out: systemd's device unit goes at once, udisks2's objects `udisksDelayMs` later. */
  unplugLate(id: string, udisksDelayMs: number): Promise<void>;
  /** udisks2 restarts: its name is released, the disks plugged in and pulled out without a signal, the name taken again. */
  restartUdisks(plug: string[], unplug: string[]): Promise<void>;
  /** Declares the crypttab entry `cryptName UUID=<uuid>`: systemd-cryptsetup@<cryptName>.service becomes loadable. */
  setCrypttab(cryptName: string, uuid: string): Promise<void>;
  /** Declares the drive's .mount unit for `where` (What=/dev/mapper/<cryptName>): it mounts that disk's cleartext. */
  addMountUnit(where: string, cryptName: string): Promise<void>;
  setUnlockResult(cryptName: string, result: UnlockResult): Promise<void>;
  /** When on, start/stop jobs complete (JobRemoved) before the StartUnit/StopUnit reply is sent. */
  setJobRemovedBeforeReply(on: boolean): Promise<void>;
  /** When on, PowerOff takes the disk away (InterfacesRemoved, the device unit inactive) before its reply. */
  setPowerOffRemovesFirst(on: boolean): Promise<void>;
  /**
   * Starts/stops a unit as something outside the code under test would (e.g. a mapping left open by an earlier
   * run): the job runs with all its signals and has finished when this resolves. Not recorded in calls().
   * Resolves with the JobRemoved result ('done', 'failed', …; 'waiting' for a start job on an absent device).
   */
  startUnit(unit: string): Promise<string>;
  stopUnit(unit: string): Promise<string>;
  calls(): Promise<PeerCall[]>;
  activeState(unit: string): Promise<string>;
  /** Stderr of the peer so far (debug output with PLUGBACK_PEER_DEBUG=1, and crashes). */
  stderr(): string;
  /** Disconnects the control connection, kills the peer by PID and waits for it to exit. */
  stop(): Promise<void>;
}

// Names and paths as systemd makes them (platform-facts §3 and §4), for assertions.

/** systemd `unit_name_escape` (what `systemd-escape` does to a string). */
export function systemdEscape(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  bytes.forEach((b, i) => {
    const c = String.fromCharCode(b);
    if (i === 0 && c === '.') out += '\\x2e';
    else if (c === '/') out += '-';
    else if (b < 128 && /[0-9A-Za-z:_.]/.test(c)) out += c;
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  });
  return out;
}

/** `dev-disk-by\x2duuid-<uuid, - as \x2d>.device`. */
export const deviceUnitName = (uuid: string): string => `dev-disk-by\\x2duuid-${systemdEscape(uuid)}.device`;
/** `systemd-cryptsetup@<escaped cryptName>.service`. */
export const cryptsetupUnitName = (cryptName: string): string => `systemd-cryptsetup@${systemdEscape(cryptName)}.service`;

/** The unit's object path: systemd `bus_label_escape` under /org/freedesktop/systemd1/unit. */
export function unitObjectPath(unit: string): string {
  if (unit === '') return '/org/freedesktop/systemd1/unit/_';
  const bytes = Buffer.from(unit, 'utf8');
  let out = '';
  bytes.forEach((b, i) => {
    const c = String.fromCharCode(b);
    if (b < 128 && (/[A-Za-z]/.test(c) || (i > 0 && /[0-9]/.test(c)))) out += c;
    else out += `_${b.toString(16).padStart(2, '0')}`;
  });
  return `/org/freedesktop/systemd1/unit/${out}`;
}

export const udisksDrivePath = (id: string): string => `/org/freedesktop/UDisks2/drives/${id}`;
export const udisksBlockPath = (id: string): string => `/org/freedesktop/UDisks2/block_devices/${id}1`;

function isPeerCall(value: unknown): value is PeerCall {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.iface === 'string' && typeof v.member === 'string' && typeof v.path === 'string' && Array.isArray(v.args);
}

async function connect(address: string): Promise<MessageBus> {
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))));
  });
  // Without a listener an 'error' (e.g. the bus going away first) would crash the test process.
  bus.on('error', () => undefined);
  return bus;
}

/** Spawns the peer on `bus`, waits for its `ready`, and connects a control client. */
/** `env` is added to the peer's environment, and so to the programs its units run (PATH for a smartctl stand-in). */
export async function startSystemPeer(bus: PrivateBus, opts: { udisks?: boolean; env?: Record<string, string> } = {}): Promise<SystemPeer> {
  const args = [PEER_SCRIPT, '--address', bus.address];
  if (opts.udisks === false) args.push('--no-udisks');
  // stdin stays open: the peer exits when it closes, so a crashed test process leaves no peer behind.
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const { kill, exited, release, stderr: peerStderr } = trackChild(child);

  const waitExit = async () => {
    const timer = setTimeout(() => kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    release();
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`system peer not ready within ${START_TIMEOUT_MS} ms: ${peerStderr()}`)), START_TIMEOUT_MS);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.split('\n').includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`system peer exited (${signal ?? code}) before it was ready: ${peerStderr()}`));
      });
    });
  } catch (error) {
    kill('SIGTERM');
    await waitExit();
    throw error;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('system peer has no PID');

  let control: MessageBus;
  try {
    control = await connect(bus.address);
  } catch (error) {
    kill('SIGTERM');
    await waitExit();
    throw error;
  }

  const call = async (member: string, signature = '', body: unknown[] = []): Promise<unknown[]> => {
    const reply = await control.call(
      new Message({ type: MessageType.METHOD_CALL, destination: PEER_NAME, path: PEER_PATH, interface: PEER_NAME, member, signature, body }),
    );
    const replyBody: unknown = reply?.body;
    return Array.isArray(replyBody) ? (replyBody as unknown[]) : [];
  };
  const callString = async (member: string, signature = '', body: unknown[] = []): Promise<string> => {
    const [value] = await call(member, signature, body);
    if (typeof value !== 'string') throw new Error(`${PEER_NAME}.${member} returned ${typeof value}, not a string`);
    return value;
  };

  let stopping: Promise<void> | undefined;
  return {
    pid,
    async addDisk(id, uuid, luks, cleartextPath = '', canPowerOff = false) {
      await call('AddDisk', 'ssbsb', [id, uuid, luks, cleartextPath, canPowerOff]);
    },
    async plug(id) {
      await call('Plug', 's', [id]);
    },
    async unplug(id) {
      await call('Unplug', 's', [id]);
    },
    async unplugLate(id, udisksDelayMs) {
      await call('UnplugLate', 'su', [id, udisksDelayMs]);
    },
    async restartUdisks(plug, unplug) {
      await call('RestartUdisks', 'asas', [plug, unplug]);
    },
    async setCrypttab(cryptName, uuid) {
      await call('SetCrypttab', 'ss', [cryptName, uuid]);
    },
    async addMountUnit(where, cryptName) {
      await call('AddMountUnit', 'ss', [where, cryptName]);
    },
    async setUnlockResult(cryptName, result) {
      await call('SetUnlockResult', 'ss', [cryptName, result]);
    },
    async setPowerOffRemovesFirst(on) {
      await call('SetPowerOffRemovesFirst', 'b', [on]);
    },
    async setJobRemovedBeforeReply(on) {
      await call('SetJobRemovedBeforeReply', 'b', [on]);
    },
    startUnit(unit) {
      return callString('StartUnit', 's', [unit]);
    },
    stopUnit(unit) {
      return callString('StopUnit', 's', [unit]);
    },
    async calls() {
      const parsed: unknown = JSON.parse(await callString('Calls'));
      if (!Array.isArray(parsed) || !parsed.every(isPeerCall)) throw new Error('system peer returned a malformed call log');
      return parsed;
    },
    activeState(unit) {
      return callString('ActiveState', 's', [unit]);
    },
    stderr: peerStderr,
    stop() {
      stopping ??= (async () => {
        control.disconnect();
        kill('SIGTERM');
        await waitExit();
      })();
      return stopping;
    },
  };
}
