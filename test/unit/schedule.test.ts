// drives.<name>.schedule: the pure check at load, the daily-or-more classification, and the timer generate renders.
import { describe, expect, it } from 'vitest';
import { calendarProblem, runsAtLeastDaily } from '../../src/config/calendar.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';
import { generate } from '../../src/units/generate.js';
import { driveTimerUnit, onCalendarValue, scheduledTimerAt } from '../../src/units/schedule.js';
import { loadTemplates } from '../../src/units/templates.js';
import { timerChanges } from '../../src/install/remove.js';
import { configProblems } from '../helpers/config-problems.js';

const FILE = 'schedule.yaml';
const configWith = (driveLines: string[]) =>
  ['drives:', '  nas-disk:', '    path: /srv/backup-disk', ...driveLines, 'states:', '  s:', '    folders: [/srv/data]', ''].join('\n');

describe('the schedule check at load', () => {
  it('takes calendar expressions as written and fills in the random delay', () => {
    const config = parseConfig(configWith(['    schedule: Mon *-*-* 03:00']), FILE);
    expect(config.drives[0]?.schedule).toEqual({ calendar: 'Mon *-*-* 03:00', randomDelay: 600_000 });
    const own = parseConfig(configWith(['    schedule: daily', '    scheduleRandomDelay: 0s']), FILE);
    expect(own.drives[0]?.schedule).toEqual({ calendar: 'daily', randomDelay: 0 });
    expect(parseConfig(configWith([]), FILE).drives[0]?.schedule).toBeUndefined();
  });

  it('refuses at its place what could break the timer unit: line breaks, "%", "\\", comments, empty, too long', () => {
    const cases: [string, string][] = [
      ['"daily\\nExecStart=/bin/sh"', 'contains a control character'],
      ['"daily %n"', 'contains "%"'],
      ['"daily \\\\"', 'contains "\\\\"'],
      ['"daily # at midnight"', 'contains "#"'],
      ['"@1700000000"', 'contains "@"'],
      ['""', 'is empty'],
      [`"${'*'.repeat(201)}"`, 'is longer than 200 characters'],
      ['"daily "', 'has leading, trailing or repeated spaces'],
    ];
    for (const [value, reason] of cases) {
      const problems = configProblems(configWith([`    schedule: ${value}`]), FILE);
      expect(problems, value).toEqual([expect.stringContaining(`${FILE}:4:15: drives.nas-disk.schedule: not a usable schedule: it ${reason}`)]);
    }
  });

  it('refuses a random delay without a schedule, and one over 24 days', () => {
    expect(configProblems(configWith(['    scheduleRandomDelay: 5m']), FILE)).toEqual([
      `${FILE}:4:26: drives.nas-disk.scheduleRandomDelay: only applies to a drive with a schedule: add schedule, or remove scheduleRandomDelay, got "5m"`,
    ]);
    expect(configProblems(configWith(['    schedule: daily', '    scheduleRandomDelay: 30d']), FILE)).toEqual([expect.stringContaining(`${FILE}:5:26: drives.nas-disk.scheduleRandomDelay: must be at most 24d`)]);
  });

  it('leaves the grammar to systemd: a plain word passes here (config check asks systemd-analyze)', () => {
    expect(calendarProblem('sometimes')).toBeUndefined();
    expect(calendarProblem('Mon,Fri 8:00 Europe/Berlin')).toBeUndefined();
  });
});

describe('runsAtLeastDaily', () => {
  it('is true only where the schedule surely runs every day', () => {
    for (const daily of ['daily', 'hourly', 'minutely', 'Daily UTC', '02:30', '*-*-* 03:00', '*-*-* 02:30:00', '*:0/15', '*-*-* *:00 Europe/Berlin']) {
      expect(runsAtLeastDaily(daily), daily).toBe(true);
    }
    for (const not of ['weekly', 'monthly', 'Mon *-*-* 03:00', 'Mon..Sun 03:00', '*-*-01 03:00', '*-*-* 03:00 UTC extra', '2026-12-24', 'daily UTC extra']) {
      expect(runsAtLeastDaily(not), not).toBe(false);
    }
  });
});

describe('the timer of a scheduled drive', () => {
  const options = { command: ['/usr/bin/plugback'], configFile: '/etc/plugback/config.yaml', docsDir: '/usr/share/doc/plugback', version: 'test' };

  it('is an instance file with OnCalendar=, Persistent=, RandomizedDelaySec= and Unit=, and its wants link', async () => {
    const config = parseConfig(configWith(['    schedule: "*-*-* 02:30:00"', '    scheduleRandomDelay: 90s']), FILE);
    const files = generate(config, await loadTemplates(), options).files;
    const timer = files.find((f) => f.path === '/etc/systemd/system/plugback-drive@nas\\x2ddisk.timer');
    expect(timer && 'content' in timer ? timer.content.split('\n') : []).toEqual(
      expect.arrayContaining(['OnCalendar=*-*-* 02:30:00', 'RandomizedDelaySec=90s', 'Persistent=true', 'Unit=plugback-drive@nas\\x2ddisk.service', 'WantedBy=timers.target']),
    );
    expect(files).toContainEqual(expect.objectContaining({ path: '/etc/systemd/system/timers.target.wants/plugback-drive@nas\\x2ddisk.timer', symlinkTo: '/etc/systemd/system/plugback-drive@nas\\x2ddisk.timer' }));
    // A drive without a schedule gets neither.
    const plain = generate(parseConfig(configWith([]), FILE), await loadTemplates(), options).files;
    expect(plain.filter((f) => f.path.includes('nas\\x2ddisk.timer'))).toEqual([]);
  });

  it('refuses a line break even when handed a config that skipped the schema', async () => {
    expect(onCalendarValue({ calendar: 'daily', randomDelay: 0 }, 'd')).toBe('daily');
    expect(() => onCalendarValue({ calendar: 'daily\n[Service]', randomDelay: 0 }, 'd')).toThrow(/schedule of drive "d" .*control character/);
    const config = parseConfig(configWith(['    schedule: daily']), FILE);
    const drive = config.drives[0] as Config['drives'][number];
    drive.schedule = { calendar: 'daily\nExecStart=/bin/sh', randomDelay: 0 };
    await expect(loadTemplates().then((t) => generate(config, t, options))).rejects.toThrow(/schedule of drive "nas-disk" .*control character/);
  });

  it('is known by name to install, which enables what it wrote and stops what it took away', () => {
    expect(driveTimerUnit('nas-disk')).toBe('plugback-drive@nas\\x2ddisk.timer');
    expect(scheduledTimerAt('/etc/systemd/system/plugback-drive@nas\\x2ddisk.timer')).toBe('plugback-drive@nas\\x2ddisk.timer');
    expect(scheduledTimerAt('/etc/systemd/system/plugback-drive@.service')).toBeUndefined();
    const written = ['/etc/systemd/system/plugback-drive@a.timer', '/etc/systemd/system/timers.target.wants/plugback-drive@a.timer', '/etc/systemd/system/plugback.service'];
    const removed = ['/etc/systemd/system/plugback-drive@b.timer', '/etc/systemd/system/timers.target.wants/plugback-drive@b.timer'];
    expect(timerChanges(written, removed)).toEqual({ enable: ['plugback-drive@a.timer'], stop: ['plugback-drive@b.timer'] });
  });
});
