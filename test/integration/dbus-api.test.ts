// plugback's own D-Bus API, called by other processes (as root and as an unprivileged user) on a private bus,
// with a test polkit that allows and denies; `plugback status --follow` driven by a real job; readiness.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callApi, type CallOptions, type CallResult } from '../helpers/api-caller.js';
import { DaemonFixture } from '../helpers/daemon-fixture.js';
import { expectLines } from '../helpers/json-shapes.js';
import { startPolkitPeer, type PolkitPeer } from '../helpers/polkit-peer.js';
import { copyForUnprivileged, type UnprivilegedCopy } from '../helpers/unprivileged-copy.js';

const execFileP = promisify(execFile);
const MAIN = path.resolve('dist/main.js');
const IFACE = 'io.github.plugback.Daemon1';
const NOBODY = 65534;

let fixture: DaemonFixture | undefined;
let polkit: PolkitPeer | undefined;
// What uid 65534 runs (the CLI, the API-call helper, their packages), where it can read it even when the
// checkout is in a directory only root may enter.
let copy: UnprivilegedCopy;

beforeAll(async () => {
  copy = await copyForUnprivileged();
});

afterAll(async () => {
  await copy?.cleanup();
});

afterEach(async () => {
  polkit?.stop();
  polkit = undefined;
  await fixture?.cleanup();
  fixture = undefined;
});

/** One API call from a separate process, as root or as `uid`. */
function call(f: DaemonFixture, member: string, signature = '', args: unknown[] = [], options: CallOptions = {}): Promise<CallResult> {
  return callApi(copy, f.bus.address, member, signature, args, options);
}

/** `plugback ARGS` against the test bus, as root or as `uid`. */
function plugback(f: DaemonFixture, args: string[], uid?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [uid === undefined ? MAIN : copy.main, ...args], {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: f.bus.address },
      ...(uid !== undefined ? { uid, gid: uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A daemon with directory drive "home" (adopted) and LUKS drive "offsite-a" (not plugged in); the bus reachable by other users. */
async function setUp(options: { slow?: boolean; polkit?: boolean } = {}): Promise<DaemonFixture> {
  const f = await DaemonFixture.create();
  fixture = f;
  // An unprivileged caller must reach the bus socket through the fixture's folders.
  await fs.chmod(f.root, 0o755);
  await fs.chmod(path.join(f.root, 'bus'), 0o755);
  if (options.polkit ?? true) polkit = await startPolkitPeer(f.bus.address);
  await f.addDrive('offsite-a');
  await f.addDirectoryDrive('home');
  if (options.slow) {
    await fs.writeFile(path.join(f.source, 'big.bin'), Buffer.alloc(4 * 1024 * 1024, 1));
    await f.writeConfig({ backup: { lockFile: path.join(f.root, 'plugback.lock'), bandwidthLimit: '1MiB', verifySample: 0 } });
  }
  await f.startDaemon();
  return f;
}

describe('the D-Bus API', () => {
  it('describes itself and shows the state, the current job and every drive to anyone', async () => {
    const f = await setUp();
    const xml = await call(f, 'Introspect', '', [], { iface: 'org.freedesktop.DBus.Introspectable', uid: NOBODY });
    expect(xml.ok).toBe(true);
    for (const member of ['State', 'CurrentJob', 'Drives', 'Start', 'Cancel', 'ListSnapshots', 'DeleteSnapshot', 'StateChanged', 'Progress', 'JobFinished']) {
      expect(String(xml.body?.[0])).toContain(`name="${member}"`);
    }
    const all = await call(f, 'GetAll', 's', [IFACE], { iface: 'org.freedesktop.DBus.Properties', uid: NOBODY });
    const props = all.body?.[0] as { State: string; CurrentJob: object; Drives: Record<string, { Kind: string; Present: boolean }> };
    expect(props.State).toBe('idle');
    expect(props.CurrentJob).toEqual({});
    expect(props.Drives.home).toMatchObject({ Kind: 'directory', Present: true });
    expect(props.Drives['offsite-a']).toMatchObject({ Kind: 'luks', Present: false });
    const set = await call(f, 'Set', 'ssv', [IFACE, 'State', { $variant: ['s', 'idle'] }], { iface: 'org.freedesktop.DBus.Properties' });
    expect(set).toMatchObject({ ok: false, error: 'org.freedesktop.DBus.Error.PropertyReadOnly' });
  });

  it('runs a backup started by root, signalling StateChanged, Progress and JobFinished, and lists its snapshot', async () => {
    const f = await setUp({ slow: true });
    const watcher = spawn('dbus-monitor', ['--address', f.bus.address, `type='signal',interface='${IFACE}'`]);
    let monitored = '';
    watcher.stdout.on('data', (c: Buffer) => (monitored += c.toString()));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = await call(f, 'Start', 's', ['home']);
      expect(started).toEqual({ ok: true, body: ['started'] });
      await f.waitForLog(/backup of "home" finished/, 'home');
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      watcher.kill();
    }
    expect(monitored).toMatch(/member=StateChanged[\s\S]*string "working"/);
    expect(monitored).toMatch(/member=Progress[\s\S]*string "Percent"/);
    expect(monitored).toMatch(/member=JobFinished[\s\S]*string "Outcome"\s+variant\s+string "success"/);
    // At most two Progress signals a second: a four-second copy gives a handful, not one per rsync line.
    const progressSignals = monitored.match(/member=Progress/g)?.length ?? 0;
    expect(progressSignals).toBeGreaterThan(0);

    const listed = await call(f, 'ListSnapshots', 's', ['home'], { uid: NOBODY });
    expect(listed.ok).toBe(true);
    const snapshots = listed.body?.[0] as { Id: string; Bytes: number }[];
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]?.Bytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    const drives = (await call(f, 'Get', 'ss', [IFACE, 'Drives'], { iface: 'org.freedesktop.DBus.Properties' })).body?.[0] as Record<string, { LastSuccess?: string; SnapshotCount?: number }>;
    expect(drives.home?.LastSuccess).toBeDefined();
    expect(drives.home?.SnapshotCount).toBe(1);
  });

  it('refuses Start, Cancel and DeleteSnapshot to an unprivileged caller that polkit denies, naming the action', async () => {
    const f = await setUp();
    polkit?.allow([]);
    const start = await call(f, 'Start', 's', ['home'], { uid: NOBODY });
    expect(start).toMatchObject({ ok: false, error: `${IFACE}.Error.NotAuthorized` });
    expect(start.text).toContain('io.github.plugback.start');
    const cancel = await call(f, 'Cancel', '', [], { uid: NOBODY });
    expect(cancel.text).toContain('io.github.plugback.cancel');
    const del = await call(f, 'DeleteSnapshot', 'ss', ['home', 'x'], { uid: NOBODY });
    expect(del.text).toContain('io.github.plugback.delete-snapshot');
    expect(polkit?.questions.map((q) => q.action)).toEqual(['io.github.plugback.start', 'io.github.plugback.cancel', 'io.github.plugback.delete-snapshot']);
    expect(polkit?.questions.every((q) => q.subjectKind === 'system-bus-name' && q.busName.startsWith(':'))).toBe(true);
    expect(f.messages().some((m) => /requested by/.test(m))).toBe(false);

    // The CLI says the same, with exit 1.
    const cli = await plugback(f, ['start', 'home'], NOBODY);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/not authorized: polkit denied action io\.github\.plugback\.start/);
  });

  it('lets an unprivileged caller start a backup when polkit allows it', async () => {
    const f = await setUp();
    polkit?.allow(['io.github.plugback.start']);
    const cli = await plugback(f, ['start', 'home'], NOBODY);
    expect(cli.stdout).toContain('backup of "home" started');
    expect(cli.code).toBe(0);
    await f.waitForLog(/backup of "home" finished/, 'home');
  });

  it('without polkit on the system, lets only root change things', async () => {
    const f = await setUp({ polkit: false });
    const denied = await call(f, 'Start', 's', ['home'], { uid: NOBODY });
    expect(denied.text).toContain('needs root: polkit is not installed');
    const allowed = await call(f, 'Start', 's', ['home']);
    expect(allowed.ok).toBe(true);
  });

  it('cancels a running job: JobFinished says cancelled, the partial copy stays', async () => {
    const f = await setUp({ slow: true });
    await call(f, 'Start', 's', ['home']);
    await f.waitForLog(/^step sync$/, 'home');
    const cancelled = await plugback(f, ['cancel']);
    expect(cancelled.stdout).toContain('cancelling the backup of "home"');
    await f.waitForLog(/backup of "home" was cancelled during sync/, 'home');
    const names = await fs.readdir(path.join(f.directories.get('home') as string, 'plugback', 'testhost', 'snapshots'));
    expect(names.some((n) => n.endsWith('.incomplete'))).toBe(true);
    const nothing = await call(f, 'Cancel');
    expect(nothing).toMatchObject({ ok: false, text: 'no backup is running' });
  });

  it('deletes an older snapshot but never the newest', async () => {
    const f = await setUp();
    await call(f, 'Start', 's', ['home']);
    await f.waitForLog(/backup of "home" finished/, 'home');
    f.daemon!.lines.length = 0;
    await call(f, 'Start', 's', ['home']);
    await f.waitForLog(/backup of "home" finished/, 'home');
    const ids = ((await call(f, 'ListSnapshots', 's', ['home'])).body?.[0] as { Id: string }[]).map((s) => s.Id);
    expect(ids).toHaveLength(2);
    const newest = await call(f, 'DeleteSnapshot', 'ss', ['home', ids[1]]);
    expect(newest.text).toContain('is the newest snapshot');
    expect(await call(f, 'DeleteSnapshot', 'ss', ['home', ids[0]])).toEqual({ ok: true, body: [] });
    const left = ((await call(f, 'ListSnapshots', 's', ['home'])).body?.[0] as { Id: string }[]).map((s) => s.Id);
    expect(left).toEqual([ids[1]]);
    const luks = await call(f, 'ListSnapshots', 's', ['offsite-a']);
    expect(luks.text).toContain('drive "offsite-a" is not mounted');
  });

  it('plugback status --follow shows a job started with plugback start and exits with its result', async () => {
    const f = await setUp({ slow: true });
    const following = plugback(f, ['status', '--follow', '--json']);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const start = await plugback(f, ['start', 'home']);
    expect(start.code).toBe(0);
    const followed = await following;
    expect(followed.code).toBe(0);
    // Each line as docs/json.md documents it (docs/json/status-follow.schema.json).
    const events = expectLines<{ type: string; drive?: string; result?: { outcome: string } }>('status-follow', followed.stdout);
    expect(events.some((e) => e.type === 'progress' && e.drive === 'home')).toBe(true);
    expect(events.at(-1)).toMatchObject({ format: 1, type: 'result', result: { drive: 'home', outcome: 'success' } });

    const status = await plugback(f, ['status']);
    expect(status.stdout).toMatch(/plugback daemon: idle/);
    expect(status.stdout).toMatch(/home\s+directory\s+there\s+just now\s+1/);
    expect(status.stdout).toMatch(/offsite-a\s+luks\s+away\s+never/);
  });

  it('says the daemon is not running, and how to start it, when nobody owns the name', async () => {
    const f = await DaemonFixture.create();
    fixture = f;
    const status = await plugback(f, ['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('the plugback daemon is not running (start it with "systemctl start plugback"');
  });

  it('tells systemd it is ready only once its bus name is taken and the drives are scanned, and keeps STATUS= current', async () => {
    const f = await DaemonFixture.create();
    fixture = f;
    await f.addDrive('offsite-a');
    await f.plug('offsite-a');
    // A stand-in for systemd's notify socket: a datagram socket that prints each message it gets.
    const socket = path.join(f.root, 'notify.sock');
    const listener = spawn('python3', ['-u', '-c', NOTIFY_LISTENER, socket]);
    let received = '';
    listener.stdout.on('data', (c: Buffer) => (received += c.toString()));
    try {
      for (let i = 0; i < 50 && !(await fs.stat(socket).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
      let ownerAtReady: string | undefined;
      const readySeen = (async () => {
        while (!received.includes('READY=1')) await new Promise((r) => setTimeout(r, 20));
        const drives = await call(f, 'Get', 'ss', [IFACE, 'Drives'], { iface: 'org.freedesktop.DBus.Properties' });
        ownerAtReady = drives.ok ? JSON.stringify(drives.body) : undefined;
      })();
      await f.startDaemon({ NOTIFY_SOCKET: socket });
      await readySeen;
      // At READY=1 the API answered, and the drive plugged in before start was already known.
      expect(ownerAtReady).toContain('"Present":true');
      await f.waitForLog(/is done: safe to remove/, 'offsite-a');
      expect(await f.stopDaemon()).toBe(0);
    } finally {
      listener.kill();
    }
    expect(received).toMatch(/STATUS=waiting for drives \(offsite-a\)/);
    expect(received).toMatch(/STATUS=backing up "offsite-a"/);
    expect(received).toMatch(/STOPPING=1/);
  });
});

const NOTIFY_LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    print(s.recv(4096).decode().replace("\\n", " | "), flush=True)
`;
