// The archive export of the D-Bus API (CreateArchive, ArchiveStatus, CancelArchive, ListArchives, DeleteArchive
// and their signals), called from other processes on a private bus with a test polkit, through the real daemon,
// the real archive pipeline and a snapshot made by the real backup job.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callApi, type CallResult } from '../helpers/api-caller.js';
import { DaemonFixture } from '../helpers/daemon-fixture.js';
import { startPolkitPeer, type PolkitPeer } from '../helpers/polkit-peer.js';
import { copyForUnprivileged, type UnprivilegedCopy } from '../helpers/unprivileged-copy.js';

const execFileP = promisify(execFile);
const IFACE = 'io.github.plugback.Daemon1';
const ACTION = 'io.github.plugback.archive';
const NOBODY = 65534;

let fixture: DaemonFixture | undefined;
let polkit: PolkitPeer | undefined;
let monitor: ChildProcessWithoutNullStreams | undefined;
let copy: UnprivilegedCopy;

beforeAll(async () => {
  copy = await copyForUnprivileged();
});

afterAll(async () => {
  await copy?.cleanup();
});

afterEach(async () => {
  if (monitor?.pid !== undefined && monitor.exitCode === null) process.kill(monitor.pid, 'SIGKILL');
  monitor = undefined;
  polkit?.stop();
  polkit = undefined;
  await fixture?.cleanup();
  fixture = undefined;
});

interface Status {
  Id: string;
  State: string;
  Bytes: number;
  File?: string;
  Error?: string;
}

function call(f: DaemonFixture, member: string, signature = '', args: unknown[] = [], uid?: number): Promise<CallResult> {
  return callApi(copy, f.bus.address, member, signature, args, uid === undefined ? {} : { uid });
}

const createArchive = (f: DaemonFixture, options: Record<string, [string, unknown]> = {}, uid?: number) =>
  call(f, 'CreateArchive', 'ssa{sv}', ['home', 'latest', Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { $variant: v }]))], uid);

const statusOf = async (f: DaemonFixture, id: string): Promise<Status> => (await call(f, 'ArchiveStatus', 's', [id])).body?.[0] as Status;

/** A daemon with directory drive "home" holding one snapshot made by a real backup; polkit allows `allowed`. */
async function setUp(options: { allowed?: string[]; bigFile?: boolean } = {}): Promise<DaemonFixture> {
  const f = await DaemonFixture.create();
  fixture = f;
  await fs.chmod(f.root, 0o755);
  await fs.chmod(path.join(f.root, 'bus'), 0o755);
  polkit = await startPolkitPeer(f.bus.address);
  polkit.allow(options.allowed ?? []);
  await f.addDirectoryDrive('home');
  // Incompressible, so the archive is as big as the data and the bandwidth limit makes it slow.
  if (options.bigFile) await fs.writeFile(path.join(f.source, 'random.bin'), randomBytes(4 * 1024 * 1024));
  await f.startDaemon();
  expect(await call(f, 'Start', 's', ['home'])).toEqual({ ok: true, body: ['started'] });
  await f.waitForLog(/backup of "home" finished/, 'home');
  return f;
}

/** Signals of our interface as dbus-monitor prints them, collected from now on. */
async function watchSignals(f: DaemonFixture): Promise<() => string> {
  const child = spawn('dbus-monitor', ['--address', f.bus.address, `type='signal',interface='${IFACE}'`]);
  monitor = child;
  let seen = '';
  child.stdout.on('data', (c: Buffer) => (seen += c.toString()));
  // dbus-monitor prints NameLost for its own name once it has become a monitor: from then on it sees everything.
  while (!seen.includes('member=NameLost')) {
    if (child.exitCode !== null) throw new Error(`dbus-monitor exited (${child.exitCode}) before it listened`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return () => seen;
}

const archiveFolder = (f: DaemonFixture) => path.join(f.stateDir, 'archives');

describe('the archive export over D-Bus', () => {
  it('makes an archive for a caller polkit allows: done with its File, given to the caller, signalled, listed, opens with zstd and tar', async () => {
    const f = await setUp({ allowed: [ACTION] });
    const signals = await watchSignals(f);
    const created = await createArchive(f, { Compression: ['s', 'zstd'], Naming: ['s', 'dated'] }, NOBODY);
    expect(created.ok, created.text).toBe(true);
    const id = String(created.body?.[0]);
    await f.waitForLog(new RegExp(`archive ${id} of snapshot .* written`), 'home');
    const status = await statusOf(f, id);
    expect(status).toMatchObject({ Id: id, State: 'done' });
    const file = status.File as string;
    expect(path.dirname(file)).toBe(archiveFolder(f));
    expect(path.basename(file)).toMatch(/^testhost-\d{4}-\d\d-\d\dT\d{6}Z\.tar\.zst$/);
    const st = await fs.stat(file);
    expect(status.Bytes).toBe(st.size);
    expect(st.uid).toBe(NOBODY);
    expect(polkit?.questions.map((q) => q.action)).toEqual([ACTION]);

    const { stdout } = await execFileP('sh', ['-c', 'zstd -q -d -c "$1" | tar -t', 'sh', file]);
    expect(stdout).toContain('photo.raw');
    expect(stdout).toContain('letter.txt');

    // Signals come after the method's reply; ArchiveFinished is sent before the "written" log line is read.
    while (!signals().includes('member=ArchiveFinished')) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(signals()).toMatch(new RegExp(`member=ArchiveProgress[\\s\\S]*string "${id}"\\s+uint64 \\d+`));
    expect(signals()).toMatch(new RegExp(`member=ArchiveFinished[\\s\\S]*string "${id}"[\\s\\S]*string "File"\\s+variant\\s+string "${file}"`));

    const listed = await call(f, 'ListArchives', '', [], NOBODY);
    expect(listed.body?.[0]).toEqual([expect.objectContaining({ Name: path.basename(file), Size: st.size, Kind: 'dated', Encrypted: false })]);
  });

  it('encrypts with a root-owned passphrase file (called with busctl as the docs do), refuses one another user owns, and reports a failed archive', async () => {
    const f = await setUp();
    const pass = path.join(f.root, 'archive.pass');
    await fs.writeFile(pass, 'correct horse battery staple\n', { mode: 0o600 });
    await fs.chown(pass, NOBODY, NOBODY);
    const foreign = await createArchive(f, { PassphraseFile: ['s', pass] });
    expect(foreign).toMatchObject({ ok: false, error: `${IFACE}.Error.Failed` });
    expect(foreign.text).toContain(`the passphrase file ${pass} belongs to uid ${NOBODY}, not root`);
    const relative = await createArchive(f, { PassphraseFile: ['s', 'archive.pass'] });
    expect(relative.text).toContain('PassphraseFile must be an absolute path');
    await fs.chown(pass, 0, 0);

    // As docs/dbus-api.md does it, with busctl.
    const busctl = (...args: string[]) => execFileP('busctl', [`--address=${f.bus.address}`, 'call', IFACE, '/io/github/plugback/Daemon1', IFACE, ...args]);
    const reply = await busctl('CreateArchive', 'ssa{sv}', 'home', 'latest', '2', 'PassphraseFile', 's', pass, 'Compression', 's', 'gzip');
    const id = reply.stdout.split('"')[1] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await f.waitForLog(new RegExp(`archive ${id} of snapshot .* written`), 'home');
    const file = (await statusOf(f, id)).File as string;
    expect(file).toMatch(/\.tar\.gz\.gpg$/);
    const home = await fs.mkdtemp(path.join(f.root, 'gnupg-'));
    const { stdout } = await execFileP('sh', ['-c', 'gpg --homedir "$1" --batch --quiet --pinentry-mode loopback --passphrase-file "$2" -d "$3" | gzip -d | tar -t', 'sh', home, pass, file]);
    expect(stdout).toContain('letter.txt');
    expect((await busctl('ArchiveStatus', 's', id)).stdout).toContain('"State" s "done"');

    // A failure is told in ArchiveStatus and ArchiveFinished, not in CreateArchive's reply (it has returned).
    const nope = String((await call(f, 'CreateArchive', 'ssa{sv}', ['home', 'nope', {}])).body?.[0]);
    await f.waitForLog(new RegExp(`archive ${nope} of drive "home" failed`), 'home');
    const failed = await statusOf(f, nope);
    expect(failed.State).toBe('failed');
    expect(failed.Error).toContain('there is no snapshot "nope" on drive "home"');
  });

  it('refuses CreateArchive, CancelArchive and DeleteArchive to a caller polkit denies, and creates nothing', async () => {
    const f = await setUp();
    const create = await createArchive(f, {}, NOBODY);
    expect(create).toMatchObject({ ok: false, error: `${IFACE}.Error.NotAuthorized` });
    expect(create.text).toContain(`not authorized: polkit denied action ${ACTION} to uid ${NOBODY}`);
    expect((await call(f, 'CancelArchive', 's', ['x'], NOBODY)).error).toBe(`${IFACE}.Error.NotAuthorized`);
    expect((await call(f, 'DeleteArchive', 's', ['testhost-0.tar.zst'], NOBODY)).error).toBe(`${IFACE}.Error.NotAuthorized`);
    expect(polkit?.questions.map((q) => q.action)).toEqual([ACTION, ACTION, ACTION]);
    expect(await call(f, 'ListArchives', '', [], NOBODY)).toEqual({ ok: true, body: [[]] });
    expect(await fs.readdir(archiveFolder(f)).catch(() => [])).toEqual([]);
    expect(f.messages().some((m) => /^archive /.test(m))).toBe(false);
    // The method table answers only its own names, not what every object inherits.
    for (const member of ['toString', 'constructor']) expect((await call(f, member, '', [], NOBODY)).error).toBe('org.freedesktop.DBus.Error.UnknownMethod');
  });

  it('refuses a second archive while one runs, cancels the first mid-way leaving no file, and refuses while the drive is backed up', async () => {
    const f = await setUp({ bigFile: true });
    await f.writeConfig({ backup: { lockFile: path.join(f.root, 'plugback.lock'), lockWait: '2s', verifySample: 0, bandwidthLimit: '256KiB' } });
    await f.waitForLog(/config reloaded/);
    const signals = await watchSignals(f);
    const created = await createArchive(f);
    expect(created.ok, created.text).toBe(true);
    const id = String(created.body?.[0]);
    while (!signals().includes('member=ArchiveProgress')) await new Promise((resolve) => setTimeout(resolve, 50));

    const second = await createArchive(f);
    expect(second).toMatchObject({ ok: false, error: `${IFACE}.Error.Failed` });
    expect(second.text).toContain(`archive ${id} is being made right now; one archive at a time`);
    expect((await statusOf(f, id)).State).toBe('running');

    expect(await call(f, 'CancelArchive', 's', [id])).toEqual({ ok: true, body: [] });
    await f.waitForLog(new RegExp(`archive ${id} of drive "home" was cancelled`), 'home');
    const status = await statusOf(f, id);
    expect(status.State).toBe('cancelled');
    expect(status.File).toBeUndefined();
    expect(status.Error).toBeUndefined();
    expect(await fs.readdir(archiveFolder(f))).toEqual([]);
    expect((await call(f, 'CancelArchive', 's', [id])).text).toContain(`archive ${id} is not running (it is cancelled)`);

    // A backup of the drive (new data, slowed down by the same limit) keeps archives of it out until it ends.
    await fs.writeFile(path.join(f.source, 'random.bin'), randomBytes(4 * 1024 * 1024));
    expect((await call(f, 'Start', 's', ['home'])).ok).toBe(true);
    await f.waitForLog(/^step sync$/, 'home');
    const busy = await createArchive(f);
    expect(busy).toMatchObject({ ok: false, error: `${IFACE}.Error.Failed` });
    expect(busy.text).toContain('drive "home" is being backed up right now');
    await call(f, 'Cancel');
    await f.waitForLog(/backup of "home" was cancelled/, 'home');
  });

  it('refuses CreateArchive at once while another process holds the repository lock, naming it; an archive holding it makes a backup wait', async () => {
    const f = await setUp({ allowed: [ACTION], bigFile: true });
    const lockFile = path.join(f.root, 'plugback.lock');
    await f.writeConfig({ backup: { lockFile, lockWait: '1m', verifySample: 0, bandwidthLimit: '256KiB' } });
    await f.waitForLog(/config reloaded/);
    const holder = spawn('flock', [lockFile, 'sh', '-c', 'echo locked; read line'], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      let said = '';
      holder.stdout.on('data', (c: Buffer) => (said += c.toString()));
      while (!said.includes('locked')) await new Promise((resolve) => setTimeout(resolve, 50));
      const refused = await createArchive(f, {}, NOBODY);
      expect(refused).toMatchObject({ ok: false, error: `${IFACE}.Error.Failed` });
      expect(refused.text).toContain(`the repository lock ${lockFile} is held by PID ${holder.pid} (flock ${lockFile} sh -c`);
      expect(refused.text).toContain('archive drive "home" when that is done');
      expect(await fs.readdir(archiveFolder(f)).catch(() => [])).toEqual([]);
    } finally {
      holder.stdin.end();
      await new Promise((resolve) => (holder.exitCode === null ? holder.once('exit', resolve) : resolve(undefined)));
    }
    const created = await createArchive(f, {}, NOBODY);
    expect(created.ok, created.text).toBe(true);
    const id = String(created.body?.[0]);

    // A backup started meanwhile waits for the archive (the lock's record says what holds it), then runs.
    expect((await call(f, 'Start', 's', ['home'])).ok).toBe(true);
    const waiting = await f.waitForLog(/^waiting for the lock /, 'home');
    expect(waiting.msg).toMatch(new RegExp(`^waiting for the lock ${lockFile}, held by PID \\d+ \\([^)]*main\\.js daemon[^)]*\\), an archive of home$`));
    expect(await call(f, 'CancelArchive', 's', [id])).toEqual({ ok: true, body: [] });
    await f.waitForLog(new RegExp(`archive ${id} of drive "home" was cancelled`), 'home');
    while (f.messages().filter((m) => m.startsWith('backup of "home" finished')).length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    // Released when both are done: a plain flock(1) gets it at once.
    await execFileP('flock', ['--nonblock', lockFile, 'true']);
  });

  it('deletes an archive by its name and refuses paths and other names', async () => {
    const f = await setUp();
    const created = await createArchive(f, { Naming: ['s', 'both'] });
    const id = String(created.body?.[0]);
    await f.waitForLog(new RegExp(`archive ${id} of snapshot .* written`), 'home');
    const names = ((await call(f, 'ListArchives')).body?.[0] as { Name: string; Kind: string }[]).map((a) => [a.Kind, a.Name]);
    expect(names.map(([kind]) => kind).sort()).toEqual(['dated', 'rolling']);
    const outside = path.join(f.stateDir, 'x');
    await fs.writeFile(outside, 'not an archive');
    for (const bad of ['../x', outside, 'testhost-../../x.tar.zst', 'otherhost-0.tar.zst', '.testhost-0.tar.zst.0123.tmp']) {
      const refused = await call(f, 'DeleteArchive', 's', [bad]);
      expect(refused.text, bad).toContain(`"${bad}" is not the name of an archive of host "testhost"`);
    }
    expect(await fs.readFile(outside, 'utf8')).toBe('not an archive');
    const missing = await call(f, 'DeleteArchive', 's', ['testhost-2000-01-01T000000Z.tar.zst']);
    expect(missing.text).toContain(`there is no archive testhost-2000-01-01T000000Z.tar.zst in ${archiveFolder(f)}`);

    const rolling = names.find(([kind]) => kind === 'rolling')?.[1] as string;
    expect(await call(f, 'DeleteArchive', 's', [rolling])).toEqual({ ok: true, body: [] });
    const left = ((await call(f, 'ListArchives')).body?.[0] as { Name: string }[]).map((a) => a.Name);
    expect(left).toEqual([names.find(([kind]) => kind === 'dated')?.[1]]);
    expect(await fs.readdir(archiveFolder(f))).toEqual(left);
  });
});
