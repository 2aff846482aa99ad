// The daemon's health step reads SMART through systemd (plugback-smart@.service runs `plugback smart-read DISK`
// outside the sandbox), never in its own process. The peer plays systemd and runs the hidden command with a
// smartctl stand-in on its PATH; the daemon's own PATH has none. The drive is a directory target on a
// loop-mounted ext4 image, so its disk is a real block device (/dev/loopN) and no test seam is needed.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonFixture } from '../helpers/daemon-fixture.js';
import { smartctlStandIn } from '../helpers/smartctl-stand-in.js';
import { systemdEscape } from '../../src/units/escape.js';

const execFileP = promisify(execFile);
const MAIN = path.resolve('dist/main.js');
const HEALTHY = 'smartctl_exporter-sat-Hitachi_HDS721010CLA332-sda.json';
const FAILING = 'scrutiny-smart-fail2-usbjmicron-HDS721050DLE630.json';

let fixture: DaemonFixture | undefined;
let target: string | undefined;
const temps: string[] = [];
afterEach(async () => {
  await fixture?.stopDaemon();
  // -o loop frees the loop device with the unmount.
  if (target) await execFileP('umount', [target]).catch(() => undefined);
  await fixture?.cleanup();
  for (const dir of temps.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  fixture = target = undefined;
});

/** A daemon whose directory target "home" is on its own loop-mounted image; the peer's smartctl answers with `capture`. */
async function setUp(capture: string): Promise<{ f: DaemonFixture; disk: string; smartDir: string }> {
  const bin = await smartctlStandIn(capture);
  const smartDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-smart-'));
  temps.push(bin, smartDir);
  const f = await DaemonFixture.create({ peerEnv: { PATH: `${bin}:${process.env.PATH ?? ''}`, PLUGBACK_SMART_DIR: smartDir } });
  fixture = f;
  const image = path.join(f.root, 'home.img');
  target = path.join(f.root, 'targets', 'home');
  await fs.mkdir(target, { recursive: true });
  await execFileP('truncate', ['-s', '64M', image]);
  await execFileP('mkfs.ext4', ['-q', '-F', image]);
  await execFileP('mount', ['-o', 'loop', image, target]);
  await f.addDirectoryDrive('home');
  const { stdout } = await execFileP('findmnt', ['-n', '-o', 'SOURCE', target]);
  await f.startDaemon({ PLUGBACK_SMART_DIR: smartDir });
  return { f, disk: stdout.trim(), smartDir };
}

/** `plugback ARGS --config <fixture's>` against the fixture's private bus. */
function plugback(f: DaemonFixture, args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args, '--config', f.configFile], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: f.bus.address } });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.resume();
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

async function smartUnitsStarted(f: DaemonFixture): Promise<string[]> {
  return (await f.peer.calls()).filter((c) => c.member === 'StartUnit' && String(c.args[0]).startsWith('plugback-smart@')).map((c) => String(c.args[0]));
}

describe('SMART in the daemon, read by systemd on its behalf', () => {
  it('a healthy disk: the reading comes through plugback-smart@ and shows in the ledger and in plugback drives', async () => {
    const { f, disk, smartDir } = await setUp(HEALTHY);
    expect((await plugback(f, ['start', 'home'])).code).toBe(0);
    await f.waitForLog(/backup of "home" finished/, 'home');
    expect(await smartUnitsStarted(f)).toEqual([systemdEscape(disk, { path: true, template: 'plugback-smart@.service' })]);
    expect(f.messages()).toContain(`SMART of drive "home" (${disk}, Hitachi HDS721010CLA332, serial REDACTED): passed`);
    const file = path.join(smartDir, `${systemdEscape(disk, { path: true })}.json`);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(smartDir)).mode & 0o777).toBe(0o700);

    const table = await plugback(f, ['drives']);
    expect(table.stdout.split('\n').find((l) => l.startsWith('home'))).toContain('passed');
    const json = JSON.parse((await plugback(f, ['drives', '--json'])).stdout) as { drives: { drive: string; record: { health: Record<string, unknown> } }[] };
    expect(json.drives.find((d) => d.drive === 'home')?.record.health).toMatchObject({ verdict: 'passed', disk, model: 'Hitachi HDS721010CLA332' });
  });

  it('a disk whose SMART says FAILED: the daemon refuses the backup (health: refuse) with what to do', async () => {
    const { f } = await setUp(FAILING);
    expect((await plugback(f, ['start', 'home'])).code).toBe(0);
    const failed = await f.waitForLog(/failed at health/, 'home');
    expect(failed.msg).toContain('says it is FAILING (SMART overall-health: FAILED), so nothing was written to it');
    expect((await smartUnitsStarted(f)).length).toBe(1);
    const table = await plugback(f, ['drives']);
    expect(table.stdout.split('\n').find((l) => l.startsWith('home'))).toContain('FAILING, 1975 reallocated, 8 pending');
  });
});

describe('plugback smart-read', () => {
  it('refuses what is not the /dev path of a block device (exit 2), and writes nothing', async () => {
    const smartDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-smart-'));
    temps.push(smartDir);
    const env = { ...process.env, PLUGBACK_SMART_DIR: smartDir };
    for (const [disk, message] of [
      ['sdb', '"sdb" is not a disk: give the absolute /dev path of a whole disk, e.g. /dev/sdb'],
      ['/dev/../etc/passwd', '"/dev/../etc/passwd" is not a disk: give the absolute /dev path of a whole disk, e.g. /dev/sdb'],
      ['/etc/passwd', '"/etc/passwd" is not a disk: give the absolute /dev path of a whole disk, e.g. /dev/sdb'],
      ['/dev/null', '/dev/null is not a block device: give a whole disk, e.g. /dev/sdb'],
      ['/dev/no-such-disk', '/dev/no-such-disk is not a block device: give a whole disk, e.g. /dev/sdb'],
    ] as const) {
      const r = await execFileP(process.execPath, [MAIN, 'smart-read', disk], { env }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(r.code, disk).toBe(2);
      expect(r.stderr, disk).toContain(message);
    }
    expect(await fs.readdir(smartDir)).toEqual([]);
  });
});
