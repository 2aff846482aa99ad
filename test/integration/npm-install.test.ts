// plugback installed as a tool: `npm pack` in a fresh clone (no dist/ yet), `npm install -g` of that tarball and
// of the clone folder into temporary prefixes, then the `plugback` npm put in PREFIX/bin, run as a user runs it.
// The units that copy installs must name it, and pass systemd-analyze verify. npm takes the dependencies' tarballs
// from its cache (filled by `npm ci`) and asks the registry only for what the cache lacks.
import { realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, shown, type Run } from '../helpers/run-command.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(await fs.readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
/** npm, packing and installing: minutes on a loaded 2-core machine, not the default minute. */
const SLOW = 10 * 60_000;

/** npm in `cwd`, without the npm_* variables `npm test` sets: npm_config_local_prefix would make it pack the repository. */
async function npm(cwd: string, args: string[]): Promise<Run> {
  const unset = Object.fromEntries(Object.keys(process.env).filter((n) => /^npm_/i.test(n)).map((n) => [n, undefined]));
  return run('npm', args, unset, cwd);
}

const npmInstall = (prefix: string, what: string) =>
  npm(os.tmpdir(), ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', what]);

let work: string;
/** A fresh clone: what git would check out (package.json's files, the sources, the build config), without dist/. */
let clone: string;
let tarball: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-npm-'));
  clone = path.join(work, 'clone');
  const pkg = JSON.parse(await fs.readFile(path.join(REPO, 'package.json'), 'utf8')) as { files: string[] };
  const parts = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'src', ...pkg.files.filter((f) => f !== 'dist')];
  await fs.mkdir(clone);
  for (const part of parts) await fs.cp(path.join(REPO, part), path.join(clone, part), { recursive: true });
  // `npm ci` made it; the build needs typescript and the types from it, nothing is written into it.
  await fs.symlink(realpathSync(path.join(REPO, 'node_modules')), path.join(clone, 'node_modules'));
  const packed = await npm(clone, ['pack', '--pack-destination', work]);
  expect(packed.code, shown(packed)).toBe(0);
  tarball = path.join(work, `plugback-${VERSION}.tgz`);
}, SLOW);

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** A config with a LUKS drive (daemon trigger) and a directory drive. */
async function writeConfig(dir: string): Promise<string> {
  const file = path.join(dir, 'plugback.yaml');
  const lines = [`stateDir: ${dir}/state`, 'drives:', '  offsite-a:', `    uuid: ${UUID}`, '  nas-disk:', '    path: /srv/backup-disk', 'states:', '  photos:', '    folders: [/srv/photos]'];
  await fs.writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** `plugback install --root` by the given plugback; returns the units' folder and every ExecStart= line. */
async function installUnits(plugback: string, name: string): Promise<{ unitDir: string; execs: string[] }> {
  const dir = path.join(work, name);
  await fs.mkdir(dir);
  const root = path.join(dir, 'root');
  await fs.mkdir(path.join(root, 'etc'), { recursive: true });
  await fs.writeFile(path.join(root, 'etc/group'), 'root:x:0:\n');
  const r = await run(plugback, ['install', '--config', await writeConfig(dir), '--root', root]);
  expect(r.code, shown(r)).toBe(0);
  const unitDir = path.join(root, 'etc/systemd/system');
  const execs: string[] = [];
  for (const unit of ['plugback.service', 'plugback-drive@.service', 'plugback-failure@.service']) {
    const text = await fs.readFile(path.join(unitDir, unit), 'utf8');
    execs.push(...text.split('\n').filter((l) => l.startsWith('ExecStart=')));
  }
  return { unitDir, execs };
}

/** systemd-analyze verify on the daemon's and a drive's units, as test/integration/generate.test.ts runs it. */
async function verify(unitDir: string): Promise<Run> {
  return run('systemd-analyze', ['verify', '--man=no', 'plugback.service', 'plugback-drive@nas\\x2ddisk.service', 'plugback-failure@plugback.service.service'], {
    SYSTEMD_UNIT_PATH: `${unitDir}:`,
  });
}

describe('npm pack in a fresh clone', () => {
  it('builds dist/ first and packs it with the templates and docs, and the command is executable by its shebang', async () => {
    const list = await run('tar', ['-tzf', tarball]);
    expect(list.code, shown(list)).toBe(0);
    const files = list.stdout.split('\n');
    for (const f of ['package/dist/main.js', 'package/dist/install/self.js', 'package/units/plugback.service', 'package/udev/70-plugback.rules', 'package/docs/installing.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/') || f.startsWith('package/node_modules/'))).toEqual([]);
    const main = await run('tar', ['-xzOf', tarball, 'package/dist/main.js']);
    expect(main.stdout.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('npm install -g of the tarball', () => {
  let prefix: string;
  let installed: string;
  beforeAll(async () => {
    prefix = path.join(work, 'global');
    const r = await npmInstall(prefix, tarball);
    expect(r.code, shown(r)).toBe(0);
    installed = path.join(prefix, 'lib/node_modules/plugback');
  }, SLOW);

  it('puts a plugback on PATH that prints its version and its help, and loads node-hid for the LED', async () => {
    const plugback = path.join(prefix, 'bin/plugback');
    const version = await run(plugback, ['--version']);
    expect(version.code, shown(version)).toBe(0);
    expect(version.stdout.trim()).toBe(VERSION);
    const help = await run(plugback, ['--help']);
    expect(help.code, shown(help)).toBe(0);
    expect(help.stdout).toMatch(/^Usage: plugback /);
    expect(help.stdout).toContain('install');
    // The native module: without its binding this says "cannot load node-hid" and exits 1.
    const led = await run(plugback, ['led', 'list']);
    expect(led.code, shown(led)).toBe(0);
    expect(led.stderr).not.toMatch(/node-hid/);
  });

  it('installs units that run this installation, not the clone it was packed in, and they pass systemd-analyze verify', async () => {
    const { unitDir, execs } = await installUnits(path.join(prefix, 'bin/plugback'), 'units-tarball');
    const main = realpathSync(path.join(installed, 'dist/main.js'));
    expect(execs).toEqual([
      `ExecStart=${process.execPath} ${main} daemon --config ${work}/units-tarball/plugback.yaml`,
      `ExecStart=${process.execPath} ${main} run %I --config ${work}/units-tarball/plugback.yaml`,
      `ExecStart=${process.execPath} ${main} notify-failure %i --config ${work}/units-tarball/plugback.yaml`,
    ]);
    for (const line of execs) expect(line).not.toContain(clone);
    const r = await verify(unitDir);
    expect(r.stderr).toBe('');
    expect(r.code, shown(r)).toBe(0);
  });

  it('upgrades in place: the units keep naming the same files, and install again rewrites them for the new version', async () => {
    const before = await installUnits(path.join(prefix, 'bin/plugback'), 'units-before-upgrade');
    // The same package as a newer version: unpacked, its version raised, packed again (dist/ is in it already).
    const next = path.join(work, 'next');
    await fs.mkdir(next);
    expect((await run('tar', ['-xzf', tarball, '-C', next])).code).toBe(0);
    const pkgFile = path.join(next, 'package/package.json');
    const pkg = JSON.parse(await fs.readFile(pkgFile, 'utf8')) as { version: string };
    pkg.version = `${VERSION}-upgrade.1`;
    await fs.writeFile(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
    const packed = await npm(path.join(next, 'package'), ['pack', '--ignore-scripts', '--pack-destination', next]);
    expect(packed.code, shown(packed)).toBe(0);
    const r = await npmInstall(prefix, path.join(next, `plugback-${pkg.version}.tgz`));
    expect(r.code, shown(r)).toBe(0);

    const version = await run(path.join(prefix, 'bin/plugback'), ['--version']);
    expect(version.stdout.trim()).toBe(pkg.version);
    const after = await installUnits(path.join(prefix, 'bin/plugback'), 'units-after-upgrade');
    // The command is the same path, so units written before the upgrade start the new version once restarted.
    expect(after.execs.map((l) => l.replace('units-after-upgrade', 'units-before-upgrade'))).toEqual(before.execs);
    const unit = await fs.readFile(path.join(after.unitDir, 'plugback.service'), 'utf8');
    expect(unit).toContain(`Generated by plugback ${pkg.version} `);
  }, SLOW);
});

describe('npm install -g of the clone folder', () => {
  it('links the clone: plugback runs from it and the units it installs name the clone\'s dist/main.js', async () => {
    const prefix = path.join(work, 'linked');
    const r = await npmInstall(prefix, clone);
    expect(r.code, shown(r)).toBe(0);
    // npm links the folder rather than copying it: moving or deleting the clone breaks this installation.
    expect(realpathSync(path.join(prefix, 'lib/node_modules/plugback'))).toBe(realpathSync(clone));
    const plugback = path.join(prefix, 'bin/plugback');
    const version = await run(plugback, ['--version']);
    expect(version.stdout.trim(), shown(version)).toBe(VERSION);
    const { unitDir, execs } = await installUnits(plugback, 'units-linked');
    expect(execs[0]).toBe(`ExecStart=${process.execPath} ${realpathSync(path.join(clone, 'dist/main.js'))} daemon --config ${work}/units-linked/plugback.yaml`);
    const v = await verify(unitDir);
    expect(v.stderr).toBe('');
    expect(v.code, shown(v)).toBe(0);
  }, SLOW);
});
