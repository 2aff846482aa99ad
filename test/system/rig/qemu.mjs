// One qemu guest: TCG (the host's /dev/kvm is a PVM flavour a stock kernel crawls under), q35, direct kernel boot,
// the cached root image under a throw-away qcow2 overlay, the per-run payload disk, a qemu-xhci controller for USB
// hot-plug, a QMP socket and the serial console in a file. stop() always kills qemu by its PID and removes the run
// folder (unless PLUGBACK_SYSTEM_KEEP=1); a SIGINT/SIGTERM of the test run does the same.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { run } from './proc.mjs';

const live = new Set();
const runDirs = new Set(); // removed on SIGINT/SIGTERM/SIGHUP of the test run
function killAll() {
  for (const vm of live) vm.killNow();
}
let handlersInstalled = false;
function installSignalHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      killAll();
      if (process.env.PLUGBACK_SYSTEM_KEEP !== '1') for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
      process.kill(process.pid, sig);
    });
  }
  process.once('exit', killAll);
}

export class Guest {
  // reuseOverlay: boot from the root overlay an earlier Guest in this runDir left (the power-cut test's next boot).
  // rootCache: the overlay's qemu cache mode; 'unsafe' drops the guest's flushes, so a test that kills qemu and boots
  // again needs 'writeback' (a flush reaches the host file; the host's page cache outlives qemu).
  constructor({ image, payload, runDir, log = console.log, reuseOverlay = false, rootCache = 'unsafe' }) {
    this.reuseOverlay = reuseOverlay;
    this.rootCache = rootCache;
    this.image = image;
    this.payload = payload;
    this.runDir = runDir;
    this.log = log;
    this.console = join(runDir, 'console.log');
    this.qmpPath = join(runDir, 'qmp.sock');
    this.overlay = join(runDir, 'root-overlay.qcow2');
    this.proc = undefined;
    this.pid = undefined;
    this.exited = false;
    this.exitPromise = undefined;
    this.qmp = undefined;
    this.consoleOffset = 0;
    this.markers = []; // { text, at }
    this.partial = '';
    this.plugged = new Map(); // id -> node name
  }

  async start() {
    installSignalHandlers();
    runDirs.add(this.runDir);
    if (!(this.reuseOverlay && existsSync(this.overlay))) await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', this.image.root, '-F', 'raw', this.overlay]);
    const args = [
      '-accel', 'tcg,thread=multi', '-cpu', 'max', '-machine', 'q35', '-smp', '2', '-m', '2048',
      '-kernel', this.image.kernel, '-initrd', this.image.initrd,
      '-append', 'root=/dev/vda rw console=ttyS0 quiet loglevel=1 systemd.show_status=false panic=-1 plugback.systemtest=1',
      '-drive', `file=${this.overlay},format=qcow2,if=virtio,cache=${this.rootCache}`,
      '-drive', `file=${this.payload},format=raw,if=virtio,cache=unsafe`,
      '-device', 'qemu-xhci,id=xhci',
      '-serial', `file:${this.console}`,
      '-qmp', `unix:${this.qmpPath},server=on,wait=off`,
      '-display', 'none', '-nodefaults', '-no-reboot',
    ];
    this.startedAt = Date.now();
    this.proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.pid = this.proc.pid;
    live.add(this);
    let stderr = '';
    this.proc.stderr.on('data', (d) => { stderr += d; });
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        live.delete(this);
        this.exitInfo = { code, signal, stderr };
        resolve(this.exitInfo);
      });
    });
    // A watchdog outside this process: if the test process dies without cleaning up (killed by the runner), it kills
    // this qemu by its PID and removes the run folder.
    const keep = process.env.PLUGBACK_SYSTEM_KEEP === '1';
    const watchdog = spawn('/bin/sh', ['-c',
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${this.pid} 2>/dev/null; do sleep 1; done; ` +
      `if kill -0 ${this.pid} 2>/dev/null; then kill -9 ${this.pid}; ${keep ? '' : `rm -rf '${this.runDir}'`}; fi`],
    { detached: true, stdio: 'ignore' });
    watchdog.unref();
    this.log(`system test: qemu started (pid ${this.pid}), console ${this.console}`);
    await this.connectQmp();
  }

  async connectQmp() {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.exited) throw new Error(`qemu exited at start: ${this.exitInfo.stderr}`);
      try {
        this.qmp = await QmpClient.connect(this.qmpPath);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  }

  /** New complete console lines since the last call, remembering `VMTEST: ` markers with their arrival time. */
  pollConsole() {
    if (!existsSync(this.console)) return;
    const size = statSync(this.console).size;
    if (size <= this.consoleOffset) return;
    const fd = openSync(this.console, 'r');
    const buf = Buffer.alloc(size - this.consoleOffset);
    readSync(fd, buf, 0, buf.length, this.consoleOffset);
    closeSync(fd);
    this.consoleOffset = size;
    const text = this.partial + buf.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const now = Date.now();
    for (const line of lines) {
      const i = line.indexOf('VMTEST: ');
      if (i >= 0) this.markers.push({ text: line.slice(i + 8).replace(/\r$/, '').trim(), at: now, taken: false });
    }
  }

  /** Waits for the next marker not yet taken; returns it (text, at). Fails with the console tail. */
  async nextMarker(timeoutMs, what = 'a marker') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.pollConsole();
      const m = this.markers.find((x) => !x.taken);
      if (m) {
        m.taken = true;
        return m;
      }
      if (this.exited) throw new Error(`qemu exited while waiting for ${what}\n${this.consoleTail()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${this.consoleTail()}`);
      await sleep(250);
    }
  }

  consoleTail(lines = 60) {
    try {
      return `--- console tail (${this.console}) ---\n${readFileSync(this.console, 'utf8').split('\n').slice(-lines).join('\n')}`;
    } catch {
      return '(no console output)';
    }
  }

  async plug(id, file, serial) {
    const node = `node-${id}`;
    await this.qmp.execute('blockdev-add', { driver: 'raw', 'node-name': node, file: { driver: 'file', filename: file } });
    await this.qmp.execute('device_add', { driver: 'usb-storage', id, drive: node, bus: 'xhci.0', serial, removable: true });
    this.plugged.set(id, node);
  }

  async unplug(id) {
    const node = this.plugged.get(id);
    if (!node) throw new Error(`${id} is not plugged in`);
    await this.qmp.execute('device_del', { id });
    // The block node can go only once the device has: wait for DEVICE_DELETED (or give it a few seconds).
    await this.qmp.waitEvent('DEVICE_DELETED', (e) => e.data?.device === id, 15_000).catch(() => undefined);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.qmp.execute('blockdev-del', { 'node-name': node });
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(500);
      }
    }
    this.plugged.delete(id);
  }

  async waitExit(timeoutMs) {
    return Promise.race([this.exitPromise, sleep(timeoutMs).then(() => undefined)]);
  }

  killNow() {
    if (this.pid && !this.exited) {
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  /** Always: qemu killed by PID if still there, the QMP socket closed, the run folder removed. */
  async stop({ keep = process.env.PLUGBACK_SYSTEM_KEEP === '1' } = {}) {
    try { this.qmp?.close(); } catch { /* ignore */ }
    if (this.pid && !this.exited) {
      this.killNow();
      await this.waitExit(10_000);
    }
    live.delete(this);
    if (!keep) {
      rmSync(this.runDir, { recursive: true, force: true });
      runDirs.delete(this.runDir);
    }
  }
}

class QmpClient {
  static connect(path) {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const client = new QmpClient(sock);
      sock.once('error', reject);
      client.onGreeting = async () => {
        try {
          await client.execute('qmp_capabilities');
          sock.off('error', reject);
          sock.on('error', () => undefined);
          resolve(client);
        } catch (error) {
          reject(error);
        }
      };
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buffer = '';
    this.pending = [];
    this.events = [];
    this.eventWaiters = [];
    sock.setEncoding('utf8');
    sock.on('data', (d) => this.onData(d));
  }

  onData(data) {
    this.buffer += data;
    let i;
    while ((i = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, i).trim();
      this.buffer = this.buffer.slice(i + 1);
      if (!line) continue;
      const msg = JSON.parse(line);
      if (msg.QMP) this.onGreeting?.();
      else if (msg.event) {
        const w = this.eventWaiters.find((x) => x.match(msg));
        if (w) {
          this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1);
          w.resolve(msg);
        } else this.events.push(msg);
      } else if ('return' in msg || 'error' in msg) {
        const p = this.pending.shift();
        if (!p) continue;
        if (msg.error) p.reject(new Error(`QMP ${p.command}: ${msg.error.class}: ${msg.error.desc}`));
        else p.resolve(msg.return);
      }
    }
  }

  execute(command, args) {
    return new Promise((resolve, reject) => {
      this.pending.push({ command, resolve, reject });
      this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  waitEvent(name, match, timeoutMs) {
    const seen = this.events.find((e) => e.event === name && match(e));
    if (seen) {
      this.events.splice(this.events.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const w = { match: (e) => e.event === name && match(e), resolve };
      this.eventWaiters.push(w);
      setTimeout(() => {
        const k = this.eventWaiters.indexOf(w);
        if (k >= 0) { this.eventWaiters.splice(k, 1); reject(new Error(`no QMP event ${name}`)); }
      }, timeoutMs);
    });
  }

  close() {
    this.sock.destroy();
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
