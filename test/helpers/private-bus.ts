// A private dbus-daemon for integration tests: its own config (permissive policy, EXTERNAL auth, a socket on a
// path because dbus-next cannot reach abstract sockets), started in the foreground and stopped by PID. Point the
// code under test at it with DBUS_SYSTEM_BUS_ADDRESS=<address>.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { trackChild } from './processes.js';

export const DBUS_DAEMON = '/usr/bin/dbus-daemon';

export interface PrivateBus {
  /** The address dbus-daemon printed, e.g. `unix:path=/tmp/plugback-bus-XXXX/bus.sock,guid=…`. */
  address: string;
  pid: number;
  /** Kills the daemon by PID, waits for it to exit and removes its directory (if the helper created it). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
/** sun_path is 108 bytes including the NUL. */
const MAX_SOCKET_PATH = 107;

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function busConfig(socket: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>plugback-test</type>
  <listen>unix:path=${xmlText(socket)}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`;
}

/**
 * Starts `dbus-daemon --nofork` listening on `<dir>/bus.sock` and resolves once it has printed its address.
 * Without `dir`, a fresh temporary directory is made (and removed by stop()).
 */
export async function startPrivateBus(dir?: string): Promise<PrivateBus> {
  const ownDir = dir === undefined;
  const base = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-bus-')));
  await fs.mkdir(base, { recursive: true });
  const socket = path.join(path.resolve(base), 'bus.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) throw new Error(`bus socket path too long for AF_UNIX: ${socket}`);
  await fs.rm(socket, { force: true });
  const configFile = path.join(base, 'bus.conf');
  await fs.writeFile(configFile, busConfig(socket));

  const child = spawn(DBUS_DAEMON, ['--nofork', '--print-address=1', `--config-file=${configFile}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Killed by PID when the test process exits without calling stop(): no stray daemons.
  const tracked = trackChild(child);

  const cleanup = async () => {
    tracked.kill('SIGKILL');
    await tracked.exited;
    tracked.release();
    if (ownDir) await fs.rm(base, { recursive: true, force: true });
  };

  let address: string;
  try {
    address = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`dbus-daemon printed no address within ${START_TIMEOUT_MS} ms: ${tracked.stderr()}`)), START_TIMEOUT_MS);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const newline = stdout.indexOf('\n');
        if (newline >= 0) {
          clearTimeout(timer);
          resolve(stdout.slice(0, newline).trim());
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${DBUS_DAEMON}: ${error.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`dbus-daemon exited (${signal ?? code}) before printing its address: ${tracked.stderr()}`));
      });
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('dbus-daemon has no PID');

  let stopping: Promise<void> | undefined;
  return {
    address,
    pid,
    stop() {
      stopping ??= (async () => {
        tracked.kill('SIGTERM');
        const timer = setTimeout(() => tracked.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await tracked.exited;
        clearTimeout(timer);
        await cleanup();
      })();
      return stopping;
    },
  };
}
