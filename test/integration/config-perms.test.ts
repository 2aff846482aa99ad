// Audit D22: a config others can change (its hooks run as root) is refused, and so are key and password files
// others can read, through the real CLI (`npm run build` first) and where the secrets are used. Runs as root:
// the files of "another user" are chowned to nobody (65534).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { sendMail } from '../../src/notify/mail-transport.js';

const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const NOBODY = 65534;
const UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-perms-'));
  temps.push(dir);
  return dir;
}

/** A config in `dir` with `extra` lines, mode 0644 unless told. */
async function writeConfig(dir: string, extra: string[] = [], mode = 0o644): Promise<string> {
  const file = path.join(dir, 'config.yaml');
  await fs.writeFile(file, ['drives:', '  d1: {path: /srv/target}', 'states:', '  s: {folders: [/srv/data]}', ...extra, ''].join('\n'));
  await fs.chmod(file, mode);
  return file;
}

// execa drops the last newline of stderr.
const check = (file: string) => execa(process.execPath, [CLI, 'config', 'check', file], { reject: false });

describe('the config file', () => {
  for (const [mode, who] of [[0o666, 'its group and all users'], [0o664, 'its group'], [0o646, 'all users']] as const) {
    it(`is refused when writable by ${who} (mode ${mode.toString(8)}), with the fix`, async () => {
      const file = await writeConfig(await tempDir(), [], mode);
      const r = await check(file);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe(
        `${file}:1:1: the config ${file} is writable by ${who} (mode 0${mode.toString(8)}), and its hooks run as root: anyone who can write it can become root; run: chmod go-w ${file}`,
      );
    });
  }

  it('is refused when owned by another user', async () => {
    const file = await writeConfig(await tempDir());
    await fs.chown(file, NOBODY, NOBODY);
    const r = await check(file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${file}:1:1: the config ${file} is owned by uid ${NOBODY}, not root`);
    expect(r.stderr).toContain(`run: chown root: ${file}`);
  });

  it('is refused in a folder others can write to, and taken in a sticky one like /tmp', async () => {
    const dir = await tempDir();
    const open = path.join(dir, 'open');
    await fs.mkdir(open);
    await fs.chmod(open, 0o777);
    const file = await writeConfig(open);
    const r = await check(file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${file}:1:1: the config ${file} is in ${open}, which is writable by its group and all users (mode 0777)`);
    expect(r.stderr).toContain(`run: chmod go-w ${open}, or move the config`);
    await fs.chmod(open, 0o1777);
    expect((await check(file)).exitCode).toBe(0);
  });

  it('is refused in a folder owned by another user, also through a symlink to it', async () => {
    const dir = await tempDir();
    const theirs = path.join(dir, 'theirs');
    await fs.mkdir(theirs, { mode: 0o755 });
    await fs.chown(theirs, NOBODY, NOBODY);
    const file = await writeConfig(theirs);
    const link = path.join(dir, 'link.yaml');
    await fs.symlink(file, link);
    await expect(loadConfig(link)).rejects.toThrow(`${link}:1:1: the config ${file} is in ${theirs}, which is owned by uid ${NOBODY}, not root`);
  });

  it('is taken with mode 0644 or 0600, owned by root', async () => {
    const dir = await tempDir();
    expect((await check(await writeConfig(dir))).exitCode).toBe(0);
    expect((await check(await writeConfig(dir, [], 0o600))).exitCode).toBe(0);
  });
});

describe('the secrets', () => {
  it('config check reports a passwordFile others can read, at its place', async () => {
    const dir = await tempDir();
    const pw = path.join(dir, 'smtp-password');
    await fs.writeFile(pw, 'hunter2\n', { mode: 0o644 });
    const file = await writeConfig(dir, ['mail:', '  to: a@example.org', '  smtp:', '    host: smtp.example.org', '    user: me', `    passwordFile: ${pw}`]);
    const r = await check(file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `${file}:10:19: mail.smtp.passwordFile: the SMTP password file ${pw} can be read or changed by users other than its owner (mode 0644); run: chmod 600 ${pw}`,
    );
    await fs.chmod(pw, 0o600);
    expect((await check(file)).exitCode).toBe(0);
  });

  it('config check reports a keyFile readable by its group, or owned by another user', async () => {
    const dir = await tempDir();
    const key = path.join(dir, 'd2.key');
    await fs.writeFile(key, 'key material', { mode: 0o640 });
    const file = await writeConfig(dir, []);
    await fs.writeFile(file, ['drives:', '  d2:', `    uuid: ${UUID}`, `    keyFile: ${key}`, 'states:', '  s: {folders: [/srv/data]}', ''].join('\n'));
    const first = await check(file);
    expect(first.exitCode).toBe(2);
    expect(first.stderr).toBe(`${file}:4:14: drives.d2.keyFile: the key file of drive "d2" ${key} can be read or changed by users other than its owner (mode 0640); run: chmod 600 ${key}`);
    await fs.chmod(key, 0o600);
    await fs.chown(key, NOBODY, NOBODY);
    const second = await check(file);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toBe(`${file}:4:14: drives.d2.keyFile: the key file of drive "d2" ${key} is owned by uid ${NOBODY}, not root, so that user can read or change it; run: chown root: ${key}`);
  });

  it('config check reports an archive passphraseFile others can read, and a keyring others can write, at their places', async () => {
    const dir = await tempDir();
    const pass = path.join(dir, 'archive.pass');
    await fs.writeFile(pass, 'correct horse\n', { mode: 0o640 });
    const keyring = path.join(dir, 'keys.asc');
    await fs.writeFile(keyring, 'public keys\n');
    await fs.chmod(keyring, 0o664);
    const file = await writeConfig(dir, []);
    const configWith = (archive: string) =>
      fs.writeFile(file, ['drives:', '  d1:', '    path: /srv/target', `    archive: {${archive}}`, 'states:', '  s: {folders: [/srv/data]}', ''].join('\n'));
    await configWith(`passphraseFile: ${pass}`);
    const loose = await check(file);
    expect(loose.exitCode).toBe(2);
    expect(loose.stderr).toBe(
      `${file}:4:31: drives.d1.archive.passphraseFile: the archive passphrase file of drive "d1" ${pass} can be read or changed by users other than its owner (mode 0640); run: chmod 600 ${pass}`,
    );
    await fs.chmod(pass, 0o600);
    expect((await check(file)).exitCode).toBe(0);

    // Public keys may be read by anyone, but whoever can write the file chooses who can open the archives.
    await configWith(`keyring: ${keyring}`);
    const writable = await check(file);
    expect(writable.exitCode).toBe(2);
    expect(writable.stderr).toBe(
      `${file}:4:24: drives.d1.archive.keyring: the archive keyring of drive "d1" ${keyring} is writable by its group (mode 0664), who could put their own key in it; run: chmod go-w ${keyring}`,
    );
    await fs.chmod(keyring, 0o644);
    await fs.chown(keyring, NOBODY, NOBODY);
    expect((await check(file)).stderr).toBe(
      `${file}:4:24: drives.d1.archive.keyring: the archive keyring of drive "d1" ${keyring} is owned by uid ${NOBODY}, not root, so that user can change it; run: chown root: ${keyring}`,
    );
    await fs.chown(keyring, 0, 0);
    expect((await check(file)).exitCode).toBe(0);
  });

  it('sending mail refuses a password file others can read, before any connection', async () => {
    const dir = await tempDir();
    const pw = path.join(dir, 'smtp-password');
    await fs.writeFile(pw, 'hunter2\n', { mode: 0o604 });
    const settings = {
      to: ['a@example.org'],
      onSuccess: false,
      timeout: 5000,
      smtp: { host: '127.0.0.1', port: 9, security: 'starttls' as const, user: 'me', passwordFile: pw },
    };
    await expect(sendMail(settings, 'h1', { subject: 's', text: 't', attachments: [] })).rejects.toThrow(
      `the SMTP password file (mail.smtp.passwordFile) ${pw} can be read or changed by users other than its owner (mode 0604); run: chmod 600 ${pw}`,
    );
  });
});
