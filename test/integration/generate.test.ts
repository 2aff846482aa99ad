// plugback generate / install / uninstall run as a user runs them (dist/main.js in a child process), with their
// output checked by the real tools: systemd-analyze verify and security, systemd-cryptsetup-generator, xmllint
// with the DTDs shipped by polkitd and libdbus-1-dev, and a private dbus-daemon with dbus-test-tool and
// dbus-send. Everything happens in temporary folders; nothing touches the host's systemd, udev or groups.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { parseConfig } from '../../src/config/load.js';
import { generate } from '../../src/units/generate.js';
import { loadTemplates } from '../../src/units/templates.js';
import { writeTree } from '../../src/units/write-tree.js';
import { INTROSPECTION_XML } from '../../src/api/introspection.js';
import { tempDirsRemovedAfterEach } from '../helpers/temp-dirs.js';
import { run, shown, type Run } from '../helpers/run-command.js';

const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const GENERATOR = '/lib/systemd/system-generators/systemd-cryptsetup-generator';
const UUID_A = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const UUID_B = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

const cli = (args: string[]) => run(process.execPath, [CLI, ...args]);

const tempDir = tempDirsRemovedAfterEach();

/** A config with two LUKS drives (dashes in the names, a custom cryptName and timeout) and a directory target. */
async function writeConfig(dir: string, trigger: 'daemon' | 'units', extraDrive = ''): Promise<string> {
  const file = path.join(dir, 'plugback.yaml');
  await fs.writeFile(
    file,
    [
      `stateDir: /var/lib/plugback-test`,
      'drives:',
      '  offsite-a:',
      `    uuid: ${UUID_A}`,
      '    deviceTimeout: 45s',
      '    btrfsCompression: zstd',
      '  offsite-b:',
      `    uuid: ${UUID_B}`,
      '    cryptName: backup.b-2',
      '    keyFile: /etc/plugback/keys/b.key',
      '    mountPoint: /run/plugback/offsite b',
      '  nas-disk:',
      '    path: /srv/backup-disk',
      extraDrive,
      'states:',
      '  photos:',
      '    folders: [/srv/photos]',
      'install:',
      `  trigger: ${trigger}`,
      '',
    ].join('\n'),
  );
  return file;
}

/** `plugback generate --out` into a fresh folder; returns it. */
async function generateTree(trigger: 'daemon' | 'units'): Promise<string> {
  const dir = await tempDir('gen');
  const config = await writeConfig(dir, trigger);
  const out = path.join(dir, 'out');
  const r = await cli(['generate', '--config', config, '--out', out]);
  expect(r.code, shown(r)).toBe(0);
  return out;
}

/** Runs the real systemd-cryptsetup-generator on OUT/etc/crypttab; returns its normal output folder. */
async function runCryptsetupGenerator(out: string): Promise<string> {
  const gen = path.join(out, '..', 'generator');
  for (const d of ['normal', 'early', 'late']) await fs.mkdir(path.join(gen, d), { recursive: true });
  const r = await run(GENERATOR, [path.join(gen, 'normal'), path.join(gen, 'early'), path.join(gen, 'late')], {
    SYSTEMD_CRYPTTAB: path.join(out, 'etc/crypttab'),
  });
  expect(r.code, shown(r)).toBe(0);
  return path.join(gen, 'normal');
}

/** systemd-analyze verify on units by name, found in our folder and the generator's before the system's. */
async function verify(unitDirs: string[], units: string[]): Promise<Run> {
  return run('systemd-analyze', ['verify', '--man=no', ...units], { SYSTEMD_UNIT_PATH: `${unitDirs.join(':')}:` });
}

describe('generated units', () => {
  for (const trigger of ['daemon', 'units'] as const) {
    it(`pass systemd-analyze verify with install.trigger ${trigger}, drop-ins and the cryptsetup units included`, async () => {
      const out = await generateTree(trigger);
      const generated = await runCryptsetupGenerator(out);
      const unitDir = path.join(out, 'etc/systemd/system');
      const units = [
        'plugback-failure@plugback.service.service',
        // OnFailure= of a drive unit: an instance name that holds another unit's escaped name.
        'plugback-failure@plugback-drive@offsite\\x2da.service.service',
        'plugback-drive@nas\\x2ddisk.service',
        'plugback-drive@nas\\x2ddisk.timer',
        'systemd-cryptsetup@plugback\\x2doffsite\\x2da.service',
        'systemd-cryptsetup@backup.b\\x2d2.service',
        ...(trigger === 'daemon' ? ['plugback.service', 'plugback-smart@dev-sdb.service'] : ['plugback-drive@offsite\\x2da.service', 'plugback-drive@offsite\\x2db.service']),
      ];
      const r = await verify([unitDir, generated], units);
      // verify only warns (exit 0) about unknown settings, so its stderr must be empty too.
      expect(r.stderr).toBe('');
      expect(r.code, shown(r)).toBe(0);
    });
  }

  it('let the daemon read SMART through plugback-smart@.service, run with the same plugback as the other units', async () => {
    for (const trigger of ['daemon', 'units'] as const) {
      const units = path.join(await generateTree(trigger), 'etc/systemd/system');
      const smart = await fs.readFile(path.join(units, 'plugback-smart@.service'), 'utf8').catch(() => undefined);
      // Only the daemon's sandbox keeps smartctl from the disk; plugback run reads SMART itself.
      if (trigger === 'units') {
        expect(smart).toBeUndefined();
        continue;
      }
      const execOf = (text: string | undefined) => text?.split('\n').find((l) => l.startsWith('ExecStart='));
      const run = execOf(await fs.readFile(path.join(units, 'plugback-drive@.service'), 'utf8'));
      const plugback = run?.slice(0, run.indexOf(' run %I'));
      expect(execOf(smart)).toBe(`${plugback} smart-read %f`);
      expect(smart?.split('\n')).toEqual(expect.arrayContaining(['Type=oneshot', 'DefaultDependencies=no']));
    }
  });

  it('keep paths with spaces, "%" and "$" intact: the command, the config file, the docs and the mount point', async () => {
    const dir = await tempDir('odd');
    const odd = path.join(dir, 'odd dir 100% $HOME');
    const bin = path.join(odd, 'plugback');
    await fs.mkdir(odd);
    await fs.writeFile(bin, '#!/bin/sh\n', { mode: 0o755 });
    const configFile = path.join(odd, 'config.yaml');
    const config = parseConfig(
      `drives:\n  a:\n    uuid: ${UUID_A}\n    mountPoint: /run/plugback/odd dir 100% $HOME\nstates:\n  s:\n    folders: [/srv]\ninstall:\n  trigger: units\n`,
      configFile,
    );
    const generated = generate(config, await loadTemplates(), { command: [bin], configFile, docsDir: path.join(odd, 'docs'), version: 'test' });
    const out = path.join(dir, 'out');
    await writeTree(out, generated);
    const r = await verify([path.join(out, 'etc/systemd/system'), await runCryptsetupGenerator(out)], ['plugback-drive@a.service', 'plugback-failure@plugback-drive@a.service.service']);
    // systemd reads the command back and checks that it is an executable: a quoting mistake shows here.
    expect(r.stderr).toBe('');
    expect(r.code, shown(r)).toBe(0);
    const unit = await fs.readFile(path.join(out, 'etc/systemd/system/plugback-drive@.service'), 'utf8');
    // "$" is doubled in arguments only: systemd expands variables there, not in the command itself.
    expect(unit).toContain(`ExecStart="${odd.replace('%', '%%')}/plugback" run %I --config "${odd.replace('%', '%%').replace('$', '$$$$')}/config.yaml"`);
    expect(unit).toContain(`Documentation=file://${encodeURI(odd).replace(/%/g, '%%')}/docs/installing.md`);
  });

  it('fail systemd-analyze verify when a generated file is broken (the check above can fail)', async () => {
    const out = await generateTree('daemon');
    const generated = await runCryptsetupGenerator(out);
    const dropIn = path.join(out, 'etc/systemd/system/systemd-cryptsetup@plugback\\x2doffsite\\x2da.service.d/50-plugback.conf');
    await fs.appendFile(dropIn, 'TimeoutStartSecs=1min\n');
    const r = await verify([path.join(out, 'etc/systemd/system'), generated], ['systemd-cryptsetup@plugback\\x2doffsite\\x2da.service']);
    expect(r.stderr).toMatch(/Unknown key 'TimeoutStartSecs'/);
  });

  it('give the daemon a sandbox of its own: read-only but for what a backup writes, no right to mount, at the exposure docs/installing.md records', async () => {
    const out = await generateTree('daemon');
    const documented = await fs.readFile(new URL('../../docs/installing.md', import.meta.url), 'utf8');
    const daemon = (await fs.readFile(path.join(out, 'etc/systemd/system/plugback.service'), 'utf8')).split('\n');
    // Ready when it owns its bus name; no process of the unit but the main one may tell systemd anything.
    expect(daemon).toEqual(expect.arrayContaining(['Type=dbus', 'BusName=io.github.plugback.Daemon1']));
    expect(daemon.filter((l) => l.startsWith('NotifyAccess='))).toEqual([]);
    for (const name of ['plugback.service', 'plugback-drive@.service']) {
      const unit = await fs.readFile(path.join(out, 'etc/systemd/system', name), 'utf8');
      const settings = unit.split('\n').filter((l) => !l.startsWith('#'));
      expect(settings, name).toEqual(
        expect.arrayContaining(['ProtectSystem=strict', 'ProtectHome=read-only', 'PrivateTmp=yes', 'ProtectProc=invisible', 'ProcSubset=pid', 'UMask=0077', 'RestrictNamespaces=yes']),
      );
      // Only the state, log and lock folders and the directory target are writable. Not the LUKS drives' mount
      // points: a ReadWritePaths= entry binds the folder onto itself, a mount where the drive's mount belongs.
      expect(settings.filter((l) => l.startsWith('ReadWritePaths='))).toEqual(['ReadWritePaths=-/run/lock/plugback -/srv/backup-disk -/var/lib/plugback-test -/var/log/plugback']);
      const caps = settings.find((l) => l.startsWith('CapabilityBoundingSet='))?.split('=')[1]?.split(' ');
      expect(caps).not.toContain('CAP_SYS_ADMIN');
      expect(caps).toEqual(expect.arrayContaining(['CAP_DAC_READ_SEARCH', 'CAP_DAC_OVERRIDE', 'CAP_CHOWN', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_SETFCAP', 'CAP_MKNOD']));
      expect(settings.filter((l) => l.startsWith('SystemCallFilter=~')).join(' ')).toContain('@mount');
      const r = await run('systemd-analyze', ['security', '--offline=true', path.join(out, 'etc/systemd/system', name)]);
      const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1]);
      expect(documented, name).toContain(`\`${name}\` ${exposure.toFixed(1)}`);
      expect(exposure, shown(r)).toBeLessThanOrEqual(3.0);
    }
  });

  it('mount each LUKS drive with a .mount unit bound to its cryptsetup unit, which systemd-analyze verify accepts', async () => {
    for (const trigger of ['daemon', 'units'] as const) {
      const out = await generateTree(trigger);
      const units = path.join(out, 'etc/systemd/system');
      const name = 'run-plugback-offsite\\x20b.mount';
      const mount = await fs.readFile(path.join(units, name), 'utf8');
      const settings = mount.split('\n').filter((l) => l && !l.startsWith('#'));
      expect(settings).toEqual(
        expect.arrayContaining([
          'BindsTo=systemd-cryptsetup@backup.b\\x2d2.service',
          'After=systemd-cryptsetup@backup.b\\x2d2.service',
          'What=/dev/mapper/backup.b-2',
          'Where=/run/plugback/offsite b',
          'Options=nodev,nosuid,noexec,noatime',
        ]),
      );
      expect(settings.some((l) => l.startsWith('[Install]'))).toBe(false);
      // drives.offsite-a.btrfsCompression: zstd, and only there.
      const compressed = await fs.readFile(path.join(units, 'run-plugback-offsite\\x2da.mount'), 'utf8');
      expect(compressed.split('\n')).toContain('Options=nodev,nosuid,noexec,noatime,compress=zstd');
      const cleanUpInstances =
        trigger === 'daemon'
          ? [
              'plugback-unmount-lazily@run-plugback-offsite\\x2da.service',
              'plugback-close-mapping@plugback\\x2doffsite\\x2da.service',
              'plugback-delete-subvolume@run-plugback-offsite\\x2da-plugback-h1-snapshots-2026\\x2d12\\x2d03T090720Z.deleting.service',
            ]
          : [];
      const r = await verify([units, await runCryptsetupGenerator(out)], [name, 'run-plugback-offsite\\x2da.mount', 'plugback-remount-read-only@run-plugback-offsite\\x2da.service', ...cleanUpInstances]);
      expect(r.stderr, trigger).toBe('');
      expect(r.code, shown(r)).toBe(0);
      const cleanUp = ['plugback-unmount-lazily@.service', 'plugback-close-mapping@.service', 'plugback-delete-subvolume@.service'];
      const present = await Promise.all(cleanUp.map((u) => fs.access(path.join(units, u)).then(() => true, () => false)));
      // The daemon asks systemd for these; a units-mode install has no daemon to ask.
      expect(present).toEqual(cleanUp.map(() => trigger === 'daemon'));
      // plugback open works without the daemon too, so both kinds of install have it.
      await fs.access(path.join(units, 'plugback-remount-read-only@.service'));
    }
  });

  it('let a plugged-in drive mount itself through its mount unit in install.trigger units, not with mount(8) in the sandbox', async () => {
    const out = await generateTree('units');
    const dropIn = await fs.readFile(path.join(out, 'etc/systemd/system/plugback-drive@offsite\\x2da.service.d/50-plugback.conf'), 'utf8');
    const settings = dropIn.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(settings).toEqual(['[Unit]', 'BindsTo=run-plugback-offsite\\x2da.mount', 'After=run-plugback-offsite\\x2da.mount', '[Service]', 'ExecStopPost=-/bin/systemctl --no-block stop "systemd-cryptsetup@plugback\\\\x2doffsite\\\\x2da.service"']);
  });

  it('restart the daemon a second after a crash, and let systemd give up (failed, OnFailure=) after 4 crashes in 5 minutes', async () => {
    const out = await generateTree('daemon');
    const unit = await fs.readFile(path.join(out, 'etc/systemd/system/plugback.service'), 'utf8');
    const sections = new Map<string, string[]>();
    let section = '';
    for (const line of unit.split('\n')) {
      if (/^\[.+\]$/.test(line)) section = line;
      else if (line && !line.startsWith('#')) sections.set(section, [...(sections.get(section) ?? []), line]);
    }
    // The start limit is a [Unit] setting (systemd.unit(5)); it counts the first start and every restart.
    expect(sections.get('[Unit]')).toEqual(expect.arrayContaining(['StartLimitIntervalSec=5min', 'StartLimitBurst=4', 'OnFailure=plugback-failure@%n.service']));
    expect(sections.get('[Service]')).toEqual(expect.arrayContaining(['Restart=on-failure', 'RestartSec=1s']));
    expect(sections.get('[Service]')?.filter((l) => l.startsWith('StartLimit'))).toEqual([]);
    const r = await verify([path.join(out, 'etc/systemd/system')], ['plugback.service']);
    expect(r.stderr).not.toMatch(/StartLimit|RestartSec/);
  });

  it('are printed with their paths and purposes by plain `plugback generate`', async () => {
    const dir = await tempDir('gen');
    const r = await cli(['generate', '--config', await writeConfig(dir, 'daemon')]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain('==> /etc/systemd/system/plugback.service <== (the daemon: watches for drives, unlocks, mounts and backs them up)\n# Generated by plugback');
    expect(r.stdout).toContain(`==> lines for /etc/crypttab <==\nplugback-offsite-a UUID=${UUID_A}`);
  });

  it('hand the failure unit the failed unit name as written (%i) and plugback run the drive name (%I)', async () => {
    const out = await generateTree('units');
    const failure = await fs.readFile(path.join(out, 'etc/systemd/system/plugback-failure@.service'), 'utf8');
    const drive = await fs.readFile(path.join(out, 'etc/systemd/system/plugback-drive@.service'), 'utf8');
    expect(failure).toMatch(/^ExecStart=\S+ \S+main\.js notify-failure %i --config \S+plugback\.yaml$/m);
    expect(drive).toMatch(/^ExecStart=\S+ \S+main\.js run %I --config \S+plugback\.yaml$/m);
    // The drive unit is started by the LUKS container's device; it is bound to the drive's mount unit (named by
    // the escaped mount point, its space as \x20), which is bound to the cryptsetup unit.
    const wants = await fs.readdir(path.join(out, `etc/systemd/system/dev-disk-by\\x2duuid-${UUID_B.replace(/-/g, '\\x2d')}.device.wants`));
    expect(wants).toEqual(['plugback-drive@offsite\\x2db.service']);
    const dropIn = await fs.readFile(path.join(out, 'etc/systemd/system/plugback-drive@offsite\\x2db.service.d/50-plugback.conf'), 'utf8');
    expect(dropIn).toContain('BindsTo=run-plugback-offsite\\x20b.mount');
    // In an Exec line systemd unescapes: a bare \x2d would reach systemctl as "-" and name a unit that does not
    // exist, leaving the drive unlocked after the run (found by the full-OS suite, scenario 7).
    expect(dropIn).toContain('ExecStopPost=-/bin/systemctl --no-block stop "systemd-cryptsetup@backup.b\\\\x2d2.service"');
  });

  it('let plugback-delete-subvolume@ delete only a snapshot set aside as .deleting (its ExecCondition, run by the real sh)', async () => {
    const out = await generateTree('daemon');
    const unit = await fs.readFile(path.join(out, 'etc/systemd/system/plugback-delete-subvolume@.service'), 'utf8');
    const condition = /^ExecCondition=\/bin\/sh -c '(.+)' plugback %f$/m.exec(unit)?.[1];
    expect(condition).toBeDefined();
    // systemd turns $$ into $ before it runs the line.
    const allows = async (where: string) => (await run('/bin/sh', ['-c', (condition as string).replaceAll('$$', '$'), 'plugback', where])).code === 0;
    expect(await allows('/run/plugback/offsite-a/plugback/h1/snapshots/2026-12-03T090720Z.deleting')).toBe(true);
    for (const where of ['/', '/home', '/run/plugback/offsite-a/plugback/h1/snapshots/2026-12-03T090720Z', '/srv/data.deleting', '/run/plugback/offsite-a/plugback/h1/snapshots']) {
      expect(await allows(where), where).toBe(false);
    }
    expect(unit).toMatch(/^ExecStart=\/bin\/btrfs subvolume delete -- %f$/m);
  });
});

describe('crypttab lines', () => {
  it('make the real systemd-cryptsetup-generator write units that name our device, key file and options', async () => {
    const out = await generateTree('daemon');
    const generated = await runCryptsetupGenerator(out);
    const unitA = await fs.readFile(path.join(generated, 'systemd-cryptsetup@plugback\\x2doffsite\\x2da.service'), 'utf8');
    const deviceA = `dev-disk-by\\x2duuid-${UUID_A.replace(/-/g, '\\x2d')}.device`;
    expect(unitA).toContain(
      `ExecStart=/lib/systemd/systemd-cryptsetup attach 'plugback-offsite-a' '/dev/disk/by-uuid/${UUID_A}' '/etc/plugback/keys/offsite-a.key' 'luks,noauto,nofail,headless=true'`,
    );
    expect(unitA).toContain(`BindsTo=${deviceA}`);
    expect(unitA).toContain('RequiresMountsFor=/etc/plugback/keys/offsite-a.key');
    // noauto, nofail: nothing at boot waits for or pulls in a backup drive.
    expect(unitA).not.toContain('Before=cryptsetup.target');
    expect(await fs.readFile(path.join(generated, `${deviceA}.d/50-device-timeout.conf`), 'utf8')).toContain('JobRunningTimeoutSec=45s');
    const unitB = await fs.readFile(path.join(generated, 'systemd-cryptsetup@backup.b\\x2d2.service'), 'utf8');
    expect(unitB).toContain(`attach 'backup.b-2' '/dev/disk/by-uuid/${UUID_B}' '/etc/plugback/keys/b.key'`);
    // Our drop-in folders carry exactly the names of the units the generator made.
    const dropIns = (await fs.readdir(path.join(out, 'etc/systemd/system'))).filter((n) => n.startsWith('systemd-cryptsetup@')).sort();
    const units = (await fs.readdir(generated)).filter((n) => n.startsWith('systemd-cryptsetup@')).map((n) => `${n}.d`).sort();
    expect(dropIns).toEqual(units);
  });
});

describe('the D-Bus and polkit policies', () => {
  it('polkit actions are valid against polkit\'s own DTD (offline)', async () => {
    const out = await generateTree('daemon');
    const r = await run('xmllint', ['--noout', '--nonet', '--dtdvalid', '/usr/share/polkit-1/policyconfig-1.dtd', path.join(out, 'usr/share/polkit-1/actions/io.github.plugback.policy')]);
    expect(r.code, shown(r)).toBe(0);
    const text = await fs.readFile(path.join(out, 'usr/share/polkit-1/actions/io.github.plugback.policy'), 'utf8');
    expect([...text.matchAll(/<action id="([^"]+)"/g)].map((m) => m[1])).toEqual(['io.github.plugback.start', 'io.github.plugback.cancel', 'io.github.plugback.delete-snapshot', 'io.github.plugback.archive', 'io.github.plugback.open-drive']);
  });

  it('the bus policy is valid against busconfig.dtd, but for the send_* attributes that DTD predates', async () => {
    const out = await generateTree('daemon');
    const policy = path.join(out, 'etc/dbus-1/system.d/io.github.plugback.Daemon1.conf');
    const r = await run('xmllint', ['--noout', '--nonet', '--dtdvalid', '/usr/share/xml/dbus-1/busconfig.dtd', policy]);
    // busconfig.dtd 1.0 (libdbus-1-dev) declares only send/receive/own/user on <allow>; every stock policy
    // (e.g. /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf) fails it the same way.
    const problems = r.stderr
      .split('\n')
      .filter((l) => /error/.test(l))
      .filter((l) => !/No declaration for attribute send_(destination|interface|member) of element allow/.test(l));
    expect(problems).toEqual([]);
  });

  it('on a real dbus-daemon: only root owns the name; anyone may look and ask; nothing else gets through', async () => {
    const out = await generateTree('daemon');
    const bus = await privateSystemBus(path.join(out, 'etc/dbus-1/system.d/io.github.plugback.Daemon1.conf'));
    try {
      // dbus-test-tool echo (dbus-tests) stands in for the daemon: as root it takes the name and answers every call.
      bus.started.push(
        spawn('dbus-test-tool', ['echo', '--name=io.github.plugback.Daemon1'], {
          env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: bus.address },
          stdio: 'ignore',
        }),
      );
      await bus.waitForOwner('io.github.plugback.Daemon1');
      const asNobody = (call: string[]) => bus.send(true, 'io.github.plugback.Daemon1', '/io/github/plugback/Daemon1', call);
      for (const allowed of [
        ['io.github.plugback.Daemon1.ListSnapshots', 'string:offsite-a'],
        ['io.github.plugback.Daemon1.Start', 'string:offsite-a'],
        ['io.github.plugback.Daemon1.Cancel'],
        ['io.github.plugback.Daemon1.DeleteSnapshot', 'string:offsite-a', 'string:2026-11-22T031513Z'],
        ['io.github.plugback.Daemon1.OpenDrive', 'string:offsite-a', 'boolean:false', 'uint32:0'],
        ['io.github.plugback.Daemon1.CloseDrive', 'string:offsite-a'],
        ['io.github.plugback.Daemon1.CreateArchive', 'string:offsite-a', 'string:latest', 'dict:string:string:Naming,dated'],
        ['io.github.plugback.Daemon1.ArchiveStatus', 'string:x'],
        ['io.github.plugback.Daemon1.CancelArchive', 'string:x'],
        ['io.github.plugback.Daemon1.ListArchives'],
        ['io.github.plugback.Daemon1.DeleteArchive', 'string:testhost-0.tar.zst'],
        ['org.freedesktop.DBus.Properties.Get', 'string:io.github.plugback.Daemon1', 'string:State'],
        ['org.freedesktop.DBus.Properties.GetAll', 'string:io.github.plugback.Daemon1'],
        ['org.freedesktop.DBus.Introspectable.Introspect'],
      ]) {
        const r = await asNobody(allowed);
        expect(r.code, `${allowed[0]}\n${shown(r)}`).toBe(0);
      }
      // Every method the daemon offers is let through (a new one forgotten here fails in the real guest only).
      const ours = INTROSPECTION_XML.slice(INTROSPECTION_XML.indexOf('<interface name="io.github.plugback.Daemon1">'));
      const offered = [...ours.slice(0, ours.indexOf('</interface>')).matchAll(/<method name="([^"]+)"/g)].map((m) => m[1]);
      expect(offered).toContain('OpenDrive');
      const policyText = await fs.readFile(path.join(out, 'etc/dbus-1/system.d/io.github.plugback.Daemon1.conf'), 'utf8');
      expect(offered.filter((m) => !policyText.includes(`send_member="${m}"`))).toEqual([]);
      for (const denied of [
        ['org.freedesktop.DBus.Properties.Set', 'string:io.github.plugback.Daemon1', 'string:State', 'variant:string:idle'],
        ['io.github.plugback.Daemon1.Shutdown'],
      ]) {
        const r = await asNobody(denied);
        expect(r.stderr, denied[0]).toContain('org.freedesktop.DBus.Error.AccessDenied');
      }
      const own = await bus.send(true, 'org.freedesktop.DBus', '/org/freedesktop/DBus', ['org.freedesktop.DBus.RequestName', 'string:io.github.plugback.Daemon1', 'uint32:0']);
      expect(own.stderr).toContain('is not allowed to own the service "io.github.plugback.Daemon1"');
    } finally {
      bus.stop();
    }
  });
});

/** A dbus-daemon with the system bus's default policy (no owning names, no method calls, as system.conf) plus `policy`. */
async function privateSystemBus(policy: string) {
  const dir = await tempDir('bus');
  // Reachable by nobody, who plays the unprivileged caller.
  await fs.chmod(dir, 0o755);
  const socket = path.join(dir, 'socket');
  const config = path.join(dir, 'bus.conf');
  await fs.writeFile(
    config,
    `<busconfig><type>system</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><deny own="*"/><deny send_type="method_call"/>
    <allow send_type="signal"/><allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/><allow receive_type="method_return"/><allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <include>${policy}</include>
</busconfig>\n`,
  );
  const daemon = spawn('dbus-daemon', ['--config-file', config, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const started: ChildProcess[] = [daemon];
  const stop = () => started.forEach((child) => child.kill());
  let stderr = '';
  daemon.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // dbus-daemon's own parser refuses unknown elements and attributes: a bad policy ends it here.
  const address = await new Promise<string>((resolve, reject) => {
    daemon.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    daemon.on('exit', () => reject(new Error(`dbus-daemon refused the policy: ${stderr}`)));
  });
  await fs.chmod(socket, 0o777);
  const send = (asNobody: boolean, dest: string, objectPath: string, call: string[]) => {
    const args = [`--bus=${address}`, '--print-reply', `--dest=${dest}`, objectPath, ...call];
    return asNobody ? run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'dbus-send', ...args]) : run('dbus-send', args);
  };
  /** Waits until `name` has an owner: a bounded number of tries, not a timed assertion. */
  const waitForOwner = async (name: string) => {
    for (let i = 0; i < 200; i++) {
      const r = await send(false, 'org.freedesktop.DBus', '/org/freedesktop/DBus', ['org.freedesktop.DBus.NameHasOwner', `string:${name}`]);
      if (r.stdout.includes('boolean true')) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`nothing took ${name} on the test bus`);
  };
  return { address, started, stop, send, waitForOwner };
}

describe('the udev rules', () => {
  it('give the BlinkStick to the plugback group before 73-seat-late and hide the drives from desktops', async () => {
    const out = await generateTree('daemon');
    const [name] = await fs.readdir(path.join(out, 'etc/udev/rules.d'));
    expect(name && name < '73-seat-late.rules').toBe(true);
    const rules = await fs.readFile(path.join(out, 'etc/udev/rules.d', name as string), 'utf8');
    expect(rules).toContain('SUBSYSTEM=="hidraw", ATTRS{idVendor}=="20a0", ATTRS{idProduct}=="41e5", MODE="0660", GROUP="plugback", TAG+="uaccess"');
    expect(rules).toContain(`ENV{ID_FS_UUID}=="${UUID_A}", ENV{UDISKS_IGNORE}="1", ENV{UDISKS_AUTO}="0"`);
    expect(rules).toContain('ENV{DM_NAME}=="backup.b-2", ENV{UDISKS_IGNORE}="1", ENV{UDISKS_AUTO}="0"');
  });
});

/** Every file and folder under `root`: type, mode, content hash or link target, and mtime. */
async function snapshotTree(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const info = await fs.lstat(full);
      const key = path.relative(root, full);
      if (entry.isSymbolicLink()) result[key] = `link ${await fs.readlink(full)}`;
      else if (entry.isDirectory()) {
        result[key] = `dir ${info.mode.toString(8)}`;
        await walk(full);
      } else result[key] = `file ${info.mode.toString(8)} ${info.mtimeMs} ${createHash('sha256').update(await fs.readFile(full)).digest('hex')}`;
    }
  };
  await walk(root);
  return result;
}

/** A root folder with a user's own files: /etc/group, a crypttab with comments and a line, a unit of theirs. */
async function userRoot(): Promise<{ root: string; crypttab: string; own: string }> {
  const root = await tempDir('root');
  const crypttab = '# the data disk\ndata UUID=11111111-2222-3333-4444-555555555555 none luks,discard\n\n# swap\n';
  const own = '[Service]\nExecStart=/bin/true\n';
  await fs.mkdir(path.join(root, 'etc/systemd/system'), { recursive: true });
  await fs.writeFile(path.join(root, 'etc/group'), 'root:x:0:\n');
  await fs.writeFile(path.join(root, 'etc/crypttab'), crypttab);
  await fs.writeFile(path.join(root, 'etc/systemd/system/mine.service'), own);
  return { root, crypttab, own };
}

describe('plugback install and uninstall under --root', () => {
  it('installs, changes nothing the second time, and generate --diff then has nothing to show', async () => {
    const { root, crypttab } = await userRoot();
    const config = await writeConfig(await tempDir('cfg'), 'daemon');
    const first = await cli(['install', '--config', config, '--root', root, '--write-crypttab']);
    expect(first.code, shown(first)).toBe(0);
    expect(first.stdout).toContain('created the group plugback');
    expect(first.stdout).toContain(`wrote ${root}/etc/systemd/system/plugback.service`);
    expect(await fs.readFile(path.join(root, 'etc/group'), 'utf8')).toMatch(/^plugback:x:\d+:$/m);
    expect((await fs.stat(path.join(root, 'var/lib/plugback-test'))).isDirectory()).toBe(true);
    const logDir = await fs.stat(path.join(root, 'var/log/plugback'));
    expect(logDir.mode & 0o7777).toBe(0o2750);
    expect(`${logDir.gid}`).toBe(/^plugback:x:(\d+):$/m.exec(await fs.readFile(path.join(root, 'etc/group'), 'utf8'))?.[1]);
    // The user's crypttab is kept, line for line, with plugback's block after it, and a copy of the old one.
    const merged = await fs.readFile(path.join(root, 'etc/crypttab'), 'utf8');
    expect(merged.startsWith(crypttab)).toBe(true);
    expect(merged).toContain(`plugback-offsite-a UUID=${UUID_A} /etc/plugback/keys/offsite-a.key luks,noauto,nofail,headless=true,x-systemd.device-timeout=45s\n`);
    expect(await fs.readFile(path.join(root, 'etc/crypttab.plugback-backup'), 'utf8')).toBe(crypttab);

    const before = await snapshotTree(root);
    const second = await cli(['install', '--config', config, '--root', root, '--write-crypttab']);
    expect(second.code, shown(second)).toBe(0);
    expect(second.stdout).toContain('nothing to change');
    expect(await snapshotTree(root)).toEqual(before);
    const diff = await cli(['generate', '--config', config, '--diff', '--root', root]);
    expect(diff.code, shown(diff)).toBe(0);
  });

  it('generate --diff shows and exits 1 for what a changed config would change', async () => {
    const { root } = await userRoot();
    const dir = await tempDir('cfg');
    const config = await writeConfig(dir, 'daemon');
    expect((await cli(['install', '--config', config, '--root', root, '--write-crypttab'])).code).toBe(0);
    await writeConfig(dir, 'daemon', `  offsite-c:\n    uuid: 33333333-2222-4111-8000-000000000000`);
    const diff = await cli(['generate', '--config', config, '--diff', '--root', root]);
    expect(diff.code, shown(diff)).toBe(1);
    expect(diff.stdout).toContain('+plugback-offsite-c UUID=33333333-2222-4111-8000-000000000000');
    expect(diff.stdout).toContain('+++ /etc/systemd/system/systemd-cryptsetup@plugback\\x2doffsite\\x2dc.service.d/50-plugback.conf');
  });

  it('install takes away what the config no longer generates, after generate --diff said it would', async () => {
    const { root } = await userRoot();
    const dir = await tempDir('cfg');
    const config = await writeConfig(dir, 'daemon');
    const first = await cli(['install', '--config', config, '--root', root]);
    expect(first.code, shown(first)).toBe(0);
    // Without --write-crypttab the lines are shown for the user to add, and the file is left alone.
    expect(first.stdout).toContain(`/etc/crypttab needs these lines (add them, or run install again with --write-crypttab):\nplugback-offsite-a UUID=${UUID_A}`);
    await writeConfig(dir, 'units');
    const diff = await cli(['generate', '--config', config, '--diff', '--root', root]);
    expect(diff.code, shown(diff)).toBe(1);
    expect(diff.stdout).toContain('would remove /etc/systemd/system/plugback.service (installed earlier, no longer generated)');
    const r = await cli(['install', '--config', config, '--root', root]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain(`removed ${root}/etc/systemd/system/plugback.service (no longer generated)`);
    const unitDir = path.join(root, 'etc/systemd/system');
    await expect(fs.stat(path.join(unitDir, 'plugback.service'))).rejects.toThrow(/ENOENT/);
    await expect(fs.readlink(path.join(unitDir, 'multi-user.target.wants/plugback.service'))).rejects.toThrow(/ENOENT/);
    expect(await fs.readFile(path.join(unitDir, 'plugback-drive@offsite\\x2da.service.d/50-plugback.conf'), 'utf8')).toContain('BindsTo=');
  });

  it('uninstall removes what install wrote and leaves the user\'s files, lines and edits alone', async () => {
    const { root, crypttab, own } = await userRoot();
    const config = await writeConfig(await tempDir('cfg'), 'units');
    expect((await cli(['install', '--config', config, '--root', root, '--write-crypttab'])).code).toBe(0);
    const unitDir = path.join(root, 'etc/systemd/system');
    // The user adds a drop-in of their own next to ours, and edits one generated file.
    const ownDropIn = path.join(unitDir, 'systemd-cryptsetup@plugback\\x2doffsite\\x2da.service.d/90-mine.conf');
    await fs.writeFile(ownDropIn, '[Unit]\nDescription=mine\n');
    await fs.appendFile(path.join(unitDir, 'plugback-drive@.timer'), '# my change\n');

    const r = await cli(['uninstall', '--config', config, '--root', root]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain(`kept ${root}/etc/systemd/system/plugback-drive@.timer (changed since plugback installed it)`);
    expect(await fs.readFile(path.join(root, 'etc/crypttab'), 'utf8')).toBe(crypttab);
    expect(await fs.readFile(path.join(unitDir, 'mine.service'), 'utf8')).toBe(own);
    expect(await fs.readFile(ownDropIn, 'utf8')).toContain('mine');
    expect(await fs.readFile(path.join(root, 'etc/group'), 'utf8')).toBe('root:x:0:\n');
    const left = Object.keys(await snapshotTree(root)).sort();
    expect(left).toEqual(
      [
        'etc',
        'etc/crypttab',
        'etc/crypttab.plugback-backup',
        'etc/group',
        'etc/group-',
        'etc/systemd',
        'etc/systemd/system',
        'etc/systemd/system/mine.service',
        'etc/systemd/system/plugback-drive@.timer',
        'etc/systemd/system/systemd-cryptsetup@plugback\\x2doffsite\\x2da.service.d',
        'etc/systemd/system/systemd-cryptsetup@plugback\\x2doffsite\\x2da.service.d/90-mine.conf',
      ].sort(),
    );
  });

  it('asks for root before installing on / or uninstalling from it', async () => {
    const config = await writeConfig(await tempDir('cfg'), 'daemon');
    // In this process, with getuid() saying "not root": the check comes before anything is read or written.
    const getuid = vi.spyOn(process, 'getuid').mockReturnValue(1000);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const verb of ['install', 'uninstall']) {
        expect(await main(['node', 'plugback', verb, '--config', config])).toBe(1);
        expect(stderr).toHaveBeenLastCalledWith(
          `plugback: plugback ${verb} changes /etc and /usr/share: run it as root (sudo plugback ${verb}), or give --root DIR to ${verb} under a folder\n`,
        );
      }
    } finally {
      getuid.mockRestore();
      stderr.mockRestore();
    }
  });

  it('refuses a --bin that is not there, a crypttab line of the user\'s with a name plugback needs, and a root whose etc/group cannot be used', async () => {
    const { root } = await userRoot();
    const config = await writeConfig(await tempDir('cfg'), 'daemon');
    const bin = await cli(['generate', '--config', config, '--bin', '/nonexistent/plugback']);
    expect(bin.code, shown(bin)).toBe(2);
    expect(bin.stderr).toContain('--bin /nonexistent/plugback is not an executable file');
    await fs.appendFile(path.join(root, 'etc/crypttab'), 'plugback-offsite-a UUID=aaaaaaaa-0000-4000-8000-000000000000 none luks\n');
    const clash = await cli(['install', '--config', config, '--root', root, '--write-crypttab']);
    expect(clash.code, shown(clash)).toBe(2);
    expect(clash.stderr).toContain('/etc/crypttab already has a line for plugback-offsite-a that plugback did not write');
    // A root whose etc/group is a folder: groupadd --prefix cannot add the group, and says so without a stack trace.
    // (A root with no etc/group at all gets an empty one: install-root.test.ts.)
    const bare = await tempDir('bare');
    await fs.mkdir(path.join(bare, 'etc', 'group'), { recursive: true });
    const noGroup = await cli(['install', '--config', config, '--root', bare]);
    expect(noGroup.code, shown(noGroup)).toBe(1);
    expect(noGroup.stderr).toMatch(/^plugback: groupadd --prefix \S+ --system plugback failed: .*create the group plugback by hand/s);
    expect(noGroup.stderr).not.toContain('unexpected error');
  });
});
