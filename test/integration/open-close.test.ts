// `plugback open` and `plugback close` on a private D-Bus where a peer process plays systemd1 and udisks2 and the
// drives are ext4 images mounted for real: through the running daemon (which then starts no backup on the drive,
// and waits for a drive not plugged in yet), alone without it, and what each refuses.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonFixture } from '../helpers/daemon-fixture.js';
import { mountAt } from '../../src/system/mounts.js';

const MAIN = path.resolve('dist/main.js');
const CRYPT_UNIT = (cryptName: string) => `systemd-cryptsetup@${cryptName.replace(/-/g, '\\x2d')}.service`;

let fixture: DaemonFixture | undefined;

afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `plugback ARGS --config ...` against the fixture's bus; `onStderr` sees its error output as it comes. */
function plugback(f: DaemonFixture, args: string[], onStderr: (text: string) => void = () => {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args, '--config', f.configFile], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: f.bus.address } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      onStderr(stderr);
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const shown = (r: Run) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

describe('plugback open and close', () => {
  it('through the daemon: waits for the plug-in, opens read-only instead of backing up, restores from it, refuses a backup, closes', async () => {
    const f = (fixture = await DaemonFixture.create());
    const a = await f.addDrive('offsite-a');
    await f.startDaemon();
    // A backup first, as on any plug-in; the drive is powered off (gone) after it.
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    await f.unplug('offsite-a').catch(() => undefined);
    const backupSteps = f.messages().filter((m) => /^step /.test(m)).length;

    let asked = false;
    const opening = plugback(f, ['open', 'offsite-a', '--wait', '1m'], (text) => (asked ||= text.includes('plug drive "offsite-a" in now')));
    await f.waitForLog(/opens drive "offsite-a" when it is plugged in/, 'offsite-a');
    await f.plug('offsite-a');
    const opened = await opening;
    expect(opened.code, shown(opened)).toBe(0);
    expect(asked).toBe(true);
    expect(opened.stdout).toContain(`drive "offsite-a" is open read-only at ${a.mountPoint}`);
    expect(opened.stdout).toContain('plugback close offsite-a');
    expect((await mountAt(a.mountPoint))?.readOnly).toBe(true);
    await expect(fs.writeFile(path.join(a.mountPoint, 'x'), 'x')).rejects.toMatchObject({ code: 'EROFS' });

    const started = await plugback(f, ['start', 'offsite-a']);
    expect(started.code, shown(started)).not.toBe(0);
    expect(started.stderr).toContain('drive "offsite-a" is open (plugback open)');
    // What restores read works on it as it is.
    const listed = await plugback(f, ['snapshots', 'offsite-a']);
    expect(listed.code, shown(listed)).toBe(0);
    expect(listed.stdout).toMatch(/\d{4}-\d\d-\d\dT\d{6}Z/);
    const to = path.join(f.root, 'restored');
    await fs.mkdir(to, { mode: 0o700 });
    const restored = await plugback(f, ['restore', 'offsite-a', '--path', path.join(f.source, 'docs'), '--to', to, '--yes']);
    expect(restored.code, shown(restored)).toBe(0);
    expect(await fs.readFile(path.join(to, f.source, 'docs', 'letter.txt'), 'utf8')).toBe('Dear plugback,\n');
    const status = await plugback(f, ['status', '--json']);
    expect(status.stdout).toContain('"open": "read-only"');

    const closed = await plugback(f, ['close', 'offsite-a']);
    expect(closed.code, shown(closed)).toBe(0);
    expect(closed.stdout).toContain('drive "offsite-a" is closed and powered off: safe to remove');
    expect(await f.isMounted('offsite-a')).toBe(false);
    const calls = (await f.peer.calls()).map((c) => `${c.member} ${c.args[0] ?? ''}`.trim());
    expect(calls).toContain(`StopUnit ${CRYPT_UNIT(a.cryptName)}`);
    // One power-off after the backup, one at the close; no step of a backup ran while it was open.
    expect(calls.filter((c) => c.startsWith('PowerOff'))).toHaveLength(2);
    expect(f.messages().filter((m) => /^step /.test(m))).toHaveLength(backupSteps);
    const again = await plugback(f, ['close', 'offsite-a']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('drive "offsite-a" is not open');
  });

  it('alone, without the daemon: opens read-write; a daemon started then leaves it open and backs nothing up; it closes it', async () => {
    const f = (fixture = await DaemonFixture.create());
    const a = await f.addDrive('offsite-a');
    await f.plug('offsite-a');
    const opened = await plugback(f, ['open', 'offsite-a', '--rw']);
    expect(opened.code, shown(opened)).toBe(0);
    expect(opened.stdout).toContain(`drive "offsite-a" is open read-write at ${a.mountPoint}`);
    await fs.writeFile(path.join(a.mountPoint, 'repair-note.txt'), 'written while open --rw\n');
    const record = JSON.parse(await fs.readFile(path.join(f.stateDir, 'open-drives.json'), 'utf8')) as Record<string, { mode: string }>;
    expect(record['offsite-a']?.mode).toBe('read-write');

    await f.startDaemon();
    await f.waitForLog(/drive "offsite-a" is open \(read-write/, 'offsite-a');
    // Its start-up clean-up left the mount, and the plugged-in drive started no backup.
    expect(await f.isMounted('offsite-a')).toBe(true);
    await f.waitForLog(/is opened for plugback open: no backup starts on it/, 'offsite-a');
    expect(f.messages().some((m) => /backup of "offsite-a" started|unmounted .* left mounted by an earlier run/.test(m))).toBe(false);

    const closed = await plugback(f, ['close', 'offsite-a']);
    expect(closed.code, shown(closed)).toBe(0);
    expect(closed.stdout).toContain('is closed');
    expect(await f.isMounted('offsite-a')).toBe(false);
    await f.stopDaemon();
    expect(await f.inspect('offsite-a', (_repo, root) => fs.readFile(path.join(root, 'repair-note.txt'), 'utf8'))).toBe('written while open --rw\n');
  });

  it('refuses what it cannot do, and a failed open leaves nothing mounted or unlocked', async () => {
    const f = (fixture = await DaemonFixture.create());
    await f.addDrive('offsite-a');
    const b = await f.addDrive('offsite-b', { crypttab: false });
    await f.addDirectoryDrive('home');

    const notPlugged = await plugback(f, ['open', 'offsite-a']);
    expect(notPlugged.code).toBe(1);
    expect(notPlugged.stderr).toContain('drive "offsite-a" is not plugged in');
    const closedDrive = await plugback(f, ['snapshots', 'offsite-a']);
    expect(closedDrive.code).toBe(1);
    expect(closedDrive.stderr).toContain('drive "offsite-a" is not open');
    expect(closedDrive.stderr).toContain('Run "plugback open offsite-a"');
    const directory = await plugback(f, ['open', 'home']);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain('drive "home" is a directory target');
    const notOpen = await plugback(f, ['close', 'offsite-a']);
    expect(notOpen.code).toBe(1);
    expect(notOpen.stderr).toContain('drive "offsite-a" is not open');

    await f.plug('offsite-b');
    const noCrypttab = await plugback(f, ['open', 'offsite-b']);
    expect(noCrypttab.code).toBe(1);
    expect(noCrypttab.stderr).toContain('/etc/crypttab has no line for "plugback-offsite-b"');
    expect(await f.isMounted('offsite-b')).toBe(false);
    await expect(fs.access(path.join(f.stateDir, 'open-drives.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(b.cryptName).toBe('plugback-offsite-b');
  });
});
