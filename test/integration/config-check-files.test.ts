// `plugback config check` on what the schema cannot see: folders that are not there (a warning: the backup
// fails at check-source until they are), key and password files that do not exist yet (a warning), and key and
// password files that group or others can read (an error, as unlocking and sending refuse them too).
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli-workspace.js';
import { run, shown } from '../helpers/run-command.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';

const tempDir = tempDirsRemovedAfterEach();
const check = (file: string) => run(process.execPath, [CLI, 'config', 'check', file]);

/** A config in a fresh folder with a key file and an SMTP password file of the given modes (undefined: absent). */
async function setup(modes: { key?: number; password?: number }, folders: (dir: string) => string[]) {
  const dir = await tempDir('check-files');
  const key = path.join(dir, 'usb1.key');
  const password = path.join(dir, 'smtp-password');
  if (modes.key !== undefined) await fs.writeFile(key, 'k', { mode: modes.key });
  if (modes.password !== undefined) await fs.writeFile(password, 'p', { mode: modes.password });
  const lines = [
    'host: h1',
    `stateDir: ${path.join(dir, 'state')}`,
    'drives:',
    '  usb1:',
    '    uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    `    keyFile: ${key}`,
    'states:',
    '  photos:',
    `    folders: [${folders(dir).join(', ')}]`,
    'mail:',
    '  to: [ops@example.org]',
    `  smtp: {host: smtp.example.org, user: u, passwordFile: ${password}}`,
  ];
  const file = path.join(dir, 'config.yaml');
  await fs.writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { dir, file, key, password };
}

describe('config check on the files a config names', () => {
  it('says nothing more than the summary when every folder and secret is there and root-only', async () => {
    const { file } = await setup({ key: 0o600, password: 0o600 }, (dir) => [dir]);
    const r = await check(file);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stderr, shown(r)).toBe('');
    expect(r.stdout).toContain(`${file}: valid: 1 drive`);
  });

  it('warns, with the line, of a missing folder, a file given as a folder, and missing key and password files; exit 0', async () => {
    const { dir, file, key, password } = await setup({}, (d) => [path.join(d, 'gone'), path.join(d, 'config.yaml')]);
    const r = await check(file);
    expect(r.code, shown(r)).toBe(0);
    const warnings = r.stderr.split('\n').filter(Boolean);
    expect(warnings, shown(r)).toEqual([
      `${file}:6:14: warning: drives.usb1.keyFile: the key file of drive "usb1" ${key} does not exist; the drive cannot be unlocked until it is there (root's, chmod 600)`,
      `${file}:9:15: warning: states.photos.folders[0]: ${path.join(dir, 'gone')} does not exist; a backup fails at check-source while it is missing`,
      expect.stringMatching(new RegExp(`^${file}:9:\\d+: warning: states\\.photos\\.folders\\[1\\]: ${path.join(dir, 'config.yaml')} is not a directory; `)),
      expect.stringMatching(new RegExp(`^${file}:12:\\d+: warning: mail\\.smtp\\.passwordFile: the SMTP password file ${password} does not exist; no mail can be sent over SMTP`)),
    ]);
    expect(r.stdout).toContain(`${file}: valid: 1 drive`);
  });

  it('refuses a key file and a password file that group or others can read (exit 2, chmod 600 as the fix)', async () => {
    const { file, key, password } = await setup({ key: 0o644, password: 0o640 }, (d) => [d]);
    await fs.chmod(key, 0o644);
    await fs.chmod(password, 0o640);
    const r = await check(file);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain(`${file}:6:14: drives.usb1.keyFile: the key file of drive "usb1" ${key} can be read or changed by users other than its owner (mode 0644); run: chmod 600 ${key}`);
    expect(r.stderr).toContain(`mail.smtp.passwordFile: the SMTP password file ${password} can be read or changed by users other than its owner (mode 0640); run: chmod 600 ${password}`);
    expect(r.stdout).toBe('');
  });
});
