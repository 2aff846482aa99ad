// `plugback config init` as a newcomer uses it: a config for this machine that `config check` accepts as written,
// a refusal without a drive or a folder, and an existing file left alone unless --force.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli-workspace.js';
import { run, shown } from '../helpers/run-command.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';

const tempDir = tempDirsRemovedAfterEach();
const plugback = (...args: string[]) => run(process.execPath, [CLI, ...args]);
const shortHost = os.hostname().split('.')[0]!.replace(/[^A-Za-z0-9_-]/g, '_');

describe('plugback config init', () => {
  it('writes a 0600 config with this host, the directory target and the folders, which config check accepts as written', async () => {
    const dir = await tempDir('init');
    const photos = path.join(dir, 'srv', 'photos');
    const db = path.join(dir, 'var', 'backup db');
    await fs.mkdir(photos, { recursive: true });
    await fs.mkdir(db, { recursive: true });
    await fs.mkdir(path.join(dir, 'disk'));
    const file = path.join(dir, 'etc', 'config.yaml');
    const init = await plugback('config', 'init', '--target-dir', `nas=${path.join(dir, 'disk')}`, '--folder', photos, '--folder', `db=${db}`, '--out', file);
    expect(init.code, shown(init)).toBe(0);
    expect(init.stderr).toContain(`wrote ${file}; check it with: plugback config check ${file}`);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const text = await fs.readFile(file, 'utf8');
    expect(text).toContain(`host: ${shortHost}`);
    expect(text).toMatch(/^# /);

    const check = await plugback('config', 'check', file);
    expect(check.code, shown(check)).toBe(0);
    expect(check.stdout).toContain(`${file}: valid: 1 drive [nas (directory ${path.join(dir, 'disk')})], 2 states with 2 folders, host "${shortHost}"`);
  });

  it('prints a LUKS drive by --uuid to stdout, named usb1, with its key file named; that text passes config check', async () => {
    const dir = await tempDir('init');
    const init = await plugback('config', 'init', '--uuid', '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0', '--folder', '/srv/photos', '--host', 'nas');
    expect(init.code, shown(init)).toBe(0);
    expect(init.stdout).toContain('host: nas\n');
    expect(init.stdout).toContain('  usb1:\n    uuid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"\n');
    expect(init.stdout).toContain('/etc/plugback/keys/usb1.key');
    const file = path.join(dir, 'config.yaml');
    await fs.writeFile(file, init.stdout, { mode: 0o600 });
    const check = await plugback('config', 'check', file);
    expect(check.code, shown(check)).toBe(0);
    expect(check.stdout).toContain('1 drive [usb1 (LUKS 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0)], 1 state with 1 folder, host "nas"');
  });

  it('refuses without a drive, without a folder, and with a UUID that is not one (exit 2, nothing printed)', async () => {
    const noDrive = await plugback('config', 'init', '--folder', '/srv/photos');
    expect(noDrive.code, shown(noDrive)).toBe(2);
    expect(noDrive.stderr).toContain('give at least one drive: --uuid UUID');
    expect(noDrive.stdout).toBe('');
    const noFolder = await plugback('config', 'init', '--target-dir', '/srv/disk');
    expect(noFolder.code, shown(noFolder)).toBe(2);
    expect(noFolder.stderr).toContain('give at least one folder to back up: --folder DIR');
    const badUuid = await plugback('config', 'init', '--uuid', '/dev/sdb1', '--folder', '/srv/photos');
    expect(badUuid.code, shown(badUuid)).toBe(2);
    expect(badUuid.stderr).toContain('--uuid /dev/sdb1: not a UUID');
  });

  it('leaves an existing file alone (exit 2) and replaces it with --force', async () => {
    const dir = await tempDir('init');
    const file = path.join(dir, 'config.yaml');
    await fs.writeFile(file, 'host: mine\n', { mode: 0o600 });
    const args = ['config', 'init', '--target-dir', '/srv/disk', '--folder', '/srv/photos', '--out', file];
    const refused = await plugback(...args);
    expect(refused.code, shown(refused)).toBe(2);
    expect(refused.stderr).toContain(`${file} exists; it was left as it is (give --force to replace it)`);
    expect(await fs.readFile(file, 'utf8')).toBe('host: mine\n');
    const forced = await plugback(...args, '--force');
    expect(forced.code, shown(forced)).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toContain('disk1:\n    path: /srv/disk\n');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });
});
