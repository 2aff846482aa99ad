import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config-problems.js';

const FILE = 'plugback.yaml';

const problemsOf = (text: string) => configProblems(text, FILE);

const VALID = `
drives:
  offsite-a:
    uuid: 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0
  nas-disk:
    path: /srv/backup
states:
  photos:
    folders: [/srv/photos]
`;

describe('a valid config', () => {
  it('gets defaults for everything it leaves out', () => {
    const config = parseConfig(VALID, FILE);
    expect(config.drives).toEqual([
      {
        kind: 'luks',
        name: 'offsite-a',
        uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
        keyFile: '/etc/plugback/keys/offsite-a.key',
        cryptName: 'plugback-offsite-a',
        mountPoint: '/run/plugback/offsite-a',
        deviceTimeout: 30_000,
        btrfsCompression: 'off',
        health: 'refuse',
      },
      { kind: 'directory', name: 'nas-disk', path: '/srv/backup', health: 'refuse' },
    ]);
    expect(config.backup.lockWait).toBe(600_000);
    expect(config.backup.hookTimeout).toBe(900_000);
    expect(config.backup.maxShrinkPercent).toBe(50);
    expect(config.backup.retention).toEqual({ keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 5 });
    expect(config.states[0]).toMatchObject({ name: 'photos', folders: ['/srv/photos'], exclude: [] });
  });

  it('turns durations and sizes into milliseconds and bytes', () => {
    const config = parseConfig(`${VALID}backup:\n  lockWait: 1h30m\n  bandwidthLimit: 20MiB\n  hookTimeout: 45s\n`, FILE);
    expect(config.backup.lockWait).toBe(5_400_000);
    expect(config.backup.bandwidthLimit).toBe(20 * 1024 * 1024);
    expect(config.backup.hookTimeout).toBe(45_000);
  });
});

describe('config problems', () => {
  it('takes refuse, warn or off as a drive\'s health, and nothing else', () => {
    expect(parseConfig(VALID.replace('path: /srv/backup', 'path: /srv/backup\n    health: warn'), FILE).drives[1]).toMatchObject({ health: 'warn' });
    const [problem] = problemsOf(VALID.replace('path: /srv/backup', 'path: /srv/backup\n    health: ignore'));
    expect(problem).toBe('plugback.yaml:7:13: drives.nas-disk.health: expected one of "refuse", "warn", "off"');
  });

  it('points at an unknown key and suggests the one that was meant', () => {
    const text = `${VALID}backup:\n  lockWiat: 5m\n`;
    expect(problemsOf(text)).toEqual([`${FILE}:11:3: backup.lockWiat: unknown key "lockWiat"; did you mean "lockWait"?`]);
  });

  it('lists the allowed keys when nothing is close', () => {
    const [problem] = problemsOf(`${VALID}backup:\n  zzzzzzzzzz: 1\n`);
    expect(problem).toContain('unknown key "zzzzzzzzzz"; expected one of: lockFile, lockWait, retention');
  });

  it('reports every problem at once, in file order, each with its line and column', () => {
    const text = [
      'drives:', //                                    1
      '  a:', //                                       2
      '    uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', // 3
      '    keyFile: keys/a.key', //                    4
      '  b:', //                                       5
      '    uuid: 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0', // 6
      '    mountPoint: /srv/data/mnt', //              7
      'states:', //                                    8
      '  s:', //                                       9
      '    folders: [/srv/data, /srv/data/sub]', //    10
      '    preBackup: 5', //                           11
      'backup:', //                                    12
      '  lockWait: 10 minutes', //                     13
      '  bandwidthLimit: 20 MB/s', //                  14
      '  nice: 30', //                                 15
      '  ioClass: lazy', //                            16
      '',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      `${FILE}:4:14: drives.a.keyFile: keyFile must be an absolute path (starting with /), got "keys/a.key"`,
      `${FILE}:6:11: drives.b.uuid: uuid 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 is already used by drive "a"`,
      `${FILE}:7:17: drives.b.mountPoint: mountPoint /srv/data/mnt of drive "b" is inside the folder /srv/data of state "s": the backup would copy itself`,
      `${FILE}:10:26: states.s.folders[1]: /srv/data/sub is inside /srv/data of state "s" (folders[0]): its files would be backed up twice`,
      `${FILE}:11:16: states.s.preBackup: expected a text, got number 5`,
      `${FILE}:13:13: backup.lockWait: expected a duration such as 30s, 10m, 2h or 1d, got "10 minutes"`,
      `${FILE}:14:19: backup.bandwidthLimit: expected a size such as 512K, 20MiB, 1.5G or 300MB, got "20 MB/s"`,
      `${FILE}:15:9: backup.nice: must be at most 19`,
      `${FILE}:16:12: backup.ioClass: expected one of "idle", "best-effort", "none"`,
    ]);
  });

  it('requires a drive to be either a LUKS drive or a directory, and keeps LUKS options to LUKS drives', () => {
    const text = `drives:\n  a: {}\n  b:\n    path: /x\n    keyFile: /k\nstates:\n  s:\n    folders: [/srv]\n`;
    expect(problemsOf(text)).toEqual([
      `${FILE}:2:6: drives.a: drive "a" needs either uuid (a LUKS drive) or path (a directory target)`,
      `${FILE}:5:5: drives.b.keyFile: keyFile only applies to LUKS drives (with uuid); drive "b" is a directory target (path)`,
    ]);
  });

  it('refuses two drives with one cryptName (one crypttab entry cannot unlock both), a deviceTimeout and a btrfsCompression on a directory', () => {
    const text = [
      'drives:',
      '  a:',
      '    uuid: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      '    cryptName: plugback-b',
      '  b:',
      '    uuid: 9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d',
      '  c:',
      '    path: /backup',
      '    deviceTimeout: 1m',
      '    btrfsCompression: zstd',
      'states:',
      '  s:',
      '    folders: [/srv]',
      '',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      `${FILE}:6:11: drives.b.uuid: cryptName plugback-b is already used by drive "a"`,
      `${FILE}:9:5: drives.c.deviceTimeout: deviceTimeout only applies to LUKS drives (with uuid); drive "c" is a directory target (path)`,
      `${FILE}:10:5: drives.c.btrfsCompression: btrfsCompression only applies to LUKS drives (with uuid); drive "c" is a directory target (path)`,
    ]);
  });

  it('refuses a source folder inside the backup target', () => {
    const text = `drives:\n  d:\n    path: /backup\nstates:\n  s:\n    folders: [/backup/inner]\n`;
    expect(problemsOf(text)).toEqual([
      `${FILE}:6:15: states.s.folders[0]: /backup/inner is inside the path /backup of drive "d": a state cannot back up the backup drive`,
    ]);
  });

  it('refuses the same folder listed by two states, and relative or unnormalized paths', () => {
    const text = `drives:\n  d:\n    path: /backup\nstates:\n  a:\n    folders: [/srv]\n  b:\n    folders: [/srv, srv, /x/../y]\n`;
    expect(problemsOf(text)).toEqual([
      `${FILE}:8:15: states.b.folders[0]: /srv is already listed in state "a" (folders[0])`,
      `${FILE}:8:21: states.b.folders[1]: each folder must be an absolute path (starting with /), got "srv"`,
      `${FILE}:8:26: states.b.folders[2]: each folder must be a normalized path: no "..", "." or repeated "/", got "/x/../y"`,
    ]);
  });

  it('names missing required keys and bad names', () => {
    expect(problemsOf(`states:\n  s:\n    folders: [/srv]\n`)).toEqual([`${FILE}:1:1: drives: is required`]);
    const [bad] = problemsOf(`drives:\n  "my drive":\n    path: /b\nstates:\n  s:\n    folders: [/srv]\n`);
    expect(bad).toMatch(/^plugback\.yaml:2:3: drives\.my drive: a drive name must be letters, digits/);
  });

  it('refuses an LED colour it does not know, at its line, instead of showing nothing', () => {
    const text = `${VALID}led:\n  colours:\n    done: greenish\n`;
    expect(problemsOf(text)).toEqual([
      `${FILE}:12:11: led.colours.done: not a colour: use a CSS colour name (green, teal, orange, ...), #rgb, #rrggbb or off, got "greenish"`,
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problemsOf('drives:\n  a:\n    path: /x\n    path: /y\n')).toEqual([`${FILE}:4:5: YAML: Map keys must be unique\n    4 |     path: /y\n      |     ^`]);
  });

  it('shows the line of a YAML slip with a caret under the place, and a hint for the common ones', () => {
    const indent = problemsOf('host: h\ndrives:\n  d:\n    path: /x\n   states:\n');
    expect(indent[0]).toBe(
      `${FILE}:5:1: YAML: All mapping items must start at the same column\n    5 |    states:\n      | ^\n` +
        '  hint: keys at one level must start in the same column: indent each level by the same number of spaces as its siblings',
    );
    const hook = problemsOf('drives: {d: {path: /x}}\nstates:\n  p:\n    folders: [/srv]\n    preBackup: echo note: stopping\n');
    expect(hook[0]).toMatch(/:5:16: YAML: Nested mappings are not allowed in compact mappings\n {4}5 \| {5}preBackup: echo note: stopping\n {6}\| {16}\^\n/);
    expect(hook[0]).toContain('hint: a value containing ": " reads as another key: quote it, or for a script write "key: |"');
    const tab = problemsOf('drives:\n\td: {path: /x}\n');
    expect(tab[0]).toContain('    2 | →d: {path: /x}');
    expect(tab[0]).toContain('hint: YAML indents with spaces only');
  });

  it('says what to do about an empty file', () => {
    const found = problemsOf('');
    expect(found).toContain(`${FILE}:1:1: drives: is required`);
    expect(found).toContain(`${FILE}:1:1: states: is required`);
  });
});
